import snappy from 'snappyjs';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { crc32c, maskCrc } from './crc32c.js';
import { checkInflate, DEFAULT_LIMITS, type ReadLimits } from './limits.js';
import type { ByteSource } from './source.js';

/**
 * Sorted string tables as TensorFlow writes them (LevelDB's table format, `tensorflow/core/lib/io/
 * table.cc`): data blocks of prefix-compressed key/value entries, an index block pointing at them and
 * a 48-byte footer ending in a magic number. Every block carries a 5-byte trailer (compression type,
 * masked CRC-32C of the block and type byte) that is checked before the block is parsed; snappy
 * blocks are inflated with a bound on their declared size. Every handle is checked against the file.
 */

/** LevelDB/TF `kTableMagicNumber`, stored little-endian in the last 8 bytes. */
const TABLE_MAGIC = [0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb];
const FOOTER_LENGTH = 48;
const TRAILER_LENGTH = 5;
/** Snappy's densest element (a 3-byte copy of 64 bytes) expands 64/3 times; nothing honest exceeds 22x. */
const SNAPPY_MAX_RATIO = 22;

export interface TableEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/** Whether the last bytes of a file are an SSTable footer's magic number. */
export async function isTable(source: ByteSource): Promise<boolean> {
  if (source.size < FOOTER_LENGTH) return false;
  const tail = await source.read(source.size - 8, 8);
  return TABLE_MAGIC.every((b, i) => tail[i] === b);
}

/** A cursor over bytes that refuses to read past its end. */
class Cursor {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly fail: (what: string) => never,
  ) {}

  varint(what: string): number {
    let result = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      if (this.pos >= this.bytes.length) this.fail(`${what} runs past the end of the block`);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) {
        if (!Number.isSafeInteger(result)) this.fail(`${what} is ${result}, too large to be real`);
        return result;
      }
    }
    return this.fail(`${what} is not a valid varint`);
  }

  take(length: number, what: string): Uint8Array {
    if (length > this.bytes.length - this.pos) this.fail(`${what} of ${length} bytes runs past the end of the block`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

interface BlockHandle {
  readonly offset: number;
  readonly size: number;
}

function handle(cursor: Cursor, what: string): BlockHandle {
  return { offset: cursor.varint(`${what} offset`), size: cursor.varint(`${what} size`) };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Reads the block at `h`, checks its CRC and inflates it. */
async function readBlock(source: ByteSource, h: BlockHandle, what: string, limits: ReadLimits): Promise<Uint8Array> {
  if (h.offset + h.size + TRAILER_LENGTH > source.size - FOOTER_LENGTH) {
    throw new ModelFormatError(
      `${source.name}: the ${what} at byte ${h.offset} with ${h.size} bytes lies outside the table, which has ${source.size} bytes.`,
    );
  }
  const raw = await source.read(h.offset, h.size + TRAILER_LENGTH);
  const stored = new DataView(raw.buffer, raw.byteOffset + h.size + 1, 4).getUint32(0, true);
  const actual = maskCrc(crc32c(raw.subarray(0, h.size + 1)));
  if (stored !== actual) {
    throw new ModelFormatError(
      `${source.name} is damaged: the ${what} at byte ${h.offset} fails its CRC-32C check (stored ${hex(stored)}, computed ${hex(actual)}).`,
    );
  }
  const type = raw[h.size]!;
  const body = raw.subarray(0, h.size);
  if (type === 0) return body;
  if (type !== 1) throw new UnsupportedError(`${source.name}: the ${what} at byte ${h.offset} uses compression type ${type}; convscope reads uncompressed (0) and snappy (1) blocks.`);
  const declared = snappyLength(body);
  if (declared === undefined || declared > body.length * SNAPPY_MAX_RATIO + 64) {
    throw new ModelFormatError(`${source.name}: the snappy ${what} at byte ${h.offset} declares ${declared ?? 'an unreadable'} bytes from ${body.length}, more than snappy can encode.`);
  }
  checkInflate(limits, source.name, `the snappy ${what} at byte ${h.offset}`, body.length, declared);
  try {
    return snappy.uncompress(body, declared);
  } catch (e) {
    throw new ModelFormatError(`${source.name}: the snappy ${what} at byte ${h.offset} cannot be inflated (${(e as Error).message}).`);
  }
}

/** The uncompressed length a snappy block starts with (a varint of at most 5 bytes). */
function snappyLength(body: Uint8Array): number | undefined {
  let value = 0;
  for (let i = 0; i < 5 && i < body.length; i++) {
    value += (body[i]! & 0x7f) * 2 ** (7 * i);
    if (!(body[i]! & 0x80)) return value;
  }
  return undefined;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** The key/value entries of one block, in stored order. */
function blockEntries(source: ByteSource, block: Uint8Array, what: string): { key: Uint8Array; value: Uint8Array }[] {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${source.name}: the ${what} is damaged (${why}).`);
  };
  if (block.length < 4) fail(`it has ${block.length} bytes, fewer than its restart count needs`);
  const restarts = new DataView(block.buffer, block.byteOffset + block.length - 4, 4).getUint32(0, true);
  const end = block.length - 4 * (restarts + 1);
  if (restarts < 1 || end < 0) fail(`it declares ${restarts} restart points in ${block.length} bytes`);
  const cursor = new Cursor(block.subarray(0, end), fail);
  const out: { key: Uint8Array; value: Uint8Array }[] = [];
  let previous = new Uint8Array(0);
  while (cursor.pos < end) {
    const shared = cursor.varint('a shared key length');
    const unshared = cursor.varint('a key length');
    const valueLength = cursor.varint('a value length');
    if (shared > previous.length) fail(`an entry shares ${shared} bytes with a previous key of ${previous.length}`);
    const key = new Uint8Array(shared + unshared);
    key.set(previous.subarray(0, shared));
    key.set(cursor.take(unshared, 'a key'), shared);
    out.push({ key, value: cursor.take(valueLength, 'a value') });
    previous = key;
  }
  return out;
}

/** Every entry of the table, in key order. */
export async function readTable(source: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): Promise<TableEntry[]> {
  if (!(await isTable(source))) {
    throw new ModelFormatError(`${source.name} is not a TensorFlow table (an .index file): it does not end with the table magic number.`);
  }
  const footer = await source.read(source.size - FOOTER_LENGTH, FOOTER_LENGTH);
  const cursor = new Cursor(footer, (why) => {
    throw new ModelFormatError(`${source.name}: the table footer is damaged (${why}).`);
  });
  handle(cursor, 'metaindex handle');
  const indexHandle = handle(cursor, 'index handle');
  const index = blockEntries(source, await readBlock(source, indexHandle, 'index block', limits), 'index block');
  const entries: TableEntry[] = [];
  for (const [i, { value }] of index.entries()) {
    const c = new Cursor(value, (why) => {
      throw new ModelFormatError(`${source.name}: index entry ${i} is damaged (${why}).`);
    });
    const block = await readBlock(source, handle(c, 'block handle'), `data block ${i}`, limits);
    for (const e of blockEntries(source, block, `data block ${i}`)) entries.push({ key: utf8.decode(e.key), value: e.value });
  }
  return entries;
}
