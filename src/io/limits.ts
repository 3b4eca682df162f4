import { ResourceLimitError } from '../model/errors.js';
import { formatBytes } from '../model/format.js';

/**
 * How much memory a file may make convscope allocate, owned here. A file can ask only for what its
 * declared tensors need: every declared size is checked against the bytes really there, and where
 * bytes are decompressed (zip entries, HDF5 filters, compressed blocks) the declared output is
 * bounded by a ratio to its compressed size and by a per-tensor cap, all before anything is
 * allocated. Both limits can be raised for files the user trusts (`--max-tensor-mb`,
 * `--max-inflate-ratio`; `OpenOptions.limits` in the library).
 */
export interface ReadLimits {
  /** The largest tensor (or decompressed entry) in bytes. */
  readonly maxTensorBytes: number;
  /** Decompressed bytes per compressed byte, for outputs above `ratioFloorBytes`. */
  readonly maxInflateRatio: number;
}

export const DEFAULT_LIMITS: ReadLimits = {
  maxTensorBytes: 2 ** 31,
  maxInflateRatio: 100,
};

/** Outputs up to this size are never refused for their ratio: they cannot hurt. */
export const RATIO_FLOOR_BYTES = 32 * 1024 * 1024;

export function resolveLimits(limits: Partial<ReadLimits> | undefined): ReadLimits {
  return { ...DEFAULT_LIMITS, ...limits };
}

/** Refuses a tensor (`what`, of file `file`) of `bytes` bytes before it is allocated. */
export function checkTensorBytes(limits: ReadLimits, file: string, what: string, bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new ResourceLimitError(`${file}: ${what} declares a size that is not a real number of bytes.`);
  }
  if (bytes > limits.maxTensorBytes) {
    throw new ResourceLimitError(
      `${file}: ${what} declares ${formatBytes(bytes)}, over the tensor size limit of ${formatBytes(limits.maxTensorBytes)}; if you trust the file, raise the tensor size limit.`,
      { concept: 'tensor-limit' },
    );
  }
}

/**
 * Refuses to decompress `compressed` bytes into a declared `declared` bytes when that is over the
 * tensor cap or, above RATIO_FLOOR_BYTES, over the ratio limit (a decompression bomb).
 */
export function checkInflate(limits: ReadLimits, file: string, what: string, compressed: number, declared: number): void {
  checkTensorBytes(limits, file, what, declared);
  if (declared > RATIO_FLOOR_BYTES && declared > Math.max(compressed, 1) * limits.maxInflateRatio) {
    const ratio = Math.floor(declared / Math.max(compressed, 1));
    throw new ResourceLimitError(
      `${file}: ${what} declares ${formatBytes(declared)} from ${formatBytes(compressed)} compressed, a ratio of ${ratio}:1, over the decompression ratio limit of ${limits.maxInflateRatio}:1; if you trust the file, raise the decompression ratio limit.`,
      { concept: 'inflate-ratio' },
    );
  }
}
