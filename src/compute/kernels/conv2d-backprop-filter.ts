import { Conv2DBackpropFilter, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { filterGradientPad, forwardInfo } from './geometry.js';
import { withScope } from './scope.js';

/**
 * dW[p, q, c, o] = sum over n, i, j of x[n, i*s + p*d - pad, j*s + q*d - pad, c] * dy[n, i, j, o]:
 * one forward convolution with the batch as channels — x as [in, H, W, batch] convolved with dy as
 * a [outH, outW, batch, out] kernel, stride and dilation swapped — then [in, kh, kw, out] -> HWIO.
 */
const kernelFunc: KernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const a = attrs as unknown as Conv2DBackpropFilterAttrs;
  const [kh, kw, inC, outC] = a.filterShape;
  const info = forwardInfo(Conv2DBackpropFilter, x.shape, a.filterShape, a, false);
  return withScope(backend, 'wasm', (s) => {
    const xt = s.transpose(x, [3, 1, 2, 0]);
    const dyt = s.transpose(dy, [1, 2, 0, 3]);
    let r = s.run('Conv2D', { x: xt, filter: dyt }, {
      strides: [info.dilationHeight, info.dilationWidth],
      dilations: [info.strideHeight, info.strideWidth],
      pad: filterGradientPad(info),
      dataFormat: 'NHWC',
    });
    if (r.shape[1] !== kh || r.shape[2] !== kw) r = s.run('Slice', { x: r }, { begin: [0, 0, 0, 0], size: [inC, kh, kw, outC] });
    return s.transpose(r, [1, 2, 0, 3]);
  });
};

export const conv2DBackpropFilterConfig: KernelConfig = { kernelName: Conv2DBackpropFilter, backendName: 'wasm', kernelFunc };
