import { SelectionError } from './errors.js';
import { findWeight } from './lookup.js';
import type { Layer, Model, Weight } from './model.js';
import { formatAxes, formatShape } from './format.js';

/** A kernel names its filters: conv / depthwise / pointwise kernels and Dense matrices. */
function isKernel(w: Weight): boolean {
  return w.role.endsWith('kernel') && w.role !== 'recurrent_kernel' && w.axes.includes('in');
}

function isConvKernel(w: Weight): boolean {
  return isKernel(w) && w.axes.includes('kw');
}

/** Layers with at least one drawable kernel, in file order. */
export function layersWithKernels(model: Model): Layer[] {
  return model.layers.filter((l) => l.weights.some(isKernel));
}

/** The first layer with a convolution kernel (the default of `filters`). */
export function firstConvLayer(model: Model): Layer {
  const layer = model.layers.find((l) => l.weights.some(isConvKernel));
  if (layer) return layer;
  const any = layersWithKernels(model).map((l) => l.name);
  throw new SelectionError(
    `${model.source} has no convolution kernel${any.length > 0 ? `; pick a layer with --layer (layers with kernels: ${any.slice(0, 12).join(', ')})` : ''}.`,
  );
}

/**
 * The kernels of a layer to draw: the weight with `role` when given, else every kernel
 * (SeparableConv has two: depthwise_kernel and pointwise_kernel).
 */
export function kernelsOf(model: Model, layer: Layer, role?: string): Weight[] {
  if (role !== undefined) return [findWeight(layer, role)];
  const kernels = layer.weights.filter(isKernel);
  if (kernels.length > 0) return kernels;
  const withKernels = layersWithKernels(model).map((l) => l.name);
  throw new SelectionError(
    `Layer '${layer.name}' (${layer.className}) has no kernel to draw; layers with kernels: ${withKernels.slice(0, 12).join(', ')}${withKernels.length > 12 ? ', ...' : ''}.`,
  );
}

/** `conv2d kernel (5, 5, 1, 30) [kh, kw, in, out]` */
export function weightTitle(weight: Weight): string {
  return `${weight.layer} ${weight.role} ${formatShape(weight.shape)} ${formatAxes(weight.axes)}`;
}
