import protobuf from 'protobufjs/light.js';
import { ModelFormatError } from '../model/errors.js';
import { escapeText } from '../model/quote.js';

/**
 * Decodes one protobuf message with protobufjs; a malformed message (a bad tag or wire type, a length
 * past the end, invalid UTF-8 in a string field) becomes a ModelFormatError naming the file (`where`)
 * and the message (`what`).
 */
export function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array, where: string, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (e) {
    throw new ModelFormatError(`${where}: ${what} is not a valid protobuf message (${escapeText((e as Error).message ?? String(e), 120)}).`);
  }
}

/** Runs a protobufjs Reader over `bytes`; a varint or length running past the end becomes a ModelFormatError. */
export function readProto<T>(where: string, what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ModelFormatError) throw e;
    throw new ModelFormatError(`${where}: ${what} is not valid protobuf data (${escapeText((e as Error).message ?? String(e), 120)}).`);
  }
}
