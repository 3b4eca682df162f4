/**
 * Where an HDF5 file keeps checksummed metadata, found from its bytes alone: the version 2/3
 * superblock, version 2 object headers and their continuation blocks, fractal heap headers with their
 * root indirect block and direct blocks, and version 2 B-tree headers with every node under them.
 * The fuzzer edits bytes inside one of these and writes the checksum again, so the damage reaches the
 * decoders behind the checksum. Each structure is kept only when its stored checksum matches now,
 * which also discards signature bytes that happen to sit in data.
 */
import { btreeLevels, lookup3 } from '../src/io/hdf5-structures.js';

/** Bytes [start, end) are what the structure's checksum covers; the checksum is stored at `sum`. */
export interface Checksummed {
  kind: string;
  start: number;
  end: number;
  sum: number;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

class View {
  constructor(readonly b: Uint8Array) {}
  /** An unsigned little-endian integer of n bytes; undefined past the end or when every bit is set (HDF5's unset value). */
  uint(at: number, n: number): number | undefined {
    if (at < 0 || at + n > this.b.length) return undefined;
    let v = 0;
    let set = true;
    for (let k = n - 1; k >= 0; k--) {
      v = v * 256 + this.b[at + k]!;
      set &&= this.b[at + k] === 0xff;
    }
    return set ? undefined : v;
  }
  u32(at: number): number {
    return (this.b[at]! | (this.b[at + 1]! << 8) | (this.b[at + 2]! << 16) | (this.b[at + 3]! << 24)) >>> 0;
  }
  is(at: number, bytes: readonly number[]): boolean {
    return bytes.every((c, k) => this.b[at + k] === c);
  }
  find(bytes: readonly number[]): number[] {
    const out: number[] = [];
    for (let i = this.b.indexOf(bytes[0]!); i >= 0; i = this.b.indexOf(bytes[0]!, i + 1)) if (this.is(i, bytes)) out.push(i);
    return out;
  }
}

/** The checksum of `region` computed over the bytes as they are now (a direct block's own checksum field counts as zeros). */
export function checksumOf(bytes: Uint8Array, region: Checksummed): number {
  if (region.sum === region.end) return lookup3(bytes.subarray(region.start, region.end));
  const copy = Uint8Array.from(bytes.subarray(region.start, region.end));
  copy.fill(0, region.sum - region.start, region.sum - region.start + 4);
  return lookup3(copy);
}

/** Every checksummed structure of an HDF5 file whose checksum matches. */
export function checksummedStructures(bytes: Uint8Array): Checksummed[] {
  const v = new View(bytes);
  let base = -1;
  for (let o = 0; o + 16 <= bytes.length; o = o === 0 ? 512 : o * 2) {
    if (v.is(o, SIGNATURE)) {
      base = o;
      break;
    }
  }
  if (base < 0) return [];
  const version = bytes[base + 8]!;
  const O = bytes[base + (version >= 2 ? 9 : 13)]!;
  const L = bytes[base + (version >= 2 ? 10 : 14)]!;
  if (![2, 4, 8].includes(O) || ![2, 4, 8].includes(L)) return [];
  const out: Checksummed[] = [];
  const seen = new Set<number>();
  const add = (kind: string, start: number, end: number, sum = end): boolean => {
    if (start < 0 || end <= start || sum + 4 > bytes.length || end > bytes.length || seen.has(start)) return false;
    const region = { kind, start, end, sum };
    if (checksumOf(bytes, region) !== v.u32(sum)) return false;
    seen.add(start);
    out.push(region);
    return true;
  };
  const address = (at: number) => {
    const a = v.uint(at, O);
    return a === undefined ? undefined : base + a;
  };

  if (version === 2 || version === 3) add('superblock', base, base + 12 + 4 * O);

  // Object headers: messages, and continuation blocks ('OCHK') named by continuation messages (type 0x10).
  const messages = (from: number, to: number, ordered: boolean) => {
    for (let p = from; p + 4 + (ordered ? 2 : 0) <= to; ) {
      const type = bytes[p]!;
      const size = v.uint(p + 1, 2)!;
      const body = p + 4 + (ordered ? 2 : 0);
      if (type === 0x10) {
        const at = address(body);
        const length = v.uint(body + O, L);
        if (at !== undefined && length !== undefined && length >= 8 && v.is(at, ascii('OCHK')) && add('object header continuation', at, at + length - 4)) {
          messages(at + 4, at + length - 4, ordered);
        }
      }
      p = body + size;
    }
  };
  for (const at of v.find(ascii('OHDR'))) {
    const flags = bytes[at + 5];
    if (bytes[at + 4] !== 2 || flags === undefined) continue;
    const p = at + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
    const width = 1 << (flags & 3);
    const size = v.uint(p, width);
    if (size === undefined || !add('object header', at, p + width + size)) continue;
    messages(p + width, p + width + size, (flags & 0x04) !== 0);
  }

  // Fractal heaps: the header, the root indirect block, the direct blocks (checksummed when flag 0x02 is set).
  for (const at of v.find(ascii('FRHP'))) {
    const filters = v.uint(at + 7, 2) ?? 0;
    const flags = bytes[at + 9]!;
    let p = at + 14 + L + O + L + O + 8 * L;
    const width = v.uint(p, 2) ?? 0;
    const startBlock = v.uint(p + 2, L) ?? 0;
    const maxDirect = v.uint(p + 2 + L, L) ?? 0;
    const maxHeapBits = v.uint(p + 2 + 2 * L, 2) ?? 0;
    p += 2 + 2 * L + 4;
    const root = address(p);
    const rows = v.uint(p + O, 2) ?? 0;
    const end = p + O + 2 + (filters > 0 ? L + 4 + filters : 0);
    if (!add('fractal heap header', at, end) || width === 0 || startBlock === 0 || maxDirect < startBlock || root === undefined) continue;
    const offsetBytes = Math.ceil(maxHeapBits / 8);
    const blockHeader = 5 + O + offsetBytes;
    const direct = (block: number, size: number) => {
      if (flags & 0x02 && v.is(block, ascii('FHDB'))) add('fractal heap direct block', block, block + size, block + blockHeader);
    };
    if (rows === 0) {
      direct(root, startBlock);
      continue;
    }
    const directRows = Math.min(rows, Math.log2(maxDirect) - Math.log2(startBlock) + 2);
    const entry = O + (filters > 0 ? L + 4 : 0);
    const children: [number, number][] = [];
    for (let r = 0, e = root + blockHeader; r < directRows; r++) {
      for (let k = 0; k < width; k++, e += entry) {
        const child = address(e);
        if (child !== undefined) children.push([child, r === 0 ? startBlock : startBlock * 2 ** (r - 1)]);
      }
    }
    if (!v.is(root, ascii('FHIB')) || !add('fractal heap indirect block', root, root + blockHeader + directRows * width * entry + (rows - directRows) * width * O)) continue;
    for (const [child, size] of children) direct(child, size);
  }

  // Version 2 B-trees: the header, then every node from the root down.
  for (const at of v.find(ascii('BTHD'))) {
    const nodeSize = v.uint(at + 6, 4) ?? 0;
    const recordSize = v.uint(at + 10, 2) ?? 0;
    const depth = v.uint(at + 12, 2) ?? 0;
    const root = address(at + 16);
    const rootRecords = v.uint(at + 16 + O, 2) ?? 0;
    if (!add('B-tree header', at, at + 18 + O + L) || root === undefined) continue;
    const levels = btreeLevels(nodeSize, recordSize, depth, O);
    if (!levels) continue;
    const visit = (node: number, count: number, level: number) => {
      const pointer = level > 0 ? levels.pointerBytes[level]! : 0;
      const end = node + 6 + count * recordSize + (level > 0 ? (count + 1) * pointer : 0);
      if (!v.is(node, ascii(level > 0 ? 'BTIN' : 'BTLF')) || !add(level > 0 ? 'B-tree internal node' : 'B-tree leaf', node, end)) return;
      for (let i = 0, c = node + 6 + count * recordSize; level > 0 && i <= count; i++, c += pointer) {
        const child = address(c);
        const n = v.uint(c + O, levels.countBytes);
        if (child !== undefined && n !== undefined) visit(child, n, level - 1);
      }
    };
    if (rootRecords > 0) visit(root, rootRecords, depth);
  }
  return out;
}
