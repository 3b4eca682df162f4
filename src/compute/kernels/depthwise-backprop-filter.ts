import {
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { filterGradientPad, forwardInfo } from './geometry.js';
import { withScope } from './scope.js';

/**
 * dW[p, q, c, m] = sum over n, i, j of x[n, i*s + p*d - pad, j*s + q*d - pad, c] * dy[n, i, j, c*M + m]:
 * one depthwise convolution of x as a single [1, H, W, batch*in] image with dy as a
 * [outH, outW, batch*in, M] kernel (stride and dilation swapped), then a sum over the batch.
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const [kh, kw, channels, mult] = a.filterShape;
  const info = forwardInfo(DepthwiseConv2dNativeBackpropFilter, x.shape, a.filterShape, a, true);
  const [n, h, w] = x.shape as [number, number, number, number];
  return withScope(backend, 'wasm', (s) => {
    const image = s.reshape(s.transpose(x, [1, 2, 0, 3]), [1, h, w, n * channels]);
    const kernel = s.reshape(s.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, n * channels, mult]);
    let r = s.run('DepthwiseConv2dNative', { x: image, filter: kernel }, {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: filterGradientPad(info),
    });
    if (r.shape[1] !== kh || r.shape[2] !== kw) r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [1, kh, kw, n * channels * mult] });
    const perSample = s.reshape(r, [kh * kw, n, channels * mult]);
    const summed = s.run('Sum', { x: perSample }, { axis: [1], keepDims: false });
    return s.reshape(summed, [kh, kw, channels, mult]);
  });
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc,
};
