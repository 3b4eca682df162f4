import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../model/errors.js';
import type { ImageSet } from './dataset.js';
import { firstExisting, readDataFile, requireDirectory } from './read.js';
import type { LoadedImages } from './dataset.js';

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;
const RECORD = 1 + PIXELS;
const TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
const TEST_FILE = 'test_batch.bin';
/** The class order of the official batches.meta.txt, used when that file is absent. */
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Decodes CIFAR-10 binary records (1 label byte, then 1024 red, 1024 green, 1024 blue bytes) to NHWC. */
export function decodeCifarBatches(files: readonly { path: string; bytes: Uint8Array }[]): ImageSet {
  for (const { path, bytes } of files) {
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new DataError(
        `${path} expects CIFAR-10 records of ${RECORD} bytes (1 label + ${PIXELS} pixels), but its ${bytes.length} bytes are not a whole number of records.`,
      );
    }
  }
  const count = files.reduce((n, f) => n + f.bytes.length / RECORD, 0);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const { path, bytes } of files) {
    for (let r = 0; r < bytes.length / RECORD; r++, n++) {
      const record = bytes.subarray(r * RECORD, (r + 1) * RECORD);
      if (record[0]! >= CLASSES.length) {
        throw new DataError(`${path} record ${r} expects a label 0..9, but has ${record[0]}.`);
      }
      labels[n] = record[0]!;
      const out = images.subarray(n * PIXELS, (n + 1) * PIXELS);
      for (let p = 0; p < SIDE * SIDE; p++) {
        out[p * 3] = record[1 + p]!;
        out[p * 3 + 1] = record[1 + SIDE * SIDE + p]!;
        out[p * 3 + 2] = record[1 + 2 * SIDE * SIDE + p]!;
      }
    }
  }
  return { images, labels, count };
}

async function batchDirectory(dir: string): Promise<string> {
  await requireDirectory(dir, 'CIFAR-10');
  const found = await firstExisting([join(dir, TEST_FILE), join(dir, 'cifar-10-batches-bin', TEST_FILE)]);
  return found ? join(found, '..') : dir;
}

/** `cifar10:<dir>`: the official binary version (data_batch_1..5.bin, test_batch.bin). */
export async function loadCifar10(dir: string): Promise<LoadedImages> {
  const base = await batchDirectory(dir);
  const missing: string[] = [];
  for (const name of [...TRAIN_FILES, TEST_FILE]) if (!(await firstExisting([join(base, name)]))) missing.push(name);
  if (missing.length > 0) {
    throw new DataError(
      `The CIFAR-10 directory '${base}' lacks ${missing.join(', ')}; it expects the binary version's data_batch_1.bin .. data_batch_5.bin and test_batch.bin.`,
    );
  }
  const read = (name: string) => readDataFile(join(base, name), 'CIFAR-10 batch').then((bytes) => ({ path: join(base, name), bytes }));
  const train = decodeCifarBatches(await Promise.all(TRAIN_FILES.map(read)));
  const test = decodeCifarBatches([await read(TEST_FILE)]);
  const meta = await readFile(join(base, 'batches.meta.txt'), 'utf8').catch(() => undefined);
  const names = meta?.split('\n').map((s) => s.trim()).filter(Boolean);
  return {
    height: SIDE,
    width: SIDE,
    channels: 3,
    maxValue: 255,
    classes: names?.length === CLASSES.length ? names : CLASSES,
    train,
    test,
  };
}
