import { decodeLittleEndian, DTYPE_BYTES, type TensorData } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import type { Model, Note } from '../model/model.js';
import { PyDict, PyGlobal, PyObject, PyTuple, unpickle, type PickleValue } from '../io/pickle.js';
import type { ByteSource } from '../io/source.js';
import { resolveLimits } from '../io/limits.js';
import { isZip, openZip, type ZipArchive, type ZipEntry } from '../io/zip.js';
import type { FormatReader, OpenOptions } from './reader.js';
import { groupTorchLayers, type StoredTensor } from './torch-layers.js';
import { isTensorRef, storageFromPid, TORCH_CALLS, type StorageRef, type TensorRef } from './torch-pickle.js';

/**
 * PyTorch files, every one read by convscope's never-executing unpickler:
 * - torch.save (>= 1.6): a zip holding `<prefix>/data.pkl` and one entry `<prefix>/data/<key>` per
 *   storage, usually stored uncompressed so a tensor is one range read;
 * - TorchScript archives (torch.jit.save of a scripted or traced module): the same zip layout, whose
 *   data.pkl holds the module tree as objects of `__torch__.*` classes; tensors are named by
 *   attribute path (`features.0.weight`) and the archive's code/ is never read;
 * - the legacy serialization (torch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles
 *   in a row (magic number, protocol 1001, sys info, the object, the storage keys) followed by each
 *   storage as an int64 element count and its raw bytes, in key order.
 * Whole pickled models (`torch.save(model)`) become inert objects whose tensors follow state_dict naming.
 */

/** torch.save's legacy (pre-1.6) files start with a pickle of this number. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** How much of a bare pickle file convscope reads to tell what it is. */
const BARE_PICKLE_PREFIX = 16 * 1024 * 1024;
/** The legacy format's protocol version (the second pickle). */
const LEGACY_PROTOCOL = 1001;
/** A legacy file's pickles are read from a prefix that grows from 1 MiB up to this size. */
const MAX_LEGACY_PICKLES = 256 * 1024 * 1024;
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

async function isLegacy(source: ByteSource): Promise<boolean> {
  const bytes = await source.read(0, Math.min(source.size, 64));
  try {
    return unpickle(bytes, { name: source.name }).value === LEGACY_MAGIC;
  } catch {
    return false;
  }
}

async function refuseBarePickle(source: ByteSource): Promise<never> {
  const bytes = await source.read(0, Math.min(source.size, BARE_PICKLE_PREFIX));
  unpickle(bytes, { name: source.name, calls: TORCH_CALLS });
  throw new UnsupportedError(`${source.name} is a bare pickle, not a torch.save checkpoint (a zip holding data.pkl); convscope does not support it.`);
}

/** `__torch__.torch.nn.modules.conv.___torch_mangle_0.Conv2d` (TorchScript) -> `torch.nn.modules.conv.Conv2d`. */
function torchClassName(qualified: string): string {
  return qualified.replace(/^__torch__\./, '').replace(/\.___torch_mangle_\d+/g, '');
}

interface Found {
  tensors: [string, TensorRef][];
  /** Module path -> qualified class, for nn.Module objects of a whole pickled model. */
  classes: Map<string, string>;
  /** The file, for messages. */
  file: string;
}

/** Containers nested deeper than this are refused (a real state_dict nests a handful of levels). */
const MAX_NESTING = 256;

/** Flattens nested containers to (dotted key, tensor) pairs; nn.Module objects follow state_dict naming. */
function flatten(value: PickleValue, prefix: string, out: Found, seen: Set<object>, depth = 0): void {
  if (depth > MAX_NESTING) {
    throw new ModelFormatError(`${out.file}: the checkpoint nests containers more than ${MAX_NESTING} levels deep, which no state_dict does.`);
  }
  if (isTensorRef(value)) {
    out.tensors.push([prefix, value]);
    return;
  }
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  const join = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (value instanceof PyDict) {
    for (const [k, v] of value.entries) if (typeof k === 'string' || typeof k === 'number') flatten(v, join(String(k)), out, seen, depth + 1);
  } else if (Array.isArray(value) || value instanceof PyTuple) {
    (Array.isArray(value) ? value : value.items).forEach((v, i) => flatten(v, join(String(i)), out, seen, depth + 1));
  } else if (value instanceof PyObject) {
    const state = value.state instanceof PyTuple ? value.state.items[0] ?? null : value.state;
    if (!(state instanceof PyDict)) return;
    const attr = (k: string) => state.entries.get(k);
    if (attr('_parameters') instanceof PyDict && attr('_modules') instanceof PyDict) {
      out.classes.set(prefix, value.className);
      for (const part of ['_parameters', '_buffers', '_modules']) {
        const d = attr(part);
        if (d instanceof PyDict) for (const [k, v] of d.entries) if (typeof k === 'string') flatten(v, join(k), out, seen, depth + 1);
      }
    } else {
      if (value.className.startsWith('__torch__.')) out.classes.set(prefix, torchClassName(value.className));
      flatten(state, prefix, out, seen, depth + 1);
    }
  }
}

function tensorsIn(value: PickleValue, file: string): Found {
  const out: Found = { file, tensors: [], classes: new Map() };
  flatten(value, '', out, new Set());
  return out;
}

/** The state dict inside a training checkpoint ({'state_dict': ..., 'epoch': ...}), or the whole value. */
function chooseRoot(value: PickleValue, notes: Note[], file: string): Found {
  if (value instanceof PyDict) {
    for (const key of WRAPPER_KEYS) {
      const inner = value.entries.get(key);
      if (inner === undefined) continue;
      const found = tensorsIn(inner, file);
      if (found.tensors.length > 0) {
        const others = [...value.entries.keys()].filter((k) => k !== key).map(String);
        notes.push({ text: `Read the '${key}' entry of a checkpoint${others.length ? ` that also holds: ${others.join(', ')}` : ''}.` });
        return found;
      }
    }
  }
  return tensorsIn(value, file);
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

/** Reads `length` bytes at `byteOffset` of a storage, as stored (byte order not yet swapped). */
type StorageBytes = (storage: StorageRef, byteOffset: number, length: number) => Promise<Uint8Array>;

/** The Model of an unpickled torch object whose storages `readStorage` reads. */
function torchModel(
  source: ByteSource,
  options: OpenOptions,
  unpickled: { value: PickleValue; opaqueClasses: Set<string> },
  storage: { read: StorageBytes; bigEndian: boolean; fresh: (storage: StorageRef) => boolean; ranged: (storage: StorageRef) => boolean },
  notes: Note[],
): Model {
  const found = chooseRoot(unpickled.value, notes, source.name);
  if (found.tensors.length === 0) throw new ModelFormatError(`${source.name} is a PyTorch checkpoint that holds no tensors.`);
  const opaque = [...unpickled.opaqueClasses].filter((c) => !c.startsWith('__torch__.'));
  if (opaque.length > 0) {
    notes.push({
      text: `The checkpoint pickles whole objects of ${opaque.slice(0, 6).join(', ')}${opaque.length > 6 ? ', ...' : ''}: convscope never runs code from a file, so these classes are unsupported; their tensors are listed, with torch.nn layer classes taken from the names.`,
    });
  }
  const stored: StoredTensor[] = found.tensors.map(([key, ref]) => {
    const width = DTYPE_BYTES[ref.storage.dtype];
    const count = ref.shape.reduce((a, b) => a * b, 1);
    const span = count === 0 ? 0 : ref.shape.reduce((a, d, i) => a + (d - 1) * ref.stride[i]!, 0) + 1;
    const contiguous = span === count && isContiguous(ref.shape, ref.stride);
    /** `values` values from element `first` of the tensor's span, decoded. */
    const readSpan = async (first: number, values: number): Promise<TensorData> => {
      let bytes = await storage.read(ref.storage, (ref.offset + first) * width, values * width);
      if (storage.bigEndian && width > 1) bytes = swapBytes(bytes, width);
      return decodeLittleEndian(bytes, ref.storage.dtype, values, storage.fresh(ref.storage) && !storage.bigEndian);
    };
    const rowValues = ref.shape.slice(1).reduce((a, b) => a * b, 1);
    return {
      key,
      shape: ref.shape,
      dtype: ref.storage.dtype,
      async read() {
        const flat = await readSpan(0, span);
        return contiguous ? flat : gather(flat, ref.shape, ref.stride);
      },
      ...(contiguous && storage.ranged(ref.storage) ? { readRows: (start: number, rows: number) => readSpan(start * rowValues, rows * rowValues) } : {}),
    };
  });
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

async function openCheckpoint(source: ByteSource, options: OpenOptions): Promise<Model> {
  const limits = resolveLimits(options.limits);
  const zip = await openZip(source);
  const pickleName = dataPickleName(zip);
  if (!pickleName) throw new ModelFormatError(`${source.name} is a zip archive without data.pkl, so it is not a PyTorch checkpoint.`);
  const prefix = pickleName.slice(0, -'data.pkl'.length);
  const notes: Note[] = [];
  if (isTorchScript(zip, prefix)) {
    notes.push({ text: 'A TorchScript archive (torch.jit.save): weights are named by attribute path; its code is never read or run.' });
  }
  const byteorderEntry = zip.entries.get(`${prefix}byteorder`);
  const byteorder = byteorderEntry ? new TextDecoder().decode(await zip.read(byteorderEntry, limits)).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new ModelFormatError(`${source.name}: byteorder expects 'little' or 'big', but received ${quote(byteorder)}.`);
  }
  const pickleLabel = `${source.name} (${pickleName})`;
  /** Where each storage's bytes start, learnt from its first read. */
  const dataOffsets = new Map<ZipEntry, Promise<number>>();
  const storages = new Map<string, ZipEntry>();
  const unpickled = unpickle(await zip.read(zip.entries.get(pickleName)!, limits), {
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
  return torchModel(source, options, unpickled, {
    bigEndian: byteorder === 'big',
    fresh: (storage) => storages.get(storage.key)!.method === 0 && source.freshReads === true,
    // A deflated storage is inflated whole on every read: reading it in parts would inflate it each time.
    ranged: (storage) => storages.get(storage.key)!.method === 0,
    async read(storage, byteOffset, length) {
      const entry = storages.get(storage.key)!;
      if (entry.method !== 0) return (await zip.read(entry, limits)).subarray(byteOffset, byteOffset + length);
      const known = dataOffsets.get(entry);
      if (known) return source.read((await known) + byteOffset, length);
      // The first read of a storage brings its local header along (one read per tensor, not two).
      const read = zip.readStored(entry, byteOffset, length);
      const offset = read.then((r) => r.dataOffset);
      offset.catch(() => dataOffsets.delete(entry));
      dataOffsets.set(entry, offset);
      return (await read).bytes;
    },
  }, notes);
}

/** One pickle of a legacy file, starting at `start` of the bytes read so far. */
type PickleAt = (start: number, what: string, persistentLoad?: (pid: PickleValue) => PickleValue) => ReturnType<typeof unpickle>;

/** The pickles at the start of a legacy file, read from a prefix that grows until they fit. */
async function legacyPickles<T>(source: ByteSource, parse: (at: PickleAt) => T): Promise<T> {
  for (let length = Math.min(source.size, 1 << 20); ; length = Math.min(source.size, length * 4, MAX_LEGACY_PICKLES)) {
    const bytes = await source.read(0, length);
    try {
      return parse((start, what, persistentLoad) =>
        unpickle(bytes, { name: `${source.name} (${what})`, calls: TORCH_CALLS, ...(persistentLoad ? { persistentLoad } : {}) }, start),
      );
    } catch (e) {
      const truncated = e instanceof ModelFormatError && /the pickle (ends without a STOP|is damaged at byte \d+ \(.* but only \d+ remain)/.test(e.message);
      if (!truncated || length >= source.size || length >= MAX_LEGACY_PICKLES) throw e;
    }
  }
}

async function openLegacy(source: ByteSource, options: OpenOptions): Promise<Model> {
  const storages = new Map<string, StorageRef>();
  const { unpickled, keys, dataStart, littleEndian } = await legacyPickles(source, (at) => {
    storages.clear();
    const magic = at(0, 'magic number');
    const protocol = at(magic.end, 'protocol version');
    if (protocol.value !== LEGACY_PROTOCOL) {
      throw new UnsupportedError(`${source.name} is a legacy PyTorch file with protocol version ${quote(protocol.value)}; convscope reads version ${LEGACY_PROTOCOL}.`);
    }
    const sysInfo = at(protocol.end, 'sys info');
    const info = sysInfo.value instanceof PyDict ? sysInfo.value.entries : new Map<PickleValue, PickleValue>();
    const main = at(sysInfo.end, 'object', (pid) => {
      const items = pid instanceof PyTuple ? pid.items : [];
      // ('module', class, file, source) names a whole model's class with its source text, which is never run.
      if (items[0] === 'module' && items[1] instanceof PyGlobal) return items[1];
      if (items.length >= 6 && items[5] !== null) {
        throw new UnsupportedError(`${source.name} stores a storage view (torch < 0.4 'view_metadata'), which convscope does not read.`);
      }
      const storage = storageFromPid(pid, source.name);
      const known = storages.get(storage.key);
      if (known && known.numel !== storage.numel) throw new ModelFormatError(`${source.name}: storage '${storage.key}' is declared with ${known.numel} and ${storage.numel} elements.`);
      storages.set(storage.key, storage);
      return storage;
    });
    const keyList = at(main.end, 'storage keys');
    if (!Array.isArray(keyList.value) || !keyList.value.every((k) => typeof k === 'string')) {
      throw new ModelFormatError(`${source.name}: a legacy checkpoint ends its pickles with the list of storage keys, but this one holds something else.`);
    }
    return { unpickled: main, keys: keyList.value as string[], dataStart: keyList.end, littleEndian: info.get('little_endian') !== false };
  });
  const where = new Map<string, number>();
  let offset = dataStart;
  for (const key of keys) {
    const storage = storages.get(key);
    if (!storage) throw new ModelFormatError(`${source.name} lists storage '${key}', which its object never uses.`);
    const head = await source.read(offset, 8);
    const numel = Number(new DataView(head.buffer, head.byteOffset, 8).getBigInt64(0, littleEndian));
    if (numel !== storage.numel) {
      throw new ModelFormatError(`${source.name}: storage '${key}' at byte ${offset} holds ${numel} elements, but the pickle declares ${storage.numel}.`);
    }
    const bytes = numel * DTYPE_BYTES[storage.dtype];
    if (offset + 8 + bytes > source.size) {
      throw new ModelFormatError(`${source.name}: storage '${key}' needs ${bytes} bytes at byte ${offset + 8}, past the end of the file (${source.size} bytes).`);
    }
    where.set(key, offset + 8);
    offset += 8 + bytes;
  }
  for (const key of storages.keys()) {
    if (!where.has(key)) throw new ModelFormatError(`${source.name}: storage '${key}' is used by the object but missing from the file's storage list.`);
  }
  return torchModel(source, options, unpickled, {
    bigEndian: !littleEndian,
    fresh: () => source.freshReads === true,
    ranged: () => true,
    read: (storage, byteOffset, length) => source.read(where.get(storage.key)! + byteOffset, length),
  }, [{ text: 'A legacy PyTorch file (torch < 1.6 or _use_new_zipfile_serialization=False).' }]);
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
    if (isZip(head)) return openCheckpoint(source, options);
    return (await isLegacy(source)) ? openLegacy(source, options) : refuseBarePickle(source);
  },
};
