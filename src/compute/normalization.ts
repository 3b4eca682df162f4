import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras' Normalization preprocessing layer (tfjs-layers has none), at inference:
 *   y = (x - mean) / max(sqrt(variance), 1e-7)
 * with mean and variance over the kept `axis`, broadcast along the others. They come from the
 * config when the model was built with `mean=`/`variance=`, else from the stored `mean` and
 * `variance` weights (`adapt()`); the stored `count` only matters to adapt().
 */

const EPSILON = 1e-7;

interface Args {
  axis?: number | null;
  mean?: number | number[] | null;
  variance?: number | number[] | null;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

export class KerasNormalization extends tfl.layers.Layer {
  static className = 'ConvscopeNormalization';
  private readonly axis: number;
  private readonly meanValue: number | number[] | null;
  private readonly varianceValue: number | number[] | null;
  private mean?: tfl.LayerVariable;
  private variance?: tfl.LayerVariable;

  constructor(args: Args) {
    super(args);
    this.axis = args.axis ?? -1;
    this.meanValue = args.mean ?? null;
    this.varianceValue = args.variance ?? null;
  }

  private axisOf(rank: number): number {
    return this.axis < 0 ? this.axis + rank : this.axis;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    if (this.meanValue === null) {
      const n = [shape[this.axisOf(shape.length)] as number];
      const zeros = tfl.initializers.zeros();
      this.mean = this.addWeight('mean', n, 'float32', zeros, undefined, false);
      this.variance = this.addWeight('variance', n, 'float32', zeros, undefined, false);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const shape = x.shape.map(() => 1);
      const axis = this.axisOf(x.rank);
      shape[axis] = x.shape[axis]!;
      const at = (stored: tfl.LayerVariable | undefined, given: number | number[] | null): tf.Tensor =>
        stored ? tf.reshape(stored.read(), shape) : typeof given === 'number' ? tf.scalar(given) : tf.reshape(tf.tensor1d(given!), shape);
      return tf.div(tf.sub(x, at(this.mean, this.meanValue)), tf.maximum(tf.sqrt(at(this.variance, this.varianceValue)), EPSILON));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, mean: this.meanValue, variance: this.varianceValue };
  }
}

tf.serialization.registerClass(KerasNormalization);
