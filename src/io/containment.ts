import { ContainmentError } from '../model/errors.js';
import { quote } from '../model/quote.js';

/**
 * The containment rule, owned here and nowhere else: a model may read only the files its format names
 * (TF.js shards, ONNX external data, safetensors shards, checkpoint shards), and only inside its own
 * folder. A name is refused when it is not a plain relative path (absolute, a drive letter, a URL, a
 * `..` segment, a NUL byte); on disk the resolved path (realpath, symlinks included) must also stay
 * inside the folder. Every ByteSource's `sibling()` applies it, so a reader cannot forget it.
 */

/** Checks a file name a model refers to (`what`: "a weight shard", "the external data of tensor 'x'"). */
export function checkReferencedName(model: string, what: string, name: unknown): string {
  const refuse = (why: string): never => {
    throw new ContainmentError(`${model} names ${quote(name)} as ${what}, which ${why}; a model may read only files inside its own folder.`);
  };
  if (typeof name !== 'string') return refuse('is not a file name');
  if (name === '' || name.length > 4096) refuse('is not a file name');
  if (name.includes('\0')) refuse('contains a NUL byte');
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(name) || /^(data|file|blob|javascript):/i.test(name)) refuse('is a URL');
  if (name.startsWith('/') || name.startsWith('\\') || /^[a-zA-Z]:/.test(name)) refuse('is an absolute path');
  if (name.split(/[\\/]/).includes('..')) refuse("climbs out with '..'");
  return name;
}

/**
 * Checks that `realPath` (already resolved with realpath) lies inside `realFolder`; `separator` is the
 * platform's path separator. Refuses a symlink or path that leads outside.
 */
export function checkInsideFolder(model: string, what: string, name: string, realFolder: string, realPath: string, separator: string): void {
  const prefix = realFolder.endsWith(separator) ? realFolder : realFolder + separator;
  if (!realPath.startsWith(prefix)) {
    throw new ContainmentError(
      `${model} names ${quote(name)} as ${what}, which resolves to ${quote(realPath, 200)} outside the model's folder ${quote(realFolder, 200)} (through a symbolic link); a model may read only files inside its own folder.`,
    );
  }
}
