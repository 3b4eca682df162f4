/**
 * HDF5 files read in TypeScript, straight from their ByteSource: the fast path of io/hdf5.ts for the
 * structures Keras files use (io/hdf5-structures.ts decodes them). Opening walks every object's header
 * once (metadata only, fetched in 4 KiB pages, bounded in count); a dataset's bytes are read when asked
 * for, contiguous data in one read that becomes the tensor without a copy, chunked data a chunk at a
 * time through its filters (deflate, shuffle) into exactly the declared size.
 *
 * Anything valid it does not decode makes `openHdf5Native` answer undefined, and the HDF5 library reads
 * the whole file instead (external links, external storage and virtual datasets among them, which the
 * library refuses naming the object). A dataset whose layout or filter this reader does not decode
 * (a new chunk index, fletcher32, unwritten chunks with a fill value) is read by the library alone.
 * An object whose header is damaged fails when it is used, with a sentence naming it, as it would
 * through the library.
 */
import { unzlibSync } from 'fflate';
import { decodeLittleEndian, type TensorData } from '../model/dtype.js';
import { ConvscopeError, ModelFormatError, ResourceLimitError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkDatasetSize, textAttributes, toDType, type Hdf5Dataset, type Hdf5File, type Hdf5Rows } from './hdf5-file.js';
import {
  checkMessages,
  Cursor,
  decodeAttribute,
  decodeDataspace,
  decodeDatatype,
  decodeFilters,
  decodeLayout,
  decodeLink,
  decodeStorageInfo,
  GlobalHeap,
  HdfBytes,
  MSG,
  NotMine,
  readDenseStore,
  readObjectHeader,
  readSuperblock,
  readSymbolTable,
  type Attribute,
  type Datatype,
  type Filter,
  type Layout,
  type LinkTarget,
  type Message,
} from './hdf5-structures.js';
import type { ReadLimits } from './limits.js';
import type { ByteSource } from './source.js';

/** More objects than this are left to the HDF5 library, which opens them one by one as asked. */
const MAX_OBJECTS = 100_000;
/** Text held by all the attributes of a file: Keras writes a few hundred KiB at most. */
const MAX_ATTRIBUTE_TEXT = 64 * 1024 * 1024;

interface Common {
  attrs: Map<string, unknown>;
  attrOrder: string[];
}
interface GroupNode extends Common {
  kind: 'group';
  links: Map<string, number>;
  order: string[];
}
interface DatasetNode extends Common {
  kind: 'dataset';
  type: Datatype;
  dims: number[];
  layout: Layout;
  filters: Filter[];
}
type Node = GroupNode | DatasetNode | { kind: 'broken'; error: ConvscopeError };

const byteOrder = (a: { nameBytes: Uint8Array }, b: { nameBytes: Uint8Array }): number => {
  const x = a.nameBytes;
  const y = b.nameBytes;
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
};

/** HDF5's iteration order: creation order where the object indexes it, else by name (strcmp). */
function ordered<T extends { nameBytes: Uint8Array; order: number }>(items: T[], byCreation: boolean): T[] {
  return [...items].sort(byCreation ? (a, b) => a.order - b.order : byteOrder);
}

class Walker {
  private readonly heap: GlobalHeap;
  private text = 0;

  constructor(private readonly file: HdfBytes) {
    this.heap = new GlobalHeap(file);
  }

  async node(address: number, path: string): Promise<Node> {
    const what = quote(path || '/');
    const messages = await readObjectHeader(this.file, address, what);
    checkMessages(messages);
    const of = (type: number) => messages.filter((m) => m.type === type);
    if (of(MSG.externalFiles).length > 0) throw new NotMine('external storage');
    const { attrs, attrOrder } = await this.attributes(messages, what);
    const symbols = of(MSG.symbolTable)[0];
    const linkInfo = of(MSG.linkInfo)[0];
    if (symbols || linkInfo) {
      let links: LinkTarget[];
      if (symbols) {
        links = ordered(await readSymbolTable(this.file, symbols.body, what), false);
      } else {
        const info = decodeStorageInfo(linkInfo!.body, this.file, false, what);
        links = of(MSG.link).map((m) => decodeLink(m.body, this.file, what));
        if (info.heap !== undefined) {
          for (const { body } of await readDenseStore(this.file, info, false, what)) links.push(decodeLink(body, this.file, what));
        }
        links = ordered(links, info.indexed);
      }
      const map = new Map<string, number>();
      for (const l of links) {
        if (map.has(l.name)) throw this.file.damaged(`group ${what} has two members named ${quote(l.name)}`);
        map.set(l.name, l.address);
      }
      return { kind: 'group', links: map, order: links.map((l) => l.name), attrs, attrOrder };
    }
    const layout = of(MSG.layout)[0];
    const type = of(MSG.datatype)[0];
    const space = of(MSG.dataspace)[0];
    if (!layout) throw new NotMine(type ? 'a named datatype' : 'an object that is neither a group nor a dataset');
    if (!type || !space) throw this.file.damaged(`dataset ${what} has no ${type ? 'dataspace' : 'datatype'}`);
    const dims = decodeDataspace(new Cursor(space.body, this.file, `the dataspace of ${what}`), this.file);
    if (dims === null) throw new NotMine('a dataset with a null dataspace');
    const filters = of(MSG.filters)[0];
    return {
      kind: 'dataset',
      type: decodeDatatype(new Cursor(type.body, this.file, `the datatype of ${what}`), this.file),
      dims,
      layout: decodeLayout(new Cursor(layout.body, this.file, `the layout of ${what}`), this.file),
      filters: filters ? decodeFilters(new Cursor(filters.body, this.file, `the filters of ${what}`), this.file) : [],
      attrs,
      attrOrder,
    };
  }

  private async attributes(messages: Message[], what: string): Promise<Common> {
    const list: Attribute[] = messages.filter((m) => m.type === MSG.attribute).map((m) => decodeAttribute(m.body, this.file, m.order, what));
    const info = messages.find((m) => m.type === MSG.attributeInfo);
    let byCreation = false;
    if (info) {
      const storage = decodeStorageInfo(info.body, this.file, true, what);
      byCreation = storage.indexed;
      if (storage.heap !== undefined) {
        for (const { body, order } of await readDenseStore(this.file, storage, true, what)) list.push(decodeAttribute(body, this.file, order, what));
      }
    }
    const attrs = new Map<string, unknown>();
    for (const a of ordered(list, byCreation)) attrs.set(a.name, await this.value(a, what));
    return { attrs, attrOrder: [...attrs.keys()] };
  }

  /** An attribute's value exactly as h5wasm gives it (see hdf5-file.ts textAttributes). */
  private async value(a: Attribute, what: string): Promise<unknown> {
    if (a.dims === null) return null;
    const count = a.dims.reduce((x, y) => x * y, 1);
    const { type } = a;
    let values: unknown[] | TensorData;
    if (type.cls === 3) {
      const decoder = new TextDecoder(type.cset === 1 ? 'utf-8' : 'ascii');
      values = [];
      this.charge(a.data.length, a.name, what);
      for (let i = 0; i < count; i++) {
        const bytes = a.data.subarray(i * type.size, (i + 1) * type.size);
        const end = bytes.indexOf(0);
        values.push(decoder.decode(end >= 0 ? bytes.subarray(0, end) : bytes));
      }
    } else if (type.cls === 9 && type.vlenString) {
      values = [];
      const c = new Cursor(a.data, this.file, `attribute ${quote(a.name)} of ${what}`);
      for (let i = 0; i < count; i++) {
        const length = c.u32();
        const address = c.address();
        const index = c.u32();
        if (length === 0) {
          values.push('');
          continue;
        }
        const object = await this.heap.object(address, index, `attribute ${quote(a.name)} of ${what}`);
        if (length > object.length) throw this.file.damaged(`a string of attribute ${quote(a.name)} of ${what} is longer than its heap object`);
        this.charge(length, a.name, what);
        const bytes = object.subarray(0, length);
        const end = bytes.indexOf(0);
        const text = end >= 0 ? bytes.subarray(0, end) : bytes;
        values.push(type.cset === 1 ? new TextDecoder().decode(text) : latin1(text));
      }
    } else if ((type.cls === 0 && [1, 2, 4, 8].includes(type.size)) || (type.cls === 1 && type.size !== 2)) {
      const dtype = type.cls === 1 ? (type.size === 4 ? 'float32' : 'float64') : `${type.signed ? 'int' : 'uint'}${type.size * 8}`;
      values = numbers(a.data, dtype, type.size, count, type.bigEndian);
    } else {
      // float16, sequences, compounds, enums...: listed, but not text (see textAttributes), whatever they hold.
      return { notText: type.cls };
    }
    return a.dims.length === 0 ? values[0] : values;
  }

  private charge(bytes: number, attr: string, what: string): void {
    this.text += bytes;
    if (this.text > MAX_ATTRIBUTE_TEXT) {
      throw new ResourceLimitError(`${this.file.name}: attribute ${quote(attr)} of ${what} takes the text of the file's attributes over ${MAX_ATTRIBUTE_TEXT / 2 ** 20} MiB, which no model needs.`);
    }
  }
}

/** Bytes as ISO-8859-1 characters, as HDF5's ASCII strings reach JavaScript (one character per byte). */
function latin1(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

const ARRAYS: Record<string, { new (buffer: ArrayBuffer): ArrayLike<unknown> }> = {
  int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
  int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array,
};

/** Stored numbers as the typed array h5wasm would give (native byte order). */
function numbers(data: Uint8Array, dtype: string, size: number, count: number, bigEndian: boolean): TensorData {
  const bytes = data.slice(0, count * size);
  if (bigEndian) swap(bytes, size);
  return new ARRAYS[dtype]!(bytes.buffer) as TensorData;
}

function swap(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

/** Every object reachable from the root, by address; the root's path is ''. */
async function walk(file: HdfBytes, root: number): Promise<Map<number, Node>> {
  const walker = new Walker(file);
  const nodes = new Map<number, Node>();
  const queue: [number, string][] = [[root, '']];
  for (let i = 0; i < queue.length; i++) {
    const [address, path] = queue[i]!;
    if (nodes.has(address)) continue;
    if (nodes.size >= MAX_OBJECTS) throw new NotMine(`more than ${MAX_OBJECTS} objects`);
    let node: Node;
    try {
      node = await walker.node(address, path);
    } catch (e) {
      if (!(e instanceof ConvscopeError) || address === root) throw e;
      node = { kind: 'broken', error: e };
    }
    nodes.set(address, node);
    if (node.kind === 'group') for (const [name, child] of node.links) queue.push([child, path ? `${path}/${name}` : name]);
  }
  return nodes;
}

/**
 * Opens an HDF5 file with the TypeScript reader; undefined when the file uses something it does not
 * decode. `library` opens the same file with the HDF5 library, for datasets this reader leaves to it.
 */
export async function openHdf5Native(source: ByteSource, limits: ReadLimits, library: () => Promise<Hdf5File>): Promise<Hdf5File | undefined> {
  const file = new HdfBytes(source);
  let nodes: Map<number, Node>;
  let root: number;
  try {
    root = (await readSuperblock(file)).root;
    nodes = await walk(file, root);
  } catch (e) {
    if (e instanceof NotMine) return undefined;
    throw e;
  }
  const name = source.name;
  let open = true;
  let fallback: Promise<Hdf5File> | undefined;

  function lookup(path: string): Node | undefined {
    if (!open) throw new ConvscopeError(`${name} was closed; open it again to read weights.`);
    let node = nodes.get(root);
    for (const part of path.split('/')) {
      if (part === '') continue;
      if (node?.kind === 'broken') throw node.error;
      if (node?.kind !== 'group') return undefined;
      const next = node.links.get(part);
      node = next === undefined ? undefined : nodes.get(next);
    }
    if (node?.kind === 'broken') throw node.error;
    return node;
  }
  const object = (path: string) => lookup(path) as GroupNode | DatasetNode | undefined;

  async function read(dataset: Hdf5Dataset, rows?: Hdf5Rows): Promise<TensorData> {
    const node = object(dataset.path);
    if (node?.kind !== 'dataset') throw new ModelFormatError(`${name} has no dataset at ${quote(dataset.path)}.`);
    if (rows) return readRows(node, dataset, rows);
    const count = node.dims.reduce((a, b) => a * b, 1);
    const size = node.type.size;
    const bytes = await datasetBytes(file, node, dataset.path, count * size, limits);
    if (!bytes) {
      fallback ??= library();
      const lib = await fallback;
      return lib.read(lib.dataset(dataset.path, `dataset ${quote(dataset.path)}`));
    }
    if (node.type.bigEndian) swap(bytes.data, size);
    return decodeLittleEndian(bytes.data, dataset.dtype, count, bytes.owned);
  }

  /** Rows of a contiguous dataset are one range read; of any other, the rows of a whole read. */
  async function readRows(node: DatasetNode, dataset: Hdf5Dataset, { start, count }: Hdf5Rows): Promise<TensorData> {
    const first = node.dims[0] ?? 0;
    if (node.dims.length === 0 || !Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > first) {
      throw new RangeError(`${name}: rows ${start} to ${start + count} lie outside dataset ${quote(dataset.path)} of shape (${node.dims.join(', ')}).`);
    }
    const rowValues = node.dims.slice(1).reduce((a, b) => a * b, 1);
    const size = node.type.size;
    const { layout } = node;
    if (layout.kind !== 'contiguous' || layout.address === undefined || count * rowValues === 0) {
      const whole = await read(dataset);
      return whole.slice(start * rowValues, (start + count) * rowValues);
    }
    const what = `dataset ${quote(dataset.path)}`;
    if (layout.size < first * rowValues * size) throw file.damaged(`${what} stores ${layout.size} bytes, not ${first * rowValues * size}`);
    const data = await file.data(layout.address + start * rowValues * size, count * rowValues * size, what);
    const owned = file.source.freshReads === true && data.byteOffset === 0 && data.buffer.byteLength === data.length;
    const bytes = owned ? data : data.slice();
    if (node.type.bigEndian) swap(bytes, size);
    return decodeLittleEndian(bytes, dataset.dtype, count * rowValues, true);
  }

  const self: Hdf5File = {
    name,
    kind: (path) => object(path)?.kind,
    keys(path) {
      const node = object(path);
      return node?.kind === 'group' ? [...node.order] : [];
    },
    attrNames: (path) => [...(object(path)?.attrOrder ?? [])],
    ...textAttributes(name, (path) => self.attrNames(path), (path, attr) => object(path)?.attrs.get(attr)),
    dataset(path, what) {
      const node = object(path);
      if (node?.kind !== 'dataset') {
        throw new ModelFormatError(`${name} names ${what} at '${path}', but ${node ? 'that is not a dataset' : 'there is nothing there'}.`);
      }
      const { layout, type, dims } = node;
      const chunk = layout.kind === 'chunked' ? layout.chunk : undefined;
      checkDatasetSize(name, what, path, dims, type.size, chunk, layout.kind === 'chunked' && node.filters.length > 0, source.size, limits);
      return { path, shape: dims, dtype: toDType(name, path, { type: type.cls, size: type.size, signed: type.signed }) };
    },
    read,
    close() {
      if (!open) return;
      open = false;
      void fallback?.then((f) => f.close(), () => undefined);
    },
  };
  return self;
}

/**
 * The stored bytes of a dataset (little- or big-endian as stored), `owned` when nobody else holds
 * them; undefined when this reader leaves the dataset to the HDF5 library.
 */
async function datasetBytes(file: HdfBytes, node: DatasetNode, path: string, bytes: number, limits: ReadLimits): Promise<{ data: Uint8Array; owned: boolean } | undefined> {
  const { layout } = node;
  const what = `dataset ${quote(path)}`;
  if (layout.kind === 'compact') {
    if (layout.data.length < bytes) throw file.damaged(`${what} holds ${layout.data.length} bytes, not ${bytes}`);
    return { data: layout.data.slice(0, bytes), owned: true };
  }
  if (layout.kind === 'contiguous') {
    if (bytes === 0) return { data: new Uint8Array(0), owned: true };
    if (layout.address === undefined) return undefined;
    if (layout.size < bytes) throw file.damaged(`${what} stores ${layout.size} bytes, not ${bytes}`);
    const data = await file.data(layout.address, bytes, what);
    const owned = file.source.freshReads === true && data.byteOffset === 0 && data.buffer.byteLength === bytes;
    return { data: owned ? data : data.slice(), owned: true };
  }
  if (layout.index === 'other') return undefined;
  return readChunks(file, node, layout, what, bytes, limits);
}

interface Chunk {
  offsets: number[];
  address: number | undefined;
  size: number;
  mask: number;
}

async function readChunks(file: HdfBytes, node: DatasetNode, layout: Extract<Layout, { kind: 'chunked' }>, what: string, bytes: number, limits: ReadLimits): Promise<{ data: Uint8Array; owned: boolean } | undefined> {
  const { dims, type } = node;
  const rank = dims.length;
  const chunk = layout.chunk;
  if (chunk.length !== rank || chunk.some((c) => c === 0)) throw file.damaged(`${what} has chunks of ${chunk.length} dimensions for ${rank}`);
  if (node.filters.some((f) => f.id !== 1 && f.id !== 2)) return undefined;
  const chunkBytes = chunk.reduce((a, b) => a * b, 1) * type.size;
  const expected = dims.reduce((a, d, i) => a * Math.ceil(d / chunk[i]!), 1);
  const chunks: Chunk[] =
    layout.index === 'single'
      ? [{ offsets: dims.map(() => 0), address: layout.address, size: layout.filteredSize ?? chunkBytes, mask: layout.filterMask ?? 0 }]
      : await chunkIndex(file, layout.address, rank, what, expected);
  if (bytes === 0) return { data: new Uint8Array(0), owned: true };
  const out = new Uint8Array(bytes);
  const seen = new Set<string>();
  for (const c of chunks) {
    const key = c.offsets.join(',');
    if (c.offsets.some((o, i) => o % chunk[i]! !== 0 || o >= dims[i]!) || seen.has(key)) {
      throw file.damaged(`${what} has a chunk at (${key}), which is not a chunk of its shape`);
    }
    seen.add(key);
    const raw = await file.data(c.address, c.size, `a chunk of ${what}`);
    const data = unfilter(file, node.filters, c.mask, raw, chunkBytes, type.size, what, limits);
    copyChunk(out, data, dims, chunk, c.offsets, type.size);
  }
  if (seen.size !== expected) return undefined;
  return { data: out, owned: true };
}

/** The leaves of a chunked dataset's v1 B-tree (type 1), bounded by the number of chunks its shape has. */
async function chunkIndex(file: HdfBytes, root: number | undefined, rank: number, what: string, expected: number): Promise<Chunk[]> {
  const keySize = 8 + 8 * (rank + 1);
  const out: Chunk[] = [];
  const seen = new Set<number>();
  const visit = async (address: number | undefined, depth: number): Promise<void> => {
    if (address === undefined) return;
    if (depth > 32 || seen.has(address) || seen.size > 4 * expected + 64) throw file.damaged(`the chunk index of ${what} loops or is too deep`);
    seen.add(address);
    const head = await file.cursor(address, 8 + 2 * file.offsetSize, `the chunk index of ${what}`);
    if (new TextDecoder().decode(head.take(4)) !== 'TREE' || head.u8() !== 1) throw file.damaged(`the chunk index of ${what} has no signature`);
    const level = head.u8();
    const entries = head.u16();
    if (out.length + entries > expected) throw file.damaged(`the chunk index of ${what} lists more chunks than its shape has`);
    const c = await file.cursor(address + head.pos + 2 * file.offsetSize, (entries + 1) * keySize + entries * file.offsetSize, `the chunk index of ${what}`);
    for (let i = 0; i < entries; i++) {
      const size = c.u32();
      const mask = c.u32();
      const offsets: number[] = [];
      for (let d = 0; d <= rank; d++) offsets.push(c.uint(8) ?? -1);
      const child = c.address();
      if (level > 0) await visit(child, depth + 1);
      else out.push({ offsets: offsets.slice(0, rank), address: child, size, mask });
    }
  };
  await visit(root, 0);
  return out;
}

/** Undoes a chunk's filters (last applied first): deflate into exactly one chunk's bytes, then shuffle. */
function unfilter(file: HdfBytes, filters: Filter[], mask: number, raw: Uint8Array, chunkBytes: number, elementSize: number, what: string, limits: ReadLimits): Uint8Array {
  let data = raw;
  for (let i = filters.length - 1; i >= 0; i--) {
    if (mask & (1 << i)) continue;
    const f = filters[i]!;
    if (f.id === 1) {
      if (chunkBytes > limits.maxTensorBytes) throw file.damaged(`a chunk of ${what} is larger than a tensor may be`);
      try {
        data = unzlibSync(data, { out: new Uint8Array(chunkBytes) });
      } catch (e) {
        throw file.damaged(`a chunk of ${what} does not inflate (${(e as Error).message})`);
      }
    } else {
      data = unshuffle(data, f.values[0] ?? elementSize);
    }
  }
  if (data.length !== chunkBytes) throw file.damaged(`a chunk of ${what} holds ${data.length} bytes, not ${chunkBytes}`);
  return data;
}

function unshuffle(data: Uint8Array, size: number): Uint8Array {
  if (size <= 1) return data;
  const n = Math.floor(data.length / size);
  const out = data.slice();
  for (let b = 0; b < size; b++) {
    const from = b * n;
    for (let i = 0; i < n; i++) out[i * size + b] = data[from + i]!;
  }
  return out;
}

/** Copies the part of a chunk (origin `offsets`) that lies inside the dataset into the C-order output. */
function copyChunk(out: Uint8Array, data: Uint8Array, dims: number[], chunk: number[], offsets: number[], size: number): void {
  const rank = dims.length;
  if (rank === 0) {
    out.set(data.subarray(0, size));
    return;
  }
  const last = rank - 1;
  const run = Math.min(chunk[last]!, dims[last]! - offsets[last]!) * size;
  const index = new Array<number>(last).fill(0);
  const extent = index.map((_, d) => Math.min(chunk[d]!, dims[d]! - offsets[d]!));
  for (;;) {
    let src = 0;
    let dst = 0;
    for (let d = 0; d < last; d++) {
      src = src * chunk[d]! + index[d]!;
      dst = dst * dims[d]! + offsets[d]! + index[d]!;
    }
    src = src * chunk[last]!;
    dst = dst * dims[last]! + offsets[last]!;
    out.set(data.subarray(src * size, src * size + run), dst * size);
    let d = last - 1;
    while (d >= 0 && ++index[d]! >= extent[d]!) index[d--] = 0;
    if (d < 0) return;
  }
}
