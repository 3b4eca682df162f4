/**
 * An image classification data set held as its stored integer pixels (NHWC, one byte each) and
 * integer labels. Pixels become floats only batch by batch, so CIFAR-10 stays 180 MB, not 720 MB.
 */
export interface ImageSet {
  /** count * height * width * channels bytes, NHWC. */
  readonly images: Uint8Array;
  /** count class indices. */
  readonly labels: Uint8Array;
  readonly count: number;
}

export interface Dataset {
  /** The spec it was loaded from, for messages and summaries. */
  readonly name: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** The largest value a stored pixel can take: 255 for images, 16 for the digits. */
  readonly maxValue: number;
  readonly classes: readonly string[];
  readonly train: ImageSet;
  readonly test: ImageSet;
}

/** What a loader reads from disk, before any split: the official test set when the format has one. */
export interface LoadedImages extends Omit<Dataset, 'name' | 'test'> {
  readonly test?: ImageSet;
}

/** `raw`: pixels on a 0..255 scale; `unit`: pixels on a 0..1 scale. */
export type PixelScale = 'raw' | 'unit';

export function pixelsPerImage(d: Pick<Dataset, 'height' | 'width' | 'channels'>): number {
  return d.height * d.width * d.channels;
}

/** The images at `indices`, as a new set. */
export function pick(set: ImageSet, indices: ArrayLike<number>, perImage: number): ImageSet {
  const images = new Uint8Array(indices.length * perImage);
  const labels = new Uint8Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(set.images.subarray(i * perImage, (i + 1) * perImage), k * perImage);
    labels[k] = set.labels[i]!;
  }
  return { images, labels, count: indices.length };
}
