import { ModelFormatError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { checkReferencedName } from './containment.js';

/**
 * Random-access bytes of one model file, wherever they live: a file on disk (Node), a browser File or
 * an in-memory buffer. Readers only ever see this interface, so the same reader runs in Node and in
 * the browser.
 */
export interface ByteSource {
  /** A name for messages: the file path in Node, the file name in the browser. */
  readonly name: string;
  /** Real size in bytes; every offset and length a file declares is checked against it. */
  readonly size: number;
  /** Reads exactly `length` bytes at `offset`; throws a ModelFormatError when they are not there. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * A file in this model's folder that its format names (a TF.js shard, ONNX external data), by
   * relative name; `what` says what it is for messages ("weight shard"). Every implementation applies
   * the containment rule (io/containment.ts): names leaving the folder, absolute paths, URLs and
   * symbolic links out of the folder are refused with a ContainmentError.
   */
  sibling(relativeName: string, what?: string): Promise<ByteSource>;
  /** A path on the local file system, where there is one (lets h5wasm read the file in place). */
  readonly localPath?: string;
  /** True when every `read` returns a new buffer nobody else holds, which the caller may keep as is. */
  readonly freshReads?: boolean;
  /** Releases what reading holds open (a file descriptor); a later read opens it again. */
  close?(): void;
}

/** Checks that [offset, offset + length) lies inside a source of `size` bytes. */
export function checkRange(name: string, size: number, offset: number, length: number, what = 'data'): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new ModelFormatError(
      `${name}: ${what} at offset ${offset} with length ${length} lies outside the file, which has ${size} bytes.`,
    );
  }
}

/** Reads the whole source (for small files: JSON, configs). */
export function readAll(source: ByteSource): Promise<Uint8Array> {
  return source.read(0, source.size);
}

/**
 * A source over bytes already in memory; `siblings` resolves neighbouring files by name, and is only
 * ever given names that passed the containment rule.
 */
export function bytesSource(
  name: string,
  bytes: Uint8Array,
  siblings: (relativeName: string) => Promise<ByteSource> = async (rel) => {
    throw new ModelFormatError(`${name} refers to ${quote(rel)}, which was not provided.`);
  },
): ByteSource {
  return {
    name,
    size: bytes.length,
    async read(offset, length) {
      checkRange(name, bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
    sibling(relativeName, what = 'the file') {
      return siblings(checkReferencedName(name, what, relativeName));
    },
  };
}

/** Decodes UTF-8 JSON from a source, with a format error naming the file when it is not JSON. */
export async function readJson(source: ByteSource): Promise<unknown> {
  const text = new TextDecoder().decode(await readAll(source));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${source.name} is not valid JSON (${(e as Error).message}).`);
  }
}
