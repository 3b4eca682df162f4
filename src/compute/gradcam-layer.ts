import type { OnnxGraph } from '../formats/onnx-graph.js';
import type { GraphNode } from '../model/graph.js';
import { catalogueEntry } from '../model/keras-catalogue.js';
import type { RunnableModel } from './build.js';
import { kerasOutputShape } from './keras-to-onnx.js';
import { onnxLayers, type OnnxLayer } from './onnx-activations.js';
import { onnxForwardGraph } from './onnx-backward.js';
import { valueRanks } from './onnx-shapes.js';

/**
 * Grad-CAM's default layer for a Keras network, the one owner every surface asks (attribute, the
 * viewer's "what it detects" tab, the report): the last convolution's output after the normalization
 * and activation layers that follow it (Conv_1 -> Conv_1_bn -> out_relu gives out_relu), as Grad-CAM
 * practice takes the activation after the last conv. Layers that are identity at inference (Dropout,
 * per the Keras catalogue) are never chosen: they show their input under another name. Without a
 * convolution, the last layer with a spatial (rank-4) output that computes something.
 */
export function gradCamNode(net: RunnableModel): GraphNode | undefined {
  const spatial = (node: GraphNode) => !net.graph.inputs.includes(node.id) && kerasOutputShape(net, { node: node.id, output: 0 }).length === 4;
  let lastConv: GraphNode | undefined;
  let lastSpatial: GraphNode | undefined;
  for (const node of net.graph.nodes) {
    const entry = catalogueEntry(node.layer.className);
    if (entry?.status === 'identity' || !spatial(node)) continue;
    lastSpatial = node;
    if (entry?.group === 'convolution') lastConv = node;
    else if (lastConv && (entry?.group === 'activation' || entry?.group === 'normalization') && node.inputs.some((i) => i.node === lastConv!.id || passesTo(net, i.node, lastConv!))) lastConv = node;
  }
  return lastConv ?? lastSpatial;
}

/** Whether `from` is reached from `to` through identity-at-inference layers only (conv -> Dropout -> ReLU). */
function passesTo(net: RunnableModel, from: number, to: GraphNode): boolean {
  let node = net.graph.nodes[from];
  while (node && catalogueEntry(node.layer.className)?.status === 'identity') {
    const input = node.inputs[0];
    if (!input) return false;
    if (input.node === to.id) return true;
    node = net.graph.nodes[input.node];
  }
  return false;
}

/** Operators after which a value has no spatial positions left. */
const POOLED = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax', 'ReduceSum', 'Flatten', 'Gemm']);

/**
 * Grad-CAM's default layer for an ONNX graph fed an input of rank `inputRank`: the last node with a
 * rank-4 output that has positions: not a global pooling, flatten or Gemm, nor computed from those
 * alone (a global pooling's [N, C, 1, 1] is rank 4 but has no positions). A squeeze-and-excitation
 * block's gate is pooled, but the block's output, the feature map times the gate, is not.
 */
export function onnxGradCamLayer(graph: OnnxGraph, inputRank: number): OnnxLayer | undefined {
  const ranks = valueRanks(onnxForwardGraph(graph, inputRank));
  const constant = (value: string) => value === '' || graph.constantShapes?.[value] !== undefined;
  const pooled = new Set<string>();
  for (const n of graph.nodes) {
    const computed = n.inputs.filter((i) => !constant(i));
    if (POOLED.has(n.opType) || (computed.length > 0 && computed.every((i) => pooled.has(i)))) for (const o of n.outputs) pooled.add(o);
  }
  return onnxLayers(graph)
    .filter((l) => ranks.get(l.output) === 4 && !pooled.has(l.output))
    .at(-1);
}
