import { cleanMessage } from './quote.js';

/**
 * Every error a user can cause is a ConvscopeError: its message is one full sentence naming the file,
 * the layer or the value at fault. The CLI prints the message (no stack) and exits non-zero.
 * Anything else that escapes is a bug in convscope.
 */
export class ConvscopeError extends Error {
  override name = 'ConvscopeError';
  /** The setting that would fix this, as a concept; each surface names its own control for it (a CLI flag, a viewer menu). */
  readonly concept?: Concept;

  /** The message is cleaned (model/quote.ts): bytes copied from a file cannot put control characters on a terminal. */
  constructor(message: string, options: { concept?: Concept } = {}) {
    super(cleanMessage(message));
    if (options.concept) this.concept = options.concept;
  }
}

/**
 * Settings an error can point to. Library messages name the concept in words ("the architecture JSON",
 * "the channel mode"); the CLI adds its flag (cli/run.ts), the viewer its field or menu (web/client/wording.ts).
 */
export type Concept =
  | 'architecture'
  | 'layout'
  | 'channels'
  | 'tile-size'
  /** Which layer to look at. */
  | 'layer'
  /** What a Keras Lambda layer computes, stated by the user as an expression in x. */
  | 'lambda'
  /** A preprocessed input array given instead of an image. */
  | 'input-array'
  /** The largest tensor a file may make convscope allocate (io/limits.ts). */
  | 'tensor-limit'
  /** The largest decompression ratio accepted (io/limits.ts). */
  | 'inflate-ratio'
  /** How many top examples are kept per filter. */
  | 'top'
  /** How many noisy samples SmoothGrad averages, and their noise level. */
  | 'samples'
  /** The largest weight a report embeds whole (larger ones are shown as a picture and histograms). */
  | 'weight-limit'
  /** How image pixels become the network's input (a preset, per-channel mean and std). */
  | 'preprocess'
  /** How a photograph is fitted to the network's input size (stretch, centre crop, pad). */
  | 'resize'
  /** Which attribution method explains a prediction. */
  | 'method'
  /** The image a run, an attribution or a report is made for. */
  | 'image'
  /** The port the viewer listens on. */
  | 'port'
  /** The Redis server that queues shards of a long run. */
  | 'redis'
  /** A training run's weight snapshots (a snapshot directory). */
  | 'snapshots'
  /** The data set whose images are ranked, trained on or probed. */
  | 'data-set';

/** The bytes are not a model of the claimed or sniffed format, or they break the format's rules. */
export class ModelFormatError extends ConvscopeError {
  override name = 'ModelFormatError';
}

/** A layer class, data type or feature that convscope recognises but cannot handle (yet). */
export class UnsupportedError extends ConvscopeError {
  override name = 'UnsupportedError';
}

/** A layer, weight, axis or index the user asked for does not exist. */
export class SelectionError extends ConvscopeError {
  override name = 'SelectionError';
}

/** Bad command-line or API options. */
export class UsageError extends ConvscopeError {
  override name = 'UsageError';
}

/** An input the user gave to run a network (an image, an array) cannot be used. */
export class InputError extends ConvscopeError {
  override name = 'InputError';
}

/** A data set (images and labels on disk) is missing, malformed or inconsistent. */
export class DataError extends ConvscopeError {
  override name = 'DataError';
}

/** A model file names something outside its own folder (a path, a URL, a symbolic link, an HDF5 external file). */
export class ContainmentError extends ConvscopeError {
  override name = 'ContainmentError';
}

/** A file asks for more memory than the stated limits allow (a tensor cap, a decompression ratio). */
export class ResourceLimitError extends ConvscopeError {
  override name = 'ResourceLimitError';
}
