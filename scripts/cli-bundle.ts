// How the CLI is bundled (src/cli/main.ts -> dist/cli/main.js): the esbuild options that
// scripts/build-cli.ts builds with and test/cli/startup-imports.test.ts reads the import graph of.
// Node loads a dozen files at start instead of ~200, which is most of `convscope --help`. Commands'
// work stays behind their dynamic imports (as split chunks, dist/cli/bundle-*.js, beside main.js so
// that paths relative to import.meta.url keep their depth). Engines and packages with native or
// WebAssembly parts stay external, loaded from node_modules only when a file needs them.
import type { BuildOptions } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI_OUT = join(ROOT, 'dist', 'cli');
const EXTERNAL = [
  'h5wasm', 'h5wasm/*', 'onnxruntime-node', 'onnxruntime-web', 'sharp', '@tensorflow/*', 'protobufjs', 'protobufjs/*',
  'bullmq', 'ioredis', 'axe-core', 'playwright-core',
];

export const CLI_BUNDLE: BuildOptions = {
  // The HDF5 engine's thread is its own entry: io/hdf5-isolated.ts starts ./hdf5-worker.js beside itself.
  entryPoints: { main: join(ROOT, 'src', 'cli', 'main.ts'), 'hdf5-worker': join(ROOT, 'src', 'io', 'hdf5-worker.ts') },
  outdir: CLI_OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  chunkNames: 'bundle-[hash]',
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS dependencies bundled into ESM call require() for Node built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
};
