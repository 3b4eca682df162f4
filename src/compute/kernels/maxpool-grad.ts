import { backend_util, MaxPoolGrad, type KernelConfig, type KernelFunc, type MaxPoolGradAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * MaxPoolGrad as one pass over the wasm heap: each window's gradient goes to its first maximum
 * (row-major, strictly greater wins), as on tfjs' cpu backend and in TensorFlow. Replaces wasm's
 * own kernel, which is about ten times slower on a CIFAR-size batch and routes gradients wrongly
 * for some shapes (batch or channels > 1 with rows or columns no window covers).
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const a = attrs as unknown as MaxPoolGradAttrs;
  const wasm = backend as BackendWasm;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw } = info;
  const { top, left } = info.padInfo;
  const out = wasm.makeOutput(input.shape, 'float32');
  // Views taken after makeOutput, which may grow (and so detach) the wasm memory.
  const dx = wasm.typedArrayFromHeap(out) as Float32Array;
  const x = wasm.typedArrayFromHeap(input) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      const r0 = i * sh - top;
      for (let j = 0; j < wo; j++) {
        const c0 = j * sw - left;
        best.fill(-Infinity);
        where.fill(-1);
        for (let r = Math.max(0, r0); r < Math.min(h, r0 + kh); r++) {
          for (let col = Math.max(0, c0); col < Math.min(w, c0 + kw); col++) {
            const base = ((b * h + r) * w + col) * c;
            for (let k = 0; k < c; k++) {
              const v = x[base + k]!;
              if (v > best[k]! || where[k] === -1) {
                best[k] = v;
                where[k] = base + k;
              }
            }
          }
        }
        const gBase = ((b * ho + i) * wo + j) * c;
        for (let k = 0; k < c; k++) if (where[k]! >= 0) dx[where[k]!] += g[gBase + k]!;
      }
    }
  }
  return out;
};

export const maxPoolGradConfig: KernelConfig = { kernelName: MaxPoolGrad, backendName: 'wasm', kernelFunc };
