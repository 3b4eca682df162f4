import { backend_util, Sum, util, type KernelConfig, type KernelFunc, type SumAttrs, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

let stock: KernelConfig | undefined;

/** wasm's own Sum, which every other reduction still uses (its setup runs with ours). */
export function keepStockSum(config: KernelConfig | undefined): void {
  stock = config;
}

/** Whether `axes` are exactly the leading rank - 1 axes: a sum down to the last axis (bias gradients). */
function leadingAxes(axes: number[], rank: number): boolean {
  const sorted = [...axes].sort((a, b) => a - b);
  return rank >= 2 && sorted.length === rank - 1 && sorted.every((a, i) => a === i);
}

/**
 * Sum for float32 sums over every axis but the last (the bias gradient of each convolution and
 * dense layer: dy [N, H, W, C] -> [C]) as one pass over the wasm heap; wasm's own kernel first
 * transposes the whole tensor to put the reduced axes last. Every other sum goes to wasm's kernel.
 */
const kernelFunc: KernelFunc = (args) => {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as SumAttrs;
  const axes = util.parseAxisParam(axis, x.shape);
  if (x.dtype !== 'float32' || !leadingAxes(axes, x.shape.length)) {
    if (!stock) throw new Error("The wasm backend has no 'Sum' kernel.");
    return stock.kernelFunc(args);
  }
  const backend = args.backend as BackendWasm;
  const channels = x.shape[x.shape.length - 1]!;
  const out = backend.makeOutput(keepDims ? backend_util.expandShapeToKeepDim([channels], axes) : [channels], 'float32');
  // Views taken after makeOutput, which may grow (and so detach) the wasm memory.
  const values = backend.typedArrayFromHeap(x) as Float32Array;
  const totals = new Float64Array(channels);
  for (let i = 0; i < values.length; i += channels) for (let c = 0; c < channels; c++) totals[c] += values[i + c]!;
  (backend.typedArrayFromHeap(out) as Float32Array).set(totals);
  return out;
};

export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc,
  setupFunc: (backend) => stock?.setupFunc?.(backend),
};
