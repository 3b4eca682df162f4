import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras' ReLU, ELU, Softmax and Subtract layers with every option. tfjs-layers' ReLU has no `threshold` or
 * `negative_slope`, and its ELU refuses alpha != 1.
 *
 * ReLU follows Keras' backend `relu(x, negative_slope, max_value, threshold)` step by step (the same
 * in Keras 2 and 3):
 *   y = x * (x > threshold)            if threshold != 0, else max(x, 0)
 *   y = clip(y, 0, max_value)          if max_value is given
 *   y = y - negative_slope * max(threshold - x, 0)   if negative_slope != 0
 * (negative_slope without max_value and threshold is plain leaky ReLU, which the last line equals).
 */

interface ReluArgs {
  maxValue?: number | null;
  negativeSlope?: number;
  threshold?: number;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

export class KerasReLU extends tfl.layers.Layer {
  static className = 'ConvscopeReLU';
  private readonly maxValue: number | null;
  private readonly negativeSlope: number;
  private readonly threshold: number;

  constructor(args: ReluArgs) {
    super(args);
    this.maxValue = args.maxValue ?? null;
    this.negativeSlope = args.negativeSlope ?? 0;
    this.threshold = args.threshold ?? 0;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      let y = this.threshold !== 0 ? tf.mul(x, tf.cast(tf.greater(x, this.threshold), 'float32')) : tf.relu(x);
      if (this.maxValue !== null) y = tf.clipByValue(y, 0, this.maxValue);
      if (this.negativeSlope !== 0) y = tf.sub(y, tf.mul(this.negativeSlope, tf.relu(tf.sub(this.threshold, x))));
      return y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), maxValue: this.maxValue, negativeSlope: this.negativeSlope, threshold: this.threshold };
  }
}

/** Keras ELU: x where x > 0, alpha * (exp(x) - 1) elsewhere, for any alpha. */
export class KerasELU extends tfl.layers.Layer {
  static className = 'ConvscopeELU';
  private readonly alpha: number;

  constructor(args: { alpha?: number; name?: string; trainable?: boolean; batchInputShape?: (number | null)[]; dtype?: 'float32' }) {
    super(args);
    this.alpha = args.alpha ?? 1;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.where(tf.greater(x, 0), x, tf.mul(this.alpha, tf.expm1(x)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), alpha: this.alpha };
  }
}

/** Keras Subtract: the first input minus the second (tfjs-layers has no Subtract). */
export class KerasSubtract extends tfl.layers.Layer {
  static className = 'ConvscopeSubtract';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    if (list.length !== 2) throw new Error(`Subtract expects 2 inputs, but received ${list.length}.`);
    return tf.sub(list[0]!, list[1]!);
  }
}

/** Keras Softmax over any one axis (tfjs-core's softmax takes only the last). */
export class KerasSoftmax extends tfl.layers.Layer {
  static className = 'ConvscopeSoftmax';
  private readonly axis: number;

  constructor(args: { axis?: number; name?: string; trainable?: boolean; batchInputShape?: (number | null)[]; dtype?: 'float32' }) {
    super(args);
    this.axis = args.axis ?? -1;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const axis = this.axis < 0 ? this.axis + x.rank : this.axis;
      if (axis === x.rank - 1) return tf.softmax(x);
      const order = x.shape.map((_, i) => i);
      [order[axis], order[x.rank - 1]] = [x.rank - 1, axis];
      return tf.transpose(tf.softmax(tf.transpose(x, order)), order);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), axis: this.axis };
  }
}

for (const layer of [KerasReLU, KerasELU, KerasSubtract, KerasSoftmax]) tf.serialization.registerClass(layer);
