import { Conv2DBackpropInput, type Conv2DBackpropInputAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { forwardInfo, spreadOutputGradient } from './geometry.js';
import { withScope } from './scope.js';

/**
 * dx = a stride-1 forward convolution of the spread, padded dy with the kernel flipped in space and
 * with in/out swapped ([kh, kw, out, in]). Replaces wasm's own Conv2DBackpropInput, which is a
 * plain loop about ten times slower than its XNNPACK forward convolution.
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropInputAttrs;
  const info = forwardInfo(Conv2DBackpropInput, a.inputShape, filter.shape, a, false);
  return withScope(backend, 'wasm', (s) => {
    const flipped = s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const kernel = s.transpose(flipped, [0, 1, 3, 2]);
    const spread = spreadOutputGradient(s, dy, info);
    return s.run('Conv2D', { x: spread.dy, filter: kernel }, {
      strides: 1,
      dilations: [info.dilationHeight, info.dilationWidth],
      pad: spread.pad,
      dataFormat: 'NHWC',
    });
  });
};

export const conv2DBackpropInputConfig: KernelConfig = { kernelName: Conv2DBackpropInput, backendName: 'wasm', kernelFunc };
