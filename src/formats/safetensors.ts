import { decodeLittleEndian, DTYPE_BYTES, type DType } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkReferencedName } from '../io/containment.js';
import type { Model } from '../model/model.js';
import { parseJson, readJson, type ByteSource } from '../io/source.js';
import type { FormatReader, OpenOptions } from './reader.js';
import type { SafetensorsEntry, SafetensorsIndex } from './schema/safetensors.js';
import { groupTorchLayers, type StoredTensor } from './torch-layers.js';

/**
 * safetensors: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
 * and byte range in the data section, then the data. Sharded checkpoints add
 * `model.safetensors.index.json` whose `weight_map` names the shard holding each tensor.
 */

const DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

/** The safetensors library's own limit on a header. */
const MAX_HEADER_BYTES = 100_000_000;
/** An index JSON larger than this is not an index. */
const MAX_INDEX_BYTES = 64 * 1024 * 1024;

/** Numeric-aware order (`layer1.2` before `layer1.10`); the collator is built on first use, as building one costs ~10 ms. */
let collator: Intl.Collator | undefined;
function naturalOrder(a: string, b: string): number {
  collator ??= new Intl.Collator('en', { numeric: true });
  return collator.compare(a, b);
}
const ROLE_ORDER = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'];

/**
 * Headers list keys alphabetically (`layer1.10` before `layer1.2`, `bias` before `weight`): order
 * layers naturally and each layer's tensors as PyTorch registers them.
 */
function keyOrder(a: string, b: string): number {
  const split = (k: string) => [k.slice(0, Math.max(k.lastIndexOf('.'), 0)), k.slice(k.lastIndexOf('.') + 1)] as const;
  const rank = (last: string) => (ROLE_ORDER.includes(last) ? ROLE_ORDER.indexOf(last) : ROLE_ORDER.length);
  const [la, na] = split(a);
  const [lb, nb] = split(b);
  return naturalOrder(la, lb) || rank(na) - rank(nb) || naturalOrder(na, nb);
}

interface ShardTensor {
  key: string;
  dtype: DType;
  shape: number[];
  /** Absolute byte range in the shard file. */
  start: number;
  length: number;
}

interface Shard {
  source: ByteSource;
  tensors: ShardTensor[];
  metadata: Record<string, string>;
}

function checkShape(file: string, key: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFormatError(`${file}: tensor '${key}' expects a shape of non-negative integers, but received ${quote(shape)}.`);
  }
  return shape as number[];
}

async function readShard(source: ByteSource): Promise<Shard> {
  const file = source.name;
  if (source.size < 8) throw new ModelFormatError(`${file} is too short (${source.size} bytes) to be a safetensors file.`);
  const lengthBytes = await source.read(0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(source.size - 8) || headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new ModelFormatError(
      `${file} declares a safetensors header of ${headerLength} bytes, but the file holds only ${source.size - 8} bytes after the length field.`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  const dataSize = source.size - dataStart;
  const header = parseJson(new TextDecoder().decode(await source.read(8, Number(headerLength))), `${file}: the safetensors header`);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ModelFormatError(`${file}: the safetensors header expects a JSON object, but received ${quote(header)}.`);
  }
  const metadata: Record<string, string> = {};
  const tensors: ShardTensor[] = [];
  for (const [key, raw] of Object.entries(header as Record<string, unknown>)) {
    if (key === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
      continue;
    }
    const entry = raw as Partial<SafetensorsEntry>;
    const dtype = typeof entry?.dtype === 'string' && Object.hasOwn(DTYPES, entry.dtype) ? DTYPES[entry.dtype] : undefined;
    if (!dtype) throw new UnsupportedError(`${file}: tensor '${key}' has data type ${quote(entry?.dtype)}, which convscope does not support.`);
    const shape = checkShape(file, key, entry.shape);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0]! > offsets[1]!) {
      throw new ModelFormatError(`${file}: tensor '${key}' expects data_offsets [begin, end] with 0 <= begin <= end, but received ${quote(offsets)}.`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataSize) {
      throw new ModelFormatError(
        `${file}: tensor '${key}' has data_offsets [${begin}, ${end}], which lie outside the data section of ${dataSize} bytes.`,
      );
    }
    const needed = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end - begin !== needed) {
      throw new ModelFormatError(
        `${file}: tensor '${key}' of dtype ${entry.dtype} and shape (${shape.join(', ')}) needs ${needed} bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}.`,
      );
    }
    tensors.push({ key, dtype, shape, start: dataStart + begin, length: end - begin });
  }
  const byStart = [...tensors].sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1]!;
    const cur = byStart[i]!;
    if (cur.start < prev.start + prev.length && cur.length > 0 && prev.length > 0) {
      throw new ModelFormatError(`${file}: tensors '${prev.key}' and '${cur.key}' have overlapping data_offsets.`);
    }
  }
  return { source, tensors, metadata };
}

async function readIndex(source: ByteSource): Promise<{ shards: Shard[]; metadata: Record<string, string> }> {
  if (source.size > MAX_INDEX_BYTES) throw new ModelFormatError(`${source.name} is ${source.size} bytes, too large for a safetensors index.`);
  const index = (await readJson(source)) as Partial<SafetensorsIndex>;
  const weightMap = index.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null) {
    throw new ModelFormatError(`${source.name} expects a 'weight_map' object, but it has none.`);
  }
  const names = new Map<string, string[]>();
  for (const [key, file] of Object.entries(weightMap)) {
    const shard = checkReferencedName(source.name, `the shard of tensor ${quote(key)}`, file);
    names.set(shard, [...(names.get(shard) ?? []), key]);
  }
  const shards: Shard[] = [];
  for (const [file, keys] of names) {
    const shard = await readShard(await source.sibling(file, 'a safetensors shard'));
    const present = new Set(shard.tensors.map((t) => t.key));
    const missing = keys.find((k) => !present.has(k));
    if (missing) throw new ModelFormatError(`${source.name} maps tensor '${missing}' to ${file}, which does not hold it.`);
    const wanted = new Set(keys);
    shards.push({ ...shard, tensors: shard.tensors.filter((t) => wanted.has(t.key)) });
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(index.metadata ?? {})) metadata[k] = typeof v === 'string' ? v : JSON.stringify(v);
  for (const shard of shards) Object.assign(metadata, shard.metadata);
  return { shards, metadata };
}

function isIndex(head: Uint8Array): boolean {
  const text = new TextDecoder().decode(head);
  return /^\s*\{/.test(text) && /"weight_map"\s*:/.test(text);
}

async function openSafetensors(source: ByteSource, options: OpenOptions): Promise<Model> {
  const head = await source.read(0, Math.min(source.size, 4096));
  const { shards, metadata } = isIndex(head) ? await readIndex(source) : await (async () => {
    const shard = await readShard(source);
    return { shards: [shard], metadata: shard.metadata };
  })();
  const stored: StoredTensor[] = shards
    .flatMap((shard) =>
      shard.tensors.map((t) => ({
        key: t.key,
        shape: t.shape,
        dtype: t.dtype,
        read: async () => decodeLittleEndian(await shard.source.read(t.start, t.length), t.dtype, t.length / DTYPE_BYTES[t.dtype], shard.source.freshReads === true),
        async readRows(start: number, count: number) {
          const rowBytes = t.shape.slice(1).reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
          return decodeLittleEndian(await shard.source.read(t.start + start * rowBytes, count * rowBytes), t.dtype, (count * rowBytes) / DTYPE_BYTES[t.dtype], shard.source.freshReads === true);
        },
      })),
    )
    .sort((a, b) => keyOrder(a.key, b.key));
  const grouped = groupTorchLayers(source.name, stored, options.layout);
  const model: Model = {
    format: 'safetensors',
    framework: 'safetensors',
    source: source.name,
    layers: grouped.layers,
    notes: grouped.notes,
    close() {},
  };
  return Object.keys(metadata).length > 0 ? { ...model, metadata } : model;
}

export const safetensorsReader: FormatReader = {
  id: 'safetensors',
  description: 'safetensors (.safetensors, sharded model.safetensors.index.json)',
  sniff({ head }) {
    return (head.length >= 10 && head[8] === 0x7b && (head[9] === 0x22 || head[9] === 0x7d || head[9] === 0x20)) || isIndex(head);
  },
  open: openSafetensors,
};
