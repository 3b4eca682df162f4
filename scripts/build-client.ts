// Bundles the web viewer's client (src/web/client) with esbuild into one folder the server serves:
// index.html, app.js, report.js, app-style.css and samples/. Run by `npm run build` (into dist/web/client) and by the web tests
// (into a temporary folder), so tests never depend on a stale build.
import { build } from 'esbuild';
import { copyFile, mkdir, readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLIENT = join(ROOT, 'src', 'web', 'client');

export async function buildClient(outDir: string): Promise<void> {
  await mkdir(join(outDir, 'samples'), { recursive: true });
  await build({
    entryPoints: { app: join(CLIENT, 'main.ts'), report: join(CLIENT, 'report-main.ts'), 'app-style': join(CLIENT, 'style.css') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
    // The Node-only branches of the library (h5wasm's Node build, node: modules, onnxruntime-node) are never taken in a browser.
    // io/hdf5-isolated.ts (the HDF5 thread) and io/temp-files.ts (removal on SIGINT) are Node only and imported lazily;
    // kept out so the page does not load node:worker_threads or node:fs.
    external: ['h5wasm/node', 'node:*', 'sharp', 'onnxruntime-node', './hdf5-isolated.js', './temp-files.js'],
  });
  await refuseStaticNodeImports(outDir, ['app.js', 'report.js']);
  await copyFile(join(CLIENT, 'index.html'), join(outDir, 'index.html'));
  // onnxruntime-web's wasm build, served beside the page and loaded only when a dropped ONNX model runs (compute/ort-web.ts).
  const ortWeb = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
  await mkdir(join(outDir, 'ort'), { recursive: true });
  await copyFile(join(ortWeb, 'ort.wasm.bundle.min.mjs'), join(outDir, 'ort', 'ort.wasm.bundle.min.js'));
  await copyFile(join(ortWeb, 'ort-wasm-simd-threaded.wasm'), join(outDir, 'ort', 'ort-wasm-simd-threaded.wasm'));
  const samples = join(ROOT, 'assets', 'samples');
  for (const name of await readdir(samples)) {
    if (/\.(png|jpg)$/.test(name)) await copyFile(join(samples, name), join(outDir, 'samples', name));
  }
}

/**
 * A static `import ... from "node:x"` in a page bundle stops the whole page from loading (the browser refuses the
 * module), which the e2e tests would only see as timeouts; fail the build instead, naming the module.
 */
async function refuseStaticNodeImports(outDir: string, bundles: string[]): Promise<void> {
  for (const name of bundles) {
    const code = await readFile(join(outDir, name), 'utf8');
    const found = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*)["'](node:[^"']+)["']/g)].map((m) => m[1]);
    if (found.length > 0) {
      throw new Error(`The page bundle ${name} imports ${[...new Set(found)].join(', ')} at load time, so it would not load in a browser; import the Node-only module lazily and list it in build-client's externals.`);
    }
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await buildClient(resolve(process.argv[2] ?? join(ROOT, 'dist', 'web', 'client')));
}
