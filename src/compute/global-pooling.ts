import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras GlobalMax/AveragePooling1D/2D: the max or mean over every spatial axis, for either data
 * format, keeping the pooled axes with length 1 when `keepdims` (tfjs-layers' classes have no
 * keepdims, and their 1-D ones ignore channels_first).
 */

interface Args {
  mode: 'max' | 'average';
  dataFormat?: 'channelsFirst' | 'channelsLast';
  keepdims?: boolean;
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

export class KerasGlobalPooling extends tfl.layers.Layer {
  static className = 'ConvscopeGlobalPooling';
  private readonly mode: 'max' | 'average';
  private readonly first: boolean;
  private readonly keepdims: boolean;

  constructor(args: Args) {
    super(args);
    this.mode = args.mode;
    this.first = args.dataFormat === 'channelsFirst';
    this.keepdims = args.keepdims ?? false;
  }

  private axes(rank: number): number[] {
    return Array.from({ length: rank - 2 }, (_, i) => i + (this.first ? 2 : 1));
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const axes = this.axes(shape.length);
    if (this.keepdims) return shape.map((d, i) => (axes.includes(i) ? 1 : d));
    return shape.filter((_, i) => !axes.includes(i));
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const axes = this.axes(x.rank);
      return this.mode === 'max' ? tf.max(x, axes, this.keepdims) : tf.mean(x, axes, this.keepdims);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode, dataFormat: this.first ? 'channelsFirst' : 'channelsLast', keepdims: this.keepdims };
  }
}

tf.serialization.registerClass(KerasGlobalPooling);
