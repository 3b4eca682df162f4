import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DTYPE_BYTES } from '../model/dtype.js';
import type { Weight } from '../model/model.js';

/** Below this, a dropped tensor is left to V8's own pace. */
const LARGE_BYTES = 64 * 1024 * 1024;
let collect: (() => void) | undefined;

/**
 * Called by commands that go through a model one weight at a time, after dropping a weight of `bytes`:
 * when it was large, a full collection frees it now. V8 would otherwise still hold it while the next
 * layer is read (measured on VGG16: fc1's 392 MiB kernel alive while fc2's 64 MiB one is read), so that
 * peak memory were two layers, not the largest one.
 */
export function releaseDropped(bytes: number): void {
  if (bytes < LARGE_BYTES) return;
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
