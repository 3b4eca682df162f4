import { ModelFormatError, UnsupportedError } from './errors.js';
import { dataDType, decodeLittleEndian, DTYPE_BYTES, type DType, type TensorData } from './dtype.js';

const NPY_DESCR: Partial<Record<DType, string>> = {
  float64: '<f8',
  float32: '<f4',
  /** Written from a Uint16Array of half-precision bit patterns. */
  float16: '<f2',
  int64: '<i8',
  int32: '<i4',
  int16: '<i2',
  int8: '|i1',
  uint8: '|u1',
  uint16: '<u2',
  bool: '|b1',
};

const DESCR_DTYPE: Record<string, DType> = {
  '<f8': 'float64',
  '<f4': 'float32',
  '<f2': 'float16',
  '<i8': 'int64',
  '<i4': 'int32',
  '<i2': 'int16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<u2': 'uint16',
  '|b1': 'bool',
};

/** Encodes a C-order array as NumPy .npy (format 1.0), loadable with np.load. */
export function encodeNpy(data: TensorData, shape: readonly number[], dtype: DType = dataDType(data)): Uint8Array {
  const descr = NPY_DESCR[dtype];
  if (!descr) throw new UnsupportedError(`Cannot write dtype '${dtype}' to .npy.`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const headerBytes = new TextEncoder().encode(header);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(10 + headerBytes.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, headerBytes.length, true);
  out.set(headerBytes, 10);
  out.set(body, 10 + headerBytes.length);
  return out;
}

export interface NpyArray {
  dtype: DType;
  shape: number[];
  data: TensorData;
}

/** Decodes a little-endian, C-order .npy file (format 1.x, 2.x or 3.x). */
export function decodeNpy(bytes: Uint8Array, name = 'the .npy input'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) {
    throw new ModelFormatError(`${name} is not a NumPy .npy file (missing the \\x93NUMPY magic).`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6]!;
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  if (headerStart + headerLen > bytes.length) {
    throw new ModelFormatError(`${name} declares a ${headerLen}-byte header, but the file has only ${bytes.length} bytes.`);
  }
  const header = new TextDecoder().decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) {
    throw new ModelFormatError(`${name} has a malformed .npy header: ${JSON.stringify(header.trim())}.`);
  }
  const dtype = DESCR_DTYPE[descr];
  if (!dtype) throw new UnsupportedError(`${name} has dtype '${descr}', which convscope does not read.`);
  if (fortran === 'True') throw new UnsupportedError(`${name} is stored in Fortran order; save it with C order.`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new ModelFormatError(`${name} has an invalid shape (${shapeText}).`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const bodyStart = headerStart + headerLen;
  const needed = count * DTYPE_BYTES[dtype];
  if (bytes.length - bodyStart < needed) {
    throw new ModelFormatError(
      `${name} declares shape (${shape.join(', ')}) needing ${needed} bytes, but only ${bytes.length - bodyStart} follow the header.`,
    );
  }
  const data = decodeLittleEndian(bytes.subarray(bodyStart, bodyStart + needed), dtype, count);
  return { dtype: dtype === 'float16' ? 'float32' : dtype, shape, data };
}
