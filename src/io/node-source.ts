import { open, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { ConvscopeError, ModelFormatError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkInsideFolder, checkReferencedName } from './containment.js';
import { checkRange, type ByteSource } from './source.js';

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
 * and every sibling is resolved with realpath and must lie inside it (io/containment.ts).
 */
export function fileSource(path: string): Promise<ByteSource> {
  return localSource(path, path);
}

/** `path` names the file in messages; `at` is where it is read (the realpath, for a sibling). */
async function localSource(path: string, at: string, folder?: string): Promise<ByteSource> {
  let size: number;
  try {
    const st = await stat(at);
    if (st.isDirectory()) throw new ConvscopeError(`${path} is a directory, not a model file.`);
    if (!st.isFile()) throw new ConvscopeError(`${path} is not a regular file.`);
    size = st.size;
  } catch (e) {
    if (e instanceof ConvscopeError) throw e;
    throw openError(path, e);
  }
  let realFolder = folder;
  return {
    name: path,
    size,
    localPath: resolve(at),
    async read(offset, length) {
      checkRange(path, size, offset, length);
      const handle = await open(at, 'r');
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) throw new ModelFormatError(`${path} ended after ${offset + done} bytes while reading.`);
          done += bytesRead;
        }
        return out;
      } finally {
        await handle.close();
      }
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
      return localSource(join(dirname(path), name), real, realFolder);
    },
  };
}
