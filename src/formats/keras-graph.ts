import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import type { GraphNode, LayerGraph, LeafLayer, TensorRef } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { callInputs, declaredBatchShape, isKerasContainer, modelMembers, nameOf, storedTopLevel, tensorRefs } from './keras-config.js';
import type { KerasLayerJson, KerasModelConfigJson } from './schema/keras.js';

/**
 * The call graph (model/graph.ts) of a Keras / TF.js architecture, converted once from the stored
 * JSON, whose spellings keras-config.ts alone reads. Unlike the inspection view (keras-config.ts's
 * leaf layers, which tolerates what cannot run), running the network needs each call's exact inputs:
 * (layer, call, output index) triples, shared layers called more than once, multi-output layers.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
    const members = modelMembers(json, this.where);
    let current = inputs;
    members.forEach((member, i) => {
      const name = nameOf(member, `layer_${i}`);
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
    if (!current) throw new ModelFormatError(`${this.where}: model '${nameOf(json, '?')}' has no layers.`);
    return current;
  }

  private functional(json: KerasLayerJson, parents: readonly string[], inputs: TensorRef[] | undefined): TensorRef[] {
    const config = json.config as KerasModelConfigJson;
    const members = new Map<string, KerasLayerJson>();
    modelMembers(json, this.where).forEach((m, i) => members.set(nameOf(m, `layer_${i}`), m));
    const inputLayers = tensorRefs(config.input_layers);
    const done = new Map<string, TensorRef[]>();
    const resolving = new Set<string>();
    const resolve = (name: string, nodeIndex: number): TensorRef[] => {
      const key = `${name}\u0000${nodeIndex}`;
      const hit = done.get(key);
      if (hit) return hit;
      const member = members.get(name);
      if (!member) throw new ModelFormatError(`${this.where}: model '${nameOf(json, '?')}' refers to a layer '${name}' it does not contain.`);
      if (resolving.has(key)) throw new ModelFormatError(`${this.where}: layer '${name}' is part of a cycle.`);
      resolving.add(key);
      let out: TensorRef[];
      if (member.class_name === 'InputLayer') {
        const position = inputLayers.findIndex((t) => t[0] === name);
        if (inputs) {
          const bound = inputs[position];
          if (position < 0 || !bound) {
            throw new ModelFormatError(`${this.where}: nested model '${nameOf(json, '?')}' has input '${name}' that is not fed.`);
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
    const outputs = tensorRefs(config.output_layers).map(([name, node, tensor]) => {
      const ref = pick(resolve(name, node), tensor);
      if (!ref) throw new ModelFormatError(`${this.where}: output '${name}' has no output ${tensor}.`);
      return ref;
    });
    if (outputs.length === 0) throw new ModelFormatError(`${this.where}: model '${nameOf(json, '?')}' declares no output_layers.`);
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

/** Converts any stored Keras / TF.js architecture into its call graph of leaf layers. */
export function kerasCallGraph(json: unknown, where: string): LayerGraph {
  const { model, outer } = storedTopLevel(json, where);
  const flat = new Flattener(where);
  const name = nameOf(model, 'model');
  const outputs = isKerasContainer(model.class_name)
    ? flat.model(model, [], undefined)
    : flat.model({ class_name: 'Sequential', config: [model] }, [], undefined);
  const inputs = flat.nodes.filter((n) => n.layer.className === 'InputLayer');
  const backend = typeof outer.backend === 'string' ? outer.backend : undefined;
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
