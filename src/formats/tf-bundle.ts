import protobuf from 'protobufjs/light.js';
import { crc32c, crc32cExtend, maskCrc } from '../io/crc32c.js';
import { checkTensorBytes, DEFAULT_LIMITS, type ReadLimits } from '../io/limits.js';
import { decodeMessage } from '../io/protobuf.js';
import { readTable } from '../io/sstable.js';
import type { ByteSource } from '../io/source.js';
import { decodeLittleEndian, DTYPE_BYTES, type DType, type TensorData } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { baseName } from '../model/model.js';
import { quote } from '../model/quote.js';
import {
  TF_DESCRIPTOR,
  TF_DTYPE_NAMES,
  TF_DTYPES,
  TF_STRING,
  type BundleEntryProto,
  type BundleHeaderProto,
  type Int64,
} from './schema/tensorflow.js';

/**
 * TensorFlow tensor bundles (`tensorflow/core/util/tensor_bundle`), the storage of every TF checkpoint
 * and of a SavedModel's `variables/`: `<prefix>.index` is a sorted table whose entry "" is a
 * BundleHeaderProto and whose other entries are BundleEntryProto (dtype, shape, shard, offset, size,
 * masked CRC-32C); tensor bytes live in `<prefix>.data-0000i-of-0000n`. At open the table is read and
 * every entry is checked against the real size of its shard; a tensor read checks its CRC-32C before
 * any value is returned. String tensors (the object graph) are decoded as TF writes them: varint
 * lengths, a masked CRC of the lengths, then the bytes.
 */

export const tfRoot = protobuf.Root.fromJSON(TF_DESCRIPTOR);
const HeaderType = tfRoot.lookupType('tf.BundleHeaderProto');
const EntryType = tfRoot.lookupType('tf.BundleEntryProto');

/** One tensor of a bundle, as its index entry describes it. */
export interface BundleTensor {
  readonly key: string;
  /** The stored dtype, or 'string' for DT_STRING. */
  readonly dtype: DType | 'string';
  readonly shape: readonly number[];
  readonly shard: number;
  readonly offset: number;
  readonly size: number;
  /** Masked CRC-32C of the stored bytes. */
  readonly crc32c: number;
}

export interface TensorBundle {
  /** The index file's name, for messages. */
  readonly name: string;
  readonly numShards: number;
  /** BundleHeaderProto.version.producer. */
  readonly producer: number;
  /** Tensors in key order (the header entry excluded). */
  readonly tensors: readonly BundleTensor[];
  /** Keys of partitioned variables, which are listed but not read. */
  readonly partitioned: readonly string[];
  /** The tensor's bytes exactly as stored in its shard, after their CRC-32C has been checked. */
  readRaw(tensor: BundleTensor): Promise<Uint8Array>;
  /** A numeric tensor's values. */
  read(tensor: BundleTensor): Promise<TensorData>;
  /** A string tensor's elements. */
  readStrings(tensor: BundleTensor): Promise<Uint8Array[]>;
}

function int(v: Int64, where: string, what: string): number {
  const n = typeof v === 'number' ? v : Number(BigInt(v.toString()));
  if (!Number.isSafeInteger(n) || n < 0) throw new ModelFormatError(`${where}: ${what} is ${v.toString()}, which cannot be real.`);
  return n;
}

/** `model.ckpt.data-00000-of-00002` */
export function shardName(prefix: string, shard: number, count: number): string {
  return `${prefix}.data-${String(shard).padStart(5, '0')}-of-${String(count).padStart(5, '0')}`;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** Reads a varint from `bytes` at `pos`; undefined when it runs past the end. */
function varint(bytes: Uint8Array, pos: number): [value: number, next: number] | undefined {
  let value = 0;
  for (let shift = 0, p = pos; shift < 64 && p < bytes.length; shift += 7, p++) {
    const b = bytes[p]!;
    value += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [value, p + 1];
  }
  return undefined;
}

/**
 * Opens the bundle whose index is `index` (`<prefix>.index`). Its data shards are files of the model's
 * folder, reached through `folder` (the model file the user opened: the index itself, a `checkpoint`
 * file or saved_model.pb) under `prefix`, their path relative to that folder (`variables/variables`).
 */
export async function openBundle(
  index: ByteSource,
  folder: ByteSource = index,
  prefix = baseName(index.name).replace(/\.index$/, ''),
  limits: ReadLimits = DEFAULT_LIMITS,
): Promise<TensorBundle> {
  const where = index.name;
  const entries = await readTable(index, limits);
  const headerEntry = entries.find((e) => e.key === '');
  if (!headerEntry) throw new ModelFormatError(`${where} is a table but not a tensor bundle index: it has no header entry.`);
  const header = decodeMessage<BundleHeaderProto>(HeaderType, headerEntry.value, where, 'the bundle header');
  if (header.endianness !== 0) {
    throw new UnsupportedError(`${where} was written on a big-endian machine; convscope reads little-endian tensor bundles only.`);
  }
  const numShards = header.num_shards;
  if (!Number.isSafeInteger(numShards) || numShards < 1 || numShards > 100000) {
    throw new ModelFormatError(`${where}: the bundle header declares ${numShards} data shards.`);
  }
  const tensors: BundleTensor[] = [];
  const partitioned: string[] = [];
  for (const { key, value } of entries) {
    if (key === '') continue;
    const e = decodeMessage<BundleEntryProto>(EntryType, value, where, `the entry of '${key}'`);
    if (e.slices.length > 0) {
      partitioned.push(key);
      continue;
    }
    const dtype = e.dtype === TF_STRING ? 'string' : TF_DTYPES[e.dtype as keyof typeof TF_DTYPES];
    if (dtype === undefined) {
      throw new UnsupportedError(`${where}: tensor '${key}' has dtype ${TF_DTYPE_NAMES[e.dtype] ?? e.dtype}, which convscope cannot read.`);
    }
    const shape = (e.shape?.dim ?? []).map((d, i) => int(d.size, where, `dimension ${i} of '${key}'`));
    const t: BundleTensor = {
      key,
      dtype,
      shape,
      shard: e.shard_id,
      offset: int(e.offset, where, `the offset of '${key}'`),
      size: int(e.size, where, `the size of '${key}'`),
      crc32c: e.crc32c >>> 0,
    };
    if (t.shard < 0 || t.shard >= numShards) {
      throw new ModelFormatError(`${where}: tensor '${key}' lives in shard ${t.shard}, but the bundle has ${numShards} shards.`);
    }
    const count = product(shape);
    if (dtype !== 'string' && t.size !== count * DTYPE_BYTES[dtype]) {
      throw new ModelFormatError(
        `${where}: tensor '${key}' of shape (${shape.join(', ')}) and dtype ${dtype} needs ${count * DTYPE_BYTES[dtype]} bytes, but its entry declares ${t.size}.`,
      );
    }
    tensors.push(t);
  }
  const shards = new Map<number, ByteSource>();
  for (const shard of new Set(tensors.map((t) => t.shard))) shards.set(shard, await folder.sibling(shardName(prefix, shard, numShards), `data shard ${shard + 1} of ${numShards} of ${quote(baseName(where))}`));
  for (const t of tensors) {
    const shard = shards.get(t.shard)!;
    if (t.offset + t.size > shard.size) {
      throw new ModelFormatError(
        `${shard.name}: tensor '${t.key}' lies at byte ${t.offset} with ${t.size} bytes, past the end of the shard, which has ${shard.size} bytes.`,
      );
    }
  }

  async function readRaw(t: BundleTensor): Promise<Uint8Array> {
    const shard = shards.get(t.shard)!;
    checkTensorBytes(limits, shard.name, `tensor ${quote(t.key)}`, t.size);
    const bytes = await shard.read(t.offset, t.size);
    if (t.dtype !== 'string') {
      const actual = maskCrc(crc32c(bytes));
      if (actual !== t.crc32c) {
        throw new ModelFormatError(
          `${shard.name} is damaged: tensor '${t.key}' fails its CRC-32C check (the index stores ${hex(t.crc32c)}, its ${t.size} bytes give ${hex(actual)}).`,
        );
      }
    } else {
      splitStrings(t, bytes, shard.name);
    }
    return bytes;
  }

  /** Splits a string tensor's bytes into elements, checking the checksum TF computed while writing them. */
  function splitStrings(t: BundleTensor, bytes: Uint8Array, shardFile: string): Uint8Array[] {
    const count = product(t.shape);
    const fail = (why: string): never => {
      throw new ModelFormatError(`${shardFile} is damaged: string tensor '${t.key}' ${why}.`);
    };
    const lengths: number[] = [];
    let pos = 0;
    let crc = 0;
    const word = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < count; i++) {
      const v = varint(bytes, pos) ?? fail(`has a length that runs past its ${bytes.length} bytes`);
      lengths.push(v[0]);
      pos = v[1];
      if (v[0] <= 0xffffffff) {
        word.setUint32(0, v[0], true);
        crc = crc32cExtend(crc, new Uint8Array(word.buffer, 0, 4));
      } else {
        word.setBigUint64(0, BigInt(v[0]), true);
        crc = crc32cExtend(crc, new Uint8Array(word.buffer, 0, 8));
      }
    }
    if (pos + 4 > bytes.length) fail('ends inside its length checksum');
    const lengthCrc = new DataView(bytes.buffer, bytes.byteOffset + pos, 4).getUint32(0, true);
    if (lengthCrc !== maskCrc(crc)) fail(`has element lengths that fail their CRC-32C check`);
    crc = crc32cExtend(crc, bytes.subarray(pos, pos + 4));
    pos += 4;
    const out: Uint8Array[] = [];
    for (const length of lengths) {
      if (length > bytes.length - pos) fail(`declares an element of ${length} bytes past its end`);
      out.push(bytes.subarray(pos, pos + length));
      pos += length;
    }
    crc = crc32cExtend(crc, bytes.subarray(pos - lengths.reduce((a, b) => a + b, 0), pos));
    if (maskCrc(crc) !== t.crc32c) fail(`fails its CRC-32C check (the index stores ${hex(t.crc32c)}, its bytes give ${hex(maskCrc(crc))})`);
    return out;
  }

  return {
    name: where,
    numShards,
    producer: header.version?.producer ?? 0,
    tensors,
    partitioned,
    readRaw,
    async read(t) {
      if (t.dtype === 'string') throw new UnsupportedError(`${where}: tensor '${t.key}' holds strings, not numbers.`);
      return decodeLittleEndian(await readRaw(t), t.dtype, product(t.shape));
    },
    async readStrings(t) {
      if (t.dtype !== 'string') throw new UnsupportedError(`${where}: tensor '${t.key}' holds ${t.dtype} numbers, not strings.`);
      const shard = shards.get(t.shard)!;
      checkTensorBytes(limits, shard.name, `tensor ${quote(t.key)}`, t.size);
      return splitStrings(t, await shard.read(t.offset, t.size), shard.name);
    },
  };
}
