import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'fflate';
import { DataError } from '../model/errors.js';

/** Reads a data file whole, naming it in the error when it is missing or unreadable. */
export async function readDataFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'it does not exist' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new DataError(`Cannot read ${what} '${path}': ${why}.`);
  }
}

/** gunzips bytes that start with the gzip magic number, and passes others through. */
export function maybeGunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new DataError(`'${path}' starts like a gzip file but does not decompress: ${(e as Error).message}.`);
  }
}

/** The first of `candidates` that exists, or undefined. */
export async function firstExisting(candidates: readonly string[]): Promise<string | undefined> {
  for (const path of candidates) {
    if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  }
  return undefined;
}

/** Throws a DataError when `dir` is not a directory. */
export async function requireDirectory(dir: string, kind: string): Promise<void> {
  const s = await stat(dir).catch(() => undefined);
  if (!s) throw new DataError(`The ${kind} data directory '${dir}' does not exist.`);
  if (!s.isDirectory()) throw new DataError(`The ${kind} data location '${dir}' is a file; expects a directory.`);
}
