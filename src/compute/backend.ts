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

let fallbackReason: string | undefined;

/** Why tfjs runs on `cpu` rather than wasm, once a fallback happened; undefined otherwise. */
export function backendNote(): string | undefined {
  return fallbackReason;
}

/**
 * Runs `work` on the current backend. When wasm lacks a kernel the work needs, switches to the cpu
 * backend (once, for the rest of the process), records why for `backendNote()`, and runs `work` again.
 */
export async function withKernelFallback<T>(work: () => Promise<T>): Promise<T> {
  await initBackend();
  try {
    return await work();
  } catch (e) {
    const missing = /Kernel '([^']+)' not registered for backend 'wasm'/.exec((e as Error)?.message ?? '');
    if (!missing || tf.getBackend() !== 'wasm') throw e;
    fallbackReason = `the wasm backend has no '${missing[1]}' kernel, so this ran on the slower cpu backend`;
    await tf.setBackend('cpu');
    return work();
  }
}

export { tf };
