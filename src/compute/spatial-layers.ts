import * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras ZeroPadding, Cropping and UpSampling (nearest) in 1-D and 3-D, which tfjs-layers lacks (its
 * 2-D ones are used for 2-D). Amounts as Keras takes them: an integer, one per spatial axis, or
 * (before, after) pairs per axis; 1-D layers are (batch, steps, features), 3-D ones follow data_format.
 */

type Mode = 'pad' | 'crop' | 'repeat';

interface Args {
  mode: Mode;
  rank: 1 | 3;
  padding?: unknown;
  cropping?: unknown;
  size?: unknown;
  dataFormat?: 'channelsFirst' | 'channelsLast';
  name?: string;
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  dtype?: 'float32';
}

/** Keras' amounts -> [before, after] per spatial axis. */
function pairs(value: unknown, rank: number): [number, number][] {
  if (typeof value === 'number') return Array.from({ length: rank }, () => [value, value]);
  const list = value as (number | number[])[];
  if (rank === 1 && list.length === 2 && list.every((v) => typeof v === 'number')) return [[list[0] as number, list[1] as number]];
  return list.map((v) => (typeof v === 'number' ? [v, v] : [v[0]!, v[1]!]));
}

export class KerasSpatialLayer extends tfl.layers.Layer {
  static className = 'ConvscopeSpatialLayer';
  private readonly mode: Mode;
  private readonly rank: 1 | 3;
  private readonly amounts: [number, number][];
  private readonly sizes: number[];
  private readonly first: boolean;
  private readonly raw: unknown;

  constructor(args: Args) {
    super(args);
    this.mode = args.mode;
    this.rank = args.rank;
    this.first = args.rank === 3 && args.dataFormat === 'channelsFirst';
    this.raw = args.mode === 'pad' ? args.padding : args.mode === 'crop' ? args.cropping : args.size;
    const fallback = args.mode === 'repeat' ? 2 : 1;
    this.amounts = pairs(this.raw ?? fallback, args.rank);
    const size = this.raw ?? fallback;
    this.sizes = typeof size === 'number' ? new Array(args.rank).fill(size) : [...(size as number[])];
  }

  private axis(i: number): number {
    return i + (this.first ? 2 : 1);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = [...((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape)];
    for (let i = 0; i < this.rank; i++) {
      const n = shape[this.axis(i)];
      if (typeof n !== 'number') continue;
      const [a, b] = this.amounts[i]!;
      shape[this.axis(i)] = this.mode === 'pad' ? n + a + b : this.mode === 'crop' ? n - a - b : n * this.sizes[i]!;
    }
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.mode === 'pad') {
        const pads: [number, number][] = x.shape.map(() => [0, 0]);
        for (let i = 0; i < this.rank; i++) pads[this.axis(i)] = this.amounts[i]!;
        return tf.pad(x, pads);
      }
      if (this.mode === 'crop') {
        const begin = x.shape.map(() => 0);
        const size = [...x.shape];
        for (let i = 0; i < this.rank; i++) {
          const [a, b] = this.amounts[i]!;
          begin[this.axis(i)] = a;
          size[this.axis(i)] = x.shape[this.axis(i)]! - a - b;
        }
        return tf.slice(x, begin, size);
      }
      for (let i = 0; i < this.rank; i++) {
        const axis = this.axis(i);
        const s = this.sizes[i]!;
        if (s === 1) continue;
        // repeat each element s times along axis: stack s copies after it, then merge the two axes
        const stacked = tf.stack(Array.from({ length: s }, () => x), axis + 1);
        const shape = [...x.shape];
        shape[axis] = x.shape[axis]! * s;
        x = tf.reshape(stacked, shape);
      }
      return x;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const key = this.mode === 'pad' ? 'padding' : this.mode === 'crop' ? 'cropping' : 'size';
    return { ...super.getConfig(), mode: this.mode, rank: this.rank, [key]: this.raw as number, dataFormat: this.first ? 'channelsFirst' : 'channelsLast' };
  }
}

tf.serialization.registerClass(KerasSpatialLayer);
