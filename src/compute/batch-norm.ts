import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';
import { PerAxisLayer } from './per-axis-layer.js';

/**
 * Inference-mode BatchNormalization over any axis. tfjs-core's batchNorm applies rank-1 statistics
 * along the last axis even when given a broadcast shape such as [1, C, 1, 1] (both the cpu and the
 * wasm kernels), so tfjs-layers' BatchNormalization is wrong for `axis=1` (channels_first models).
 * convscope uses this layer wherever Keras' axis is not the last one. Weights keep Keras' names.
 */

interface Args {
  axis?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

export class AxisBatchNormalization extends PerAxisLayer {
  static className = 'ConvscopeBatchNormalization';
  private readonly epsilon: number;
  private readonly center: boolean;
  private readonly scale: boolean;
  private gamma?: tfl.LayerVariable;
  private beta?: tfl.LayerVariable;
  private mean?: tfl.LayerVariable;
  private variance?: tfl.LayerVariable;

  constructor(args: Args) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-3;
    this.center = args.center ?? true;
    this.scale = args.scale ?? true;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const n = [this.axisLength(inputShape)];
    const zeros = tfl.initializers.zeros();
    if (this.scale) this.gamma = this.addWeight('gamma', n, 'float32', zeros);
    if (this.center) this.beta = this.addWeight('beta', n, 'float32', zeros);
    this.mean = this.addWeight('moving_mean', n, 'float32', zeros, undefined, false);
    this.variance = this.addWeight('moving_variance', n, 'float32', zeros, undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const at = (v: tfl.LayerVariable): tf.Tensor => this.alongAxis(x, v.read());
      let factor = tf.rsqrt(tf.add(at(this.variance!), this.epsilon));
      if (this.gamma) factor = tf.mul(factor, at(this.gamma));
      let y = tf.mul(tf.sub(x, at(this.mean!)), factor);
      if (this.beta) y = tf.add(y, at(this.beta));
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis, epsilon: this.epsilon, center: this.center, scale: this.scale };
  }
}

tf.serialization.registerClass(AxisBatchNormalization);
