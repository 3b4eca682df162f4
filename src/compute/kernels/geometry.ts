import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScope } from './scope.js';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Pair = [number, number] | number;

export interface ConvAttrs {
  strides: Pair;
  pad: Pad;
  dilations?: Pair;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

/** The forward convolution a gradient kernel belongs to, as tfjs computes it (pads, output size). */
export function forwardInfo(
  kernelName: string,
  xShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): backend_util.Conv2DInfo {
  if (attrs.dataFormat === 'NCHW') {
    throw new Error(`${kernelName} on wasm expects dataFormat 'NHWC', but received 'NCHW'.`);
  }
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

/** Explicit NHWC padding in tfjs' format. */
export function explicitPad(top: number, bottom: number, left: number, right: number): backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}

/**
 * For an input gradient: spreads dy by the forward stride (zeros between rows and columns) and
 * returns it with the padding that makes a stride-1 convolution with the flipped kernel produce
 * exactly the input's height and width. Negative padding is applied as a crop.
 */
export function spreadOutputGradient(
  s: KernelScope,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): { dy: TensorInfo; pad: backend_util.ExplicitPadding } {
  const [n, outH, outW, channels] = dy.shape as [number, number, number, number];
  const { strideHeight: sh, strideWidth: sw } = info;
  let t = dy;
  let height = outH;
  let width = outW;
  if (sh > 1 || sw > 1) {
    t = s.reshape(t, [n, outH, 1, outW, 1, channels]);
    const paddings = [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]];
    t = s.run('PadV2', { x: t }, { paddings, constantValue: 0 });
    height = outH * sh;
    width = outW * sw;
    t = s.reshape(t, [n, height, width, channels]);
  }
  const top = info.effectiveFilterHeight - 1 - info.padInfo.top;
  const left = info.effectiveFilterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - height + info.padInfo.top;
  const right = info.inWidth - width + info.padInfo.left;
  const cropTop = Math.max(0, -top);
  const cropLeft = Math.max(0, -left);
  const cropBottom = Math.max(0, -bottom);
  const cropRight = Math.max(0, -right);
  if (cropTop + cropLeft + cropBottom + cropRight > 0) {
    t = s.run('Slice', { x: t }, {
      begin: [0, cropTop, cropLeft, 0],
      size: [n, height - cropTop - cropBottom, width - cropLeft - cropRight, channels],
    });
  }
  return { dy: t, pad: explicitPad(Math.max(0, top), Math.max(0, bottom), Math.max(0, left), Math.max(0, right)) };
}

/**
 * For a filter gradient computed as a convolution of the input with dy as the kernel (stride and
 * dilation swapped): the padding that yields at least the kernel's height and width, and covers
 * windows that 'ceil' rounding lets run past the input.
 */
export function filterGradientPad(info: backend_util.Conv2DInfo): backend_util.ExplicitPadding {
  const { padInfo } = info;
  const needBottom = info.effectiveFilterHeight + (info.outHeight - 1) * info.strideHeight - info.inHeight - padInfo.top;
  const needRight = info.effectiveFilterWidth + (info.outWidth - 1) * info.strideWidth - info.inWidth - padInfo.left;
  return explicitPad(padInfo.top, Math.max(padInfo.bottom, needBottom), padInfo.left, Math.max(padInfo.right, needRight));
}
