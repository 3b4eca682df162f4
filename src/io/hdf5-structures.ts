/**
 * The HDF5 on-disk structures Keras files use, decoded in TypeScript (see io/hdf5-native.ts for how they
 * become an Hdf5File): superblock versions 0-3, object headers v1/v2 with continuation blocks, old-style
 * groups (symbol table: v1 B-tree + local heap), new-style groups and attributes, compact or dense
 * (fractal heap + v2 B-tree leaf), dataspaces, datatypes, data layouts and filter pipelines.
 *
 * Two kinds of failure, never a guess:
 * - `NotMine`: the file uses something valid this reader does not decode (a soft or external link, a
 *   shared message, a deep B-tree, external storage, a virtual dataset...). The caller hands the file to
 *   the HDF5 library itself, which also keeps the containment rule for external files.
 * - ModelFormatError: the bytes break the format (a bad signature or checksum, an address outside the
 *   file). Every address and length read from the file is checked against the file's size first.
 */
import { ModelFormatError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import type { ByteSource } from './source.js';

/** Something valid this reader does not decode; the HDF5 library reads the file instead. */
export class NotMine extends Error {
  override name = 'NotMine';
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** Metadata is fetched in pages of this size and kept for the life of the file. */
const PAGE = 4096;
/** Continuation blocks per object header, B-tree nodes per group: far above any real file. */
const MAX_BLOCKS = 4096;
const MAX_BTREE_DEPTH = 32;
/** One metadata block larger than this (a local heap of a million names) is left to the HDF5 library. */
const MAX_METADATA_BLOCK = 64 * 1024 * 1024;
/**
 * Metadata bytes decoded per file, counting a block each time it is decoded: bounds the work a file
 * can ask for (many groups sharing one huge symbol table), far above what any model needs.
 */
const METADATA_BUDGET = 512 * 1024 * 1024;

/** Jenkins' lookup3 hashlittle(), HDF5's metadata checksum (H5_checksum_lookup3, initval 0). */
export function lookup3(k: Uint8Array): number {
  let length = k.length;
  let a = (0xdeadbeef + length) | 0;
  let b = a;
  let c = a;
  let i = 0;
  const rot = (x: number, n: number) => (x << n) | (x >>> (32 - n));
  const word = (at: number) => k[at]! | (k[at + 1]! << 8) | (k[at + 2]! << 16) | (k[at + 3]! << 24);
  while (length > 12) {
    a = (a + word(i)) | 0;
    b = (b + word(i + 4)) | 0;
    c = (c + word(i + 8)) | 0;
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    length -= 12;
    i += 12;
  }
  if (length === 0) return c >>> 0;
  const tail = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let j = 0; j < length; j++) tail[j] = k[i + j]!;
  a = (a + (tail[0]! | (tail[1]! << 8) | (tail[2]! << 16) | (tail[3]! << 24))) | 0;
  b = (b + (tail[4]! | (tail[5]! << 8) | (tail[6]! << 16) | (tail[7]! << 24))) | 0;
  c = (c + (tail[8]! | (tail[9]! << 8) | (tail[10]! << 16) | (tail[11]! << 24))) | 0;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/** Little-endian fields of one decoded block; every read past its end is a format error. */
export class Cursor {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly file: HdfBytes,
    private readonly what: string,
  ) {}

  private need(n: number): number {
    if (this.pos + n > this.bytes.length) throw this.file.damaged(`${this.what} ends early`);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.need(1)]!;
  }
  u16(): number {
    const at = this.need(2);
    return this.bytes[at]! | (this.bytes[at + 1]! << 8);
  }
  u32(): number {
    const at = this.need(4);
    return (this.bytes[at]! | (this.bytes[at + 1]! << 8) | (this.bytes[at + 2]! << 16) | (this.bytes[at + 3]! << 24)) >>> 0;
  }
  /** An unsigned integer of `n` bytes (up to 8); undefined when all bits are set (HDF5's "undefined address"). */
  uint(n: number): number | undefined {
    const at = this.need(n);
    let value = 0;
    let allOnes = true;
    for (let i = n - 1; i >= 0; i--) {
      const b = this.bytes[at + i]!;
      if (b !== 0xff) allOnes = false;
      value = value * 256 + b;
    }
    if (allOnes) return undefined;
    if (!Number.isSafeInteger(value)) throw this.file.damaged(`${this.what} holds a number too large to be real (${n} bytes)`);
    return value;
  }
  /** A file address (relative to the base address); undefined when not set. */
  address(): number | undefined {
    return this.uint(this.file.offsetSize);
  }
  /** A length field; a length with all bits set is damage. */
  length(): number {
    const v = this.uint(this.file.lengthSize);
    if (v === undefined) throw this.file.damaged(`${this.what} holds a length that is not set (all bits one)`);
    return v;
  }
  take(n: number): Uint8Array {
    if (!Number.isSafeInteger(n) || n < 0) throw this.file.damaged(`${this.what} declares a length of ${n}`);
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  skip(n: number): void {
    this.need(n);
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
}

/** The file's bytes as HDF5 addresses them, with the sizes its superblock declares. */
export class HdfBytes {
  offsetSize = 8;
  lengthSize = 8;
  base = 0;
  private pages = new Map<number, Uint8Array>();
  private spent = 0;

  constructor(readonly source: ByteSource) {}

  get name(): string {
    return this.source.name;
  }

  damaged(detail: string): ModelFormatError {
    return new ModelFormatError(`${this.name} is a damaged HDF5 file: ${detail}.`);
  }

  /** `length` bytes of metadata at file address `address` (relative to the base address), bounds-checked. */
  async at(address: number | undefined, length: number, what: string): Promise<Uint8Array> {
    const start = this.check(address, length, what);
    if (length > MAX_METADATA_BLOCK) throw new NotMine(`a metadata block of ${length} bytes`);
    this.spent += length + 64;
    if (this.spent > METADATA_BUDGET) throw new NotMine(`more than ${METADATA_BUDGET} bytes of metadata`);
    if (length > 4 * PAGE) return this.source.read(start, length);
    const first = Math.floor(start / PAGE);
    const last = Math.floor((start + length - 1) / PAGE);
    if (length > 0 && first === last) {
      const page = await this.page(first);
      return page.subarray(start - first * PAGE, start - first * PAGE + length);
    }
    const out = new Uint8Array(length);
    for (let p = first; p <= last && length > 0; p++) {
      const page = await this.page(p);
      const from = Math.max(start, p * PAGE);
      const to = Math.min(start + length, p * PAGE + page.length);
      out.set(page.subarray(from - p * PAGE, to - p * PAGE), from - start);
    }
    return out;
  }

  /** `length` bytes of a dataset's data at `address`, read from the source as they are (never cached). */
  data(address: number | undefined, length: number, what: string): Promise<Uint8Array> {
    return this.source.read(this.check(address, length, what), length);
  }

  private check(address: number | undefined, length: number, what: string): number {
    if (address === undefined) throw this.damaged(`${what} has no address`);
    const start = this.base + address;
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length) || length < 0 || start + length > this.source.size) {
      throw this.damaged(`${what} at offset ${start} with length ${length} lies outside the file, which has ${this.source.size} bytes`);
    }
    return start;
  }

  private async page(n: number): Promise<Uint8Array> {
    let page = this.pages.get(n);
    if (!page) {
      const start = n * PAGE;
      page = await this.source.read(start, Math.min(PAGE, this.source.size - start));
      this.pages.set(n, page);
    }
    return page;
  }

  async cursor(address: number | undefined, length: number, what: string): Promise<Cursor> {
    return new Cursor(await this.at(address, length, what), this, what);
  }

  /** Checks that a block of `bytes` (its last 4 bytes the checksum of the rest) is intact. */
  checksum(bytes: Uint8Array, what: string): void {
    const n = bytes.length - 4;
    if (n < 0) throw this.damaged(`${what} is too short`);
    const stored = (bytes[n]! | (bytes[n + 1]! << 8) | (bytes[n + 2]! << 16) | (bytes[n + 3]! << 24)) >>> 0;
    if (lookup3(bytes.subarray(0, n)) !== stored) throw this.damaged(`the checksum of ${what} does not match`);
  }
}

export interface Superblock {
  /** Address of the root group's object header. */
  root: number;
}

/** Finds and decodes the superblock (at 0, 512, 1024, ... after a user block). */
export async function readSuperblock(file: HdfBytes): Promise<Superblock> {
  const size = file.source.size;
  let at = -1;
  for (let o = 0; o + 8 <= size; o = o === 0 ? 512 : o * 2) {
    const head = await file.source.read(o, 8);
    if (SIGNATURE.every((b, i) => head[i] === b)) {
      at = o;
      break;
    }
  }
  if (at < 0) throw new ModelFormatError(`${file.name} is not an HDF5 file: it has no HDF5 signature.`);
  const head = new Cursor(await file.source.read(at, Math.min(size - at, 256)), file, 'the superblock');
  head.skip(8);
  const version = head.u8();
  let root: number | undefined;
  let eof: number | undefined;
  let stored = 0;
  if (version === 0 || version === 1) {
    head.skip(3); // free-space, root group symbol table and reserved
    if (head.u8() !== 0) throw new NotMine('shared header message format');
    file.offsetSize = head.u8();
    file.lengthSize = head.u8();
    checkSizes(file);
    head.skip(1 + 2 + 2 + 4 + (version === 1 ? 4 : 0));
    const base = head.address();
    head.address(); // free-space info
    eof = head.address();
    head.address(); // driver information block
    head.address(); // root group: link name offset
    root = head.address();
    stored = base ?? 0;
  } else if (version === 2 || version === 3) {
    file.offsetSize = head.u8();
    file.lengthSize = head.u8();
    checkSizes(file);
    head.skip(1);
    const base = head.address();
    head.address(); // superblock extension
    eof = head.address();
    root = head.address();
    file.checksum(head.bytes.subarray(0, head.pos + 4), 'the superblock');
    stored = base ?? 0;
  } else {
    throw new NotMine(`superblock version ${version}`);
  }
  // Addresses count from where the superblock really is, whatever base address it states; the
  // end-of-file address moves with it, and HDF5 compares it with the file's size (H5F__super_read).
  file.base = at;
  if (eof !== undefined) eof -= stored - at;
  if (eof !== undefined && eof > size) {
    throw new ModelFormatError(`${file.name} is truncated: the HDF5 file says it has ${eof} bytes, but only ${size} are there.`);
  }
  if (root === undefined) throw file.damaged('the superblock names no root group');
  return { root };
}

function checkSizes(file: HdfBytes): void {
  if (![2, 4, 8].includes(file.offsetSize) || ![2, 4, 8].includes(file.lengthSize)) {
    throw file.damaged(`the superblock declares ${file.offsetSize}-byte addresses and ${file.lengthSize}-byte lengths`);
  }
}

/** One message of an object header: its type, flags, body and (v2 headers) creation order. */
export interface Message {
  type: number;
  flags: number;
  body: Uint8Array;
  /** The creation order HDF5 keeps for attribute messages where the object tracks it. */
  order: number;
}

/** Reads every message of the object header at `address`, following continuation blocks. */
export async function readObjectHeader(file: HdfBytes, address: number, what: string): Promise<Message[]> {
  const header = `the object header of ${what}`;
  const first = await file.at(address, Math.min(4, file.source.size - file.base - address), header);
  const messages: Message[] = [];
  const blocks: { address: number; length: number }[] = [];
  let v2 = false;
  let ordered = false;
  if (first[0] === 0x4f && first[1] === 0x48 && first[2] === 0x44 && first[3] === 0x52) {
    v2 = true;
    const pre = await file.cursor(address, Math.min(32, file.source.size - file.base - address), header);
    pre.skip(4);
    if (pre.u8() !== 2) throw file.damaged(`the object header of ${what} has an unknown version`);
    const flags = pre.u8();
    if (flags & 0x20) pre.skip(16);
    if (flags & 0x10) pre.skip(4);
    const chunk = pre.uint(1 << (flags & 3));
    if (chunk === undefined) throw file.damaged(`the object header of ${what} has no size`);
    const bytes = await file.at(address, pre.pos + chunk + 4, `the object header of ${what}`);
    file.checksum(bytes, `the object header of ${what}`);
    ordered = (flags & 0x04) !== 0;
    parseMessagesV2(file, bytes.subarray(pre.pos, pre.pos + chunk), ordered, messages, blocks, what);
  } else {
    const pre = await file.cursor(address, 16, header);
    if (pre.u8() !== 1) throw file.damaged(`the object header of ${what} has an unknown version`);
    pre.skip(1);
    pre.u16(); // number of messages (the blocks themselves say where they end)
    pre.u32();
    const size = pre.u32();
    const bytes = await file.at(address + 16, size, `the object header of ${what}`);
    parseMessagesV1(file, bytes, messages, blocks, what);
  }
  for (let i = 0; i < blocks.length; i++) {
    if (i >= MAX_BLOCKS) throw file.damaged(`the object header of ${what} has more than ${MAX_BLOCKS} continuation blocks`);
    const block = blocks[i]!;
    const bytes = await file.at(block.address, block.length, `a continuation of the object header of ${what}`);
    if (v2) {
      if (!(bytes[0] === 0x4f && bytes[1] === 0x43 && bytes[2] === 0x48 && bytes[3] === 0x4b)) throw file.damaged(`a continuation of the object header of ${what} has no signature`);
      file.checksum(bytes, `a continuation of the object header of ${what}`);
      parseMessagesV2(file, bytes.subarray(4, bytes.length - 4), ordered, messages, blocks, what);
    } else {
      parseMessagesV1(file, bytes, messages, blocks, what);
    }
  }
  return messages;
}

const CONTINUATION = 0x10;

function continuation(file: HdfBytes, body: Uint8Array, blocks: { address: number; length: number }[], what: string): void {
  const c = new Cursor(body, file, `a continuation message of ${what}`);
  const address = c.address();
  const length = c.length();
  if (address === undefined) throw file.damaged(`a continuation message of ${what} has no address`);
  if (blocks.some((b) => b.address === address)) throw file.damaged(`the object header of ${what} continues into itself`);
  blocks.push({ address, length });
}

function parseMessagesV1(file: HdfBytes, bytes: Uint8Array, out: Message[], blocks: { address: number; length: number }[], what: string): void {
  const c = new Cursor(bytes, file, `the object header of ${what}`);
  while (c.left >= 8) {
    const type = c.u16();
    const size = c.u16();
    const flags = c.u8();
    c.skip(3);
    const body = c.take(size);
    if (size % 8) c.skip(Math.min(c.left, 8 - (size % 8)));
    if (type === CONTINUATION) continuation(file, body, blocks, what);
    else if (type !== 0) out.push({ type, flags, body, order: out.length });
  }
}

function parseMessagesV2(file: HdfBytes, bytes: Uint8Array, creationOrder: boolean, out: Message[], blocks: { address: number; length: number }[], what: string): void {
  const c = new Cursor(bytes, file, `the object header of ${what}`);
  const headerSize = creationOrder ? 6 : 4;
  while (c.left >= headerSize) {
    const type = c.u8();
    const size = c.u16();
    const flags = c.u8();
    const order = creationOrder ? c.u16() : out.length;
    const body = c.take(size);
    if (type === CONTINUATION) continuation(file, body, blocks, what);
    else if (type !== 0) out.push({ type, flags, body, order });
  }
}

export const MSG = {
  dataspace: 0x01,
  linkInfo: 0x02,
  datatype: 0x03,
  fillValueOld: 0x04,
  fillValue: 0x05,
  link: 0x06,
  externalFiles: 0x07,
  layout: 0x08,
  filters: 0x0b,
  attribute: 0x0c,
  symbolTable: 0x11,
  attributeInfo: 0x15,
} as const;

/** Message types that change what an object is or holds: unknown to this reader, the file is not its. */
const IGNORABLE = new Set([0x00, 0x04, 0x05, 0x0a, 0x0d, 0x0e, 0x0f, 0x12, 0x13, 0x14, 0x16, 0x17, 0x18]);
const DECODED = new Set<number>(Object.values(MSG));

/** Refuses messages this reader cannot take as they are: shared ones, and unknown ones HDF5 must understand. */
export function checkMessages(messages: readonly Message[]): void {
  for (const m of messages) {
    if (m.flags & 0x02 && m.type !== 0x00) throw new NotMine(`a shared message of type ${m.type}`);
    if (!DECODED.has(m.type) && !IGNORABLE.has(m.type)) throw new NotMine(`message type ${m.type}`);
  }
}

export interface Datatype {
  /** HDF5's type class: 0 integer, 1 float, 3 string, 9 variable-length, ...; -1 for a type this reader does not decode. */
  cls: number;
  size: number;
  signed: boolean;
  bigEndian: boolean;
  /** Strings: 0 ASCII, 1 UTF-8. */
  cset: number;
  /** A variable-length string (class 9, string flavour). */
  vlenString: boolean;
}

const IEEE: Record<number, number[]> = {
  2: [0, 16, 10, 5, 0, 10, 15],
  4: [0, 32, 23, 8, 0, 23, 127],
  8: [0, 64, 52, 11, 0, 52, 1023],
};

export function decodeDatatype(c: Cursor, file: HdfBytes): Datatype {
  const classAndVersion = c.u8();
  const bits = c.u8() | (c.u8() << 8) | (c.u8() << 16);
  const size = c.u32();
  const cls = classAndVersion & 0x0f;
  const type: Datatype = { cls, size, signed: false, bigEndian: (bits & 1) === 1, cset: 0, vlenString: false };
  if (cls === 0) {
    type.signed = (bits & 0x08) !== 0;
    const offset = c.u16();
    const precision = c.u16();
    if (offset !== 0 || precision !== size * 8 || (bits & 0x06) !== 0) throw new NotMine('an integer type with padding bits');
  } else if (cls === 1) {
    const props = [c.u16(), c.u16(), c.u8(), c.u8(), c.u8(), c.u8(), c.u32()];
    const ieee = IEEE[size];
    if (bits & 0x40 || (bits & 0x0e) !== 0 || ((bits >> 4) & 3) !== 2 || !ieee || props.some((p, i) => p !== ieee[i]) || ((bits >> 8) & 0xff) !== size * 8 - 1) {
      throw new NotMine('a floating-point type other than IEEE 754');
    }
  } else if (cls === 3) {
    type.cset = (bits >> 4) & 0x0f;
  } else if (cls === 9) {
    const base = decodeDatatype(c, file);
    if ((bits & 0x0f) === 1) {
      type.vlenString = true;
      type.cset = (bits >> 8) & 0x0f;
      if (base.size !== 1) throw file.damaged('a variable-length string has characters wider than one byte');
    }
  }
  if (type.cset > 1) throw new NotMine(`string character set ${type.cset}`);
  return type;
}

/** A dataspace's dimensions; null for a null dataspace (no elements at all). */
export function decodeDataspace(c: Cursor, file: HdfBytes): number[] | null {
  const version = c.u8();
  const rank = c.u8();
  const flags = c.u8();
  let kind = rank === 0 ? 0 : 1;
  if (version === 1) c.skip(5);
  else if (version === 2) kind = c.u8();
  else throw file.damaged(`a dataspace has unknown version ${version}`);
  if (flags & 0x02) throw new NotMine('a dataspace with a permutation');
  if (rank > 32) throw file.damaged(`a dataspace declares ${rank} dimensions`);
  if (kind === 2) return null;
  if (kind === 0) return [];
  if (kind !== 1) throw file.damaged(`a dataspace has unknown type ${kind}`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(c.length());
  return dims;
}

export type Layout =
  | { kind: 'compact'; data: Uint8Array }
  | { kind: 'contiguous'; address: number | undefined; size: number }
  | { kind: 'chunked'; index: 'btree1' | 'single' | 'other'; address: number | undefined; chunk: number[]; filteredSize?: number; filterMask?: number };

export function decodeLayout(c: Cursor, file: HdfBytes): Layout {
  const version = c.u8();
  if (version < 3 || version > 4) throw new NotMine(`data layout version ${version}`);
  const cls = c.u8();
  if (cls === 0) return { kind: 'compact', data: c.take(c.u16()) };
  if (cls === 1) {
    const address = c.address();
    return { kind: 'contiguous', address, size: c.length() };
  }
  if (cls === 3) throw new NotMine('a virtual dataset');
  if (cls !== 2) throw file.damaged(`a data layout has unknown class ${cls}`);
  if (version === 3) {
    const rank = c.u8();
    const address = c.address();
    const dims: number[] = [];
    for (let i = 0; i < rank; i++) dims.push(c.u32());
    return { kind: 'chunked', index: 'btree1', address, chunk: dims.slice(0, -1) };
  }
  const flags = c.u8();
  const rank = c.u8();
  const width = c.u8();
  if (width < 1 || width > 8) throw file.damaged(`a chunked layout encodes dimensions in ${width} bytes`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) {
    const d = c.uint(width);
    if (d === undefined) throw file.damaged('a chunk dimension has every bit set');
    dims.push(d);
  }
  const index = c.u8();
  if (index === 1) {
    let filteredSize: number | undefined;
    let filterMask: number | undefined;
    if (flags & 0x02) {
      filteredSize = c.length();
      filterMask = c.u32();
    }
    const address = c.address();
    return { kind: 'chunked', index: 'single', address, chunk: dims.slice(0, -1), ...(filteredSize !== undefined ? { filteredSize, filterMask: filterMask! } : {}) };
  }
  return { kind: 'chunked', index: 'other', address: undefined, chunk: dims.slice(0, -1) };
}

export interface Filter {
  id: number;
  flags: number;
  values: number[];
}

export function decodeFilters(c: Cursor, file: HdfBytes): Filter[] {
  const version = c.u8();
  const count = c.u8();
  if (version === 1) c.skip(6);
  else if (version !== 2) throw file.damaged(`a filter pipeline has unknown version ${version}`);
  const out: Filter[] = [];
  for (let i = 0; i < count; i++) {
    const id = c.u16();
    const nameLength = version === 1 || id >= 256 ? c.u16() : 0;
    const flags = c.u16();
    const n = c.u16();
    if (version === 1) c.skip(nameLength + ((8 - (nameLength % 8)) % 8));
    else c.skip(nameLength);
    const values: number[] = [];
    for (let j = 0; j < n; j++) values.push(c.u32());
    if (version === 1 && n % 2) c.skip(4);
    out.push({ id, flags, values });
  }
  return out;
}

export interface Attribute {
  name: string;
  nameBytes: Uint8Array;
  type: Datatype;
  dims: number[] | null;
  data: Uint8Array;
  order: number;
}

const utf8 = new TextDecoder('utf-8');

export function decodeAttribute(body: Uint8Array, file: HdfBytes, order: number, what: string): Attribute {
  const c = new Cursor(body, file, `an attribute of ${what}`);
  const version = c.u8();
  if (version < 1 || version > 3) throw file.damaged(`an attribute of ${what} has unknown version ${version}`);
  const flags = c.u8();
  if (version >= 2 && flags & 0x03) throw new NotMine('an attribute with a shared type or dataspace');
  const nameSize = c.u16();
  const typeSize = c.u16();
  const spaceSize = c.u16();
  if (version === 3) c.skip(1);
  const pad = (n: number) => (version === 1 ? n + ((8 - (n % 8)) % 8) : n);
  const rawName = c.take(pad(nameSize));
  const end = rawName.indexOf(0);
  const nameBytes = rawName.subarray(0, end >= 0 && end < nameSize ? end : nameSize);
  const typeBytes = c.take(pad(typeSize));
  const spaceBytes = c.take(pad(spaceSize));
  const dims = decodeDataspace(new Cursor(spaceBytes, file, `the dataspace of an attribute of ${what}`), file);
  const name = utf8.decode(nameBytes);
  let type: Datatype;
  try {
    type = decodeDatatype(new Cursor(typeBytes, file, `the type of an attribute of ${what}`), file);
  } catch (e) {
    // A type this reader does not decode: the attribute is listed, and is not text (textAttributes).
    if (!(e instanceof NotMine)) throw e;
    return { name, nameBytes, type: { cls: -1, size: 0, signed: false, bigEndian: false, cset: 0, vlenString: false }, dims, data: new Uint8Array(0), order };
  }
  const count = dims ? dims.reduce((a, b) => a * b, 1) : 0;
  const elementSize = type.cls === 9 ? 4 + file.offsetSize + 4 : type.size;
  const data = c.take(count * elementSize);
  return { name, nameBytes, type, dims, data, order };
}

export type LinkTarget = { name: string; nameBytes: Uint8Array; order: number; address: number };

export function decodeLink(body: Uint8Array, file: HdfBytes, what: string): LinkTarget {
  const c = new Cursor(body, file, `a link of ${what}`);
  if (c.u8() !== 1) throw file.damaged(`a link of ${what} has an unknown version`);
  const flags = c.u8();
  const type = flags & 0x08 ? c.u8() : 0;
  const order = flags & 0x04 ? c.uint(8) ?? 0 : 0;
  if (flags & 0x10) c.skip(1);
  const nameLength = c.uint(1 << (flags & 3));
  if (!nameLength) throw file.damaged(`a link of ${what} has no name`);
  const nameBytes = c.take(nameLength);
  if (type === 1) throw new NotMine('a soft link');
  if (type !== 0) throw new NotMine(type === 64 ? 'an external link' : `link type ${type}`);
  const address = c.address();
  if (address === undefined) throw file.damaged(`link ${quote(utf8.decode(nameBytes))} of ${what} has no address`);
  return { name: utf8.decode(nameBytes), nameBytes, order, address };
}

/** The Link Info and Attribute Info messages: creation order tracked/indexed, and where dense storage lives. */
export interface StorageInfo {
  indexed: boolean;
  heap: number | undefined;
  nameIndex: number | undefined;
}

export function decodeStorageInfo(body: Uint8Array, file: HdfBytes, attributes: boolean, what: string): StorageInfo {
  const c = new Cursor(body, file, `the ${attributes ? 'attribute' : 'link'} info of ${what}`);
  if (c.u8() !== 0) throw file.damaged(`the ${attributes ? 'attribute' : 'link'} info of ${what} has an unknown version`);
  const flags = c.u8();
  if (flags & 0x01) c.skip(attributes ? 2 : 8);
  const heap = c.address();
  const nameIndex = c.address();
  return { indexed: (flags & 0x02) !== 0, heap, nameIndex };
}

/** The children of an old-style group: its v1 B-tree (type 0) of symbol table nodes, named in its local heap. */
export async function readSymbolTable(file: HdfBytes, body: Uint8Array, what: string): Promise<LinkTarget[]> {
  const c = new Cursor(body, file, `the symbol table of ${what}`);
  const btree = c.address();
  const heapAddress = c.address();
  const heap = await file.cursor(heapAddress, 8 + 2 * file.lengthSize + file.offsetSize, `the local heap of ${what}`);
  if (utf8.decode(heap.take(4)) !== 'HEAP' || heap.u8() !== 0) throw file.damaged(`the local heap of ${what} has no signature`);
  heap.skip(3);
  const segmentSize = heap.length();
  heap.length();
  const names = await file.at(heap.address(), segmentSize, `the names of ${what}`);
  const entrySize = 2 * file.offsetSize + 24;
  const out: LinkTarget[] = [];
  const seen = new Set<number>();
  const visit = async (address: number | undefined, depth: number): Promise<void> => {
    if (address === undefined) throw file.damaged(`the symbol table of ${what} has a node without an address`);
    if (depth > MAX_BTREE_DEPTH || seen.has(address) || seen.size > MAX_BLOCKS) throw file.damaged(`the symbol table of ${what} loops or is too deep`);
    seen.add(address);
    const head = await file.cursor(address, 8, `a B-tree node of ${what}`);
    const sig = utf8.decode(head.take(4));
    if (sig === 'SNOD') {
      head.skip(2);
      const n = head.u16();
      const node = await file.cursor(address + 8, n * entrySize, `a symbol table node of ${what}`);
      for (let i = 0; i < n; i++) {
        const nameOffset = node.address();
        const target = node.address();
        const cache = node.u32();
        node.skip(20);
        if (cache === 2) throw new NotMine('a soft link');
        if (nameOffset === undefined || nameOffset >= names.length) throw file.damaged(`a member of ${what} has its name outside the local heap`);
        const end = names.indexOf(0, nameOffset);
        const nameBytes = names.subarray(nameOffset, end < 0 ? names.length : end);
        const name = utf8.decode(nameBytes);
        if (target === undefined) throw file.damaged(`member ${quote(name)} of ${what} has no address`);
        out.push({ name, nameBytes, order: out.length, address: target });
      }
      return;
    }
    if (sig !== 'TREE' || head.u8() !== 0) throw file.damaged(`a B-tree node of ${what} has no signature`);
    head.u8();
    const entries = head.u16();
    const keys = entries + 1;
    const node = await file.cursor(address + 8 + 2 * file.offsetSize, keys * file.lengthSize + entries * file.offsetSize, `a B-tree node of ${what}`);
    for (let i = 0; i < entries; i++) {
      node.length();
      await visit(node.address(), depth + 1);
    }
  };
  await visit(btree, 0);
  return out;
}

/** H5VM_limit_enc_size: the bytes HDF5 uses to encode counts up to `n`. */
function countBytes(n: number): number {
  let bits = 0;
  for (let v = n; v >= 2; v = Math.floor(v / 2)) bits++;
  return Math.floor(bits / 8) + 1;
}

/**
 * The pointer widths of a v2 B-tree as HDF5 computes them from its node and record sizes (H5B2__hdr_init):
 * `countBytes` holds a child's record count, `pointerBytes[level]` one child pointer of a node at that
 * level (0 for leaves). Undefined when the sizes are impossible.
 */
export function btreeLevels(nodeSize: number, recordSize: number, depth: number, offsetSize: number): { countBytes: number; pointerBytes: number[] } | undefined {
  if (recordSize < 1 || nodeSize <= 10 + recordSize || depth > MAX_BTREE_DEPTH) return undefined;
  // Per level: the records a node holds at most, and in its whole subtree.
  const leafMax = Math.floor((nodeSize - 10) / recordSize);
  const nrecSize = countBytes(leafMax);
  const levels = [{ cum: leafMax, cumSize: 0 }];
  const pointerBytes = [0];
  for (let u = 1; u <= depth; u++) {
    const pointer = offsetSize + nrecSize + (u > 1 ? levels[u - 1]!.cumSize : 0);
    const max = Math.floor((nodeSize - (10 + pointer)) / (recordSize + pointer));
    const cum = (max + 1) * levels[u - 1]!.cum + max;
    if (max < 1 || !Number.isSafeInteger(cum)) return undefined;
    levels.push({ cum, cumSize: countBytes(cum) });
    pointerBytes.push(pointer);
  }
  return { countBytes: nrecSize, pointerBytes };
}

/**
 * The objects of a dense group or attribute store: every record of its v2 B-tree name index (leaves
 * and internal nodes, whose pointer widths follow from the node size as HDF5 computes them), each a
 * heap ID resolved in the fractal heap.
 */
export async function readDenseStore(file: HdfBytes, info: StorageInfo, attributes: boolean, what: string): Promise<{ body: Uint8Array; order: number }[]> {
  const heap = await readFractalHeap(file, info.heap, what);
  const index = `the name index of ${what}`;
  const head = await file.cursor(info.nameIndex, 16 + 2 * file.offsetSize + file.lengthSize, index);
  if (utf8.decode(head.take(4)) !== 'BTHD' || head.u8() !== 0) throw file.damaged(`${index} has no signature`);
  const type = head.u8();
  if (type !== (attributes ? 8 : 5)) throw file.damaged(`${index} has B-tree type ${type}`);
  const nodeSize = head.u32();
  const recordSize = head.u16();
  const depth = head.u16();
  head.skip(2);
  const root = head.address();
  const rootRecords = head.u16();
  const total = head.length();
  file.checksum(head.bytes.subarray(0, head.pos + 4), index);
  const levels = recordSize >= (attributes ? 17 : 5) ? btreeLevels(nodeSize, recordSize, depth, file.offsetSize) : undefined;
  if (!levels) throw file.damaged(`${index} declares impossible node sizes`);
  const records: Uint8Array[] = [];
  const seen = new Set<number>();
  const visit = async (address: number | undefined, count: number, level: number): Promise<void> => {
    if (address === undefined || seen.has(address) || records.length + count > total) throw file.damaged(`${index} loops or holds more records than it says`);
    seen.add(address);
    const pointer = levels.pointerBytes[level]!;
    const node = await file.at(address, 6 + count * recordSize + (level > 0 ? (count + 1) * pointer : 0) + 4, index);
    file.checksum(node, index);
    const c = new Cursor(node, file, index);
    if (utf8.decode(c.take(4)) !== (level > 0 ? 'BTIN' : 'BTLF')) throw file.damaged(`${index} has a node without its signature`);
    c.skip(2);
    for (let i = 0; i < count; i++) records.push(c.take(recordSize));
    for (let i = 0; level > 0 && i <= count; i++) {
      const child = c.address();
      const n = c.uint(levels.countBytes);
      c.skip(pointer - file.offsetSize - levels.countBytes);
      if (n === undefined) throw file.damaged(`${index} has a child without a record count`);
      await visit(child, n, level - 1);
    }
  };
  if (rootRecords > 0) await visit(root, rootRecords, depth);
  const out: { body: Uint8Array; order: number }[] = [];
  for (const bytes of records) {
    const record = new Cursor(bytes, file, index);
    if (attributes) {
      const id = record.take(8);
      if (record.u8() & 0x02) throw new NotMine('a shared attribute message');
      out.push({ body: await heap(id), order: record.u32() });
    } else {
      record.skip(4);
      out.push({ body: await heap(record.take(recordSize - 4)), order: 0 });
    }
  }
  return out;
}

/** A fractal heap whose managed objects live in direct blocks under at most the root indirect block; returns a heap ID resolver. */
async function readFractalHeap(file: HdfBytes, address: number | undefined, what: string): Promise<(id: Uint8Array) => Promise<Uint8Array>> {
  const O = file.offsetSize;
  const L = file.lengthSize;
  const size = 4 + 1 + 2 + 2 + 1 + 4 + L + O + L + O + 8 * L + 2 + L + L + 2 + 2 + O + 2;
  const c = await file.cursor(address, size, `the fractal heap of ${what}`);
  if (utf8.decode(c.take(4)) !== 'FRHP' || c.u8() !== 0) throw file.damaged(`the fractal heap of ${what} has no signature`);
  c.u16(); // heap ID length
  if (c.u16() !== 0) throw new NotMine('a filtered fractal heap');
  const flags = c.u8();
  const maxManaged = c.u32();
  c.length(); // next huge object ID
  c.address(); // huge objects' B-tree
  c.length(); // free space
  c.address(); // free-space manager
  for (let i = 0; i < 8; i++) c.length();
  const width = c.u16();
  const startBlock = c.length();
  const maxDirect = c.length();
  const maxHeapBits = c.u16();
  c.u16();
  const root = c.address();
  const rows = c.u16();
  file.checksum(await file.at(address, size + 4, `the fractal heap of ${what}`), `the fractal heap of ${what}`);
  const pow2 = (n: number) => n > 0 && Number.isSafeInteger(n) && (n & (n - 1)) === 0;
  if (width === 0 || width > 65536 || !pow2(startBlock) || !pow2(maxDirect) || maxDirect < startBlock || maxHeapBits < 1 || maxHeapBits > 53) {
    throw file.damaged(`the fractal heap of ${what} declares an impossible block table`);
  }
  const offsetBytes = Math.ceil(maxHeapBits / 8);
  const blockHeader = 5 + O + offsetBytes + (flags & 0x02 ? 4 : 0);
  const maxDirectRows = Math.log2(maxDirect) - Math.log2(startBlock) + 2;
  const rowSize = (r: number) => (r === 0 ? startBlock : startBlock * 2 ** (r - 1));
  // Direct blocks: [heap offset where it starts, its size, its address].
  const blocks: { start: number; size: number; address: number }[] = [];
  if (rows === 0) {
    if (root !== undefined) blocks.push({ start: 0, size: startBlock, address: root });
  } else {
    if (rows > maxDirectRows) throw new NotMine('a fractal heap with indirect blocks below the root');
    const ib = await file.at(root, 5 + O + offsetBytes + rows * width * O + 4, `the fractal heap of ${what}`);
    if (utf8.decode(ib.subarray(0, 4)) !== 'FHIB') throw file.damaged(`the fractal heap of ${what} has no indirect block signature`);
    file.checksum(ib, `the fractal heap of ${what}`);
    const ic = new Cursor(ib, file, `the fractal heap of ${what}`);
    ic.skip(5 + O + offsetBytes);
    let start = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < width; k++) {
        const a = ic.address();
        if (a !== undefined) blocks.push({ start, size: rowSize(r), address: a });
        start += rowSize(r);
      }
    }
  }
  const lengthBytes = Math.min(Math.ceil(Math.log2(maxDirect) / 8), Math.floor(Math.floor(Math.log2(Math.max(maxManaged, 1))) / 8) + 1);
  return async (id: Uint8Array) => {
    const ic = new Cursor(id, file, `a heap ID of ${what}`);
    const kind = (ic.u8() >> 4) & 0x03;
    if (kind === 2) return id.subarray(1, 1 + ((id[0]! & 0x0f) + 1));
    if (kind !== 0) throw new NotMine('a huge object in a fractal heap');
    const offset = ic.uint(offsetBytes);
    const length = ic.uint(lengthBytes);
    if (offset === undefined || length === undefined) throw file.damaged(`a heap ID of ${what} has every bit set`);
    const block = blocks.find((b) => offset >= b.start && offset < b.start + b.size);
    if (!block || offset - block.start < blockHeader || offset + length > block.start + block.size) {
      throw file.damaged(`a heap ID of ${what} points outside the heap's blocks`);
    }
    return file.at(block.address + (offset - block.start), length, `an object in the fractal heap of ${what}`);
  };
}

/** Variable-length strings: objects of global heap collections, each collection read once. */
export class GlobalHeap {
  private collections = new Map<number, Map<number, Uint8Array>>();
  constructor(private readonly file: HdfBytes) {}

  async object(address: number | undefined, index: number, what: string): Promise<Uint8Array> {
    if (address === undefined) throw this.file.damaged(`a string of ${what} has no address`);
    let collection = this.collections.get(address);
    if (!collection) {
      collection = await this.read(address, what);
      this.collections.set(address, collection);
    }
    const object = collection.get(index);
    if (!object) throw this.file.damaged(`a string of ${what} names object ${index} of a global heap that has none`);
    return object;
  }

  private async read(address: number, what: string): Promise<Map<number, Uint8Array>> {
    const file = this.file;
    const head = await file.cursor(address, 8 + file.lengthSize, `a global heap of ${what}`);
    if (utf8.decode(head.take(4)) !== 'GCOL' || head.u8() !== 1) throw file.damaged(`a global heap of ${what} has no signature`);
    head.skip(3);
    const size = head.length();
    const c = await file.cursor(address, size, `a global heap of ${what}`);
    c.skip(8 + file.lengthSize);
    const out = new Map<number, Uint8Array>();
    while (c.left >= 8 + file.lengthSize) {
      const index = c.u16();
      c.skip(6);
      const length = c.length();
      if (index === 0) break;
      out.set(index, c.take(length));
      c.skip(Math.min(c.left, (8 - (length % 8)) % 8));
    }
    return out;
  }
}
