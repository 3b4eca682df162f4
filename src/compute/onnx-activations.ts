import type { OnnxGraph, OnnxNode } from '../formats/onnx-graph.js';
import { SelectionError } from '../model/errors.js';
import { closestNames, listed } from '../model/lookup.js';
import { modulePath, withinModule } from '../model/module-path.js';
import type { InputBatch, LayerOutput } from './layer-output.js';
import { bytesModel, openOnnxNet, type OnnxNet, type OnnxNetOptions } from './ort.js';

/**
 * Feature maps of ONNX models: every node that computes from the input is a layer, named by its node
 * name (or its first output where unnamed) and by the PyTorch module it came from.
 */

export interface OnnxLayer {
  /** The node's name, or its first output's name when the node has none. */
  readonly name: string;
  readonly node: OnnxNode;
  /** The value reported as the layer's output: the node's first output. */
  readonly output: string;
  readonly module: string | undefined;
}

/** Nodes whose first output depends on a graph input (not weight plumbing such as Identity of an initializer), in graph order. */
export function onnxLayers(graph: OnnxGraph): OnnxLayer[] {
  const live = new Set(graph.inputs.map((i) => i.name));
  const layers: OnnxLayer[] = [];
  for (const node of graph.nodes) {
    if (!node.inputs.some((i) => live.has(i))) continue;
    for (const o of node.outputs) live.add(o);
    const output = node.outputs[0];
    if (output === undefined || output === '') continue;
    layers.push({ name: node.name || output, node, output, module: modulePath(node.name) });
  }
  return layers;
}

/** Operators whose outputs are feature maps worth offering in a viewer's layer menu. */
const MAP_OPS = new Set(['Conv', 'ConvTranspose', 'Relu', 'Clip', 'LeakyRelu', 'PRelu', 'Sigmoid', 'HardSwish', 'MaxPool', 'AveragePool', 'BatchNormalization', 'Add', 'Concat', 'Mul']);

/** The layers whose outputs a viewer offers as feature maps. */
export function featureMapLayers(graph: OnnxGraph): OnnxLayer[] {
  return onnxLayers(graph).filter((l) => MAP_OPS.has(l.node.opType));
}

/**
 * The PyTorch module paths that name each layer's output, as selectOnnxLayers reads a module path (its
 * last node): /layer3/layer3.1/relu_1/Relu is layer3.1.relu_1, layer3.1 and layer3. Keyed by output value.
 */
export function modulesByOutput(graph: OnnxGraph): Map<string, string[]> {
  const last = new Map<string, OnnxLayer>();
  for (const l of onnxLayers(graph)) {
    const parts = l.module?.split('.') ?? [];
    for (let i = 1; i <= parts.length; i++) last.set(parts.slice(0, i).join('.'), l);
  }
  const byOutput = new Map<string, string[]>();
  for (const [module, l] of last) byOutput.set(l.output, [...(byOutput.get(l.output) ?? []), module]);
  return byOutput;
}

/**
 * The name a viewer's layer menu (featureMapLayers) gives a selected layer: a PyTorch module path or a
 * value name shows as the node that computes it, so the menu and the maps shown agree.
 */
export function menuName(graph: OnnxGraph, chosen: OnnxLayer): string {
  return featureMapLayers(graph).find((l) => l.output === chosen.output)?.name ?? chosen.name;
}

/**
 * The layers `wanted` names (comma-separated): a node name, a value name, or a PyTorch module path,
 * which means the module's output (the last node inside it); `all`; or by default the first Conv.
 */
export function selectOnnxLayers(graph: OnnxGraph, source: string, wanted: string | undefined): OnnxLayer[] {
  const layers = onnxLayers(graph);
  if (layers.length === 0) throw new SelectionError(`${source} has no node that computes from its input.`);
  if (wanted === 'all') return layers;
  if (wanted === undefined) return [layers.find((l) => l.node.opType === 'Conv') ?? layers[0]!];
  return wanted.split(',').map((one) => {
    const name = one.trim();
    const exact = layers.find((l) => l.name === name || l.node.outputs.includes(name));
    if (exact) return name === exact.name || name === exact.output ? exact : { ...exact, output: name };
    const inside = layers.filter((l) => withinModule(l.module, name));
    if (inside.length > 0) return { ...inside[inside.length - 1]!, name, module: name };
    const modules = [...new Set(layers.flatMap((l) => (l.module ? [l.module] : [])))];
    const candidates = [...modules, ...layers.map((l) => l.name)];
    const close = closestNames(name, candidates);
    const listing = modules.length > 0 ? `Its modules are: ${listed(modules, 10)}.` : `Its nodes are: ${listed(layers.map((l) => l.name), 10)}.`;
    throw new SelectionError(`${source} has no node or module '${name}'. ${close.length > 0 ? `Did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : listing}`);
  });
}

/**
 * Prepares an ONNX model file (Node) for running. ONNX Runtime is given the file's graph with its
 * weights left in the file (formats/onnx-external.ts), which it reads straight into its tensors: no
 * copy of the whole file is ever held here, and none decoded by ONNX Runtime (which maps the file's
 * pages); the session is lean unless `options` say otherwise (VGG16, 528 MiB on disk: `activations`
 * peaked at 1629 MiB, now ~800 MiB, of which 528 MiB are the file's own mapped pages).
 */
export async function loadOnnxNet(path: string, graph: OnnxGraph, options: OnnxNetOptions = {}): Promise<OnnxNet> {
  const [{ realpath }, { basename, dirname }, { fileSource }, { externalizedModel }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('../io/node-source.js'),
    import('../formats/onnx-external.js'),
  ]);
  const real = await realpath(path);
  const source = await fileSource(real);
  try {
    const base = await externalizedModel(source, basename(real));
    return openOnnxNet(bytesModel(base, dirname(real)), graph, path, { lean: true, ...options });
  } finally {
    source.close?.();
  }
}

export interface OnnxRun {
  /** The wanted layers' outputs, in graph order (values that are not float32, such as shapes, are left out and counted). */
  readonly layers: LayerOutput[];
  /** The graph outputs. */
  readonly outputs: LayerOutput[];
  readonly skipped: { name: string; type: string }[];
}

/** Runs the net once, fetching the wanted layers' outputs together with the graph outputs. */
export async function runOnnxLayers(net: OnnxNet, batch: InputBatch, wanted: readonly OnnxLayer[]): Promise<OnnxRun> {
  const finals = net.graph.outputs.map((o) => o.name);
  const values = await net.run([batch], [...wanted.map((l) => l.output), ...finals]);
  const skipped: OnnxRun['skipped'] = [];
  const layers: LayerOutput[] = [];
  for (const l of wanted) {
    const v = values.get(l.output)!;
    if (!v.data) {
      skipped.push({ name: l.name, type: v.type });
      continue;
    }
    layers.push({ name: l.name, className: l.node.opType, shape: v.shape, channelsFirst: true, data: v.data, ...(l.module ? { module: l.module } : {}) });
  }
  const producer = new Map(net.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const outputs = finals.flatMap((name): LayerOutput[] => {
    const v = values.get(name)!;
    return v.data ? [{ name, className: producer.get(name)?.opType ?? 'output', shape: v.shape, channelsFirst: true, data: v.data }] : [];
  });
  return { layers, outputs, skipped };
}
