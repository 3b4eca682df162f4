import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';
import { PerAxisLayer } from './per-axis-layer.js';

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

export class KerasNormalization extends PerAxisLayer {
  static className = 'ConvscopeNormalization';
  private readonly meanValue: number | number[] | null;
  private readonly varianceValue: number | number[] | null;
  private mean?: tfl.LayerVariable;
  private variance?: tfl.LayerVariable;

  constructor(args: Args) {
    super(args);
    this.meanValue = args.mean ?? null;
    this.varianceValue = args.variance ?? null;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    if (this.meanValue === null) {
      const n = [this.axisLength(inputShape)];
      const zeros = tfl.initializers.zeros();
      this.mean = this.addWeight('mean', n, 'float32', zeros, undefined, false);
      this.variance = this.addWeight('variance', n, 'float32', zeros, undefined, false);
    }
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const at = (stored: tfl.LayerVariable | undefined, given: number | number[] | null): tf.Tensor =>
        stored ? this.alongAxis(x, stored.read()) : typeof given === 'number' ? tf.scalar(given) : this.alongAxis(x, tf.tensor1d(given!));
      return tf.div(tf.sub(x, at(this.mean, this.meanValue)), tf.maximum(tf.sqrt(at(this.variance, this.varianceValue)), EPSILON));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, mean: this.meanValue, variance: this.varianceValue };
  }
}

tf.serialization.registerClass(KerasNormalization);
