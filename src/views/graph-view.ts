import { onnxGraph, type OnnxAttribute, type OnnxGraph, type OnnxNode } from '../formats/onnx-graph.js';
import { formatAxes, formatShape } from '../model/format.js';
import type { Model } from '../model/model.js';

/** One node of a model's layer graph, as the graph view draws and describes it. */
export interface GraphNode {
  name: string;
  className: string;
  /** Layers feeding this one (names of other nodes). */
  inbound: string[];
  /** The layer's stored options, each as `key` and its value in one line (nested values as JSON). */
  attributes: [string, string][];
  /** Its weights: role, shape and axes. */
  weights: string[];
  parents?: string[];
  /** The layer whose panel a click opens (absent for operators without weights: Relu, Add, Reshape, ...). */
  opens?: string;
}

export interface ModelGraph {
  nodes: GraphNode[];
  /** What the drawing leaves out or folds, in a sentence. */
  note?: string;
  /** Why there is no graph (a file without an architecture), when there is none. */
  missing?: string;
}

/** Attribute values longer than this are cut (a nested model's config would fill the page). */
const VALUE_CHARS = 160;

function attributeText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > VALUE_CHARS ? `${text.slice(0, VALUE_CHARS - 1)}…` : text;
}

/**
 * The layer graph of a model: every layer with the layers feeding it, its options and its weights.
 * A file that stores no connections (a PyTorch state dict, a weights-only h5) has no graph, and says so.
 */
export function modelGraph(model: Model): ModelGraph {
  const onnx = onnxGraph(model);
  if (onnx) return operatorGraph(model, onnx);
  const names = new Set(model.layers.map((l) => l.name));
  const nodes: GraphNode[] = model.layers.map((l) => ({
    name: l.name,
    className: l.className,
    inbound: l.inbound.filter((n) => names.has(n) && n !== l.name),
    attributes: Object.entries(l.config)
      .filter(([k]) => k !== 'name')
      .map(([k, v]): [string, string] => [k, attributeText(v)]),
    weights: l.weights.map((w) => `${w.role} ${formatShape(w.shape)} ${formatAxes(w.axes)}`),
    ...(l.parents?.length ? { parents: [...l.parents] } : {}),
    opens: l.name,
  }));
  const connected = nodes.some((n) => n.inbound.length > 0);
  if (!connected && nodes.length > 1) {
    return { nodes, missing: `${model.source.split(/[\\/]/).pop()} stores no connections between its layers (no architecture), so there is no graph to draw; the layers tab lists them.` };
  }
  return { nodes };
}

function onnxAttributeText(value: OnnxAttribute): string {
  if (typeof value === 'object' && value !== null && 'float' in value) return String(value.float);
  if (typeof value === 'object' && value !== null && 'floats' in value) return attributeText(value.floats);
  return attributeText(value);
}

/**
 * Every operator of an ONNX graph as Netron draws it (Conv, Relu, Add, Reshape, Concat, ...), each with
 * its attributes and its input and output tensors (constant ones with their shapes), and the graph's
 * inputs as nodes. Nodes computing only from constants (Constant, an exporter's Identity of a weight)
 * are folded into the inputs of the operators that read them. A click on an operator with weights
 * opens the layer holding them.
 */
function operatorGraph(model: Model, graph: OnnxGraph): ModelGraph {
  const constants: Record<string, readonly number[]> = { ...graph.constantShapes };
  const layerOfTensor = new Map<string, string>();
  for (const l of model.layers) for (const w of l.weights) layerOfTensor.set(w.name, l.name);
  // Folded: Constant nodes, and operators computing only from constants (an exporter's Identity of a
  // shared weight): their outputs are constants of the operators reading them, named after their source.
  const folded: OnnxNode[] = [];
  const shown: OnnxNode[] = [];
  for (const n of graph.nodes) {
    const inputs = n.inputs.filter((t) => t !== '');
    if (n.opType === 'Constant' || (inputs.length > 0 && inputs.every((t) => t in constants))) {
      folded.push(n);
      for (const o of n.outputs) {
        const source = inputs[0];
        constants[o] = n.opType === 'Identity' && source !== undefined ? constants[source]! : (graph.constantShapes?.[o] ?? []);
        const layer = source !== undefined ? layerOfTensor.get(source) : undefined;
        if (n.opType === 'Identity' && layer !== undefined) layerOfTensor.set(o, layer);
      }
    } else {
      shown.push(n);
    }
  }
  const taken = new Set<string>();
  const unique = (name: string): string => {
    let out = name;
    for (let k = 2; taken.has(out); k++) out = `${name}#${k}`;
    taken.add(out);
    return out;
  };
  const producer = new Map<string, string>();
  const nodes: GraphNode[] = graph.inputs.map((v) => {
    const name = unique(v.name);
    producer.set(v.name, name);
    return { name, className: 'Input', inbound: [], attributes: [['shape', v.shape ? formatShape(v.shape.map((d) => d ?? 'batch') as number[]) : 'unknown']], weights: [] };
  });
  const names = shown.map((n) => unique(n.name || n.outputs[0] || n.opType));
  shown.forEach((n, i) => n.outputs.forEach((o) => producer.set(o, names[i]!)));
  const tensorText = (t: string): string => (constants[t] ? `${t} ${formatShape(constants[t]!)}` : t);
  shown.forEach((n, i) => {
    const inputs = n.inputs.filter((t) => t !== '');
    const weights = inputs.filter((t) => layerOfTensor.has(t) && !producer.has(t));
    const opens = weights.map((t) => layerOfTensor.get(t)).find((l) => l !== undefined);
    nodes.push({
      name: names[i]!,
      className: n.opType,
      inbound: [...new Set(inputs.map((t) => producer.get(t)).filter((p): p is string => p !== undefined))],
      attributes: [
        ...Object.entries(n.attributes ?? {}).map(([k, v]): [string, string] => [k, onnxAttributeText(v)]),
        ...inputs.map((t, k): [string, string] => [`input ${k}`, tensorText(t)]),
        ...n.outputs.map((t, k): [string, string] => [`output ${k}`, t]),
      ],
      weights: weights.map(tensorText),
      ...(opens ? { opens } : {}),
    });
  });
  return {
    nodes,
    ...(folded.length > 0
      ? { note: `${folded.length} node${folded.length === 1 ? '' : 's'} computing only from constants (${[...new Set(folded.map((n) => n.opType))].join(', ')}) ${folded.length === 1 ? 'is' : 'are'} folded into the inputs of the operators reading them.` }
      : {}),
  };
}
