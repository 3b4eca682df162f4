import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras DepthwiseConv2D with `dilation_rate`: tfjs-layers' DepthwiseConv2D keeps the option but runs
 * and sizes its output without it. This subclass (weights, bias and everything else tfjs' own)
 * calls tfjs-core's depthwiseConv2d with the dilation and sizes the output as Keras does.
 */

type LayerClass = new (args: Record<string, unknown>) => tfl.layers.Layer;

const DepthwiseConv2D = tf.serialization.SerializationMap.getMap().classNameMap.DepthwiseConv2D![0] as unknown as LayerClass;

function pair(value: unknown, fallback: number): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  return [fallback, fallback];
}

export class KerasDepthwiseConv2D extends DepthwiseConv2D {
  static className = 'ConvscopeDepthwiseConv2D';
  private readonly kernel2: [number, number];
  private readonly stride2: [number, number];
  private readonly dilation2: [number, number];
  private readonly same: boolean;
  private readonly first: boolean;
  private readonly activationLayer: tfl.layers.Layer;

  constructor(args: Record<string, unknown>) {
    super(args);
    this.kernel2 = pair(args.kernelSize, 1);
    this.stride2 = pair(args.strides, 1);
    this.dilation2 = pair(args.dilationRate, 1);
    this.same = args.padding === 'same';
    this.first = args.dataFormat === 'channelsFirst';
    this.activationLayer = tfl.layers.activation({ activation: (args.activation ?? 'linear') as 'linear' });
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const shape = [...((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape)];
    const out = super.computeOutputShape(shape) as tfl.Shape;
    const axes = this.first ? [2, 3] : [1, 2];
    axes.forEach((axis, i) => {
      const n = shape[axis];
      if (typeof n !== 'number') return;
      const extent = (this.kernel2[i]! - 1) * this.dilation2[i]! + 1;
      out[axis] = this.same ? Math.ceil(n / this.stride2[i]!) : Math.floor((n - extent) / this.stride2[i]!) + 1;
    });
    return out;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      if (this.first) x = tf.transpose(x, [0, 2, 3, 1]);
      const self = this as unknown as { depthwiseKernel: tfl.LayerVariable; bias?: tfl.LayerVariable | null };
      let y: tf.Tensor = tf.depthwiseConv2d(x, self.depthwiseKernel.read() as tf.Tensor4D, this.stride2, this.same ? 'same' : 'valid', 'NHWC', this.dilation2);
      if (self.bias) y = tf.add(y, self.bias.read());
      y = this.activationLayer.apply(y) as tf.Tensor;
      return this.first ? tf.transpose(y, [0, 3, 1, 2]) : y;
    });
  }
}

tf.serialization.registerClass(KerasDepthwiseConv2D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
