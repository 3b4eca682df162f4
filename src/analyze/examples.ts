import type { InputBatch } from '../compute/layer-output.js';
import type { ImageCollection } from '../data/index.js';
import type { ResizeMode } from '../io/image-fit.js';
import { imageGeometry, type InputSpec } from '../compute/inputs.js';
import type { Preset } from '../compute/choices.js';
import { pixelTransform, presetPixels } from '../compute/preprocess.js';
import { DataError, UsageError } from '../model/errors.js';
import { baseName } from '../model/model.js';
import { cropAt, type Crop, type ReceptiveField } from './receptive-field.js';

/**
 * Dataset examples (OpenAI Microscope's "dataset examples"): for every filter of a layer, the k
 * inputs that excite it most. The layer's output is reduced per image and filter to one score, the
 * max over positions (with the position, whose receptive field is the crop shown) or the mean.
 * Images stream through in batches; only k entries per filter are kept. Ranking is by score, then
 * by image index, a total order, so shards of the data merged later give exactly the single run.
 */

export type ExampleStatistic = 'max' | 'mean';

export interface ExampleEntry {
  readonly filter: number;
  readonly rank: number;
  /** Index of the image in the data set's stored order (training images, then test images). */
  readonly index: number;
  readonly score: number;
  /** The strongest position [row, column] in the layer's output (for `mean`, still the max position). */
  readonly position: readonly [number, number];
  /** The input pixels under that position. */
  readonly crop: Crop;
}

/** The result of a run or a shard; `shard` is null for a whole run (and for a complete merge). */
export interface ExamplesResult {
  readonly kind: 'convscope-examples';
  readonly version: 1;
  readonly model: string;
  readonly layer: string;
  readonly data: string;
  /** How stored pixels became the network input: a preprocessing preset (compute/preprocess.ts). */
  readonly scale: Preset;
  readonly count: number;
  /** Input images' [height, width]. */
  readonly inputSize: readonly [number, number];
  /** How a folder's photographs were fitted to the input size (absent for data sets stored at it): redrawing the crops fits them the same way. */
  readonly resize?: ResizeMode;
  readonly statistic: ExampleStatistic;
  readonly top: number;
  readonly batchSize: number;
  readonly filters: number;
  readonly outputSize: readonly [number, number];
  /** The layer's receptive field, or null when the path from the input has an operator whose field convscope does not compute (then each crop is the whole image). */
  readonly receptiveField: ReceptiveField | null;
  /** Why the receptive field is unknown (receptiveField null). */
  readonly receptiveFieldUnknown?: string;
  /** The engine the network ran on, and why when it is not the first choice. */
  readonly engine: string;
  readonly shard: { readonly index: number; readonly of: number; readonly from: number; readonly to: number } | null;
  readonly ranking: readonly ExampleEntry[];
}

interface Candidate {
  index: number;
  score: number;
  position: [number, number];
}

/** Higher score first; equal scores by lower image index. */
function before(a: Candidate, b: Candidate): boolean {
  return a.score > b.score || (a.score === b.score && a.index < b.index);
}

/** The k best candidates of one filter, kept sorted (k is small: insertion is cheaper than a heap). */
export class TopK {
  readonly items: Candidate[] = [];
  constructor(readonly k: number) {}
  offer(c: Candidate): void {
    if (this.items.length === this.k && !before(c, this.items[this.k - 1]!)) return;
    let i = this.items.length;
    if (i === this.k) i--;
    else this.items.push(c);
    while (i > 0 && before(c, this.items[i - 1]!)) {
      this.items[i] = this.items[i - 1]!;
      i--;
    }
    this.items[i] = c;
  }
}

/** Shard `index` of `of` as a range of images aligned to whole batches, so its batches are the single run's. */
export function shardRange(count: number, batchSize: number, index: number, of: number): { from: number; to: number } {
  if (!(Number.isInteger(of) && of >= 1 && Number.isInteger(index) && index >= 0 && index < of)) {
    throw new UsageError(`A shard is i/n with 0 <= i < n, but received ${index}/${of}.`);
  }
  const batches = Math.ceil(count / batchSize);
  const first = Math.floor((index * batches) / of);
  const last = Math.floor(((index + 1) * batches) / of);
  return { from: Math.min(count, first * batchSize), to: Math.min(count, last * batchSize) };
}

/** A layer's output for a batch: (N, H, W, C), (N, C, H, W) when channelsFirst, or (N, C) vectors. */
export interface LayerBatchOutput {
  readonly shape: readonly number[];
  readonly data: Float32Array;
  readonly channelsFirst: boolean;
}

/**
 * What ranking needs from a network, whichever engine runs it (analyze/examples-runner.ts makes one
 * for TensorFlow.js, for ONNX Runtime on a converted Keras network, and for an ONNX model).
 */
export interface ExamplesRunner {
  /** The network's input: its size, channels and layout, for the data set check and the batch layout. */
  readonly input: InputSpec;
  /** The layer as results name it. */
  readonly layer: string;
  /** The engine, said in results (with why, when it is a fallback). */
  readonly engine: string;
  /** The chosen layer's output for one batch of preprocessed images in the network's layout. */
  run(batch: InputBatch): Promise<LayerBatchOutput>;
  /** The layer's receptive field for an input of height x width, or why it is unknown. */
  receptiveField(height: number, width: number): ReceptiveField | { unknown: string };
}

export interface ExamplesOptions {
  top: number;
  statistic: ExampleStatistic;
  scale: Preset;
  batchSize?: number;
  shard?: { index: number; of: number };
  /** Recorded in the result (the model file as the user named it). */
  model: string;
  onProgress?: (done: number, total: number) => void;
}

function rankingOf(tops: readonly TopK[], field: ReceptiveField | null, height: number, width: number): ExampleEntry[] {
  const whole = { top: 0, left: 0, height, width };
  return tops.flatMap((t, filter) =>
    t.items.map((c, rank) => ({ filter, rank, index: c.index, score: c.score, position: c.position, crop: field ? cropAt(field, c.position[0], c.position[1], height, width) : whole })),
  );
}

/** The data set's images must be the network's input: the same size and channels. */
function checkData(net: InputSpec, data: ImageCollection): void {
  const g = imageGeometry(net);
  const kind = (c: number): string => (c === 1 ? 'grey' : 'RGB');
  if ((g.height !== null && g.height !== data.height) || (g.width !== null && g.width !== data.width) || g.channels !== data.channels) {
    throw new UsageError(
      `The data set ${data.name} holds ${data.width}x${data.height} ${kind(data.channels)} images, but ${baseName(net.source)} takes ${g.width ?? 'any'}x${g.height ?? 'any'} ${kind(g.channels)} images; rank a data set of such images (an image folder is resized to the model's input).`,
      { concept: 'data-set' },
    );
  }
}

/** One batch of the data set's stored pixels, preprocessed, in the network's layout (NHWC, NCHW, or NHW for an input without a channel axis). */
function batchOf(data: ImageCollection, start: number, size: number, transform: ReturnType<typeof pixelTransform>, input: InputSpec): InputBatch {
  const { height, width, channels } = data;
  const perImage = height * width * channels;
  const pixels = data.images.images.subarray(start * perImage, (start + size) * perImage);
  const geometry = imageGeometry(input);
  const planar = input.channelsFirst && geometry.channelAxis;
  const x = presetPixels(pixels, size, channels, transform, { scale: 255 / data.maxValue, channelsFirst: planar });
  const shape = !geometry.channelAxis ? [size, height, width] : planar ? [size, channels, height, width] : [size, height, width, channels];
  return { shape, data: x };
}

/** Ranks the images of `data` (or of one shard of it) for every filter of the runner's layer. */
export async function rankExamples(runner: ExamplesRunner, data: ImageCollection, options: ExamplesOptions): Promise<ExamplesResult> {
  checkData(runner.input, data);
  if (!(Number.isInteger(options.top) && options.top >= 1)) throw new UsageError(`The number of examples kept per filter must be a positive integer, but received ${options.top}.`, { concept: 'top' });
  const batchSize = options.batchSize ?? 128;
  const { from, to } = options.shard ? shardRange(data.images.count, batchSize, options.shard.index, options.shard.of) : { from: 0, to: data.images.count };
  const transform = pixelTransform({ preset: options.scale }, data.channels);
  const total = Math.ceil((to - from) / batchSize);
  let tops: TopK[] | undefined;
  let outputSize: [number, number] = [1, 1];
  let done = 0;
  for (let start = from; start < to; start += batchSize) {
    const size = Math.min(batchSize, to - start);
    const a = await runner.run(batchOf(data, start, size, transform, runner.input));
    const dims = a.shape.slice(1);
    if (dims.length !== 3 && dims.length !== 1) {
      throw new UsageError(`Layer '${runner.layer}' outputs shape (${a.shape.join(', ')}); examples need a convolution's feature maps or a vector.`, { concept: 'layer' });
    }
    const [h, w, channels] = dims.length === 1 ? [1, 1, dims[0]!] : a.channelsFirst ? [dims[1]!, dims[2]!, dims[0]!] : (dims as [number, number, number]);
    outputSize = [h, w];
    tops ??= Array.from({ length: channels }, () => new TopK(options.top));
    const positions = h * w;
    // Channels-last: a filter's values are `channels` apart; channels-first: contiguous.
    const [filterStride, positionStride] = a.channelsFirst ? [positions, 1] : [1, channels];
    for (let s = 0; s < size; s++) {
      const base = s * positions * channels;
      for (let c = 0; c < channels; c++) {
        let best = -Infinity;
        let at = 0;
        let sum = 0;
        const origin = base + c * filterStride;
        for (let p = 0; p < positions; p++) {
          const v = a.data[origin + p * positionStride]!;
          sum += v;
          if (v > best) {
            best = v;
            at = p;
          }
        }
        const score = options.statistic === 'max' ? best : Math.fround(sum / positions);
        tops[c]!.offer({ index: start + s, score, position: [Math.floor(at / w), at % w] });
      }
    }
    options.onProgress?.(++done, total);
  }
  const known = runner.receptiveField(data.height, data.width);
  const field = 'unknown' in known ? null : known;
  return {
    kind: 'convscope-examples',
    version: 1,
    model: options.model,
    layer: runner.layer,
    data: data.name,
    scale: options.scale,
    count: data.images.count,
    inputSize: [data.height, data.width],
    ...(data.resize ? { resize: data.resize } : {}),
    statistic: options.statistic,
    top: options.top,
    batchSize,
    filters: tops?.length ?? 0,
    outputSize,
    receptiveField: field,
    ...('unknown' in known ? { receptiveFieldUnknown: known.unknown } : {}),
    engine: runner.engine,
    shard: options.shard ? { index: options.shard.index, of: options.shard.of, from, to } : null,
    ranking: rankingOf(tops ?? [], field, data.height, data.width),
  };
}

const SAME_FIELDS = ['model', 'layer', 'data', 'scale', 'resize', 'count', 'statistic', 'top', 'batchSize', 'engine'] as const;

/** Combines the shard results 0..n-1 of one run into the single-run result. */
export function mergeExamples(parts: readonly ExamplesResult[]): ExamplesResult {
  const first = parts[0];
  if (!first) throw new UsageError('merge needs at least one partial result.');
  for (const p of parts) {
    if (p.kind !== 'convscope-examples' || p.version !== 1) throw new DataError(`A partial result is not a convscope examples result (kind '${String(p.kind)}').`);
    if (!p.shard) throw new DataError(`A result for the whole data set (${p.data}, layer ${p.layer}) is not a shard; only shards are merged.`);
    for (const f of SAME_FIELDS) {
      if (p[f] !== first[f]) throw new DataError(`Shards come from different runs: '${f}' is ${JSON.stringify(first[f])} in one and ${JSON.stringify(p[f])} in another.`);
    }
    if (p.shard.of !== first.shard!.of) throw new DataError(`Shards come from different splits: ${first.shard!.of} shards and ${p.shard.of} shards.`);
  }
  const of = first.shard!.of;
  const seen = new Set(parts.map((p) => p.shard!.index));
  if (seen.size !== parts.length) throw new DataError('The same shard is given twice.');
  const missing = Array.from({ length: of }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) throw new DataError(`Shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${of}`).join(', ')} of ${of} ${missing.length > 1 ? 'are' : 'is'} missing.`);
  const withFilters = parts.filter((p) => p.filters > 0);
  const filters = Math.max(0, ...withFilters.map((p) => p.filters));
  const tops = Array.from({ length: filters }, () => new TopK(first.top));
  for (const p of parts) for (const e of p.ranking) tops[e.filter]!.offer({ index: e.index, score: e.score, position: [e.position[0], e.position[1]] });
  const reference = withFilters[0] ?? first;
  return {
    ...first,
    filters,
    outputSize: reference.outputSize,
    receptiveField: reference.receptiveField,
    shard: null,
    ranking: rankingOf(tops, reference.receptiveField, first.inputSize[0], first.inputSize[1]),
  };
}
