import { ModelFormatError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import type { KerasLayerJson, KerasModelConfigJson, KerasTopologyJson } from './schema/keras.js';

/**
 * The one reader of stored Keras architecture JSON (every spelling below is read here and nowhere else;
 * keras-graph.ts builds the runnable call graph from these readers). Every generation, normalised once:
 * - Keras 1 and Keras 2.0 Sequential (`config` is the list of layers),
 * - Keras 2 / tf.keras Sequential and Functional (`config: { name, layers }`, `inbound_nodes` as
 *   [[[layer, node, tensor, kwargs]]]),
 * - Keras 3 (`module`, `registered_name`, DTypePolicy objects, `inbound_nodes` as
 *   [{ args: [{ class_name: '__keras_tensor__', config: { keras_history } }], kwargs }]),
 * - TF.js `modelTopology` (Keras JSON, possibly wrapped in `model_config`).
 *
 * Nested models (a MobileNet inside a Sequential) are flattened: containers (Sequential, Functional,
 * Model) are not layers; their leaf layers appear in order, each with `parents`, the names of the
 * enclosing nested models (outermost first, the top-level model excluded). Raw configs are kept intact
 * so that a runnable model can be built from them.
 */

/** One leaf layer. */
export interface KerasLayerSpec {
  readonly kind: 'layer';
  readonly name: string;
  readonly className: string;
  /** The layer's `config` exactly as stored (snake_case; DTypePolicy objects left as they are). */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Names of the leaf layers feeding this one. References to a nested model are resolved to that
   * model's output layers; a model's first layers are fed by whatever feeds the model.
   */
  readonly inbound: readonly string[];
  readonly trainable?: boolean;
  /** Enclosing nested models, outermost first (the top-level model is not listed). */
  readonly parents: readonly string[];
  /** Keras 3 `module` and `registered_name`, where stored. */
  readonly module?: string;
  readonly registeredName?: string;
}

/** A Sequential / Functional / Model and its members, in stored order. */
export interface KerasContainer {
  readonly kind: 'container';
  readonly name: string;
  readonly className: string;
  /** The container's `config` as stored (a list for Keras 1 / Keras 2.0 Sequential). */
  readonly config: unknown;
  readonly children: readonly (KerasContainer | KerasLayerSpec)[];
  /** Leaf layers whose outputs are this container's outputs. */
  readonly outputs: readonly string[];
}

export interface KerasArchitecture {
  /** The top-level model. */
  readonly root: KerasContainer;
  /** Every leaf layer in order. */
  readonly layers: readonly KerasLayerSpec[];
  /** `keras_version` / `backend` where the JSON records them (Keras 2 to_json, TF.js topology). */
  readonly kerasVersion?: string;
  readonly backend?: string;
  /** The `{ class_name, config }` object of the top-level model as stored. */
  readonly json: unknown;
}

const CONTAINERS = new Set(['Sequential', 'Functional', 'Model']);

/** Whether a Keras class is a model (container) rather than a layer. */
export function isKerasContainer(className: string): boolean {
  return CONTAINERS.has(className);
}

/**
 * Keras' snake_case of a class name, as Keras 3 uses for `.weights.h5` group names:
 * Conv2D -> conv2d, BatchNormalization -> batch_normalization, Conv2DTranspose -> conv2d_transpose.
 */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

/** A stored tensor reference: (layer name, call number, output index). */
export type KerasTensorRef = [string, number, number];

function isTriple(value: unknown): value is [string, number, ...unknown[]] {
  return Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'number';
}

/** A triple's tensor index (its third entry, 0 when absent or not a number). */
function tensorIndex(triple: readonly unknown[]): number {
  return typeof triple[2] === 'number' ? triple[2] : 0;
}

/** `input_layers` / `output_layers`: a list of triples, or (Keras 3, one tensor) a bare triple. */
export function tensorRefs(value: unknown): KerasTensorRef[] {
  if (value === undefined || value === null) return [];
  if (isTriple(value)) return [[value[0], value[1], tensorIndex(value)]];
  if (!Array.isArray(value)) return [];
  return value.flatMap(tensorRefs);
}

/** Tensors one stored call reads: Keras 1/2 `[[name, node, tensor, kwargs?], ...]`, Keras 3 `{ args, kwargs }` (its args). */
export function callInputs(node: unknown): KerasTensorRef[] {
  if (isObject(node) && ('args' in node || 'kwargs' in node)) return kerasTensors(node.args);
  if (Array.isArray(node)) return node.filter(isTriple).map((t) => [t[0], t[1], tensorIndex(t)] as KerasTensorRef);
  return [];
}

function kerasTensors(value: unknown): KerasTensorRef[] {
  if (Array.isArray(value)) return value.flatMap(kerasTensors);
  if (!isObject(value)) return [];
  if (value.class_name === '__keras_tensor__' && isObject(value.config) && isTriple(value.config.keras_history)) {
    const h = value.config.keras_history;
    return [[h[0], h[1], tensorIndex(h)]];
  }
  return [];
}

/** Names of the layers a stored layer's calls read (its `inbound_nodes`, a list when present). */
function inboundLayers(nodes: unknown, layer: string, where: string): string[] {
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes)) throw new ModelFormatError(`${where}: layer ${quote(layer)} expects inbound_nodes to be a list, but received ${quote(nodes)}.`);
  return unique(nodes.flatMap(callInputs).map((t) => t[0]));
}

function layerJson(value: unknown, where: string): KerasLayerJson {
  if (!isObject(value) || typeof value.class_name !== 'string' || typeof value.config !== 'object' || value.config === null) {
    throw new ModelFormatError(`${where} expects each layer as { "class_name", "config" }, but received ${quote(value)}.`);
  }
  return value as unknown as KerasLayerJson;
}

/** The members of a stored model: `config.layers`, or (Keras 1 / Keras 2.0 Sequential) `config` itself. */
export function modelMembers(json: KerasLayerJson, where: string): KerasLayerJson[] {
  const config = json.config;
  const list = Array.isArray(config) ? config : (config as KerasModelConfigJson).layers;
  if (!Array.isArray(list)) {
    throw new ModelFormatError(`${where}: model '${json.class_name}' expects config.layers to be a list, but received ${quote(list)}.`);
  }
  return list.map((l) => layerJson(l, where));
}

/** A stored layer's or model's name (`config.name`, else the Keras 2 functional `name`), else `fallback`. */
export function nameOf(json: KerasLayerJson, fallback: string): string {
  const config = json.config;
  if (typeof config === 'object' && config !== null && !Array.isArray(config) && typeof (config as Record<string, unknown>).name === 'string') {
    return (config as Record<string, unknown>).name as string;
  }
  return typeof json.name === 'string' ? json.name : fallback;
}

class Parser {
  readonly leaves: KerasLayerSpec[] = [];

  constructor(private readonly where: string) {}

  container(json: KerasLayerJson, name: string, parents: readonly string[], feeding: readonly string[]): KerasContainer {
    const layers = modelMembers(json, this.where);
    const sequential = json.class_name === 'Sequential' || Array.isArray(json.config);
    const children: (KerasContainer | KerasLayerSpec)[] = [];
    const outputsOf = new Map<string, readonly string[]>();
    let previous = feeding;
    layers.forEach((child, i) => {
      const childName = nameOf(child, `${child.class_name.toLowerCase()}_${i}`);
      let inbound: readonly string[];
      if (sequential) {
        inbound = previous;
      } else {
        const refs = inboundLayers(child.inbound_nodes, childName, this.where);
        inbound = refs.length === 0 ? feeding : unique(refs.flatMap((r) => [...(outputsOf.get(r) ?? [r])]));
      }
      const node = isKerasContainer(child.class_name)
        ? this.container(child, childName, [...parents, childName], inbound)
        : this.leaf(child, childName, parents, inbound);
      const outputs = node.kind === 'container' ? node.outputs : [node.name];
      outputsOf.set(childName, outputs);
      previous = outputs;
      children.push(node);
    });
    let outputs: readonly string[] = previous;
    const config = json.config as KerasModelConfigJson;
    if (!sequential && config.output_layers !== undefined) {
      outputs = unique(tensorRefs(config.output_layers).flatMap(([r]) => [...(outputsOf.get(r) ?? [r])]));
    }
    return { kind: 'container', name, className: json.class_name, config: json.config, children, outputs };
  }

  leaf(json: KerasLayerJson, name: string, parents: readonly string[], inbound: readonly string[]): KerasLayerSpec {
    if (Array.isArray(json.config)) {
      throw new ModelFormatError(`${this.where}: layer '${name}' (${json.class_name}) expects an object config, but received a list.`);
    }
    const config = json.config as Record<string, unknown>;
    const spec: KerasLayerSpec = {
      kind: 'layer',
      name,
      className: json.class_name,
      config,
      inbound: [...inbound],
      parents: [...parents],
      ...(typeof config.trainable === 'boolean' ? { trainable: config.trainable } : {}),
      ...(typeof json.module === 'string' ? { module: json.module } : {}),
      ...(typeof json.registered_name === 'string' ? { registeredName: json.registered_name } : {}),
    };
    this.leaves.push(spec);
    return spec;
  }
}

/** Keras 1 projects saved `model.to_json()` with json.dump, so the file holds the architecture as one JSON string: decoded once. */
function decodeJsonString(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(`${where} holds a JSON string that is not itself an architecture JSON (${(e as Error).message}).`);
  }
}

/**
 * Parses architecture JSON of any Keras version (or a TF.js `modelTopology`, a whole TF.js model.json,
 * or any of them encoded once more as a JSON string, as Keras 1 projects stored it)
 * into ordered leaf layers. `where` names the file for messages.
 */
export function parseKerasArchitecture(stored: unknown, where: string): KerasArchitecture {
  const json = typeof stored === 'string' ? decodeJsonString(stored, where) : stored;
  const { outer, model } = storedTopLevel(json, where);
  const parser = new Parser(where);
  const name = nameOf(model, 'model');
  const root = isKerasContainer(model.class_name)
    ? parser.container(model, name, [], [])
    : { kind: 'container' as const, name, className: 'Sequential', config: [model], children: [parser.leaf(model, name, [], [])], outputs: [name] };
  return {
    root,
    layers: parser.leaves,
    ...(typeof outer.keras_version === 'string' ? { kerasVersion: outer.keras_version } : {}),
    ...(typeof outer.backend === 'string' ? { backend: outer.backend } : {}),
    json: model,
  };
}

/**
 * The top-level `{ class_name, config }` of a stored architecture (a `model.to_json()`, an HDF5
 * `model_config`, a `.keras` config.json, a TF.js `modelTopology` or whole model.json, possibly
 * wrapped in `model_config`), and the object beside it that records `keras_version` and `backend`.
 */
export function storedTopLevel(json: unknown, where: string): { model: KerasLayerJson; outer: KerasTopologyJson } {
  if (!isObject(json)) {
    throw new ModelFormatError(`${where} expects a Keras architecture JSON object, but received ${Array.isArray(json) ? 'a list' : typeof json}.`);
  }
  const outer = (isObject(json.modelTopology) ? json.modelTopology : json) as KerasTopologyJson;
  return { model: layerJson(isObject(outer.model_config) ? outer.model_config : outer, where), outer };
}

/** The leaf layer called `name`, if any. */
export function findKerasLayer(arch: KerasArchitecture, name: string): KerasLayerSpec | undefined {
  return arch.layers.find((l) => l.name === name);
}

/** A shape as Keras stores it: null for the batch (or any free) dimension. */
export type KerasShape = readonly (number | null)[];

/**
 * The model's input shapes including the batch dimension: from InputLayer configs (`batch_input_shape`
 * in Keras 1/2 and TF.js, `batch_shape` in Keras 3), else from the first layer's `batch_input_shape`
 * (Keras 2.0 Sequential without an InputLayer).
 */
export function kerasInputShapes(arch: KerasArchitecture): KerasShape[] {
  const top = arch.layers.filter((l) => l.parents.length === 0);
  const inputs = top.filter((l) => l.className === 'InputLayer').map((l) => declaredBatchShape(l.config));
  if (inputs.length > 0) return inputs.filter((s) => s !== undefined);
  const first = top[0] ?? arch.layers[0];
  const shape = first ? declaredBatchShape(first.config) : undefined;
  return shape ? [shape] : [];
}

/**
 * The shape a Keras 1/2/3 layer config declares for its input, with the batch axis: `batch_input_shape`
 * (Keras 1/2, TF.js), `batch_shape` (Keras 3), `input_shape`, or Keras 1 `input_dim` / `input_length`.
 */
export function declaredBatchShape(config: Readonly<Record<string, unknown>>): (number | null)[] | undefined {
  const isShape = (v: unknown): v is (number | null)[] => Array.isArray(v) && v.every((d) => d === null || typeof d === 'number');
  const shape = config.batch_input_shape ?? config.batch_shape;
  if (isShape(shape)) return shape;
  if (isShape(config.input_shape)) return [null, ...config.input_shape];
  if (typeof config.input_dim === 'number') {
    return typeof config.input_length === 'number' ? [null, config.input_length, config.input_dim] : [null, config.input_dim];
  }
  return undefined;
}

/**
 * The dtype a layer computes in: a plain string (`'float32'`, Keras 2 / TF.js) or the name inside a
 * Keras 3 DTypePolicy object (`{ class_name: 'DTypePolicy', config: { name: 'mixed_float16' } }`).
 */
export function kerasDType(config: Readonly<Record<string, unknown>>): string | undefined {
  const dtype = config.dtype;
  if (typeof dtype === 'string') return dtype;
  if (isObject(dtype) && isObject(dtype.config) && typeof dtype.config.name === 'string') return dtype.config.name;
  return undefined;
}
