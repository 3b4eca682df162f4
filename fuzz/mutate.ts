/**
 * Deterministic mutations of a seed (the same seed number and case number always give the same
 * file): byte-level ones for every format, and format-aware ones that keep the outer structure valid
 * so the damage reaches the inner parser (JSON values, zip entries, the pickle inside a .pt, the
 * safetensors header, protobuf varints, HDF5 metadata with its checksum recomputed).
 */
import { unzipSync } from 'fflate';
import seedrandom from 'seedrandom';
import { concatBytes } from '../src/io/source.js';
import { writeZip } from '../test/helpers/hostile.js';
import { checksumOf, checksummedStructures, type Checksummed } from './hdf5-checksums.js';
import type { Seed } from './seeds.js';

export type Random = () => number;

export function randomFor(seed: number, caseNo: number): Random {
  return seedrandom(`${seed}:${caseNo}`);
}

const int = (r: Random, n: number) => Math.floor(r() * n);
const pick = <T>(r: Random, items: readonly T[]): T => items[int(r, items.length)]!;

const INTERESTING_32 = [0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000, 0xfffffffe, 0x10000, 0x1000000, 64, 4096];

/** An offset biased towards the start (headers, metadata) half of the time. */
function offset(r: Random, size: number): number {
  if (size <= 0) return 0;
  return r() < 0.5 ? int(r, Math.min(size, 2048)) : int(r, size);
}

/** One to eight byte-level edits. */
export function mutateBytes(r: Random, input: Uint8Array, other?: Uint8Array): Uint8Array {
  let b: Uint8Array = Uint8Array.from(input);
  const edits = 1 + int(r, 8);
  for (let e = 0; e < edits; e++) {
    const kind = int(r, 9);
    const at = offset(r, b.length);
    if (kind === 0) b[at] = (b[at] ?? 0) ^ (1 << int(r, 8));
    else if (kind === 1) b[at] = pick(r, [0, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
    else if (kind === 2 && at + 4 <= b.length) new DataView(b.buffer).setInt32(at, pick(r, INTERESTING_32) | 0, r() < 0.8);
    else if (kind === 3 && at + 8 <= b.length) new DataView(b.buffer).setBigUint64(at, pick(r, [0n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 32n, 2n ** 53n + 1n]), true);
    else if (kind === 4) b = b.subarray(0, int(r, b.length + 1)).slice();
    else if (kind === 5) {
      const n = 1 + int(r, 64);
      const ins = Uint8Array.from({ length: n }, () => int(r, 256));
      b = concatBytes([b.subarray(0, at), ins, b.subarray(at)]);
    } else if (kind === 6) b = concatBytes([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(r, 256)))]);
    else if (kind === 7) {
      const len = Math.min(b.length - at, 1 + int(r, 512));
      b = concatBytes([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
    } else if (kind === 8 && other && other.length > 0) {
      const from = int(r, other.length);
      const chunk = other.subarray(from, from + 1 + int(r, 256));
      b = concatBytes([b.subarray(0, at), chunk, b.subarray(Math.min(b.length, at + chunk.length))]);
    }
  }
  return b;
}


/** A hostile JSON value: deep nesting, huge or odd numbers, text with control bytes and lone surrogates. */
function hostileValue(r: Random): unknown {
  switch (int(r, 12)) {
    case 0: {
      let deep: unknown = [];
      for (let i = int(r, 300); i > 0; i--) deep = [deep];
      return deep;
    }
    case 1: return pick(r, [1e308, -1, -(2 ** 53), 2 ** 53 + 2, 0.5, 1e-320, 2 ** 31, 2 ** 32 + 1]);
    case 2: return '\u0000\u0007\u001b[31m\ud800\udfff\ufffd' + 'x'.repeat(int(r, 300));
    case 3: return null;
    case 4: return {};
    case 5: return [];
    case 6: return pick(r, [true, false]);
    case 7: return '../../../../etc/passwd';
    case 8: return pick(r, ['/etc/passwd', 'file:///etc/passwd', 'http://127.0.0.1/x', 'C:\\x', '']);
    case 9: return Array.from({ length: int(r, 10) }, () => int(r, 2 ** 31));
    case 10: return { __proto__: { polluted: 1 }, constructor: 'x', toString: 1 };
    default: return 'float64';
  }
}

/** Replaces, deletes or re-types one node of a JSON document; deep nesting is written as text. */
function mutateJsonText(r: Random, text: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return text;
  }
  if (r() < 0.08) {
    const depth = 1000 + int(r, 100_000);
    return '['.repeat(depth) + ']'.repeat(depth);
  }
  const nodes: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown, depth: number) => {
    if (depth > 60 || nodes.length > 20_000) return;
    if (Array.isArray(v)) v.forEach((x, i) => (nodes.push([v, i]), walk(x, depth + 1)));
    else if (v && typeof v === 'object') for (const k of Object.keys(v)) nodes.push([v as Record<string, unknown>, k]), walk((v as Record<string, unknown>)[k], depth + 1);
  };
  walk(doc, 0);
  const edits = 1 + int(r, 3);
  for (let e = 0; e < edits && nodes.length > 0; e++) {
    const [parent, key] = pick(r, nodes);
    const kind = int(r, 4);
    if (kind === 0 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
    else if (kind === 1 && typeof (parent as Record<string | number, unknown>)[key] === 'number') {
      (parent as Record<string | number, unknown>)[key] = pick(r, [0, -1, 1e9, 2 ** 31, 2 ** 53, -(2 ** 40), 3.5, 1e308]);
    } else {
      (parent as Record<string | number, unknown>)[key] = hostileValue(r);
    }
  }
  return JSON.stringify(doc);
}

function mutateJson(r: Random, bytes: Uint8Array): Uint8Array {
  return new TextEncoder().encode(mutateJsonText(r, new TextDecoder().decode(bytes)));
}

interface ZipEntryBytes {
  name: string;
  data: Uint8Array;
}

/** The entries of an archive (stored or deflated), or undefined when it is not a zip we can walk. */
function unzipAll(bytes: Uint8Array): ZipEntryBytes[] | undefined {
  try {
    return Object.entries(unzipSync(bytes)).map(([name, data]) => ({ name, data }));
  } catch {
    return undefined;
  }
}

const structures = new WeakMap<Uint8Array, Checksummed[]>();

/**
 * HDF5-aware edits: half the time one to four bytes inside one checksummed structure (a kind picked
 * first, so the few heaps and B-trees are hit as often as the many object headers), whose checksum is
 * then written again, so the damage reaches the decoders behind it; else byte-level edits.
 */
function mutateHdf5(r: Random, bytes: Uint8Array, other?: Uint8Array): Uint8Array {
  if (r() >= 0.5) return mutateBytes(r, bytes, other);
  let found = structures.get(bytes);
  if (!found) structures.set(bytes, (found = checksummedStructures(bytes)));
  if (found.length === 0) return mutateBytes(r, bytes, other);
  const kind = pick(r, [...new Set(found.map((s) => s.kind))]);
  const region = pick(r, found.filter((s) => s.kind === kind));
  // Past the signature (8 bytes for the superblock, 4 for the rest), never the checksum itself.
  const first = region.start + (kind === 'superblock' ? 8 : 4);
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  for (let e = 1 + int(r, 4); e > 0; e--) {
    const i = first + int(r, region.end - first);
    if (i >= region.sum && i < region.sum + 4) continue;
    const edit = int(r, 3);
    if (edit === 0) out[i] = out[i]! ^ (1 << int(r, 8));
    else if (edit === 1) out[i] = pick(r, [0, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
    else if (i + 4 <= region.end && (i + 4 <= region.sum || i >= region.sum + 4)) view.setInt32(i, pick(r, INTERESTING_32) | 0, true);
  }
  view.setUint32(region.sum, checksumOf(out, region), true);
  return out;
}

/** Pickle-aware edits of data.pkl: deep nesting, a code-running payload, byte edits. */
function mutatePickle(r: Random, bytes: Uint8Array): Uint8Array {
  const kind = int(r, 5);
  const body = bytes.subarray(0, Math.max(0, bytes.length - 1));
  if (kind === 0) {
    const depth = 1000 + int(r, 150_000);
    return concatBytes([Uint8Array.from([0x80, 0x02]), new Uint8Array(depth).fill(0x5d /* ] */), new Uint8Array(depth - 1).fill(0x61 /* a */), Uint8Array.from([0x2e])]);
  }
  if (kind === 1) {
    const payload = pick(r, ['cos\nsystem\n', 'cposix\nsystem\n', 'cbuiltins\neval\n', 'csubprocess\nPopen\n', 'cbuiltins\ngetattr\n']);
    return concatBytes([body.subarray(0, body.length - 1), new TextEncoder().encode(`${payload}(Vtouch /tmp/convscope-fuzz-pwned\ntR`), Uint8Array.from([0x75, 0x2e])]);
  }
  return mutateBytes(r, bytes);
}

/** A mutated copy of the seed: files by name, `main` unchanged. */
export function mutateSeed(r: Random, seed: Seed, other: Seed): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = { ...seed.files };
  const names = Object.keys(files);
  const name = r() < 0.75 ? seed.main : pick(r, names);
  const bytes = files[name]!;
  const otherBytes = other.files[other.main];
  const awareness = r();
  let out: Uint8Array;
  if (awareness < 0.45) out = mutateBytes(r, bytes, otherBytes);
  else if (name.endsWith('.json')) out = mutateJson(r, bytes);
  else if (seed.format === 'safetensors' && bytes.length > 8) out = mutateSafetensorsHeader(r, bytes);
  else if (seed.format === 'keras-v3' || seed.format === 'pytorch') out = mutateZip(r, bytes, otherBytes);
  else if (seed.format === 'onnx') out = mutateProtobuf(r, bytes);
  else if (name.endsWith('.h5')) out = mutateHdf5(r, bytes, otherBytes);
  else out = mutateBytes(r, bytes.subarray(0), otherBytes);
  files[name] = out;
  return files;
}

function mutateSafetensorsHeader(r: Random, bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  if (length > bytes.length - 8) return mutateBytes(r, bytes);
  const header = mutateJson(r, bytes.subarray(8, 8 + length));
  const out = new Uint8Array(8 + header.length + bytes.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes.subarray(8 + length), 8 + header.length);
  return out;
}

/** Rebuilds the archive (stored) with one entry changed, or edits the zip structure itself. */
function mutateZip(r: Random, bytes: Uint8Array, other?: Uint8Array): Uint8Array {
  const entries = unzipAll(bytes);
  if (!entries || entries.length === 0 || r() < 0.25) return mutateBytes(r, bytes, other);
  const i = int(r, entries.length);
  const e = entries[i]!;
  const data = e.name.endsWith('.json')
    ? mutateJson(r, e.data)
    : e.name.endsWith('.pkl')
      ? mutatePickle(r, e.data)
      : e.name.endsWith('.h5')
        ? mutateHdf5(r, e.data, other)
        : mutateBytes(r, e.data, other);
  entries[i] = { name: r() < 0.05 ? pick(r, ['../evil', '/abs', e.name + '\u0000']) : e.name, data };
  return writeZip(entries);
}

/** Edits a protobuf varint (a length or a value) at a field boundary, or bytes. */
function mutateProtobuf(r: Random, bytes: Uint8Array): Uint8Array {
  if (r() < 0.3) return mutateBytes(r, bytes);
  const b = Array.from(bytes);
  const at = offset(r, b.length);
  const replacement = pick(r, [[0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], [0x00], [0x7f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x0a, 0xff, 0xff, 0x03]]);
  let end = at;
  while (end < b.length && (b[end]! & 0x80) !== 0) end++;
  b.splice(at, end - at + 1, ...replacement);
  if (r() < 0.3) {
    const s = offset(r, b.length);
    b.splice(s, 0, ...pick(r, [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xff, 0xfe], [0x07, 0x1b]]));
  }
  return Uint8Array.from(b);
}
