// Bundles the CLI (src/cli/main.ts) with esbuild into dist/cli/main.js, replacing tsc's per-file output
// there: Node then loads a dozen files at start instead of ~200, which is most of `convscope --help`.
// Commands' heavy parts stay behind their dynamic imports (as split chunks, dist/cli/bundle-*.js, beside
// main.js so that paths relative to import.meta.url keep their depth). Engines and packages with native
// or WebAssembly parts stay external, loaded from node_modules only when a file needs them.
// Run by `npm run build` after tsc.
import { build } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist', 'cli');
const EXTERNAL = [
  'h5wasm', 'h5wasm/*', 'onnxruntime-node', 'onnxruntime-web', 'sharp', '@tensorflow/*', 'protobufjs', 'protobufjs/*',
  'bullmq', 'ioredis', 'axe-core', 'playwright-core',
];

for (const name of await readdir(OUT).catch(() => [] as string[])) {
  if (name.startsWith('bundle-')) await rm(join(OUT, name));
}
await build({
  // The HDF5 engine's thread is its own entry: io/hdf5-isolated.ts starts ./hdf5-worker.js beside itself.
  entryPoints: { main: join(ROOT, 'src', 'cli', 'main.ts'), 'hdf5-worker': join(ROOT, 'src', 'io', 'hdf5-worker.ts') },
  outdir: OUT,
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
});
