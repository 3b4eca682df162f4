import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerTrainingKernels } from './kernels/index.js';

/**
 * The one place that chooses TensorFlow.js' backend. Default: wasm (SIMD), the fastest engine that
 * installs here (tfjs-node cannot: it downloads libtensorflow). `cpu` is available for kernels wasm lacks.
 */
export type BackendName = 'wasm' | 'cpu';

let ready: Promise<BackendName> | undefined;

async function wasmDirectory(): Promise<string | undefined> {
  if (typeof process === 'undefined' || !process.versions?.node) return undefined;
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const require = createRequire(import.meta.url);
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`;
}

/** Initialises tfjs once with the requested backend and returns the backend in use. */
export function initBackend(name: BackendName = 'wasm'): Promise<BackendName> {
  ready ??= (async () => {
    tf.env().set('PROD', true);
    if (name === 'wasm') {
      const dir = await wasmDirectory();
      if (dir) setWasmPaths(dir);
      registerTrainingKernels();
    }
    if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js could not start its '${name}' backend.`);
    await tf.ready();
    return name;
  })();
  return ready;
}

export { tf };
