import type { ByteSource } from '../io/source.js';
import { genericAxes, spatialAxes, type AxisName, type LayerKind } from '../model/axes.js';
import { ModelFormatError } from '../model/errors.js';
import type { Layer, Model, Weight } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';
import { quote } from '../model/quote.js';
import type { TfjsGraphJson, TfjsModelJson, TfjsNodeJson } from './schema/tfjs.js';
import { frameworkVersion, manifestWeights, type ManifestWeight } from './tfjs.js';

/**
 * TensorFlow.js graph models (`tensorflowjs_converter --output_format tfjs_graph_model`): model.json
 * holds a GraphDef (modelTopology.node) and the same weightsManifest as a layers model. A weight is a
 * Const node; its axes come from the op that consumes it, in TensorFlow's own layouts: a Conv2D filter
 * is [kh, kw, in, out], a DepthwiseConv2dNative filter [kh, kw, in, mult], a Conv2DBackpropInput
 * filter [kh, kw, out, in], a MatMul weight [in, units] ([units, in] with transpose_b), a BiasAdd /
 * fused bias [features], FusedBatchNorm inputs gamma, beta, moving_mean, moving_variance. Each such
 * op is a layer named by its node (the name the graph executor runs it by); other constants (shapes,
 * axes) are listed as `Const` layers.
 */

const CONV_OPS = new Set(['Conv2D', '_FusedConv2D', 'Conv3D', 'Conv1D']);
const DEPTHWISE_OPS = new Set(['DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative']);
const MATMUL_OPS = new Set(['MatMul', '_FusedMatMul', 'BatchMatMul', 'BatchMatMulV2']);
const TRANSPOSE_OPS = new Set(['Conv2DBackpropInput', 'Conv3DBackpropInputV2']);
const BATCH_NORM_OPS = new Set(['FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3']);
const BN_ROLES = ['gamma', 'beta', 'moving_mean', 'moving_variance'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `node:1` and `^node` -> `node`. */
export function producerName(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** What a consuming op makes of the Const at input `position`. */
function meaning(node: TfjsNodeJson, position: number, rank: number): { kind: LayerKind; role: string; axes: AxisName[] } | undefined {
  const op = node.op;
  const numArgs = Number(node.attr?.num_args?.i ?? 0);
  const fusedArg = position >= 2 && position < 2 + numArgs;
  const spatial = (n: number) => (n >= 1 && n <= 3 ? spatialAxes(n) : undefined);
  if (CONV_OPS.has(op) || DEPTHWISE_OPS.has(op) || TRANSPOSE_OPS.has(op)) {
    const kind: LayerKind = DEPTHWISE_OPS.has(op) ? 'depthwise_conv' : TRANSPOSE_OPS.has(op) ? 'conv_transpose' : 'conv';
    if (fusedArg && rank === 1) return { kind, role: position === 2 ? 'bias' : `arg${position - 2}`, axes: ['features'] };
    const sp = spatial(rank - 2);
    if (position !== 1 || !sp) return undefined;
    if (kind === 'depthwise_conv') return { kind, role: 'depthwise_kernel', axes: [...sp, 'in', 'mult'] };
    if (kind === 'conv_transpose') return { kind, role: 'kernel', axes: [...sp, 'out', 'in'] };
    return { kind, role: 'kernel', axes: [...sp, 'in', 'out'] };
  }
  if (MATMUL_OPS.has(op)) {
    if (fusedArg && rank === 1) return { kind: 'dense', role: position === 2 ? 'bias' : `arg${position - 2}`, axes: ['units'] };
    if (position !== 1 || rank !== 2) return undefined;
    return { kind: 'dense', role: 'kernel', axes: node.attr?.transpose_b?.b ? ['units', 'in'] : ['in', 'units'] };
  }
  if (op === 'BiasAdd' && position === 1 && rank === 1) return { kind: 'other', role: 'bias', axes: ['features'] };
  if (BATCH_NORM_OPS.has(op) && position >= 1 && position <= 4 && rank === 1) return { kind: 'batch_norm', role: BN_ROLES[position - 1]!, axes: ['features'] };
  return undefined;
}

/** Opens a graph model whose model.json is already parsed. */
export async function openTfjsGraph(source: ByteSource, json: TfjsModelJson, beside: Readonly<Record<string, string>> = {}): Promise<Model> {
  const topology = json.modelTopology as TfjsGraphJson;
  if (!Array.isArray(topology.node) || !topology.node.every((n) => isObject(n) && typeof n.name === 'string' && typeof n.op === 'string')) {
    throw new ModelFormatError(`${source.name} is a TF.js graph model whose modelTopology.node is not a list of { name, op } nodes.`);
  }
  const weights = await manifestWeights(source, json.weightsManifest);
  /** Const name -> its consumers (node, input position). */
  const consumers = new Map<string, { node: TfjsNodeJson; position: number }[]>();
  for (const node of topology.node) {
    (node.input ?? []).forEach((input, position) => {
      if (input.startsWith('^')) return;
      const name = producerName(input);
      consumers.set(name, [...(consumers.get(name) ?? []), { node, position }]);
    });
  }
  const layers = new Map<string, { node: TfjsNodeJson; kind: LayerKind; weights: Weight[] }>();
  const constants: Layer[] = [];
  const attach = (layerNode: TfjsNodeJson, kind: LayerKind, w: ManifestWeight, role: string, axes: AxisName[]) => {
    const entry = layers.get(layerNode.name) ?? { node: layerNode, kind, weights: [] };
    if (entry.kind === 'other') entry.kind = kind;
    entry.weights.push(weightOf(source.name, layerNode.name, w, role, axes));
    layers.set(layerNode.name, entry);
  };
  // Kernels first, then biases added after them (a BiasAdd joins the layer of the op it follows).
  const unplaced: ManifestWeight[] = [];
  const biases: [ManifestWeight, TfjsNodeJson][] = [];
  for (const w of weights) {
    const uses = (consumers.get(w.spec.name) ?? []).map((u) => ({ ...u, m: meaning(u.node, u.position, w.spec.shape.length) })).filter((u) => u.m);
    const use = uses[0];
    if (!use) unplaced.push(w);
    else if (use.node.op === 'BiasAdd') biases.push([w, use.node]);
    else attach(use.node, use.m!.kind, w, use.m!.role, use.m!.axes);
  }
  for (const [w, node] of biases) {
    const producer = layers.get(producerName(node.input?.[0] ?? ''));
    if (producer) attach(producer.node, producer.kind, w, 'bias', producer.kind === 'dense' ? ['units'] : ['features']);
    else attach(node, 'other', w, 'bias', ['features']);
  }
  for (const w of unplaced) {
    constants.push({
      name: w.spec.name,
      className: 'Const',
      kind: 'other',
      config: {},
      inbound: [],
      weights: [weightOf(source.name, w.spec.name, w, 'value', genericAxes(w.spec.shape.length))],
    });
  }
  const opLayers: Layer[] = [...layers.values()].map(({ node, kind, weights: ws }) => ({
    name: node.name,
    className: node.op,
    kind,
    config: attrConfig(node),
    inbound: (node.input ?? []).filter((i) => !i.startsWith('^')).map(producerName).filter((n) => !weights.some((w) => w.spec.name === n)),
    weights: ws,
  }));
  const order = new Map(topology.node.map((n, i) => [n.name, i]));
  opLayers.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const metadata: Record<string, string> = { ...beside, nodes: String(topology.node.length) };
  if (typeof json.generatedBy === 'string') metadata.generatedBy = json.generatedBy;
  if (typeof json.convertedBy === 'string') metadata.convertedBy = json.convertedBy;
  const version = frameworkVersion(json, {});
  return {
    format: 'tfjs-graph',
    framework: 'tfjs',
    ...(version ? { frameworkVersion: version } : {}),
    source: source.name,
    layers: [...opLayers, ...constants],
    config: { format: 'graph-model', modelTopology: topology, ...(isObject((json as unknown as Record<string, unknown>).signature) ? { signature: (json as unknown as Record<string, unknown>).signature } : {}) },
    metadata,
    notes: [{ text: "A TF.js graph model: layers are the graph ops that consume weights, named by node; axes follow TensorFlow's layout for each op." }],
    close: () => undefined,
  };
}

/** A node's attributes, decoded to plain values (strings from base64, lists, numbers) for display. */
function attrConfig(node: TfjsNodeJson): Record<string, unknown> {
  const out: Record<string, unknown> = { op: node.op };
  for (const [key, a] of Object.entries(node.attr ?? {})) {
    if (a.s !== undefined) out[key] = decodeBase64(a.s);
    else if (a.i !== undefined) out[key] = Number(a.i);
    else if (a.f !== undefined) out[key] = a.f;
    else if (a.b !== undefined) out[key] = a.b;
    else if (a.type !== undefined) out[key] = a.type;
    else if (a.list) out[key] = a.list.s ? a.list.s.map(decodeBase64) : (a.list.i ?? a.list.f ?? a.list.b ?? a.list.type ?? []).map((v) => (typeof v === 'string' ? Number(v) : v));
  }
  return out;
}

function decodeBase64(text: string): string {
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0)));
  } catch {
    return text;
  }
}

function weightOf(source: string, layer: string, w: ManifestWeight, role: string, axes: AxisName[]): Weight {
  const shape = w.spec.shape;
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    name: w.spec.name,
    role,
    shape,
    axes,
    dtype: w.dtype,
    layer,
    async read() {
      const data = await w.read();
      if (data.length !== count) {
        throw new ModelFormatError(`${source}: weight ${quote(w.spec.name)} should hold ${count} values for shape (${shape.join(', ')}), but it holds ${data.length}.`);
      }
      return new NamedTensor(axes, shape, data);
    },
  };
}
