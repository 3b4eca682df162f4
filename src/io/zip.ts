import { inflateSync } from 'fflate';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkInflate, DEFAULT_LIMITS, type ReadLimits } from './limits.js';
import { checkRange, type ByteSource } from './source.js';

/**
 * A lazy view of a zip archive: the central directory is read once, each entry only when asked for,
 * so a multi-gigabyte checkpoint is never loaded whole. Inflation is fflate's.
 */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The entry's uncompressed bytes; a deflated entry is first checked against the read limits (io/limits.ts). */
  read(entry: ZipEntry, limits?: ReadLimits): Promise<Uint8Array>;
  /** Where a stored (uncompressed) entry's bytes start in the archive, for range reads into it. */
  dataOffset(entry: ZipEntry): Promise<number>;
  /**
   * `length` bytes from `byteOffset` of a stored entry, read together with its local header (one read
   * instead of two), and where its bytes start. The read starts at a multiple of 64 bytes, so values
   * the writer aligned in the file (torch.save aligns each storage to 64 bytes) are aligned in memory.
   */
  readStored(entry: ZipEntry, byteOffset: number, length: number): Promise<{ bytes: Uint8Array; dataOffset: number }>;
}

/** Room read after a local header for its name and extra field (torch.save's padding field is at most 68 bytes). */
const HEADER_ROOM = 512;

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError(`A zip field holds ${v}, which is too large to be real.`);
  return Number(v);
}

/** The archive of each source, read once: sniffing (.keras, then .pt) and opening all ask for it. */
const opened = new WeakMap<ByteSource, Promise<ZipArchive>>();

export function openZip(source: ByteSource): Promise<ZipArchive> {
  let archive = opened.get(source);
  if (!archive) {
    archive = readArchive(source);
    opened.set(source, archive);
  }
  return archive;
}

async function readArchive(source: ByteSource): Promise<ZipArchive> {
  const name = source.name;
  const tailLength = Math.min(source.size, 22 + 0xffff);
  const tail = await source.read(source.size - tailLength, tailLength);
  const tailView = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tailView.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ModelFormatError(`${name} is not a complete zip archive (no end-of-central-directory record; truncated?).`);
  let count = tailView.getUint16(eocd + 10, true);
  let cdSize = tailView.getUint32(eocd + 12, true);
  let cdOffset = tailView.getUint32(eocd + 16, true);
  const locatorAt = eocd - 20;
  if (locatorAt >= 0 && tailView.getUint32(locatorAt, true) === EOCD64_LOCATOR) {
    const eocd64Offset = u64(tailView, locatorAt + 8);
    checkRange(name, source.size, eocd64Offset, 56, 'the zip64 end-of-central-directory record');
    const rec = await source.read(eocd64Offset, 56);
    const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    if (view.getUint32(0, true) !== EOCD64) throw new ModelFormatError(`${name} has a damaged zip64 directory record.`);
    count = u64(view, 32);
    cdSize = u64(view, 40);
    cdOffset = u64(view, 48);
  }
  checkRange(name, source.size, cdOffset, cdSize, 'the zip central directory');
  const cd = await source.read(cdOffset, cdSize);
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  const decoder = new TextDecoder();
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || view.getUint32(p, true) !== CENTRAL) {
      throw new ModelFormatError(`${name} has a damaged zip central directory (entry ${i} of ${count}).`);
    }
    const method = view.getUint16(p + 10, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLength + extraLength > cd.length) throw new ModelFormatError(`${name} has a damaged zip central directory.`);
    const entryName = decoder.decode(cd.subarray(p + 46, p + 46 + nameLength));
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) (size = u64(view, q)), (q += 8);
        if (compressedSize === 0xffffffff) (compressedSize = u64(view, q)), (q += 8);
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = u64(view, q);
      }
      e += 4 + len;
    }
    checkRange(name, source.size, localHeaderOffset, compressedSize, `zip entry '${entryName}'`);
    entries.set(entryName, { name: entryName, method, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLength;
  }

  /** Where the entry's bytes start, from its local header (30 bytes at the start of `header`). */
  function startAfter(entry: ZipEntry, header: Uint8Array): number {
    const hv = new DataView(header.buffer, header.byteOffset, 30);
    if (hv.getUint32(0, true) !== LOCAL) throw new ModelFormatError(`${name}: zip entry '${entry.name}' has a damaged local header.`);
    const start = entry.localHeaderOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
    checkRange(name, source.size, start, entry.compressedSize, `zip entry '${entry.name}'`);
    return start;
  }

  async function dataOffset(entry: ZipEntry): Promise<number> {
    checkRange(name, source.size, entry.localHeaderOffset, 30, `the local header of '${entry.name}'`);
    return startAfter(entry, await source.read(entry.localHeaderOffset, 30));
  }

  async function readStored(entry: ZipEntry, byteOffset: number, length: number): Promise<{ bytes: Uint8Array; dataOffset: number }> {
    if (!Number.isSafeInteger(byteOffset) || !Number.isSafeInteger(length) || byteOffset < 0 || length < 0 || byteOffset + length > entry.compressedSize) {
      throw new ModelFormatError(`${name}: bytes ${byteOffset} to ${byteOffset + length} lie outside zip entry '${entry.name}' of ${entry.compressedSize} bytes.`);
    }
    checkRange(name, source.size, entry.localHeaderOffset, 30, `the local header of '${entry.name}'`);
    const from = entry.localHeaderOffset - (entry.localHeaderOffset % 64);
    const guess = entry.localHeaderOffset + 30 + HEADER_ROOM + byteOffset + length;
    const span = await source.read(from, Math.min(guess, source.size) - from);
    const start = startAfter(entry, span.subarray(entry.localHeaderOffset - from));
    const at = start + byteOffset - from;
    if (at + length <= span.length) return { bytes: span.subarray(at, at + length), dataOffset: start };
    return { bytes: await source.read(start + byteOffset, length), dataOffset: start };
  }

  return {
    source,
    entries,
    dataOffset,
    readStored,
    async read(entry, limits = DEFAULT_LIMITS) {
      const start = await dataOffset(entry);
      const raw = await source.read(start, entry.compressedSize);
      if (entry.method === 0) return raw;
      if (entry.method !== 8) {
        throw new UnsupportedError(`${name}: zip entry '${entry.name}' uses compression method ${entry.method}; only stored and deflate are supported.`);
      }
      checkInflate(limits, name, `zip entry ${quote(entry.name)}`, entry.compressedSize, entry.size);
      try {
        // fflate writes into this buffer and never past it: the output is bounded by the declared size.
        const out = inflateSync(raw, { out: new Uint8Array(entry.size) });
        if (out.length !== entry.size) throw new Error(`inflated to ${out.length} bytes, expected ${entry.size}`);
        return out;
      } catch (e) {
        throw new ModelFormatError(`${name}: zip entry '${entry.name}' is corrupt (${(e as Error).message}).`);
      }
    },
  };
}
