import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
// tfjs-core registers no gradient functions; tfjs-layers' bundle registers all of them on import.
import '@tensorflow/tfjs-layers';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter.js';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input.js';
import { maxPoolGradConfig } from './maxpool-grad.js';
import { keepStockSum, sumConfig } from './sum.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** The gradient kernels convscope adds to (or replaces on) tfjs' wasm backend. */
export const TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  sumConfig,
  unsortedSegmentSumConfig,
];

/**
 * Registers the gradient kernels on the wasm backend so models train there: the filter gradients
 * wasm lacks, input and max-pool gradients faster than wasm's own, and a fast path for the
 * bias-gradient sums. Idempotent.
 */
export function registerTrainingKernels(): void {
  for (const config of TRAINING_KERNELS) {
    const current = getKernel(config.kernelName, config.backendName);
    if (current === config) continue;
    if (config === sumConfig) keepStockSum(current);
    if (current) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
