import type { DType, TensorData } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkInflate, checkTensorBytes, type ReadLimits } from './limits.js';

/**
 * What convscope asks of an HDF5 file, whichever engine answers: the TypeScript reader of the
 * structures Keras files use (io/hdf5-native.ts), or the HDF5 library (h5wasm, io/hdf5.ts) for
 * everything else. The answers both give are defined here once: dtypes, attribute text, size checks.
 */
export interface Hdf5Dataset {
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** Whole rows of a dataset's first dimension: `count` of them from row `start`. */
export interface Hdf5Rows {
  readonly start: number;
  readonly count: number;
}

export interface Hdf5File {
  /** The file name for messages. */
  readonly name: string;
  /** 'group', 'dataset', or undefined when nothing is at `path`. */
  kind(path: string): 'group' | 'dataset' | undefined;
  /** Names of the members of a group, in HDF5's order (by name, or by creation order where the group indexes it). */
  keys(path: string): string[];
  /** Names of the attributes of the object at `path`. */
  attrNames(path: string): string[];
  /** An attribute as text (a fixed-length or variable-length string, or UTF-8 bytes); undefined if absent. */
  stringAttr(path: string, name: string): string | undefined;
  /**
   * A string-list attribute such as `layer_names`, joining Keras' split form (`name0`, `name1`, ...)
   * used when the list outgrows HDF5's 64 KiB attribute limit; undefined if absent.
   */
  stringListAttr(path: string, name: string): string[] | undefined;
  /** Shape and dtype of a dataset; a ModelFormatError naming `what` when it is not one. */
  dataset(path: string, what: string): Hdf5Dataset;
  /** Reads one whole dataset (C order), or only `rows` of its first dimension. */
  read(dataset: Hdf5Dataset, rows?: Hdf5Rows): Promise<TensorData>;
  close(): void;
}

/** The dtype of HDF5 type class `type` (0 integer, 1 float) of `size` bytes; an UnsupportedError for the rest. */
export function toDType(name: string, path: string, meta: { type: number; size: number; signed: boolean }): DType {
  if (meta.type === 1) {
    if (meta.size === 4) return 'float32';
    if (meta.size === 8) return 'float64';
    if (meta.size === 2) return 'float16';
  } else if (meta.type === 0) {
    const ints: Record<number, DType | undefined> = meta.signed
      ? { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' }
      : { 1: 'uint8', 2: 'uint16' };
    const dtype = ints[meta.size];
    if (dtype) return dtype;
  }
  throw new UnsupportedError(
    `${name}: dataset '${path}' holds ${meta.type === 0 ? (meta.signed ? 'signed' : 'unsigned') + ' integers' : meta.type === 1 ? 'floats' : `HDF5 type class ${meta.type}`} of ${meta.size} bytes, which convscope cannot read.`,
  );
}

/**
 * An attribute value as h5wasm gives it (a string, an array of strings, a typed array of numbers, a
 * scalar) as a list of strings: UTF-8 bytes are text, an empty numeric array is an empty list;
 * undefined when the value is not text.
 */
function asStrings(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (value instanceof Uint8Array) return [new TextDecoder().decode(value)];
  if (ArrayBuffer.isView(value)) return (value as unknown as ArrayLike<unknown>).length === 0 ? [] : undefined;
  if (Array.isArray(value)) {
    const out: string[] = [];
    for (const v of value) {
      const s = asStrings(v);
      if (!s) return undefined;
      out.push(...s);
    }
    return out;
  }
  return undefined;
}

/**
 * `stringAttr` and `stringListAttr` over an engine's attribute names and values (`value` is undefined
 * for an absent attribute).
 */
export function textAttributes(
  name: string,
  attrNames: (path: string) => string[],
  value: (path: string, attr: string) => unknown,
): Pick<Hdf5File, 'stringAttr' | 'stringListAttr'> {
  return {
    stringAttr(path, attr) {
      const v = value(path, attr);
      if (v === undefined) return undefined;
      const strings = asStrings(v);
      if (!strings || strings.length !== 1) {
        throw new ModelFormatError(`${name}: attribute '${attr}' of '${path || '/'}' should be text, but it is not.`);
      }
      return strings[0];
    },
    stringListAttr(path, attr) {
      const names = attrNames(path);
      let parts: unknown[];
      if (names.includes(attr)) {
        parts = [value(path, attr)];
      } else if (names.includes(`${attr}0`)) {
        parts = [];
        for (let i = 0; names.includes(`${attr}${i}`); i++) parts.push(value(path, `${attr}${i}`));
      } else {
        return undefined;
      }
      const strings = asStrings(parts);
      if (!strings) {
        throw new ModelFormatError(`${name}: attribute '${attr}' of '${path || '/'}' should be a list of names, but it is not.`);
      }
      return strings;
    },
  };
}

/**
 * Refuses a dataset before anything is allocated: uncompressed bytes must be in the file, compressed
 * ones are bounded by the inflate ratio (a whole chunk too: it is decompressed at once), and every
 * tensor by the tensor cap. `maxBytes` is an engine's own ceiling. Returns the dataset's label.
 */
export function checkDatasetSize(
  name: string,
  what: string,
  path: string,
  shape: readonly number[],
  elementSize: number,
  chunk: readonly number[] | undefined,
  compressed: boolean,
  fileSize: number,
  limits: ReadLimits,
  maxBytes?: { bytes: number; engine: string },
): void {
  const bytes = shape.reduce((a, b) => a * b, 1) * elementSize;
  const label = `${what} at ${quote(path)} of shape (${shape.join(', ')})`;
  if (!compressed && bytes > fileSize) {
    throw new ModelFormatError(`${name}: ${label} needs ${bytes} bytes, but the file has only ${fileSize}.`);
  }
  if (maxBytes && bytes > maxBytes.bytes) {
    throw new UnsupportedError(`${name}: ${label} needs ${bytes} bytes; ${maxBytes.engine} reads at most ${maxBytes.bytes} bytes per tensor.`);
  }
  if (compressed) {
    checkInflate(limits, name, label, fileSize, bytes);
    const chunkBytes = (chunk ?? []).reduce((a, b) => a * b, 1) * elementSize;
    checkInflate(limits, name, `one chunk of ${label}`, fileSize, chunkBytes);
  } else {
    checkTensorBytes(limits, name, label, bytes);
  }
}
