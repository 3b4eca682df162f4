import { dataDType, type DType, type TensorData } from '../model/dtype.js';

/** One tensor to store: C-order data and its shape. */
export interface SafetensorsTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

const CODES: Partial<Record<DType, string>> = {
  float64: 'F64',
  float32: 'F32',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint16: 'U16',
  uint8: 'U8',
};

/**
 * Encodes tensors as a safetensors file: an 8-byte little-endian header length, a JSON header
 * ({name: {dtype, shape, data_offsets}} plus string-valued `__metadata__`) padded with spaces to a
 * multiple of 8 bytes, then every tensor's bytes back to back, in the given order (typed arrays are
 * little-endian on every platform Node and browsers run on).
 */
export function encodeSafetensors(tensors: readonly SafetensorsTensor[], metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const code = CODES[dataDType(t.data)];
    if (!code) throw new RangeError(`safetensors cannot store tensor '${t.name}' of type ${dataDType(t.data)}.`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) throw new RangeError(`Tensor '${t.name}' has shape [${t.shape.join(', ')}] but ${t.data.length} values.`);
    if (t.name in header) throw new RangeError(`Tensor name '${t.name}' appears twice.`);
    header[t.name] = { dtype: code, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let at = 8 + padded;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
