import { NamedTensor } from './named-tensor.js';
import type { AxisName, LayerKind } from './axes.js';
import type { DType, TensorData } from './dtype.js';
import { ModelFormatError } from './errors.js';
import type { LayerGraph } from './graph.js';
import type { Concept } from './errors.js';

/** Identifiers of the readers in src/formats. */
export type FormatId =
  | 'keras-h5'
  | 'keras-weights-h5'
  | 'keras-v3'
  | 'tfjs-layers'
  | 'tfjs-graph'
  | 'pytorch'
  | 'safetensors'
  | 'onnx'
  | 'tf-savedmodel'
  | 'tf-checkpoint';

/** The framework whose conventions (layout, indexing expression) the file follows. */
export type Framework = 'keras' | 'tfjs' | 'pytorch' | 'onnx' | 'safetensors' | 'tensorflow';

/**
 * What a weight is for, in the Keras vocabulary wherever the meaning is the same across frameworks:
 * kernel, bias, gamma, beta, moving_mean, moving_variance, depthwise_kernel, pointwise_kernel,
 * recurrent_kernel, embeddings, num_batches_tracked. Weights with no known role keep their own name.
 */
export type WeightRole = string;

export interface Weight {
  /** The name or path as stored in the file (`conv_1/kernel:0`, `features.0.weight`). */
  readonly name: string;
  readonly role: WeightRole;
  readonly shape: readonly number[];
  readonly axes: readonly AxisName[];
  /** The dtype as stored (float16 weights read back as float32 values). */
  readonly dtype: DType;
  /** Name of the layer owning the weight. */
  readonly layer: string;
  /** Reads this one tensor from the file; nothing else is read. */
  read(): Promise<NamedTensor>;
  /**
   * Reads `count` whole rows of the first axis from row `start` (C order, same axes, first dimension
   * `count`), when the format can read part of a tensor without the rest: a caller goes through a
   * weight larger than memory should hold at once a slab at a time. Absent where only whole reads exist.
   */
  readRows?(start: number, count: number): Promise<NamedTensor>;
}

/**
 * Weight.readRows over a format's reader of raw rows (C order): the range is checked against the first
 * dimension before anything is read, the values returned are counted, and the weight's axes are kept.
 */
export function rowReader(
  weight: { readonly source: string; readonly name: string; readonly shape: readonly number[]; readonly axes: readonly AxisName[] },
  read: (start: number, count: number) => Promise<TensorData>,
): (start: number, count: number) => Promise<NamedTensor> {
  const rows = weight.shape[0] ?? 0;
  const rowValues = weight.shape.slice(1).reduce((a, b) => a * b, 1);
  return async (start, count) => {
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(count) || start < 0 || count < 0 || start + count > rows) {
      throw new RangeError(`Rows ${start} to ${start + count} are outside weight '${weight.name}', which has ${rows} rows.`);
    }
    const data = await read(start, count);
    if (data.length !== count * rowValues) {
      throw new ModelFormatError(`${weight.source}: rows ${start} to ${start + count} of weight '${weight.name}' should hold ${count * rowValues} values, but they hold ${data.length}.`);
    }
    return new NamedTensor(weight.axes, [count, ...weight.shape.slice(1)], data);
  };
}

export interface Layer {
  readonly name: string;
  /** The class as the file names it (`Conv2D`, `Convolution2D`, `Conv`, `torch:conv`). */
  readonly className: string;
  readonly kind: LayerKind;
  /** The layer's configuration as stored (snake_case keys), or {} where the file has none. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Names of the layers feeding this one, where the file records them. */
  readonly inbound: readonly string[];
  readonly weights: readonly Weight[];
  /** false when the config marks the layer frozen; undefined when unknown. */
  readonly trainable?: boolean;
  /** Path of enclosing nested models, outermost first (e.g. ['model2'] for MobileNet inside a Sequential). */
  readonly parents?: readonly string[];
}

export interface Model {
  readonly format: FormatId;
  readonly framework: Framework;
  /** Version of the framework that wrote the file, where recorded (`2.5.0`, `1.3.1`). */
  readonly frameworkVersion?: string;
  /** The file (or files) the model was read from, for messages. */
  readonly source: string;
  readonly layers: readonly Layer[];
  /**
   * Tensors a checkpoint holds besides the model's weights: optimizer slots (Adam m/v, each with the
   * layer of the variable it belongs to), optimizer counters, metric totals. Never part of a layer.
   */
  readonly trainingState?: readonly Weight[];
  /** The architecture config as stored, where the file (or a separate architecture JSON) has one. */
  readonly config?: unknown;
  /**
   * The architecture as a runtime call graph, converted from the stored JSON by the reader on first
   * call (errors in the architecture surface then); absent when the file holds no runnable architecture.
   */
  callGraph?(): LayerGraph;
  /** Free-form metadata from the file (safetensors __metadata__, .keras metadata.json, ...). */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * What the user states Keras Lambda layers compute, by layer name (`--lambda lambda_1='x / 127.5 - 1'`;
   * model/expression.ts): engines run these instead of refusing the layer.
   */
  readonly lambdas?: Readonly<Record<string, string>>;
  /** Notes a reader wants a user to see (for example "no architecture: axes are unnamed"). */
  readonly notes?: readonly Note[];
  /** Releases file handles. Weights cannot be read afterwards. */
  close(): void;
}

/**
 * The last path component of a source name (`/a/b/model.json` -> `model.json`): how text a user may
 * share (a report, the viewer) names a model, never by its absolute path.
 */
export function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

/**
 * A sentence for the user about a model, and, like ConvscopeError's `concept`, the setting that would
 * change what it says: each surface names its own control for it (the CLI its flag, the viewer its menu).
 */
export interface Note {
  readonly text: string;
  readonly concept?: Concept;
}
