import protobuf from 'protobufjs/light.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { concatBytes, type ByteSource } from '../io/source.js';

/**
 * Lists the fields of one protobuf message lying at [start, end) of a source without reading the
 * payloads: protobufjs decodes whole messages from memory, so an ONNX model's graph is walked field
 * by field here and only the small messages (nodes, tensor headers) are handed to protobufjs.
 * Varints are decoded by protobufjs' Reader; every declared length is checked against `end`.
 */
export interface FieldRef {
  readonly field: number;
  /** 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  readonly wire: number;
  /** Where the field's tag starts. */
  readonly tagOffset: number;
  /** Where the payload starts (after the length for wire type 2). */
  readonly offset: number;
  /** Payload bytes. */
  readonly length: number;
}

const WINDOW = 64 * 1024;

export async function listFields(source: ByteSource, start: number, end: number, what: string): Promise<FieldRef[]> {
  const fields: FieldRef[] = [];
  let windowStart = start;
  let window: Uint8Array = new Uint8Array(0);
  const varintAt = async (at: number): Promise<[value: number, next: number]> => {
    if (at - windowStart < 0 || at + 10 > windowStart + window.length) {
      windowStart = at;
      window = await source.read(at, Math.min(WINDOW, end - at));
    }
    const reader = protobuf.Reader.create(window.subarray(at - windowStart, Math.min(window.length, at - windowStart + 10)));
    try {
      const value = reader.uint32();
      return [value, at + reader.pos];
    } catch {
      throw new ModelFormatError(`${source.name}: ${what} is damaged at byte ${at} (a varint runs past the end of the message).`);
    }
  };
  let p = start;
  while (p < end) {
    const [tag, afterTag] = await varintAt(p);
    const field = tag >>> 3;
    const wire = tag & 7;
    let offset = afterTag;
    let length: number;
    if (wire === 0) {
      const [, next] = await varintAt(afterTag);
      length = next - afterTag;
    } else if (wire === 1) length = 8;
    else if (wire === 5) length = 4;
    else if (wire === 2) {
      [length, offset] = await varintAt(afterTag);
    } else {
      throw new UnsupportedError(`${source.name}: ${what} uses protobuf wire type ${wire} at byte ${p}, which convscope does not read.`);
    }
    if (field === 0 || offset + length > end) {
      throw new ModelFormatError(
        `${source.name}: ${what} declares a field of ${length} bytes at byte ${offset}, but the message ends at byte ${end}.`,
      );
    }
    fields.push({ field, wire, tagOffset: p, offset, length });
    p = offset + length;
  }
  return fields;
}

/** The bytes of the given fields (tags included), concatenated: a valid message holding only them. */
export async function readFields(source: ByteSource, fields: readonly FieldRef[]): Promise<Uint8Array> {
  return concatBytes(await Promise.all(fields.map((f) => source.read(f.tagOffset, f.offset + f.length - f.tagOffset))));
}

/** Decodes a packed varint payload (int32_data, int64_data, uint64_data) with protobufjs' Reader. */
export function decodePackedVarints(payload: Uint8Array, signed64: boolean): bigint[] {
  const reader = protobuf.Reader.create(payload);
  const out: bigint[] = [];
  while (reader.pos < reader.len) {
    const v = signed64 ? reader.int64() : reader.uint64();
    out.push(BigInt(v.toString()));
  }
  return out;
}
