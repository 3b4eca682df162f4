import { InputError, UsageError } from '../model/errors.js';
import type { Preset } from './choices.js';
import type { InputBatch } from './layer-output.js';

/**
 * Pure preprocessing: 8-bit images ([H, W, C] each) -> one float32 batch in the model's layout.
 * Presets follow Keras' `imagenet_utils.preprocess_input` modes:
 *   raw        0..255 as decoded
 *   unit       x / 255                       (0..1)
 *   symmetric  x / 127.5 - 1                 (-1..1, MobileNet / Inception "tf" mode)
 *   caffe      RGB -> BGR, minus the ImageNet BGR mean [103.939, 116.779, 123.68] (VGG, ResNet50)
 *   torchvision  x / 255, then minus the ImageNet mean [0.485, 0.456, 0.406], divided by the std
 *              [0.229, 0.224, 0.225] (torchvision's ImageNet weights; --mean / --std replace them)
 * then, if given, (x - mean[c]) / std[c] per channel (one value applies to every channel).
 */

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** The options with a preset's own mean and std filled in where the user gave none. */
function withPresetStatistics<T extends Pick<PreprocessOptions, 'preset' | 'mean' | 'std'>>(options: T): T {
  if (options.preset !== 'torchvision') return options;
  return { ...options, mean: options.mean ?? IMAGENET_MEAN, std: options.std ?? IMAGENET_STD };
}

const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68];

export interface PixelImage {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

export interface PreprocessOptions {
  preset: Preset;
  mean?: readonly number[];
  std?: readonly number[];
  /** Lay the batch out as [N, C, H, W] instead of [N, H, W, C]. */
  channelsFirst: boolean;
}

/** What a preset does, for messages: "unit (x / 255)". */
export function describePreset(given: Pick<PreprocessOptions, 'preset' | 'mean' | 'std'>): string {
  const options = withPresetStatistics(given);
  const text: Record<Preset, string> = {
    raw: 'raw (0..255)',
    unit: 'unit (x / 255)',
    symmetric: 'symmetric (x / 127.5 - 1)',
    caffe: 'caffe (BGR, ImageNet mean subtracted)',
    torchvision: 'torchvision (x / 255)',
  };
  const parts = [text[options.preset]];
  if (options.mean) parts.push(`minus mean [${options.mean.join(', ')}]`);
  if (options.std) parts.push(`divided by std [${options.std.join(', ')}]`);
  return parts.join(', ');
}

function perChannel(values: readonly number[] | undefined, channels: number, what: 'mean' | 'std', fallback: number): number[] {
  if (values === undefined) return Array.from({ length: channels }, () => fallback);
  if (values.length === 1) return Array.from({ length: channels }, () => values[0]!);
  if (values.length !== channels) {
    throw new UsageError(`The preprocessing ${what === 'mean' ? 'mean' : 'standard deviation'} expects 1 or ${channels} values (one per channel), but received ${values.length}.`, { concept: 'preprocess' });
  }
  return [...values];
}

/**
 * What a preset (with its mean and std) does to one pixel value: `source(c)` is the stored channel that
 * becomes channel c (caffe swaps RGB to BGR), `value(x, c)` maps its value on the 0..255 scale. The one
 * definition of the presets, used for decoded images here and for data sets by `examples`.
 */
export interface PixelTransform {
  source(c: number): number;
  value(x: number, c: number): number;
}

export function pixelTransform(given: Pick<PreprocessOptions, 'preset' | 'mean' | 'std'>, channels: number): PixelTransform {
  const options = withPresetStatistics(given);
  if ((options.preset === 'caffe' || (options.preset === 'torchvision' && !given.mean)) && channels !== 3) {
    throw new UsageError(`The ${options.preset} preset needs RGB input, but this model takes ${channels} channel${channels === 1 ? '' : 's'}.`);
  }
  const mean = perChannel(options.mean, channels, 'mean', 0);
  const std = perChannel(options.std, channels, 'std', 1);
  if (std.some((s) => s === 0)) throw new UsageError(`The per-channel standard deviations the pixels are divided by must not be 0, but received ${std.join(', ')}.`, { concept: 'preprocess' });
  const preset = options.preset;
  return {
    source: (c) => (preset === 'caffe' ? channels - 1 - c : c),
    value: (v, c) => {
      let x = v;
      if (preset === 'unit' || preset === 'torchvision') x /= 255;
      else if (preset === 'symmetric') x = x / 127.5 - 1;
      else if (preset === 'caffe') x -= CAFFE_BGR_MEAN[c]!;
      return (x - mean[c]!) / std[c]!;
    },
  };
}

/**
 * `count` images stored channels-last in `pixels` (on 0..255 once multiplied by `scale`) as the preset's
 * network input, channels-last or, with `channelsFirst`, planar: the one loop that applies a preset to
 * stored pixels (decoded photos, data-set batches, probe's raw-pixel baseline). Writes into `out`.
 */
export function presetPixels(
  pixels: ArrayLike<number>,
  count: number,
  channels: number,
  transform: PixelTransform,
  options: { scale?: number; channelsFirst?: boolean } = {},
  out: Float32Array = new Float32Array(pixels.length),
): Float32Array {
  const scale = options.scale ?? 1;
  const positions = pixels.length / (count * channels);
  for (let s = 0; s < count; s++) {
    const base = s * positions * channels;
    for (let p = 0; p < positions; p++) {
      for (let c = 0; c < channels; c++) {
        out[base + (options.channelsFirst ? c * positions + p : p * channels + c)] = transform.value(pixels[base + p * channels + transform.source(c)]! * scale, c);
      }
    }
  }
  return out;
}

/** Stacks equally sized images into one preprocessed batch. */
export function imagesToBatch(images: readonly PixelImage[], given: PreprocessOptions): InputBatch {
  const first = images[0];
  if (!first) throw new UsageError('At least one image is needed.');
  const { width, height, channels } = first;
  for (const image of images) {
    if (image.width !== width || image.height !== height || image.channels !== channels) {
      throw new InputError(
        `Images in one batch must share a size, but received ${width}x${height}x${channels} and ${image.width}x${image.height}x${image.channels}.`,
      );
    }
  }
  const transform = pixelTransform(given, channels);
  const size = width * height * channels;
  const data = new Float32Array(images.length * size);
  images.forEach((image, n) => presetPixels(image.data, 1, channels, transform, { channelsFirst: given.channelsFirst }, data.subarray(n * size, (n + 1) * size)));
  const shape = given.channelsFirst ? [images.length, channels, height, width] : [images.length, height, width, channels];
  return { shape, data };
}

/** An array fed as is; a missing batch axis (rank one less than the model's input) is added. */
export function arrayToBatch(shape: readonly number[], data: Float32Array, modelRank: number, where: string): InputBatch {
  if (shape.length === modelRank) return { shape, data };
  if (shape.length === modelRank - 1) return { shape: [1, ...shape], data };
  throw new InputError(
    `${where} has shape (${shape.join(', ')}), but the model takes rank-${modelRank} input (with the batch axis) or rank-${modelRank - 1} (without).`,
  );
}
