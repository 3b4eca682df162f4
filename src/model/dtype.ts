/** Element types as stored in model files. */
export type DType =
  | 'float64'
  | 'float32'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'uint16'
  | 'bool';

/**
 * What a tensor holds in memory. float16 and bfloat16 are widened to Float32Array on read (the
 * stored type stays on the Weight), bool is Uint8Array, int64 stays exact in BigInt64Array.
 */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint8Array
  | Uint16Array;

/** Bytes per element as stored. */
export const DTYPE_BYTES: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  uint16: 2,
  bool: 1,
};

/** The dtype a TensorData array represents in memory. */
export function dataDType(data: TensorData): DType {
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  return 'uint8';
}

/** Decodes one IEEE 754 half-precision value. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Encodes one value as IEEE 754 half precision (round to nearest even; overflow to infinity). */
export function floatToHalf(x: number): number {
  F32[0] = x;
  const bits = U32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && half & 1) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Typed arrays whose in-memory layout equals the stored one on a little-endian host. */
const SAME_LAYOUT: Partial<Record<DType, new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => TensorData>> = {
  float32: Float32Array,
  float64: Float64Array,
  int64: BigInt64Array,
  int32: Int32Array,
  int16: Int16Array,
  uint16: Uint16Array,
};

/** A zeroed array of `count` elements whose bytes are `dtype`'s little-endian stored bytes; undefined when no typed array has that layout here. */
export function storedLayoutArray(dtype: DType, count: number): TensorData | undefined {
  const same = SAME_LAYOUT[dtype];
  return HOST_LITTLE_ENDIAN && same ? new same(new ArrayBuffer(count * DTYPE_BYTES[dtype])) : undefined;
}

/**
 * Decodes little-endian stored bytes of `count` elements of `dtype` into an in-memory array of its own.
 * The caller has checked that `bytes` holds at least count * DTYPE_BYTES[dtype] bytes. `owned` says that
 * nobody else holds `bytes` nor the rest of their buffer (a fresh read from a file, perhaps with a few
 * bytes around it): then, when they are aligned for the dtype, the array is a view of them instead of
 * a second copy.
 */
export function decodeLittleEndian(bytes: Uint8Array, dtype: DType, count: number, owned = false): TensorData {
  const same = SAME_LAYOUT[dtype];
  const width = DTYPE_BYTES[dtype];
  const byteLength = count * width;
  if (HOST_LITTLE_ENDIAN && same && owned && bytes.buffer instanceof ArrayBuffer && bytes.byteOffset % width === 0 && bytes.byteLength >= byteLength) {
    return new same(bytes.buffer, bytes.byteOffset, count);
  }
  // Uint8Array's own slice copies (Node's Buffer#slice would return a view into a shared pool).
  if (HOST_LITTLE_ENDIAN && same) return new same(Uint8Array.prototype.slice.call(bytes, 0, byteLength).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'float16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'bfloat16': {
      const out = new Float32Array(count);
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        word.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = word.getFloat32(0);
      }
      return out;
    }
    case 'int64': {
      const out = new BigInt64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getBigInt64(i * 8, true);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    }
    case 'uint16': {
      const out = new Uint16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getUint16(i * 2, true);
      return out;
    }
    case 'int8':
      return new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count));
    case 'uint8':
    case 'bool':
      return Uint8Array.prototype.slice.call(bytes, 0, count);
  }
}
