import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras Conv1D/2D/3D with `groups` > 1 (tfjs-layers has no grouped convolution): the input channels
 * split into `groups` equal parts, part g convolved with filters g * filters/groups ... (g + 1) *
 * filters/groups of the kernel (stored as Keras does, [...kernel_size, in / groups, filters]), the
 * results concatenated along channels, then bias and activation. Padding 'valid', 'same' and, for
 * Conv1D, 'causal' (zeros before the first step).
 */

interface Args {
  rank: 1 | 2 | 3;
  filters: number;
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: string;
  dataFormat?: 'channelsFirst' | 'channelsLast';
  dilationRate?: number | number[];
  groups: number;
  useBias?: boolean;
  activation?: string;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

function tuple(value: number | number[] | undefined, rank: number): number[] {
  if (value === undefined || value === null) return new Array(rank).fill(1);
  return typeof value === 'number' ? new Array(rank).fill(value) : [...value];
}

export class KerasGroupedConv extends tfl.layers.Layer {
  static className = 'ConvscopeGroupedConv';
  private readonly args: Args;
  private readonly kernelSize: number[];
  private readonly strides: number[];
  private readonly dilation: number[];
  private readonly activationLayer: tfl.layers.Layer;
  private kernel?: tfl.LayerVariable;
  private bias?: tfl.LayerVariable;

  constructor(args: Args) {
    super(args);
    this.args = args;
    this.kernelSize = tuple(args.kernelSize, args.rank);
    this.strides = tuple(args.strides, args.rank);
    this.dilation = tuple(args.dilationRate, args.rank);
    this.activationLayer = tfl.layers.activation({ activation: (args.activation ?? 'linear') as 'linear' });
  }

  private get first(): boolean {
    return this.args.dataFormat === 'channelsFirst';
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const channels = shape[this.first ? 1 : shape.length - 1] as number;
    const zeros = tfl.initializers.zeros();
    this.kernel = this.addWeight('kernel', [...this.kernelSize, channels / this.args.groups, this.args.filters], 'float32', zeros);
    if (this.args.useBias ?? true) this.bias = this.addWeight('bias', [this.args.filters], 'float32', zeros);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = [...((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape)];
    const spatial = this.first ? 2 : 1;
    for (let i = 0; i < this.args.rank; i++) {
      const n = shape[spatial + i];
      if (typeof n !== 'number') continue;
      const extent = (this.kernelSize[i]! - 1) * this.dilation[i]! + 1;
      shape[spatial + i] = this.args.padding === 'valid' || this.args.padding === undefined ? Math.floor((n - extent) / this.strides[i]!) + 1 : Math.ceil(n / this.strides[i]!);
    }
    shape[this.first ? 1 : shape.length - 1] = this.args.filters;
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const rank = x.rank;
      const toLast = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
      const toFirst = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
      if (this.first) x = tf.transpose(x, toLast);
      let padding: 'valid' | 'same' = this.args.padding === 'same' ? 'same' : 'valid';
      if (this.args.padding === 'causal') {
        const pads: [number, number][] = x.shape.map(() => [0, 0]);
        pads[1] = [(this.kernelSize[0]! - 1) * this.dilation[0]!, 0];
        x = tf.pad(x, pads);
        padding = 'valid';
      }
      const parts = tf.split(x, this.args.groups, rank - 1);
      const kernels = tf.split(this.kernel!.read(), this.args.groups, rank - 1);
      const outputs = parts.map((part, g) => {
        const k = kernels[g]!;
        if (this.args.rank === 1) return tf.conv1d(part as tf.Tensor3D, k as tf.Tensor3D, this.strides[0]!, padding, 'NWC', this.dilation[0]!);
        if (this.args.rank === 2) return tf.conv2d(part as tf.Tensor4D, k as tf.Tensor4D, this.strides as [number, number], padding, 'NHWC', this.dilation as [number, number]);
        return tf.conv3d(part as tf.Tensor5D, k as tf.Tensor5D, this.strides as [number, number, number], padding, 'NDHWC', this.dilation as [number, number, number]);
      });
      let y: tf.Tensor = tf.concat(outputs, rank - 1);
      if (this.bias) y = tf.add(y, this.bias.read());
      y = this.activationLayer.apply(y) as tf.Tensor;
      return this.first ? tf.transpose(y, toFirst) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { rank, filters, kernelSize, strides, padding, dataFormat, dilationRate, groups, useBias, activation } = this.args;
    return { ...super.getConfig(), rank, filters, kernelSize, strides, padding, dataFormat, dilationRate, groups, useBias, activation } as tf.serialization.ConfigDict;
  }
}

tf.serialization.registerClass(KerasGroupedConv);
