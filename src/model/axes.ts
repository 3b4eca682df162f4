/**
 * The axis vocabulary (DESIGN.md): every weight tensor names its axes instead of implying them by
 * position. "Filter j" is always the slice out = j; "channel c of filter j" is out = j, in = c.
 *
 * kh, kw, kd  spatial kernel (1-D kernels use kw: each filter is a horizontal strip)
 * in          input channels          out       filters / output channels
 * mult        depthwise multiplier    units     Dense / Linear outputs
 * features    per-channel vectors (bias, BatchNorm statistics)
 * d0, d1 ...  a tensor whose meaning the file does not tell (no architecture known)
 */
export type AxisName = 'kd' | 'kh' | 'kw' | 'in' | 'out' | 'mult' | 'units' | 'features' | `d${number}`;

/** Axis names for a tensor whose layout is unknown. */
export function genericAxes(rank: number): AxisName[] {
  return Array.from({ length: rank }, (_, i) => `d${i}` as AxisName);
}

const SPATIAL: Record<number, AxisName[]> = { 1: ['kw'], 2: ['kh', 'kw'], 3: ['kd', 'kh', 'kw'] };

/** Spatial kernel axes for a kernel with `n` spatial dimensions (1, 2 or 3). */
export function spatialAxes(n: number): AxisName[] {
  const axes = SPATIAL[n];
  if (!axes) throw new RangeError(`A kernel has 1 to 3 spatial dimensions, but received ${n}.`);
  return axes;
}

/** Kinds of layer whose weight layout differs; every format maps its classes onto these. */
export type LayerKind =
  | 'conv'
  | 'conv_transpose'
  | 'depthwise_conv'
  | 'separable_conv'
  | 'dense'
  | 'batch_norm'
  | 'other';

/** Keras class names (Keras 1, 2, 3 and TF.js spellings) and the kind of layer they are. */
const KERAS_KINDS: Record<string, LayerKind> = {
  Conv1D: 'conv',
  Conv2D: 'conv',
  Conv3D: 'conv',
  Convolution1D: 'conv',
  Convolution2D: 'conv',
  Convolution3D: 'conv',
  Conv1DTranspose: 'conv_transpose',
  Conv2DTranspose: 'conv_transpose',
  Conv3DTranspose: 'conv_transpose',
  Deconvolution2D: 'conv_transpose',
  Deconvolution3D: 'conv_transpose',
  DepthwiseConv1D: 'depthwise_conv',
  DepthwiseConv2D: 'depthwise_conv',
  SeparableConv1D: 'separable_conv',
  SeparableConv2D: 'separable_conv',
  SeparableConvolution1D: 'separable_conv',
  SeparableConvolution2D: 'separable_conv',
  AtrousConvolution2D: 'conv',
  Dense: 'dense',
  BatchNormalization: 'batch_norm',
};

export function kerasLayerKind(className: string): LayerKind {
  return KERAS_KINDS[className] ?? 'other';
}

/**
 * Axis names of a Keras-layout weight (Keras 1/2/3 and TF.js all store channels-last kernels).
 * `role` is the normalised role (kernel, bias, depthwise_kernel, ...); `rank` the stored rank.
 * Keras 1 files written with dim_ordering 'th' store convolution kernels as [out, in, kh, kw]:
 * pass `channelsFirstKernel` for those.
 */
export function kerasAxes(
  className: string,
  role: string,
  rank: number,
  channelsFirstKernel = false,
): AxisName[] {
  const kind = kerasLayerKind(className);
  if (rank === 1 && (role === 'bias' || kind === 'batch_norm' || ['gamma', 'beta', 'moving_mean', 'moving_variance'].includes(role))) {
    return kind === 'dense' ? ['units'] : kind === 'other' && role === 'bias' ? ['units'] : ['features'];
  }
  const spatialRank = rank - 2;
  if (spatialRank >= 1 && spatialRank <= 3) {
    const sp = spatialAxes(spatialRank);
    if (role === 'depthwise_kernel' || (kind === 'depthwise_conv' && role === 'kernel')) {
      return [...sp, 'in', 'mult'];
    }
    if (kind === 'conv' || kind === 'separable_conv' || role === 'pointwise_kernel') {
      return channelsFirstKernel ? ['out', 'in', ...sp] : [...sp, 'in', 'out'];
    }
    if (kind === 'conv_transpose') {
      return channelsFirstKernel ? ['in', 'out', ...sp] : [...sp, 'out', 'in'];
    }
  }
  if (rank === 2 && (kind === 'dense' || role === 'kernel' || role === 'recurrent_kernel')) {
    return ['in', 'units'];
  }
  return genericAxes(rank);
}

/**
 * Axis names of a PyTorch / ONNX layout weight. `kind` comes from the graph (ONNX) or is inferred
 * from rank (PyTorch state dicts) and may be overridden by the user for ConvTranspose layers.
 */
export function torchAxes(kind: LayerKind, role: string, rank: number): AxisName[] {
  if (rank === 1) return kind === 'dense' ? ['units'] : ['features'];
  if (role !== 'kernel') return genericAxes(rank);
  if (rank === 2 && (kind === 'dense' || kind === 'other')) return ['units', 'in'];
  const spatialRank = rank - 2;
  if (spatialRank >= 1 && spatialRank <= 3) {
    const sp = spatialAxes(spatialRank);
    return kind === 'conv_transpose' ? ['in', 'out', ...sp] : ['out', 'in', ...sp];
  }
  return genericAxes(rank);
}
