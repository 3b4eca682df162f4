import { ModelFormatError } from '../model/errors.js';
import { escapeText, quote } from '../model/quote.js';
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

/** Deeper JSON than this is refused before parsing: no model file nests so deep, and readers recurse. */
export const MAX_JSON_DEPTH = 512;

/** The deepest nesting of arrays and objects in JSON text (strings skipped), scanning at most until `limit` is passed. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Parses JSON text from a file (`where` names it: "model.json", "x.h5: the model_config attribute"):
 * a syntax error or nesting deeper than MAX_JSON_DEPTH is a ModelFormatError, quoted safely.
 */
export function parseJson(text: string, where: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new ModelFormatError(`${where} nests JSON deeper than ${MAX_JSON_DEPTH} levels, which no model file needs.`);
  }
  try {
    return JSON.parse(text, reviver);
  } catch (e) {
    throw new ModelFormatError(`${where} is not valid JSON (${escapeText((e as Error).message, 120)}).`);
  }
}

/** Decodes UTF-8 JSON from a source, with a format error naming the file when it is not JSON. */
export async function readJson(source: ByteSource): Promise<unknown> {
  return parseJson(new TextDecoder().decode(await readAll(source)), source.name);
}

/** The bytes of `parts` one after another, in one new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
