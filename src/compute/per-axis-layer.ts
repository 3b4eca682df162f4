import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * A layer with one statistic per position along a Keras `axis` (negative counts from the end), broadcast
 * along the other axes, and an output shaped like its input: the inference BatchNormalization and
 * Normalization layers.
 */
export abstract class PerAxisLayer extends tfl.layers.Layer {
  protected readonly axis: number;

  constructor(args: ConstructorParameters<typeof tfl.layers.Layer>[0] & { axis?: number | null }) {
    super(args);
    this.axis = args.axis ?? -1;
  }

  private axisOf(rank: number): number {
    return this.axis < 0 ? this.axis + rank : this.axis;
  }

  /** How many statistics the layer holds: the length of its axis in the input. */
  protected axisLength(inputShape: tfl.Shape | tfl.Shape[]): number {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return shape[this.axisOf(shape.length)] as number;
  }

  /** A rank-1 statistic reshaped to broadcast along `x`'s other axes. */
  protected alongAxis(x: tf.Tensor, statistic: tf.Tensor): tf.Tensor {
    const shape = x.shape.map(() => 1);
    const axis = this.axisOf(x.rank);
    shape[axis] = x.shape[axis]!;
    return tf.reshape(statistic, shape);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }
}
