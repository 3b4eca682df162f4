import type { LayerKind } from '../model/axes.js';
import type { FormatId, Model } from '../model/model.js';
import type { ReadLimits } from '../io/limits.js';
import { readJson, type ByteSource } from '../io/source.js';

export interface OpenOptions {
  /**
   * An architecture for weights-only files (Keras `save_weights` h5, `.weights.h5`): the parsed JSON
   * of `model.to_json()` (Keras 2 or 3), or a source holding it.
   */
  config?: unknown | ByteSource;
  /** Layer kinds the user states where shape alone is ambiguous: { 'features.3': 'conv_transpose' }. */
  layout?: Readonly<Record<string, LayerKind>>;
  /** How much memory the file may make convscope allocate (io/limits.ts); defaults to DEFAULT_LIMITS. */
  limits?: Partial<ReadLimits>;
}

/** What a reader sees when asked whether a file is its format. */
export interface Probe {
  readonly source: ByteSource;
  /** The first bytes of the file (up to 4 KiB). */
  readonly head: Uint8Array;
}

/** One reader per format, behind one small contract (cf. Netron's source/<format>.js). */
export interface FormatReader {
  readonly id: FormatId;
  /** Human name for messages and `--help`: "Keras HDF5 (.h5)". */
  readonly description: string;
  /** Decides from content, never from the extension. */
  sniff(probe: Probe): boolean | Promise<boolean>;
  open(source: ByteSource, options: OpenOptions): Promise<Model>;
}

function isByteSource(value: unknown): value is ByteSource {
  return typeof value === 'object' && value !== null && 'read' in value && 'size' in value && 'name' in value;
}

/** The architecture JSON given by the user (parsed), or undefined. */
export async function resolveConfig(config: OpenOptions['config']): Promise<unknown> {
  if (config === undefined) return undefined;
  if (!isByteSource(config)) return config;
  return readJson(config);
}
