import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * channels_first for tfjs-layers classes that get it wrong: 1-D pooling ignores `dataFormat` (it
 * pools an NCW input over its channels), SeparableConv2D with
 * channels_first disagrees with Keras. The subclass runs tfjs' own layer on the
 * channels-last transpose and transposes the result back, so Keras' (batch, channels, ...) layout holds.
 */

type LayerClass = new (args: Record<string, unknown>) => tfl.layers.Layer;

function tfjsClass(name: string): LayerClass {
  return tf.serialization.SerializationMap.getMap().classNameMap[name]![0] as unknown as LayerClass;
}

function shapeOf(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
}

/** (N, C, ...spatial) -> (N, ...spatial, C) and back, as axis permutations. */
const toLast = (rank: number): number[] => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
const toFirst = (rank: number): number[] => [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];

function permute(shape: tfl.Shape, order: (rank: number) => number[]): tfl.Shape {
  return order(shape.length).map((i) => shape[i]!);
}

function channelsFirst(base: string): LayerClass & { className: string } {
  const Base = tfjsClass(base);
  class ChannelsFirst extends Base {
    static className = `ConvscopeChannelsFirst${base}`;

    constructor(args: Record<string, unknown>) {
      super({ ...args, dataFormat: 'channelsLast' });
    }

    override build(inputShape: tfl.Shape | tfl.Shape[]): void {
      super.build(permute(shapeOf(inputShape), toLast));
      // tfjs' input check would expect the channels-last shape the wrapped layer was built for
      this.inputSpec = null as unknown as tfl.InputSpec[];
    }

    override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
      const out = super.computeOutputShape(permute(shapeOf(inputShape), toLast)) as tfl.Shape;
      return out.length > 2 ? permute(out, toFirst) : out;
    }

    override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0]! : inputs;
        const y = super.call(tf.transpose(x, toLast(x.rank)), kwargs) as tf.Tensor;
        return y.rank > 2 ? tf.transpose(y, toFirst(y.rank)) : y;
      });
    }

    override getConfig(): tf.serialization.ConfigDict {
      return { ...super.getConfig(), dataFormat: 'channelsFirst' };
    }
  }
  tf.serialization.registerClass(ChannelsFirst as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
  return ChannelsFirst;
}

/** tfjs class name -> convscope's channels_first replacement. */
export const CHANNELS_FIRST: Readonly<Record<string, string>> = Object.fromEntries(
  ['MaxPooling1D', 'AveragePooling1D', 'SeparableConv2D'].map((name) => [name, channelsFirst(name).className]),
);
