import { setOrtModule, type OrtModule } from './ort.js';

/**
 * ONNX Runtime in the browser: onnxruntime-web's wasm build, loaded from the viewer's own server
 * (`<base>ort.wasm.bundle.min.js` and `ort-wasm-simd-threaded.wasm`, copied there by the client
 * build) rather than bundled into the page's script, so pages that never run a network do not
 * download it. Single-threaded: threads need a cross-origin-isolated page.
 */

interface OrtWeb extends OrtModule {
  env: { wasm: { wasmPaths?: string | { wasm?: string; mjs?: string }; numThreads?: number; proxy?: boolean } };
}

let loading: Promise<void> | undefined;

/** Makes compute/ort.ts run on onnxruntime-web served under `base` (a URL ending in '/'). */
export function useOrtWeb(base: string): Promise<void> {
  loading ??= (async () => {
    const url = `${base}ort.wasm.bundle.min.js`;
    const ort = (await import(/* @vite-ignore */ url)) as OrtWeb;
    // Only the binary's place: the bundle carries its own loader script.
    ort.env.wasm.wasmPaths = { wasm: `${base}ort-wasm-simd-threaded.wasm` };
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    setOrtModule(ort);
  })();
  return loading;
}
