import { join } from 'node:path';
import { DataError } from '../model/errors.js';
import { firstExisting, maybeGunzip, readDataFile, requireDirectory } from './read.js';
import type { LoadedImages } from './dataset.js';

/** An IDX array of unsigned bytes: the MNIST file format. */
interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/**
 * Decodes an IDX file: two zero bytes, type 0x08 (unsigned byte), the rank, one big-endian uint32
 * per dimension, then the data. The declared size is checked against the real size.
 */
export function decodeIdx(bytes: Uint8Array, path: string, rank: number): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(`${path} is not an IDX file: it does not start with two zero bytes.`);
  }
  if (bytes[2] !== 0x08) {
    throw new DataError(`${path} expects IDX type 0x08 (unsigned bytes), but declares type 0x${bytes[2]!.toString(16).padStart(2, '0')}.`);
  }
  if (bytes[3] !== rank) throw new DataError(`${path} expects an IDX array of rank ${rank}, but declares rank ${bytes[3]}.`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new DataError(`${path} ends inside its IDX header (${bytes.length} bytes).`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (header + size !== bytes.length) {
    throw new DataError(`${path} declares ${dims.join('x')} = ${size} values, but holds ${bytes.length - header} bytes of data.`);
  }
  return { dims, data: bytes.subarray(header) };
}

async function readIdx(dir: string, name: string, rank: number): Promise<IdxArray> {
  const candidates = [join(dir, name), join(dir, `${name}.gz`)];
  const path = await firstExisting(candidates);
  if (!path) throw new DataError(`The MNIST directory '${dir}' has no '${name}' (or '${name}.gz').`);
  return decodeIdx(maybeGunzip(await readDataFile(path, 'MNIST file'), path), path, rank);
}

async function readPair(dir: string, prefix: 'train' | 't10k') {
  const images = await readIdx(dir, `${prefix}-images-idx3-ubyte`, 3);
  const labels = await readIdx(dir, `${prefix}-labels-idx1-ubyte`, 1);
  if (labels.dims[0] !== images.dims[0]) {
    throw new DataError(`MNIST ${prefix} files in '${dir}' disagree: ${images.dims[0]} images but ${labels.dims[0]} labels.`);
  }
  return { images, labels };
}

/** `mnist:<dir>`: the four official IDX files (train-/t10k- images and labels), gzipped or not. */
export async function loadMnist(dir: string): Promise<LoadedImages> {
  await requireDirectory(dir, 'MNIST');
  const train = await readPair(dir, 'train');
  const test = await readPair(dir, 't10k');
  const [, height, width] = train.images.dims as [number, number, number];
  if (test.images.dims[1] !== height || test.images.dims[2] !== width) {
    throw new DataError(`MNIST test images in '${dir}' are ${test.images.dims.slice(1).join('x')}, but the training images are ${height}x${width}.`);
  }
  let classes = 0;
  for (const set of [train, test]) for (const v of set.labels.data) classes = Math.max(classes, v + 1);
  return {
    height,
    width,
    channels: 1,
    maxValue: 255,
    classes: Array.from({ length: classes }, (_, i) => String(i)),
    train: { images: train.images.data, labels: train.labels.data, count: train.images.dims[0]! },
    test: { images: test.images.data, labels: test.labels.data, count: test.images.dims[0]! },
  };
}
