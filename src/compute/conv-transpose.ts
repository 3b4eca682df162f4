import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Conv2DTranspose with Keras' semantics. tfjs-layers' own Conv2DTranspose ignores `dilation_rate`,
 * so convscope runs Keras transposed convolutions through this layer (registered under its own
 * class name, leaving tfjs' class untouched). Per spatial axis, with k_eff = (k - 1) * d + 1:
 *   full   = (in - 1) * s + k_eff                    (the complete transposed convolution)
 *   valid: out = full
 *   same:  out = in * s, starting at max(k_eff - s, 0) // 2 of `full`; where `out` runs past `full`
 *          (k_eff < s) the tail holds zeros (then the bias), as TensorFlow's conv2d_transpose does.
 * This is what the Keras that wrote fixture 02 computes (all 28 cases match). Later Keras versions
 * give 'valid' with k_eff < s an extra s - k_eff bias-only rows (in * s + max(k_eff - s, 0));
 * convscope follows the fixture. An explicit output_padding sets out as transposeLength says, the
 * start as transposeStart says.
 */

type DataFormat = 'channelsFirst' | 'channelsLast';

interface Args {
  filters: number;
  kernelSize: number | number[];
  strides?: number | number[];
  padding?: string;
  dataFormat?: DataFormat;
  dilationRate?: number | number[];
  outputPadding?: number | number[] | null;
  useBias?: boolean;
  activation?: string;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

function pair(value: number | number[] | undefined, fallback: number): [number, number] {
  if (value === undefined || value === null) return [fallback, fallback];
  if (typeof value === 'number') return [value, value];
  return [value[0] ?? fallback, value[1] ?? value[0] ?? fallback];
}

/**
 * Keras' output length of a transposed convolution along one axis. With `outputPadding` (Keras'
 * conv_utils.deconv_output_length): (in - 1) * s + k_eff - 2 * pad + output_padding, pad being
 * k_eff // 2 for 'same' and 0 for 'valid'.
 */
export function transposeLength(input: number, kernel: number, stride: number, dilation: number, padding: string, outputPadding: number | null = null): number {
  const kEff = (kernel - 1) * dilation + 1;
  if (outputPadding !== null) return (input - 1) * stride + kEff - 2 * (padding === 'same' ? Math.floor(kEff / 2) : 0) + outputPadding;
  return padding === 'same' ? input * stride : (input - 1) * stride + kEff;
}

/**
 * Where the output starts in the full transposed convolution ((in - 1) * s + k_eff long): TensorFlow's
 * conv2d_transpose is the gradient of a conv2d from the output to the input, so 'same' starts at that
 * conv's leading padding, floor(max(full - out, 0) / 2); 'valid' at 0.
 */
export function transposeStart(full: number, target: number, padding: string): number {
  return padding === 'same' ? Math.floor(Math.max(full - target, 0) / 2) : 0;
}

export class KerasConv2DTranspose extends tfl.layers.Layer {
  static className = 'ConvscopeConv2DTranspose';
  private readonly filters: number;
  private readonly kernelSize: [number, number];
  private readonly strides: [number, number];
  private readonly padding: 'same' | 'valid';
  private readonly dataFormat: DataFormat;
  private readonly dilation: [number, number];
  private readonly outputPadding: [number, number] | null;
  private readonly useBias: boolean;
  private readonly activationName: string;
  private readonly activationLayer: tfl.layers.Layer;
  private kernel?: tfl.LayerVariable;
  private bias?: tfl.LayerVariable;

  constructor(args: Args) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = pair(args.kernelSize, 1);
    this.strides = pair(args.strides, 1);
    this.padding = args.padding === 'same' ? 'same' : 'valid';
    this.dataFormat = args.dataFormat ?? 'channelsLast';
    this.dilation = pair(args.dilationRate, 1);
    this.outputPadding = args.outputPadding === undefined || args.outputPadding === null ? null : pair(args.outputPadding, 0);
    this.useBias = args.useBias ?? true;
    this.activationName = args.activation ?? 'linear';
    this.activationLayer = tfl.layers.activation({ activation: this.activationName as 'linear' });
  }

  private channelAxis(rank: number): number {
    return this.dataFormat === 'channelsFirst' ? 1 : rank - 1;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inChannels = shape[this.channelAxis(shape.length)] as number;
    const zeros = tfl.initializers.zeros();
    this.kernel = this.addWeight('kernel', [...this.kernelSize, this.filters, inChannels], 'float32', zeros);
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', zeros);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = [...((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape)];
    const [hAxis, wAxis] = this.dataFormat === 'channelsFirst' ? [2, 3] : [1, 2];
    const length = (n: number | null, i: 0 | 1): number | null =>
      n === null ? null : transposeLength(n, this.kernelSize[i], this.strides[i], this.dilation[i], this.padding, this.outputPadding?.[i] ?? null);
    shape[hAxis] = length(shape[hAxis]!, 0);
    shape[wAxis] = length(shape[wAxis]!, 1);
    shape[this.channelAxis(shape.length)] = this.filters;
    return shape;
  }

  /** The kernel with (d - 1) zeros between taps along each spatial axis. */
  private dilatedKernel(kernel: tf.Tensor4D): tf.Tensor4D {
    let k = kernel;
    for (const axis of [0, 1] as const) {
      const d = this.dilation[axis];
      if (d === 1) continue;
      const n = k.shape[axis];
      const spread = tf.stack([k, ...Array.from({ length: d - 1 }, () => tf.zerosLike(k))], axis + 1);
      const merged = tf.reshape(spread, axis === 0 ? [n * d, k.shape[1], k.shape[2], k.shape[3]] : [k.shape[0], n * d, k.shape[2], k.shape[3]]) as tf.Tensor4D;
      const size: [number, number, number, number] = [...merged.shape];
      size[axis] = (n - 1) * d + 1;
      k = tf.slice(merged, [0, 0, 0, 0], size);
    }
    return k;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      if (this.dataFormat === 'channelsFirst') x = tf.transpose(x, [0, 2, 3, 1]);
      const kernel = this.dilatedKernel(this.kernel!.read() as tf.Tensor4D);
      const [batch, h, w] = x.shape;
      const kEff = [kernel.shape[0], kernel.shape[1]];
      const full = [0, 1].map((i) => ([h, w][i]! - 1) * this.strides[i]! + kEff[i]!);
      let y = tf.conv2dTranspose(x, kernel, [batch, full[0]!, full[1]!, this.filters], this.strides, 'valid');
      const target = [0, 1].map((i) => transposeLength([h, w][i]!, this.kernelSize[i]!, this.strides[i]!, this.dilation[i]!, this.padding, this.outputPadding?.[i] ?? null));
      const begin = [0, 1].map((i) => transposeStart(full[i]!, target[i]!, this.padding));
      const take = [0, 1].map((i) => Math.min(target[i]!, full[i]! - begin[i]!));
      y = tf.slice(y, [0, begin[0]!, begin[1]!, 0], [batch, take[0]!, take[1]!, this.filters]);
      if (take[0]! < target[0]! || take[1]! < target[1]!) {
        y = tf.pad(y, [[0, 0], [0, target[0]! - take[0]!], [0, target[1]! - take[1]!], [0, 0]]);
      }
      if (this.bias) y = tf.add(y, this.bias.read());
      y = this.activationLayer.apply(y) as tf.Tensor4D;
      return this.dataFormat === 'channelsFirst' ? tf.transpose(y, [0, 3, 1, 2]) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: this.kernelSize,
      strides: this.strides,
      padding: this.padding,
      dataFormat: this.dataFormat,
      dilationRate: this.dilation,
      outputPadding: this.outputPadding,
      useBias: this.useBias,
      activation: this.activationName,
    };
  }
}

tf.serialization.registerClass(KerasConv2DTranspose);
