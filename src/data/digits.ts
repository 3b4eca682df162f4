import { DataError } from '../model/errors.js';
import { maybeGunzip, readDataFile } from './read.js';
import type { LoadedImages } from './dataset.js';

/** The built-in digits file, shipped in the package (see assets/data/README.md). */
export const DIGITS_PATH = new URL('../../assets/data/digits.csv.gz', import.meta.url);

const SIDE = 8;
const FIELDS = SIDE * SIDE + 1;

/** Parses the digits CSV: 64 pixel values 0..16 (8x8, row-major) then the label 0..9 per row. */
export function parseDigitsCsv(text: string, path: string): LoadedImages {
  const rows = text.split('\n').filter((line) => line.trim() !== '');
  const images = new Uint8Array(rows.length * SIDE * SIDE);
  const labels = new Uint8Array(rows.length);
  rows.forEach((row, r) => {
    const fields = row.split(',');
    if (fields.length !== FIELDS) {
      throw new DataError(`${path} row ${r + 1} expects ${FIELDS} comma-separated values, but has ${fields.length}.`);
    }
    fields.forEach((field, f) => {
      const v = Number(field);
      const max = f === FIELDS - 1 ? 9 : 16;
      if (!Number.isInteger(v) || v < 0 || v > max) {
        throw new DataError(`${path} row ${r + 1} column ${f + 1} expects an integer 0..${max}, but has '${field.trim()}'.`);
      }
      if (f === FIELDS - 1) labels[r] = v;
      else images[r * SIDE * SIDE + f] = v;
    });
  });
  return {
    height: SIDE,
    width: SIDE,
    channels: 1,
    maxValue: 16,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    train: { images, labels, count: rows.length },
  };
}

export async function loadDigits(): Promise<LoadedImages> {
  const path = DIGITS_PATH.pathname;
  const bytes = maybeGunzip(await readDataFile(path, 'the built-in digits file'), path);
  return parseDigitsCsv(new TextDecoder().decode(bytes), path);
}
