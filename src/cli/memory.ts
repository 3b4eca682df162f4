import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DTYPE_BYTES } from '../model/dtype.js';
import type { Weight } from '../model/model.js';

/** A full collection runs once this many bytes of tensors have been dropped since the last one. */
const COLLECT_BYTES = 32 * 1024 * 1024;
let dropped = 0;
let collect: (() => void) | undefined;

/**
 * Called by commands that go through a model one weight (or one slab of a weight) at a time, after
 * dropping `bytes` of tensor values: once 32 MiB are dropped, a full collection frees them now. V8
 * would otherwise still hold them while the next layer is read (measured on VGG16: fc1's 392 MiB kernel
 * alive while fc2's 64 MiB one is read; and ~100 MiB of 4 MiB slabs while one kernel is streamed),
 * so that peak memory were two layers, not the largest one.
 */
export function releaseDropped(bytes: number): void {
  dropped += bytes;
  if (dropped < COLLECT_BYTES) return;
  dropped = 0;
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}

/** The bytes a weight's values take in memory (at least 4 per value: float16 is widened on read). */
export function weightBytes(weight: Pick<Weight, 'shape' | 'dtype'>): number {
  const count = weight.shape.reduce((a, b) => a * b, 1);
  return count * Math.max(4, DTYPE_BYTES[weight.dtype]);
}
