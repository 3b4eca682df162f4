import type { ImageSet } from './dataset.js';

/** What a loader reads from disk: one or two sets, before any split. */
export interface LoadedImages {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly maxValue: number;
  readonly classes: readonly string[];
  readonly train: ImageSet;
  /** The official test set, when the format has one. */
  readonly test?: ImageSet;
}
