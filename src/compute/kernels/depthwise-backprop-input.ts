import {
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { forwardInfo, spreadOutputGradient } from './geometry.js';
import { withScope } from './scope.js';

/**
 * dx = a stride-1 depthwise convolution of the spread, padded dy (in*M channels) with the kernel
 * flipped in space, then a sum over the M outputs each input channel fed.
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropInputAttrs;
  const [kh, kw, channels, mult] = filter.shape as [number, number, number, number];
  const [n, h, w] = a.inputShape;
  const info = forwardInfo(DepthwiseConv2dNativeBackpropInput, a.inputShape, filter.shape, a, true);
  return withScope(backend, 'wasm', (s) => {
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const kernel = s.reshape(flipped, [kh, kw, channels * mult, 1]);
    const spread = spreadOutputGradient(s, dy, info);
    const r = s.run('DepthwiseConv2dNative', { x: spread.dy, filter: kernel }, {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: spread.pad,
    });
    if (mult === 1) return r;
    return s.run('Sum', { x: s.reshape(r, [n, h, w, channels, mult]) }, { axis: [4], keepDims: false });
  });
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc,
};
