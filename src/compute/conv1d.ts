import type * as tfl from '@tensorflow/tfjs-layers';
import { tf } from './backend.js';

/**
 * Keras Conv1D on top of tfjs-layers' Conv1D, for what tfjs-layers lacks:
 * - padding='causal': Keras pads (kernel_size - 1) * dilation_rate zeros before the first step and
 *   runs a 'valid' convolution, so step t sees only steps <= t (output length ceil(steps / strides));
 * - channels_first: tfjs-layers transposes an NCW input to NWC but returns NWC; Keras returns NCW.
 * Weights and every other behaviour are tfjs-layers' own.
 */

type LayerClass = new (args: Record<string, unknown>) => tfl.layers.Layer;

const Conv1D = tf.serialization.SerializationMap.getMap().classNameMap.Conv1D![0] as unknown as LayerClass;

function one(value: unknown): number {
  return Array.isArray(value) ? Number(value[0]) : Number(value ?? 1);
}

export class KerasConv1D extends Conv1D {
  static className = 'ConvscopeConv1D';
  private readonly causalPad: number;
  private readonly channelsFirst: boolean;

  constructor(args: Record<string, unknown>) {
    const causal = args.padding === 'causal';
    super({ ...args, padding: causal ? 'valid' : args.padding });
    this.causalPad = causal ? (one(args.kernelSize) - 1) * one(args.dilationRate) : 0;
    this.channelsFirst = args.dataFormat === 'channelsFirst';
  }

  private get stepAxis(): number {
    return this.channelsFirst ? 2 : 1;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape | tfl.Shape[] {
    const shape = [...((Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape)];
    const steps = shape[this.stepAxis];
    if (typeof steps === 'number') shape[this.stepAxis] = steps + this.causalPad;
    return super.computeOutputShape(shape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      let x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (this.causalPad > 0) {
        const pads: [number, number][] = [[0, 0], [0, 0], [0, 0]];
        pads[this.stepAxis] = [this.causalPad, 0];
        x = tf.pad(x, pads);
      }
      const y = super.call(x, kwargs) as tf.Tensor;
      return this.channelsFirst ? tf.transpose(y, [0, 2, 1]) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config = super.getConfig() as tf.serialization.ConfigDict;
    return this.causalPad > 0 ? { ...config, padding: 'causal' } : config;
  }
}

tf.serialization.registerClass(KerasConv1D as unknown as tf.serialization.SerializableConstructor<tf.serialization.Serializable>);
