import { readFile } from 'node:fs/promises';
import { loadImage, type DecodedImage } from '../io/image.js';
import { InputError, UsageError } from '../model/errors.js';
import { decodeNpy } from '../model/npy.js';
import type { FolderFit } from '../data/index.js';
import type { InputBatch } from './layer-output.js';
import type { RunnableModel } from './build.js';
import { describePreprocessing, describeResize, type Resize } from './default-preprocessing.js';
import type { Preset } from './choices.js';
import { arrayToBatch, imagesToBatch, type PixelImage, type PreprocessOptions } from './preprocess.js';

/** Turns what the user gives (image files or a .npy array) into the batch a built model takes. */

export interface ImageInputOptions {
  preset: Preset;
  /** Why the preset, when it is the model's default (compute/default-preprocessing.ts): said with the input. */
  reason?: string;
  /** How each photo is fitted to the input size (the model's default from compute/default-preprocessing.ts, or the user's). */
  resize: Resize;
  mean?: number[];
  std?: number[];
}

export interface PreparedInput {
  batch: InputBatch;
  /** One line per input saying what was fed: "rocket.jpg 640x427 jpeg -> 224x224 RGB, stretched to 224x224 (aspect ratio not kept); unit (x / 255)". */
  description: string[];
  images?: DecodedImage[];
}

/** What feeding a network needs to know: its input shapes (with the batch axis) and layout. */
export type InputSpec = Pick<RunnableModel, 'source' | 'inputShapes' | 'channelsFirst'>;

function singleInput(net: InputSpec): readonly (number | null)[] {
  if (net.inputShapes.length !== 1) {
    throw new UsageError(`${net.source} has ${net.inputShapes.length} inputs; convscope feeds images or one .npy to single-input models only.`);
  }
  return net.inputShapes[0]!;
}

/** The image a single-input model takes. */
export interface ImageGeometry {
  readonly height: number | null;
  readonly width: number | null;
  readonly channels: 1 | 3;
  /** False for a (batch, height, width) input, such as a 28x28 MNIST model: a grey image without a channel axis. */
  readonly channelAxis: boolean;
}

/** What image a model's single input takes; a UsageError when it takes no image. */
export function imageGeometry(net: InputSpec): ImageGeometry {
  const shape = singleInput(net);
  if (shape.length === 3) return { height: shape[1] ?? null, width: shape[2] ?? null, channels: 1, channelAxis: false };
  if (shape.length !== 4) {
    throw new UsageError(
      `${net.source} takes input of shape (batch, ${shape.slice(1).map((d) => d ?? 'None').join(', ')}), which is not an image; give it a preprocessed input array (.npy).`,
      { concept: 'input-array' },
    );
  }
  const [channels, height, width] = net.channelsFirst ? [shape[1], shape[2], shape[3]] : [shape[3], shape[1], shape[2]];
  if (channels !== 1 && channels !== 3) {
    throw new UsageError(`${net.source} takes ${channels ?? 'an unknown number of'} input channels; images give 1 (grey) or 3 (RGB). Give it a preprocessed input array (.npy).`, {
      concept: 'input-array',
    });
  }
  return { height: height ?? null, width: width ?? null, channels, channelAxis: true };
}

/** The preprocessed images as the model's input: the channel axis dropped where the input has none. */
export function imageBatch(images: readonly PixelImage[], geometry: ImageGeometry, options: PreprocessOptions): InputBatch {
  const batch = imagesToBatch(images, options);
  if (geometry.channelAxis) return batch;
  const [n, h, w] = batch.shape as [number, number, number];
  return { shape: [n, h, w], data: batch.data };
}

/** The size a folder data set's photographs are fitted to for this network, and how; undefined when its input takes any size. */
export function folderFit(net: InputSpec, resize: Resize): FolderFit | undefined {
  const { height, width } = imageGeometry(net);
  return height && width ? { height, width, resize: resize.mode } : undefined;
}

/** Loads, converts, resizes and preprocesses images into one batch for the model's input. */
export async function imageInput(net: InputSpec, paths: readonly string[], options: ImageInputOptions): Promise<PreparedInput> {
  const geometry = imageGeometry(net);
  const { channels, height, width } = geometry;
  const images: DecodedImage[] = [];
  for (const path of paths) {
    images.push(await loadImage(path, { channels, resize: options.resize.mode, ...(width ? { width } : {}), ...(height ? { height } : {}) }));
  }
  const batch = imageBatch(images, geometry, { ...options, channelsFirst: net.channelsFirst });
  const preset = describePreprocessing(options);
  const description = images.map(
    (im) =>
      `${im.path} ${im.source.width}x${im.source.height} ${im.source.format} -> ${im.width}x${im.height} ${channels === 3 ? 'RGB' : 'grey'}, ${describeResize(options.resize, { at: im.placement, target: im })}; ${preset}`,
  );
  return { batch, description, images };
}

/** A .npy array fed as is (float32), with the batch axis added when missing. */
export async function arrayInput(net: InputSpec, path: string): Promise<PreparedInput> {
  const shape = singleInput(net);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new InputError(`Cannot read the array ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}.`);
  }
  const array = decodeNpy(bytes, path);
  if (array.dtype === 'bool') throw new InputError(`${path} holds booleans; convscope feeds numeric arrays.`);
  const data = Float32Array.from(array.data as ArrayLike<number | bigint>, Number);
  const batch = arrayToBatch(array.shape, data, shape.length, path);
  return { batch, description: [`${path} (${array.shape.join(', ')}) ${array.dtype}, fed as is`] };
}
