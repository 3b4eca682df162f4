import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import type { GraphNode, LayerGraph, LeafLayer, TensorRef } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { isKerasContainer } from './keras-config.js';
import type { KerasLayerJson, KerasModelConfigJson, KerasTopologyJson } from './schema/keras.js';

/**
 * The call graph (model/graph.ts) of a Keras / TF.js architecture, converted once from the stored
 * JSON. Unlike the inspection view (keras-config.ts, which only needs layer names and who feeds whom),
 * running the network needs each call's exact inputs: (layer, call, output index) triples, shared
 * layers called more than once, and multi-output layers.
 */

type Json = Record<string, unknown>;
type Triple = [string, number, number];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTriple(value: unknown): value is Triple {
  return Array.isArray(value) && typeof value[0] === 'string' && typeof value[1] === 'number';
}

/** `input_layers` / `output_layers`: a list of triples, or (Keras 3, one tensor) a bare triple. */
function triples(value: unknown): Triple[] {
  if (value === undefined || value === null) return [];
  if (isTriple(value)) return [[value[0], value[1], Number(value[2] ?? 0)]];
  if (!Array.isArray(value)) return [];
  return value.flatMap(triples);
}

/** Tensors one stored call reads: Keras 1/2 `[[name, node, tensor, kwargs?], ...]`, Keras 3 `{ args, kwargs }`. */
function callInputs(node: unknown): Triple[] {
  if (isObject(node) && ('args' in node || 'kwargs' in node)) return kerasTensors(node.args);
  if (Array.isArray(node)) return node.filter(isTriple).map((t) => [t[0], t[1], Number(t[2] ?? 0)] as Triple);
  return [];
}

function kerasTensors(value: unknown): Triple[] {
  if (Array.isArray(value)) return value.flatMap(kerasTensors);
  if (!isObject(value)) return [];
  if (value.class_name === '__keras_tensor__' && isObject(value.config) && isTriple(value.config.keras_history)) {
    const h = value.config.keras_history;
    return [[h[0], h[1], Number(h[2] ?? 0)]];
  }
  return [];
}

function layerName(json: KerasLayerJson, fallback: string): string {
  const config = json.config;
  if (isObject(config) && typeof config.name === 'string') return config.name;
  return typeof json.name === 'string' ? json.name : fallback;
}

function membersOf(json: KerasLayerJson, where: string): KerasLayerJson[] {
  const list = Array.isArray(json.config) ? json.config : (json.config as KerasModelConfigJson).layers;
  if (!Array.isArray(list)) {
    throw new ModelFormatError(`${where}: model '${layerName(json, '?')}' expects config.layers to be a list, but received ${JSON.stringify(list)?.slice(0, 60)}.`);
  }
  return list as KerasLayerJson[];
}

/** The shape a Keras 1/2/3 layer config declares for its input, with the batch axis. */
export function declaredBatchShape(config: Readonly<Json>): (number | null)[] | undefined {
  const shape = config.batch_input_shape ?? config.batch_shape;
  if (Array.isArray(shape)) return shape as (number | null)[];
  if (Array.isArray(config.input_shape)) return [null, ...(config.input_shape as (number | null)[])];
  if (typeof config.input_dim === 'number') {
    return typeof config.input_length === 'number' ? [null, config.input_length, config.input_dim] : [null, config.input_dim];
  }
  return undefined;
}

class Flattener {
  readonly nodes: GraphNode[] = [];
  readonly layers = new Map<string, LeafLayer>();
  private readonly calls = new Map<string, number>();

  constructor(private readonly where: string) {}

  addNode(layer: LeafLayer, inputs: TensorRef[]): TensorRef[] {
    const known = this.layers.get(layer.name);
    if (known && known.parents.join('/') !== layer.parents.join('/')) {
      throw new UnsupportedError(
        `${this.where} has two different layers named '${layer.name}' (in ${known.parents.join('/') || 'the top model'} and ${layer.parents.join('/') || 'the top model'}); convscope cannot run it.`,
      );
    }
    if (!known) this.layers.set(layer.name, layer);
    const call = this.calls.get(layer.name) ?? 0;
    this.calls.set(layer.name, call + 1);
    const node: GraphNode = { id: this.nodes.length, layer: known ?? layer, call, inputs };
    this.nodes.push(node);
    return outputsOf(node);
  }

  inputNode(name: string, config: Json, parents: readonly string[]): TensorRef[] {
    return this.addNode({ name, className: 'InputLayer', config, parents }, []);
  }

  /** Expands a model called on `inputs` (undefined: the top-level model, which creates its InputLayers). */
  model(json: KerasLayerJson, parents: readonly string[], inputs: TensorRef[] | undefined): TensorRef[] {
    const sequential = json.class_name === 'Sequential' || Array.isArray(json.config);
    return sequential ? this.sequential(json, parents, inputs) : this.functional(json, parents, inputs);
  }

  private sequential(json: KerasLayerJson, parents: readonly string[], inputs: TensorRef[] | undefined): TensorRef[] {
    const members = membersOf(json, this.where);
    let current = inputs;
    members.forEach((member, i) => {
      const name = layerName(member, `layer_${i}`);
      const config = (isObject(member.config) ? member.config : {}) as Json;
      if (member.class_name === 'InputLayer') {
        current ??= this.inputNode(name, config, parents);
        return;
      }
      if (current === undefined && isKerasContainer(member.class_name)) {
        current = this.model(member, [...parents, name], undefined);
        return;
      }
      if (current === undefined) {
        const shape = declaredBatchShape(config);
        if (!shape) {
          throw new UnsupportedError(
            `${this.where}: the Sequential model does not record its input shape (layer '${name}' has no batch_input_shape), so convscope cannot build it.`,
          );
        }
        current = this.inputNode(`${name}_input`, { batch_input_shape: shape, dtype: 'float32', name: `${name}_input` }, parents);
      }
      current = this.call(member, name, parents, current);
    });
    if (!current) throw new ModelFormatError(`${this.where}: model '${layerName(json, '?')}' has no layers.`);
    return current;
  }

  private functional(json: KerasLayerJson, parents: readonly string[], inputs: TensorRef[] | undefined): TensorRef[] {
    const config = json.config as KerasModelConfigJson;
    const members = new Map<string, KerasLayerJson>();
    membersOf(json, this.where).forEach((m, i) => members.set(layerName(m, `layer_${i}`), m));
    const inputLayers = triples(config.input_layers);
    const done = new Map<string, TensorRef[]>();
    const resolving = new Set<string>();
    const resolve = (name: string, nodeIndex: number): TensorRef[] => {
      const key = `${name}\u0000${nodeIndex}`;
      const hit = done.get(key);
      if (hit) return hit;
      const member = members.get(name);
      if (!member) throw new ModelFormatError(`${this.where}: model '${layerName(json, '?')}' refers to a layer '${name}' it does not contain.`);
      if (resolving.has(key)) throw new ModelFormatError(`${this.where}: layer '${name}' is part of a cycle.`);
      resolving.add(key);
      let out: TensorRef[];
      if (member.class_name === 'InputLayer') {
        const position = inputLayers.findIndex((t) => t[0] === name);
        if (inputs) {
          const bound = inputs[position];
          if (position < 0 || !bound) {
            throw new ModelFormatError(`${this.where}: nested model '${layerName(json, '?')}' has input '${name}' that is not fed.`);
          }
          out = [bound];
        } else {
          out = this.inputNode(name, member.config as Json, parents);
        }
      } else {
        const stored = member.inbound_nodes?.[nodeIndex];
        if (stored === undefined) {
          throw new ModelFormatError(`${this.where}: layer '${name}' has no call number ${nodeIndex} in inbound_nodes.`);
        }
        const feeds = callInputs(stored).map(([src, srcNode, tensor]) => {
          const ref = pick(resolve(src, srcNode), tensor);
          if (!ref) throw new ModelFormatError(`${this.where}: layer '${name}' reads output ${tensor} of '${src}', which has fewer outputs.`);
          return ref;
        });
        out = this.call(member, name, parents, feeds);
      }
      resolving.delete(key);
      done.set(key, out);
      return out;
    };
    for (const [name, member] of members) {
      if (member.class_name === 'InputLayer') continue;
      (member.inbound_nodes ?? []).forEach((_, k) => resolve(name, k));
    }
    const outputs = triples(config.output_layers).map(([name, node, tensor]) => {
      const ref = pick(resolve(name, node), tensor);
      if (!ref) throw new ModelFormatError(`${this.where}: output '${name}' has no output ${tensor}.`);
      return ref;
    });
    if (outputs.length === 0) throw new ModelFormatError(`${this.where}: model '${layerName(json, '?')}' declares no output_layers.`);
    return outputs;
  }

  private call(member: KerasLayerJson, name: string, parents: readonly string[], inputs: TensorRef[]): TensorRef[] {
    if (isKerasContainer(member.class_name)) return this.model(member, [...parents, name], inputs);
    if (!isObject(member.config)) {
      throw new ModelFormatError(`${this.where}: layer '${name}' (${member.class_name}) expects an object config, but received ${JSON.stringify(member.config)?.slice(0, 60)}.`);
    }
    return this.addNode({ name, className: member.class_name, config: member.config, parents }, inputs);
  }
}

/** The first output of a node; further outputs of multi-output layers are taken with `pick`. */
function outputsOf(node: GraphNode): TensorRef[] {
  return [{ node: node.id, output: 0 }];
}

/** Output `index` of a call: a leaf call has as many outputs as its layer makes; a nested model's are listed. */
function pick(outputs: TensorRef[], index: number): TensorRef | undefined {
  const first = outputs[0];
  if (outputs.length === 1 && first && index > 0) return { node: first.node, output: index };
  return outputs[index];
}

/** The top-level `{ class_name, config }` of any stored architecture (h5 model_config, TF.js modelTopology, .keras config.json). */
export function topLevelModel(json: unknown, where: string): KerasLayerJson {
  if (!isObject(json)) throw new ModelFormatError(`${where} expects a Keras architecture object, but received ${JSON.stringify(json)?.slice(0, 60)}.`);
  const outer = (isObject(json.modelTopology) ? json.modelTopology : json) as KerasTopologyJson & Json;
  const model = isObject(outer.model_config) ? outer.model_config : outer;
  if (typeof model.class_name !== 'string') {
    throw new ModelFormatError(`${where} expects the architecture as { "class_name", "config" }, but received keys ${Object.keys(model).join(', ')}.`);
  }
  return model as unknown as KerasLayerJson;
}

/** The Keras backend a stored topology records (`theano`, `tensorflow`), where it does. */
function backendOf(json: unknown): string | undefined {
  if (!isObject(json)) return undefined;
  const outer = isObject(json.modelTopology) ? json.modelTopology : json;
  return typeof outer.backend === 'string' ? outer.backend : undefined;
}

/** Converts any stored Keras / TF.js architecture into its call graph of leaf layers. */
export function kerasCallGraph(json: unknown, where: string): LayerGraph {
  const model = topLevelModel(json, where);
  const flat = new Flattener(where);
  const name = layerName(model, 'model');
  const outputs = isKerasContainer(model.class_name)
    ? flat.model(model, [], undefined)
    : flat.model({ class_name: 'Sequential', config: [model] }, [], undefined);
  const inputs = flat.nodes.filter((n) => n.layer.className === 'InputLayer');
  const backend = backendOf(json);
  return {
    name,
    layers: [...flat.layers.values()],
    nodes: flat.nodes,
    inputs: inputs.map((n) => n.id),
    inputShapes: inputs.map((n) => declaredBatchShape(n.layer.config) ?? []),
    outputs,
    ...(backend ? { backend } : {}),
  };
}

/** Whether stored JSON is a Keras / TF.js architecture (rather than, say, an ONNX graph summary). */
function isKerasArchitecture(json: unknown): boolean {
  return isObject(json) && (typeof json.class_name === 'string' || isObject(json.modelTopology) || isObject(json.model_config));
}

/**
 * Gives a model whose stored architecture is Keras / TF.js JSON its `callGraph`, converted on first
 * call and kept. Every reader's model passes through here (formats/index.ts, formats/memory.ts).
 */
export function withKerasCallGraph<M extends Model>(model: M): M {
  if (model.callGraph || !isKerasArchitecture(model.config)) return model;
  let graph: LayerGraph | undefined;
  model.callGraph = () => (graph ??= kerasCallGraph(model.config, model.source));
  return model;
}
