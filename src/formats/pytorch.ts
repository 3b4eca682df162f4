import { decodeLittleEndian, DTYPE_BYTES, type TensorData } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { PyDict, PyObject, PyTuple, unpickle, type PickleValue } from '../io/pickle.js';
import type { ByteSource } from '../io/source.js';
import { resolveLimits } from '../io/limits.js';
import { isZip, openZip, type ZipArchive, type ZipEntry } from '../io/zip.js';
import type { FormatReader, OpenOptions } from './reader.js';
import { groupTorchLayers, type StoredTensor } from './torch-layers.js';
import { isTensorRef, storageFromPid, TORCH_CALLS, type TensorRef } from './torch-pickle.js';

/**
 * PyTorch checkpoints as torch.save (>= 1.6) writes them: a zip holding `<prefix>/data.pkl` (the
 * pickled object, read by convscope's never-executing unpickler) and one entry `<prefix>/data/<key>`
 * per storage, usually stored uncompressed so a tensor is one range read.
 */

/** torch.save's legacy (pre-1.6) files start with a pickle of this number. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** How much of a bare pickle file convscope reads to tell what it is. */
const BARE_PICKLE_PREFIX = 16 * 1024 * 1024;
/** Entries that hold the state dict in training checkpoints. */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];

function isPickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x80 && head[1]! >= 2 && head[1]! <= 5;
}

function dataPickleName(zip: ZipArchive): string | undefined {
  return [...zip.entries.keys()].find((n) => n === 'data.pkl' || n.endsWith('/data.pkl'));
}

function isTorchScript(zip: ZipArchive, prefix: string): boolean {
  return zip.entries.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`));
}

async function refuseBarePickle(source: ByteSource): Promise<never> {
  const bytes = await source.read(0, Math.min(source.size, BARE_PICKLE_PREFIX));
  const { value } = unpickle(bytes, { name: source.name, calls: TORCH_CALLS });
  if (value === LEGACY_MAGIC) {
    throw new UnsupportedError(
      `${source.name} is a legacy PyTorch checkpoint (written by torch < 1.6 or with _use_new_zipfile_serialization=False), which convscope does not support yet; re-save it with a current torch.save.`,
    );
  }
  throw new UnsupportedError(`${source.name} is a bare pickle, not a torch.save checkpoint (a zip holding data.pkl); convscope does not support it.`);
}

interface Found {
  tensors: [string, TensorRef][];
  /** Module path -> qualified class, for nn.Module objects of a whole pickled model. */
  classes: Map<string, string>;
}

/** Flattens nested containers to (dotted key, tensor) pairs; nn.Module objects follow state_dict naming. */
function flatten(value: PickleValue, prefix: string, out: Found, seen: Set<object>): void {
  if (isTensorRef(value)) {
    out.tensors.push([prefix, value]);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const join = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (value instanceof PyDict) {
    for (const [k, v] of value.entries) if (typeof k === 'string' || typeof k === 'number') flatten(v, join(String(k)), out, seen);
  } else if (Array.isArray(value) || value instanceof PyTuple) {
    (Array.isArray(value) ? value : value.items).forEach((v, i) => flatten(v, join(String(i)), out, seen));
  } else if (value instanceof PyObject) {
    const state = value.state instanceof PyTuple ? value.state.items[0] ?? null : value.state;
    if (!(state instanceof PyDict)) return;
    const attr = (k: string) => state.entries.get(k);
    if (attr('_parameters') instanceof PyDict && attr('_modules') instanceof PyDict) {
      out.classes.set(prefix, value.className);
      for (const part of ['_parameters', '_buffers', '_modules']) {
        const d = attr(part);
        if (d instanceof PyDict) for (const [k, v] of d.entries) if (typeof k === 'string') flatten(v, join(k), out, seen);
      }
    } else {
      flatten(state, prefix, out, seen);
    }
  }
}

function tensorsIn(value: PickleValue): Found {
  const out: Found = { tensors: [], classes: new Map() };
  flatten(value, '', out, new Set());
  return out;
}

/** The state dict inside a training checkpoint ({'state_dict': ..., 'epoch': ...}), or the whole value. */
function chooseRoot(value: PickleValue, notes: string[]): Found {
  if (value instanceof PyDict) {
    for (const key of WRAPPER_KEYS) {
      const inner = value.entries.get(key);
      if (inner === undefined) continue;
      const found = tensorsIn(inner);
      if (found.tensors.length > 0) {
        const others = [...value.entries.keys()].filter((k) => k !== key).map(String);
        notes.push(`Read the '${key}' entry of a checkpoint${others.length ? ` that also holds: ${others.join(', ')}` : ''}.`);
        return found;
      }
    }
  }
  return tensorsIn(value);
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i]!;
  }
  return true;
}

/** Copies a strided view (strides in elements, relative to `flat[0]`) into C order. */
function gather(flat: TensorData, shape: readonly number[], stride: readonly number[]): TensorData {
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new (flat.constructor as new (n: number) => TensorData)(count);
  const index = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let o = 0; o < count; o++) {
    (out as Float64Array)[o] = (flat as Float64Array)[src]!;
    for (let k = shape.length - 1; k >= 0; k--) {
      src += stride[k]!;
      if (++index[k]! < shape[k]!) break;
      src -= stride[k]! * shape[k]!;
      index[k] = 0;
    }
  }
  return out;
}

function swapBytes(bytes: Uint8Array, width: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width) for (let b = 0; b < width; b++) out[i + b] = bytes[i + width - 1 - b]!;
  return out;
}

async function openCheckpoint(source: ByteSource, options: OpenOptions): Promise<Model> {
  const limits = resolveLimits(options.limits);
  const zip = await openZip(source);
  const pickleName = dataPickleName(zip);
  const prefix = pickleName ? pickleName.slice(0, -'data.pkl'.length) : '';
  if (isTorchScript(zip, prefix)) {
    throw new UnsupportedError(
      `${source.name} is a TorchScript archive (torch.jit.save), which convscope does not support yet; save model.state_dict() with torch.save instead.`,
    );
  }
  if (!pickleName) throw new ModelFormatError(`${source.name} is a zip archive without data.pkl, so it is not a PyTorch checkpoint.`);
  const byteorderEntry = zip.entries.get(`${prefix}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(await zip.read(byteorderEntry, limits)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new ModelFormatError(`${source.name}: byteorder expects 'little' or 'big', but received '${byteorder}'.`);
  }
  const pickleLabel = `${source.name} (${pickleName})`;
  const dataOffsets = new Map<ZipEntry, Promise<number>>();
  const dataOffset = (entry: ZipEntry): Promise<number> => {
    const known = dataOffsets.get(entry) ?? zip.dataOffset(entry);
    dataOffsets.set(entry, known);
    return known;
  };
  const storages = new Map<string, ZipEntry>();
  const { value, opaqueClasses } = unpickle(await zip.read(zip.entries.get(pickleName)!, limits), {
    name: pickleLabel,
    calls: TORCH_CALLS,
    persistentLoad: (pid) => {
      const storage = storageFromPid(pid, pickleLabel);
      const entry = zip.entries.get(`${prefix}data/${storage.key}`);
      const needed = storage.numel * DTYPE_BYTES[storage.dtype];
      if (!entry) throw new ModelFormatError(`${source.name}: storage '${storage.key}' is named in data.pkl but missing from the archive.`);
      if (entry.size < needed) {
        throw new ModelFormatError(
          `${source.name}: storage '${storage.key}' declares ${storage.numel} ${storage.dtype} values (${needed} bytes), but its entry holds ${entry.size} bytes.`,
        );
      }
      storages.set(storage.key, entry);
      return storage;
    },
  });
  const notes: string[] = [];
  const found = chooseRoot(value, notes);
  if (found.tensors.length === 0) throw new ModelFormatError(`${source.name} is a PyTorch checkpoint that holds no tensors.`);
  if (opaqueClasses.size > 0) {
    const names = [...opaqueClasses];
    notes.push(
      `The checkpoint pickles whole objects of ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}: convscope never runs code from a file, so these classes are unsupported; their tensors are listed, with torch.nn layer classes taken from the names.`,
    );
  }

  const stored: StoredTensor[] = found.tensors.map(([key, ref]) => ({
    key,
    shape: ref.shape,
    dtype: ref.storage.dtype,
    async read() {
      const entry = storages.get(ref.storage.key)!;
      const width = DTYPE_BYTES[ref.storage.dtype];
      const count = ref.shape.reduce((a, b) => a * b, 1);
      const span = count === 0 ? 0 : ref.shape.reduce((a, d, i) => a + (d - 1) * ref.stride[i]!, 0) + 1;
      const start = ref.offset * width;
      let bytes: Uint8Array;
      const stored = entry.method === 0;
      if (stored) bytes = await source.read((await dataOffset(entry)) + start, span * width);
      else bytes = (await zip.read(entry, limits)).subarray(start, start + span * width);
      if (byteorder === 'big' && width > 1) bytes = swapBytes(bytes, width);
      const flat = decodeLittleEndian(bytes, ref.storage.dtype, span, stored && source.freshReads === true);
      return span === count && isContiguous(ref.shape, ref.stride) ? flat : gather(flat, ref.shape, ref.stride);
    },
  }));
  const grouped = groupTorchLayers(source.name, stored, options.layout, found.classes);
  return {
    format: 'pytorch',
    framework: 'pytorch',
    source: source.name,
    layers: grouped.layers,
    notes: [...notes, ...grouped.notes],
    close() {},
  };
}

export const pytorchReader: FormatReader = {
  id: 'pytorch',
  description: 'PyTorch checkpoint (.pt/.pth/.bin written by torch.save)',
  async sniff({ source, head }) {
    if (isPickle(head)) return true;
    if (!isZip(head)) return false;
    try {
      const zip = await openZip(source);
      return dataPickleName(zip) !== undefined;
    } catch {
      return false;
    }
  },
  async open(source, options) {
    const head = await source.read(0, Math.min(4, source.size));
    return isZip(head) ? openCheckpoint(source, options) : refuseBarePickle(source);
  },
};
