import type * as H5 from 'h5wasm';
import { DTYPE_BYTES, storedLayoutArray, type TensorData } from '../model/dtype.js';
import { ContainmentError, ConvscopeError, ModelFormatError, UnsupportedError } from '../model/errors.js';
import { formatBytes } from '../model/format.js';
import { quote } from '../model/quote.js';
import { checkDatasetSize, textAttributes, toDType, type Hdf5File } from './hdf5-file.js';
import { openHdf5Native } from './hdf5-native.js';
import { DEFAULT_LIMITS, type ReadLimits } from './limits.js';
import type { ByteSource } from './source.js';

/**
 * A read-only HDF5 file (h5wasm, the HDF5 C library compiled to WebAssembly).
 *
 * Where the file lives is chosen once, here:
 * - Node, source with a `localPath`: h5wasm's Node build (NODERAWFS) opens the file in place, so only
 *   the metadata and the datasets asked for are ever read: a 500 MB file is never loaded whole.
 * - Node, source without a local path (a zip entry, bytes in memory): the bytes are copied in 8 MiB
 *   chunks to a temporary file, opened in place and deleted on close.
 * - Browser: h5wasm's web build keeps the bytes in its in-memory file system (MEMFS).
 * The `h5wasm/node` import (which needs node:fs) never reaches the browser path.
 */
export type { Hdf5Dataset, Hdf5File, Hdf5Rows } from './hdf5-file.js';

type H5Module = typeof H5;

const CHUNK = 8 * 1024 * 1024;
/** Datasets larger than this are read a slab of rows at a time (see `read`). */
const SLAB_BYTES = 4 * 1024 * 1024;
/** h5wasm reads a dataset into 32-bit WebAssembly memory: one tensor must stay well below 4 GiB. */
const MAX_DATASET_BYTES = 2 ** 31;
let modulePromise: Promise<H5Module> | undefined;
let tempCounter = 0;

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/** The files h5wasm may open: the ones convscope opened itself (the model, or its temporary copy). */
const openableFiles = new Set<string>();
/** Emscripten's O_CREAT and O_DIRECTORY. */
const O_CREAT = 0o100;
const O_DIRECTORY = 0o200000;
/** Files the HDF5 library tried to open on its own during the current operation, and was refused. */
let refusedFiles: string[] = [];

/**
 * The containment rule for HDF5: external links, external raw storage and virtual datasets make the
 * HDF5 library open other files by name. Every file it opens goes through the Emscripten file system's
 * `open`, so that is where it is refused: only the file convscope itself opened may be opened, and a
 * refused attempt becomes a ContainmentError naming the object (see `guard`). Not one byte of another
 * file is read.
 */
function gateFileSystem(h5: H5Module): void {
  const fs = h5.FS as unknown as { open: (path: unknown, ...rest: unknown[]) => unknown; ErrnoError: new (errno: number) => Error };
  const open = fs.open;
  fs.open = function (this: unknown, path: unknown, flags?: unknown, ...rest: unknown[]) {
    // Opening with O_CREAT is writing, which only convscope's own code asks for (h5wasm's error handler
    // keeps the HDF5 error stack in a tmpfile(); tests write HDF5 files); a file opened read-only makes
    // the HDF5 library open its external files read-only, and those are what is refused.
    const creates = typeof flags === 'number' && (flags & O_CREAT) !== 0;
    if (!creates && (typeof path !== 'string' || !openableFiles.has(path))) {
      // A directory (the HDF5 filter-plugin folder) is refused too, but it holds no data to report.
      if (typeof flags !== 'number' || (flags & O_DIRECTORY) === 0) refusedFiles.push(String(path));
      throw new fs.ErrnoError(2);
    }
    return open.call(this, path, flags, ...rest);
  };
}

/**
 * h5wasm's Node build, compiled by V8's baseline compiler only: opening a file runs each HDF5 function a
 * few times, so optimizing them (in the background, on the same two cores) cost more CPU than it saved:
 * `inspect` of a 772 KB h5 took 0.33 s of CPU with tier-up, 0.26 s without. The flag is restored once
 * the module is compiled, so other WebAssembly (TensorFlow.js, ONNX Runtime) is optimized as usual.
 */
async function nodeModule(): Promise<unknown> {
  const { setFlagsFromString } = await import('node:v8');
  setFlagsFromString('--liftoff-only');
  try {
    const h5 = await import('h5wasm/node');
    await h5.ready;
    return h5;
  } finally {
    setFlagsFromString('--no-liftoff-only');
  }
}

/** Room the HDF5 library may use during one call beyond what the file itself justifies (caches, buffers). */
const HEADROOM_BYTES = 32 * 2 ** 20;
/** WebAssembly memory (bytes) h5wasm may grow to during the current call; see `boundMemory`. */
let memoryLimit = Infinity;
/** The largest total (bytes) the current call asked h5wasm's memory to grow to, and was refused. */
let refusedMemory = 0;

/**
 * h5wasm's memory grows on demand up to 2 GiB, so a damaged size field (a variable-length string
 * declaring 1 GiB in a 20 KB file, a compressed chunk inflating far past its declared size) made the HDF5
 * library allocate and fill what it was told. Each call
 * sets a limit from what the file can need (see `contained`); growth past it is refused, so the
 * allocation fails inside the library (malloc returns NULL, which HDF5 reports as an error) and the call
 * ends in a sentence. h5wasm does not export its memory object, so it is recognised by its buffer.
 */
function boundMemory(h5: H5Module): void {
  const module = h5.Module as unknown as { HEAPU8: Uint8Array };
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, pages: number): number {
    const total = this.buffer.byteLength + pages * 65536;
    if (total > memoryLimit && this.buffer === module.HEAPU8.buffer) {
      refusedMemory = Math.max(refusedMemory, total);
      throw new RangeError(`HDF5 memory limit of ${memoryLimit} bytes`);
    }
    return grow.call(this, pages);
  };
}

async function loadModule(): Promise<H5Module> {
  modulePromise ??= (async () => {
    const h5 = (isNode() ? await nodeModule() : await import('h5wasm')) as H5Module;
    const wasm = await h5.ready;
    gateFileSystem(h5);
    boundMemory(h5);
    // Turn HDF5's printed diagnostics into thrown errors that this file turns into sentences.
    (wasm as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
    return h5;
  })();
  return modulePromise;
}

/** Loads and compiles h5wasm on this thread now, so the first file opens at full speed. */
export async function preloadHdf5Here(): Promise<void> {
  await loadModule();
}

/** The most specific line of an HDF5 error stack ("truncated file: eof = 100000, ... stored_eof = ..."). */
function hdf5Detail(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const details = [...text.matchAll(/#\d+: .*? in [\w.]+\(\): (.*)/g)].map((m) => m[1]!.trim());
  // HDF5 says "addr undefined" for an unset address (all ones): say that in words.
  return (details[details.length - 1] ?? text.split('\n')[0]!.trim()).replace(/\baddr undefined\b/g, 'address not set');
}

/** HDF5 library errors and h5wasm's allocation failures become sentences; anything else is a bug and passes through. */
function translate(name: string, e: unknown, doing: string): unknown {
  if (e instanceof ConvscopeError) return e;
  const message = e instanceof Error ? e.message : String(e);
  if (/allocation of \d+ bytes/.test(message)) {
    return new UnsupportedError(`${name}: ${doing} needs more memory than h5wasm can give (${message}).`);
  }
  // h5wasm's own converters refuse number types they have no JavaScript array for (a damaged type size).
  if (/^(Float\d+ not supported|int of size \d+ unsupported)$/.test(message)) {
    return new UnsupportedError(`${name}: ${doing} met a number type h5wasm cannot convert (${message}).`);
  }
  if (!message.includes('HDF5')) return e;
  const detail = hdf5Detail(e);
  const truncated = /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(detail);
  if (truncated) {
    return new ModelFormatError(
      `${name} is truncated: the HDF5 file says it has ${truncated[2]} bytes, but only ${truncated[1]} are there.`,
    );
  }
  return new ModelFormatError(`${name} is a damaged HDF5 file: ${doing} failed (HDF5: ${detail}).`);
}

/** A local path h5wasm can open in place, plus what to delete on close. */
async function localCopy(source: ByteSource): Promise<{ path: string; cleanup: () => void }> {
  if (source.localPath) return { path: source.localPath, cleanup: () => undefined };
  const { openSync, writeSync, closeSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const path = join(tmpdir(), `convscope-${process.pid}-${Date.now()}-${tempCounter++}.h5`);
  const { trackTemporary } = await import('./temp-files.js');
  const done = trackTemporary(path);
  const fd = openSync(path, 'wx', 0o600);
  try {
    for (let offset = 0; offset < source.size; offset += CHUNK) {
      writeSync(fd, await source.read(offset, Math.min(CHUNK, source.size - offset)));
    }
  } catch (e) {
    closeSync(fd);
    rmSync(path, { force: true });
    done();
    throw e;
  }
  closeSync(fd);
  return {
    path,
    cleanup: () => {
      done();
      rmSync(path, { force: true });
    },
  };
}

async function memfsCopy(h5: H5Module, source: ByteSource): Promise<{ path: string; cleanup: () => void }> {
  const fs = h5.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void };
  const path = `/convscope-${tempCounter++}.h5`;
  fs.writeFile(path, await source.read(0, source.size));
  return { path, cleanup: () => fs.unlink(path) };
}

/**
 * Opens an HDF5 file read-only. The structures Keras files use are read in TypeScript straight from the
 * source (io/hdf5-native.ts): only metadata now, each dataset when it is read. A file that uses anything
 * else goes to the HDF5 library (h5wasm), which keeps the containment rule for external files: in Node it
 * runs isolated in its own thread (io/hdf5-isolated.ts), in the browser here.
 */
export async function openHdf5(source: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): Promise<Hdf5File> {
  return (await openHdf5Native(source, limits, () => openHdf5Library(source, limits))) ?? openHdf5Library(source, limits);
}

/** Opens an HDF5 file read-only with the HDF5 library (h5wasm), whatever the file holds. */
export async function openHdf5Library(source: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): Promise<Hdf5File> {
  if (!isNode()) return openHdf5Here(source, limits);
  const { openHdf5Isolated } = await import('./hdf5-isolated.js');
  const { path, cleanup } = await localCopy(source);
  return openHdf5Isolated(path, source.name, source.size, limits, cleanup);
}

/** Opens an HDF5 file read-only with h5wasm on this thread (the browser, and the engine's thread in Node). */
export async function openHdf5Here(source: ByteSource, limits: ReadLimits = DEFAULT_LIMITS): Promise<Hdf5File> {
  const h5 = await loadModule();
  const name = source.name;
  const copy = isNode() ? await localCopy(source) : await memfsCopy(h5, source);
  const { path } = copy;
  openableFiles.add(path);
  const cleanup = () => {
    openableFiles.delete(path);
    copy.cleanup();
  };

  /**
   * Runs one HDF5 call; an attempt to open another file is refused and named, whatever the call returned.
   * The call may make h5wasm's memory grow by the file's size (no metadata is larger than the file)
   * plus `needs` bytes (the data a read brings in) and some room; asking for more is damage.
   */
  function contained<T>(object: string, doing: string, fn: () => T, needs = 0): T {
    refusedFiles = [];
    refusedMemory = 0;
    const allowance = source.size + needs + HEADROOM_BYTES;
    const before = h5.Module.HEAPU8.buffer.byteLength;
    memoryLimit = before + allowance;
    let result: T;
    try {
      result = fn();
    } catch (e) {
      throw refusal(object) ?? overMemory(doing, before, allowance) ?? translate(name, e, doing);
    } finally {
      memoryLimit = Infinity;
    }
    const refused = refusal(object) ?? overMemory(doing, before, allowance);
    if (refused) throw refused;
    return result;
  }

  /** The call's refused growth of h5wasm's memory (from `before` bytes) as a sentence, if there was one. */
  function overMemory(doing: string, before: number, allowance: number): ModelFormatError | undefined {
    if (refusedMemory === 0) return undefined;
    const asked = refusedMemory - before;
    refusedMemory = 0;
    const needs = allowance - source.size - HEADROOM_BYTES;
    const parts = [`the file's ${formatBytes(source.size)}`, ...(needs > 0 ? [`${formatBytes(needs)} for the data read`] : []), `${formatBytes(HEADROOM_BYTES)} of room`];
    return new ModelFormatError(
      `${name} is a damaged HDF5 file: ${doing} made the HDF5 library ask for ${formatBytes(asked)} more memory, over the ${formatBytes(allowance)} it may use (${parts.join(', ')}).`,
    );
  }

  function refusal(object: string): ContainmentError | undefined {
    if (refusedFiles.length === 0) return undefined;
    const outside = [...new Set(refusedFiles)].slice(0, 1);
    refusedFiles = [];
    return new ContainmentError(
      `${name}: HDF5 object ${quote(object || '/')} refers to the file ${quote(outside[0], 200)} (an external link, external storage or a virtual dataset), which convscope refuses to read; a model may read only its own file.`,
    );
  }

  let file: H5.File;
  try {
    file = contained('/', 'opening the file', () => new h5.File(path, 'r'));
  } catch (e) {
    cleanup();
    throw e;
  }
  let open = true;

  function guard<T>(doing: string, fn: () => T, object = '', needs = 0): T {
    if (!open) throw new ConvscopeError(`${name} was closed; open it again to read weights.`);
    return contained(object, doing, fn, needs);
  }

  /** Bytes of one decompressed chunk of each compressed dataset whose header was read. */
  const chunkBytes = new Map<string, number>();

  const entities = new Map<string, H5.Entity | null>();
  function entity(path: string): H5.Entity | null {
    if (path === '' || path === '/') return file;
    let e = entities.get(path);
    if (e === undefined) {
      e = file.get(path);
      entities.set(path, e);
    }
    return e;
  }

  const attributeNames = new Map<string, string[]>();
  function namesOf(path: string): string[] {
    let names = attributeNames.get(path);
    if (!names) {
      const e = entity(path) as H5.Group | H5.Dataset | null;
      names = e ? Object.keys(e.attrs) : [];
      attributeNames.set(path, names);
    }
    return names;
  }

  function attribute(path: string, attr: string): unknown {
    return guard(`reading attribute '${attr}' of '${path || '/'}'`, () => {
      if (!namesOf(path).includes(attr)) return undefined;
      return (entity(path) as H5.Group | H5.Dataset).get_attribute(attr, false);
    }, path);
  }

  const self: Hdf5File = {
    name,
    kind(path) {
      return guard(`looking up '${path}'`, () => {
        const e = entity(path);
        if (e instanceof h5.Group) return 'group';
        if (e instanceof h5.Dataset) return 'dataset';
        return undefined;
      }, path);
    },
    keys(path) {
      return guard(`listing '${path || '/'}'`, () => {
        const e = entity(path);
        return e instanceof h5.Group ? e.keys() : [];
      }, path);
    },
    attrNames(path) {
      return guard(`listing the attributes of '${path || '/'}'`, () => [...namesOf(path)], path);
    },
    ...textAttributes(name, (path) => self.attrNames(path), attribute),
    dataset(path, what) {
      return guard(`reading the header of '${path}'`, () => {
        const e = entity(path);
        if (!(e instanceof h5.Dataset)) {
          throw new ModelFormatError(`${name} names ${what} at '${path}', but ${e ? 'that is not a dataset' : 'there is nothing there'}.`);
        }
        const meta = e.metadata;
        if (meta.virtual_sources && meta.virtual_sources.length > 0) {
          const files = [...new Set(meta.virtual_sources.map((v) => v.file_name))];
          throw new ContainmentError(
            `${name}: ${what} at ${quote(path)} is an HDF5 virtual dataset whose data lives in ${files.map((f) => quote(f, 200)).join(', ')}, which convscope refuses to read; a model may read only its own file.`,
          );
        }
        // From the metadata already read: each h5wasm call re-opens the object by path (e.shape would
        // read the metadata again), and only a chunked dataset can have filters (compression).
        const shape = meta.shape ?? [];
        const compressed = meta.chunks !== null && e.filters.length > 0;
        checkDatasetSize(name, what, path, shape, meta.size, meta.chunks ?? undefined, compressed, source.size, limits, { bytes: MAX_DATASET_BYTES, engine: 'h5wasm' });
        if (compressed) chunkBytes.set(path, (meta.chunks ?? []).reduce((a, b) => a * b, 1) * meta.size);
        return { path, shape, dtype: toDType(name, path, meta) };
      }, path);
    },
    async read(dataset, part) {
      if (dataset.dtype === 'float16') {
        throw new UnsupportedError(`${name}: dataset '${dataset.path}' stores float16 values, which convscope cannot read from HDF5 yet.`);
      }
      // The read brings the dataset into h5wasm's memory (whole or a slab at a time), and decompressing
      // a chunk holds it twice at most while its buffer grows.
      const bytes = dataset.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dataset.dtype];
      const needs = bytes + 2 * (chunkBytes.get(dataset.path) ?? 0);
      return guard(`reading '${dataset.path}'`, () => {
        const e = entity(dataset.path) as H5.Dataset;
        const numbers = (value: unknown): TensorData => {
          if (!ArrayBuffer.isView(value)) throw new ModelFormatError(`${name}: dataset '${dataset.path}' does not hold numbers.`);
          return value as TensorData;
        };
        const { shape } = dataset;
        const width = DTYPE_BYTES[dataset.dtype];
        const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * width;
        const first = part?.start ?? 0;
        const rows = part ? part.count : shape[0] ?? 0;
        if (part && (shape.length === 0 || !Number.isSafeInteger(first) || !Number.isSafeInteger(rows) || first < 0 || rows < 0 || first + rows > shape[0]!)) {
          throw new RangeError(`${name}: rows ${first} to ${first + rows} lie outside dataset '${dataset.path}' of shape (${shape.join(', ')}).`);
        }
        const meta = e.metadata;
        const whole = !part && (shape.length === 0 || rows * rowBytes <= SLAB_BYTES || rowBytes === 0 || !meta.littleEndian || meta.vlen);
        if (whole) return numbers(e.value);
        if (!meta.littleEndian || meta.vlen) {
          throw new UnsupportedError(`${name}: dataset '${dataset.path}' cannot be read in parts (${meta.vlen ? 'variable-length' : 'big-endian'} values).`);
        }
        const out = storedLayoutArray(dataset.dtype, (rows * rowBytes) / width);
        if (!out) throw new UnsupportedError(`${name}: dataset '${dataset.path}' cannot be read in parts (${dataset.dtype} values).`);
        if (rows * rowBytes === 0) return out;
        // Rows are read a slab at a time, through one buffer in h5wasm's WebAssembly memory (which never
        // shrinks), straight into the one array returned: no second copy of the rows in either memory.
        const bytes = new Uint8Array(out.buffer);
        const step = Math.max(1, Math.floor(SLAB_BYTES / rowBytes));
        const module = h5.Module;
        const slab = module._malloc(Math.min(step, rows) * rowBytes);
        if (slab === 0) throw new UnsupportedError(`${name}: reading '${dataset.path}' needs more memory than h5wasm can give.`);
        try {
          for (let done = 0; done < rows; done += step) {
            const n = Math.min(step, rows - done);
            const count = shape.map((d, i) => BigInt(i === 0 ? n : d));
            const offset = shape.map((_, i) => BigInt(i === 0 ? first + done : 0));
            const strides = shape.map(() => 1n);
            module.get_dataset_data(e.file_id, e.path, count, offset, strides, BigInt(slab));
            bytes.set(module.HEAPU8.subarray(slab, slab + n * rowBytes), done * rowBytes);
          }
        } finally {
          module._free(slab);
        }
        return out;
      }, dataset.path, needs);
    },
    close() {
      if (!open) return;
      open = false;
      try {
        file.close();
      } finally {
        cleanup();
      }
    },
  };
  return self;
}
