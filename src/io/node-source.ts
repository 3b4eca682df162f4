import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ConvscopeError, ModelFormatError } from '../model/errors.js';
import { checkRange, type ByteSource } from './source.js';

/** A ByteSource over a local file, read on demand (never loaded whole). */
export async function fileSource(path: string): Promise<ByteSource> {
  let size: number;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new ConvscopeError(`${path} is a directory, not a model file.`);
    size = st.size;
  } catch (e) {
    if (e instanceof ConvscopeError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConvscopeError(`${path} does not exist.`);
    if (code === 'EACCES') throw new ConvscopeError(`${path} cannot be read (permission denied).`);
    throw new ConvscopeError(`${path} cannot be opened (${(e as Error).message}).`);
  }
  return {
    name: path,
    size,
    localPath: resolve(path),
    async read(offset, length) {
      checkRange(path, size, offset, length);
      const handle = await open(path, 'r');
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
    sibling(relativeName) {
      return fileSource(resolve(dirname(path), relativeName));
    },
  };
}
