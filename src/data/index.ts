import { DataError, UsageError } from '../model/errors.js';
import { loadCifar10 } from './cifar10.js';
import { pick, pixelsPerImage, type Dataset, type ImageSet, type LoadedImages } from './dataset.js';
import { loadDigits } from './digits.js';
import { loadFolder } from './folder.js';
import { loadMnist } from './mnist.js';
import { permutation } from './random.js';
import { parseDataSpec, type DataSpec } from './spec.js';
import type { ResizeMode } from '../io/image-fit.js';

export interface LoadOptions {
  /** Share held out for testing when the format has no official test set (default 0.2). */
  testFraction?: number;
  /** Seed of that split (default 0). */
  seed?: number | string;
  /** For `folder:`: the size every image is fitted to (default: the first image's size). */
  size?: FolderFit;
}

/** The size a folder's photographs are fitted to, and how (io/image-fit.ts; default stretch). */
export interface FolderFit {
  height: number;
  width: number;
  resize?: ResizeMode;
}

function load(spec: DataSpec, options: LoadOptions): Promise<LoadedImages> {
  switch (spec.kind) {
    case 'digits':
      return loadDigits();
    case 'cifar10':
      return loadCifar10(spec.dir);
    case 'mnist':
      return loadMnist(spec.dir);
    case 'folder':
      return loadFolder(spec.dir, options.size);
  }
}

/** Loads a data set from a spec (`digits`, `cifar10:<dir>`, `mnist:<dir>`, `folder:<dir>`) with a train/test split. */
export async function loadDataset(spec: string, options: LoadOptions = {}): Promise<Dataset> {
  const loaded = await load(parseDataSpec(spec), options);
  const base = { name: spec, height: loaded.height, width: loaded.width, channels: loaded.channels, maxValue: loaded.maxValue, classes: loaded.classes };
  if (loaded.test) return { ...base, train: loaded.train, test: loaded.test };
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) throw new UsageError(`The test fraction expects a number between 0 and 1, but received ${fraction}.`);
  const testCount = Math.round(loaded.train.count * fraction);
  if (testCount < 1 || testCount >= loaded.train.count) {
    throw new DataError(`${spec} has ${loaded.train.count} images, too few to hold out ${fraction} of them for testing.`);
  }
  const order = permutation(loaded.train.count, options.seed ?? 0);
  const perImage = pixelsPerImage(loaded);
  return { ...base, train: pick(loaded.train, order.subarray(testCount), perImage), test: pick(loaded.train, order.subarray(0, testCount), perImage) };
}

/** A data set's images as one set, in stored order: the training images, then the official test images. */
export interface ImageCollection extends Omit<Dataset, 'train' | 'test'> {
  readonly images: ImageSet;
  /** How many of `images` come from the official training set (the rest are its test set). */
  readonly trainCount: number;
  /** How a folder's photographs were fitted to its size; absent for data sets stored at one size. */
  readonly resize?: ResizeMode;
}

/** Loads every image of a data set (no split), for ranking all of them: `convscope examples`. `size` applies to folder: images. */
export async function loadAllImages(spec: string, size?: FolderFit): Promise<ImageCollection> {
  const parsed = parseDataSpec(spec);
  const loaded = await load(parsed, size ? { size } : {});
  const base = {
    name: spec,
    height: loaded.height,
    width: loaded.width,
    channels: loaded.channels,
    maxValue: loaded.maxValue,
    classes: loaded.classes,
    ...(parsed.kind === 'folder' ? { resize: size?.resize ?? 'stretch' } : {}),
  };
  if (!loaded.test) return { ...base, images: loaded.train, trainCount: loaded.train.count };
  const { train, test } = loaded;
  const images = new Uint8Array(train.images.length + test.images.length);
  images.set(train.images);
  images.set(test.images, train.images.length);
  const labels = new Uint8Array(train.count + test.count);
  labels.set(train.labels);
  labels.set(test.labels, train.count);
  return { ...base, images: { images, labels, count: train.count + test.count }, trainCount: train.count };
}

export { parseDataSpec, DATA_SPEC_HELP, type DataSpec } from './spec.js';
export { batches, batchCount, pixelFactor, type Batch, type BatchOptions } from './batches.js';
export type { Dataset, ImageSet, PixelScale } from './dataset.js';
