import { UnsortedSegmentSum, type KernelConfig, type KernelFunc, type TensorInfo, type UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * UnsortedSegmentSum, which wasm lacks: out[s] = sum of x[i] over the i whose segment id is s (ids
 * outside 0..numSegments-1 dropped, as TensorFlow does). It is the gradient of tf.gather, which the
 * affine warps of activation maximization use.
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const wasm = backend as BackendWasm;
  const ids = segmentIds.shape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(segmentIds.shape.length).reduce((a, b) => a * b, 1);
  const out = wasm.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], 'float32');
  // Views taken after makeOutput, which may grow (and so detach) the wasm memory.
  const result = wasm.typedArrayFromHeap(out) as Float32Array;
  const values = wasm.typedArrayFromHeap(x) as Float32Array;
  const segments = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
  result.fill(0);
  for (let i = 0; i < ids; i++) {
    const s = segments[i]!;
    if (s < 0 || s >= numSegments) continue;
    const from = i * inner;
    const to = s * inner;
    for (let k = 0; k < inner; k++) result[to + k] += values[from + k]!;
  }
  return out;
};

export const unsortedSegmentSumConfig: KernelConfig = { kernelName: UnsortedSegmentSum, backendName: 'wasm', kernelFunc };
