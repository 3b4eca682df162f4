import type { Dataset, ImageSet, PixelScale } from './dataset.js';
import { pixelsPerImage } from './dataset.js';
import { permutation } from './random.js';

export interface BatchOptions {
  batchSize: number;
  scale: PixelScale;
  /** Visit the images in a seeded random order (default: stored order). */
  shuffle?: boolean;
  seed?: number | string;
}

/** One batch: float pixels NHWC on the requested scale, and the class indices. */
export interface Batch {
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly size: number;
}

/** The multiplier that maps stored pixels to the scale: raw is 0..255, unit is 0..1. */
export function pixelFactor(data: Pick<Dataset, 'maxValue'>, scale: PixelScale): number {
  return (scale === 'raw' ? 255 : 1) / data.maxValue;
}

/** Batches of `set` (the last one may be smaller), converted to floats one batch at a time. */
export function* batches(data: Dataset, set: ImageSet, options: BatchOptions): Generator<Batch> {
  const perImage = pixelsPerImage(data);
  const factor = pixelFactor(data, options.scale);
  const order = options.shuffle ? permutation(set.count, options.seed ?? 0) : undefined;
  for (let start = 0; start < set.count; start += options.batchSize) {
    const size = Math.min(options.batchSize, set.count - start);
    const x = new Float32Array(size * perImage);
    const labels = new Uint8Array(size);
    for (let k = 0; k < size; k++) {
      const i = order ? order[start + k]! : start + k;
      const pixels = set.images.subarray(i * perImage, (i + 1) * perImage);
      for (let p = 0; p < perImage; p++) x[k * perImage + p] = pixels[p]! * factor;
      labels[k] = set.labels[i]!;
    }
    yield { x, labels, size };
  }
}

/** How many batches `batches` yields. */
export function batchCount(set: ImageSet, batchSize: number): number {
  return Math.ceil(set.count / batchSize);
}
