import { kerasAxes, kerasLayerKind, type AxisName, type LayerKind } from '../model/axes.js';
import { NamedTensor } from '../model/named-tensor.js';
import type { SafetensorsTensor } from '../formats/safetensors-write.js';

/** PyTorch's names for Keras weight roles. */
const TORCH_ROLES: Record<string, string> = {
  kernel: 'weight',
  bias: 'bias',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
  depthwise_kernel: 'depthwise.weight',
  pointwise_kernel: 'pointwise.weight',
};

/** A DepthwiseConv2D is one grouped conv in PyTorch; a SeparableConv2D is two, the bias on the second. */
function torchRole(kind: LayerKind, role: string): string {
  if (kind === 'depthwise_conv' && role === 'depthwise_kernel') return 'weight';
  if (kind === 'separable_conv' && role === 'bias') return 'pointwise.bias';
  return TORCH_ROLES[role] ?? role;
}

/**
 * A Keras-layout weight as PyTorch stores it: `layer.weight` / `layer.bias` / `running_mean` ...,
 * conv kernels [out, in, kh, kw], transposed-conv [in, out, kh, kw], depthwise as grouped conv
 * [in * mult, 1, kh, kw], dense [units, in]. Weights without a PyTorch counterpart keep their
 * Keras layout and role name. This is how convscope's safetensors snapshots are laid out, so that
 * safetensors readers (convscope's own, Python's) see the layout the format's ecosystem expects.
 */
export function toTorchTensor(layer: string, className: string, role: string, shape: readonly number[], data: Float32Array): SafetensorsTensor {
  const kind = kerasLayerKind(className);
  const name = `${layer}.${torchRole(kind, role)}`;
  const axes = kerasAxes(className, role, shape.length);
  const spatial = axes.filter((a) => a === 'kd' || a === 'kh' || a === 'kw');
  let order: AxisName[] | undefined;
  if (axes.includes('mult')) order = ['in', 'mult', ...spatial];
  else if (axes.includes('out')) order = kind === 'conv_transpose' ? ['in', 'out', ...spatial] : ['out', 'in', ...spatial];
  else if (axes.includes('units') && axes.includes('in')) order = ['units', 'in'];
  if (!order) return { name, shape, data };
  const t = new NamedTensor(axes, shape, data).toAxes(order);
  const torchShape = axes.includes('mult') ? [t.shape[0]! * t.shape[1]!, 1, ...t.shape.slice(2)] : [...t.shape];
  return { name, shape: torchShape, data: t.data };
}
