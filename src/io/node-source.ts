import { closeSync, openSync, read as readAsync, readSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ConvscopeError, ModelFormatError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkInsideFolder, checkReferencedName } from './containment.js';
import { checkRange, type ByteSource } from './source.js';

/**
 * Reads up to this many bytes synchronously: metadata and tensors come back without a trip through
 * libuv's thread pool (a file in the page cache is read at memory speed, ~10 ms for 64 MiB, while on a
 * busy machine each trip waits for a pool thread to be scheduled: resnet18.pt's four 5-9 MiB kernels
 * read through the pool made reading it 2.5x slower than the ONNX export under load 20). Larger reads
 * go through the pool so that a web request does not stall the server for the length of a 400 MB kernel.
 */
const SYNC_READ_BYTES = 64 << 20;

function readInto(fd: number, out: Uint8Array, done: number, position: number): Promise<number> {
  return new Promise((ok, fail) => readAsync(fd, out, done, out.length - done, position, (e, n) => (e ? fail(e) : ok(n))));
}

function openError(path: string, e: unknown): ConvscopeError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ConvscopeError(`${path} does not exist.`);
  if (code === 'EACCES') return new ConvscopeError(`${path} cannot be read (permission denied).`);
  if (code === 'ELOOP') return new ConvscopeError(`${path} cannot be opened (a loop of symbolic links).`);
  return new ConvscopeError(`${path} cannot be opened (${(e as Error).message}).`);
}

/**
 * A ByteSource over a local file, read on demand (never loaded whole). Its siblings are the files of
 * the model's folder: `folder` is that folder, resolved with realpath once when the model is opened,
 * and every sibling is resolved with realpath and must lie inside it (io/containment.ts). Reads share
 * one descriptor, opened at the first read and kept until `close()` (which also closes the siblings).
 */
export function fileSource(path: string): Promise<ByteSource> {
  return localSource(path, path);
}

/** `path` names the file in messages; `at` is where it is read (the realpath, for a sibling). */
async function localSource(path: string, at: string, folder?: string): Promise<ByteSource> {
  let size: number;
  try {
    // Synchronous, as reads are (see SYNC_READ_BYTES): a stat answers from the inode cache, while a trip
    // through the thread pool waits for a pool thread on a busy machine.
    const st = statSync(at);
    if (st.isDirectory()) throw new ConvscopeError(`${path} is a directory, not a model file.`);
    if (!st.isFile()) throw new ConvscopeError(`${path} is not a regular file.`);
    size = st.size;
  } catch (e) {
    if (e instanceof ConvscopeError) throw e;
    throw openError(path, e);
  }
  let realFolder = folder;
  let fd: number | undefined;
  const siblings: ByteSource[] = [];
  const descriptor = (): number => {
    if (fd === undefined) {
      try {
        fd = openSync(at, 'r');
      } catch (e) {
        throw openError(path, e);
      }
    }
    return fd;
  };
  const ended = (done: number, offset: number) => new ModelFormatError(`${path} ended after ${offset + done} bytes while reading.`);
  return {
    name: path,
    size,
    localPath: resolve(at),
    freshReads: true,
    async read(offset, length) {
      checkRange(path, size, offset, length);
      // Not zero-filled first (every byte is overwritten or the read throws), and a plain Uint8Array,
      // whose slice() copies, over memory of its own (never Buffer's shared pool).
      const memory = Buffer.allocUnsafeSlow(length);
      const out = new Uint8Array(memory.buffer, memory.byteOffset, length);
      let done = 0;
      if (length <= SYNC_READ_BYTES) {
        const handle = descriptor();
        while (done < length) {
          const n = readSync(handle, out, done, length - done, offset + done);
          if (n === 0) throw ended(done, offset);
          done += n;
        }
        return out;
      }
      while (done < length) {
        const n = await readInto(descriptor(), out, done, offset + done);
        if (n === 0) throw ended(done, offset);
        done += n;
      }
      return out;
    },
    async sibling(relativeName, what = 'the file') {
      const name = checkReferencedName(path, what, relativeName);
      realFolder ??= await realpath(dirname(resolve(at)));
      let real: string;
      try {
        real = await realpath(resolve(realFolder, name));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new ConvscopeError(`${path} names ${quote(name)} as ${what}, but ${join(dirname(path), name)} does not exist.`);
        throw openError(resolve(realFolder, name), e);
      }
      checkInsideFolder(path, what, name, realFolder, real, sep);
      const source = await localSource(join(dirname(path), name), real, realFolder);
      siblings.push(source);
      return source;
    },
    close() {
      for (const s of siblings.splice(0)) s.close?.();
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
