import { batches, batchCount, type Dataset, type ImageSet } from '../data/index.js';
import { SelectionError } from '../model/errors.js';
import { didYouMean } from '../model/lookup.js';
import { outputChannelsFirst, runLayers, type Activation } from './activations.js';
import type { RunnableModel } from './build.js';
import type { Preset } from './choices.js';
import { pixelTransform, presetPixels } from './preprocess.js';

/** `gap`: one value per channel (global average over positions); `flatten`: every value of the output. */
export type FeatureMode = 'gap' | 'flatten';

export interface FeatureOptions {
  layer: string;
  mode: FeatureMode;
  /** How the data set's pixels become the network input (compute/preprocess.ts). */
  preset: Preset;
  batchSize?: number;
  /** Called after each batch with the number of batches done and in all. */
  onProgress?: (done: number, total: number) => void;
}

export interface Features {
  /** count rows of `dim` values, row-major. */
  data: Float32Array;
  count: number;
  dim: number;
}

/** Features of one sample from a layer output: GAP over the spatial positions, or all values. */
function pool(activation: Activation, sample: number, mode: FeatureMode, channelsFirst: boolean, out: Float32Array, offset: number): void {
  const dims = activation.shape.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  const values = activation.data.subarray(sample * size, (sample + 1) * size);
  if (mode === 'flatten' || dims.length === 1) {
    out.set(values, offset);
    return;
  }
  const channels = channelsFirst ? dims[0]! : dims[dims.length - 1]!;
  const positions = size / channels;
  for (let c = 0; c < channels; c++) out[offset + c] = 0;
  for (let p = 0; p < positions; p++) {
    for (let c = 0; c < channels; c++) {
      out[offset + c]! += values[channelsFirst ? c * positions + p : p * channels + c]! / positions;
    }
  }
}

/** Width of the feature vector for a layer output shape (without the batch axis). */
function featureDim(dims: readonly number[], mode: FeatureMode, channelsFirst: boolean): number {
  if (mode === 'flatten' || dims.length === 1) return dims.reduce((a, b) => a * b, 1);
  return channelsFirst ? dims[0]! : dims[dims.length - 1]!;
}

/**
 * Runs every image of `set` through the network up to `options.layer`, batch by batch, and keeps
 * that layer's output as features (never the other layers' outputs).
 */
export async function extractFeatures(net: RunnableModel, data: Dataset, set: ImageSet, options: FeatureOptions): Promise<Features> {
  const node = net.graph.nodes.find((n) => n.layer.name === options.layer && n.call === 0);
  if (!node) {
    const names = net.graph.layers.map((l) => l.name);
    throw new SelectionError(`${net.source} has no layer '${options.layer}'.${didYouMean(options.layer, names)}`);
  }
  const channelsFirst = outputChannelsFirst(net, node);
  const batchSize = options.batchSize ?? 128;
  const total = batchCount(set, batchSize);
  let result: Features | undefined;
  let row = 0;
  let done = 0;
  const transform = pixelTransform({ preset: options.preset }, data.channels);
  for (const batch of batches(data, set, { batchSize, scale: 'raw' })) {
    const shape = [batch.size, data.height, data.width, data.channels];
    await runLayers(net, [{ shape, data: presetPixels(batch.x, batch.size, data.channels, transform) }], {
      want: (n) => n === node,
      onActivation: (activation) => {
        const dims = activation.shape.slice(1);
        if (!result) {
          const dim = featureDim(dims, options.mode, channelsFirst);
          result = { data: new Float32Array(set.count * dim), count: set.count, dim };
        }
        for (let s = 0; s < batch.size; s++) pool(activation, s, options.mode, channelsFirst, result.data, (row + s) * result.dim);
      },
    });
    row += batch.size;
    options.onProgress?.(++done, total);
  }
  if (!result) throw new SelectionError(`${net.source}: layer '${options.layer}' produced no output for ${set.count} images.`);
  return result;
}
