import type { OnnxGraph } from '../formats/onnx-graph.js';
import { encodeGraphPatch, type WriteNode, type WriteTensor } from '../formats/onnx-write.js';
import { SelectionError, UsageError } from '../model/errors.js';
import type { TensorRef } from '../model/graph.js';
import { didYouMean } from '../model/lookup.js';
import { activationName, outputChannelsFirst, type InputBatch } from './activations.js';
import type { RunnableModel } from './build.js';
import { classScores, defaultGradCamNode, findNode, inputGradient, layerGradient, scoreDescription, type LayerGradientRun } from './gradients.js';
import { kerasOutputShape, kerasToOnnx, OrtConversionError } from './keras-to-onnx.js';
import { BackwardUnsupportedError, buildBackward, buildGradients, CLASS_INPUT, onnxForwardGraph, type ForwardGraph, type ForwardNode } from './onnx-backward.js';
import { onnxLayers, selectOnnxLayers } from './onnx-activations.js';
import { onnxGradCamLayer } from './gradcam-layer.js';
import { openOnnxNet, type OnnxNet } from './ort.js';
import { WRITE_OPSET } from '../formats/onnx-write.js';

/**
 * The engines attribution takes gradients from. ONNX Runtime runs the forward and the backward pass
 * of the class score in one session (the backward pass appended to the graph by onnx-backward.ts):
 * for ONNX models as they are, for Keras and TF.js models converted in memory (keras-to-onnx.ts).
 * A Keras or TF.js model the converter or the gradient builder does not cover takes its gradients
 * from TensorFlow.js (gradients.ts) instead, and the engine says why.
 */

/** One pass's results for a batch: each sample's gradient of its own class score. */
export interface InputGradients {
  /** d score / d x for every sample, in the batch's layout. */
  readonly gradient: Float32Array;
  /** [N, classes] class scores (see scoreKind). */
  readonly scores: Float32Array;
  readonly classes: number;
  /** [N, ...] the model's outputs, flattened per sample. */
  readonly outputs: Float32Array;
}

export interface GradientEngine {
  /** Which engine runs: 'ONNX Runtime' or 'TensorFlow.js'. */
  readonly engine: string;
  /** Why not ONNX Runtime, where it is TensorFlow.js. */
  readonly fallback?: string;
  /** What "score" means: the logit before a final softmax, or the raw output. */
  readonly scoreKind: string;
  /** Samples per pass (1 for graphs exported with a fixed batch of 1). */
  readonly maxBatch: number;
  /** The class scores and outputs of a batch, forward only. */
  scores(batch: InputBatch): Promise<{ scores: Float32Array; classes: number; outputs: Float32Array }>;
  /** Gradients of class `classIndex` for every sample, or of each sample's top class when undefined. */
  inputGradients(batch: InputBatch, classIndex: number | undefined): Promise<InputGradients>;
  /** A layer's output and the score's gradient there, channels-last, for the first sample (layer: the last spatial one when undefined). */
  layerGradient(batch: InputBatch, layer: string | undefined, classIndex: number | undefined): Promise<LayerGradientRun>;
  /** A layer's output for the first sample, forward only (Score-CAM), with the class (the top one unless given) and the outputs. */
  layerValue(batch: InputBatch, layer: string | undefined, classIndex: number | undefined): Promise<LayerValue>;
  /**
   * Activation maximization's gradient, ONNX Runtime only: for every sample, a layer's output and
   * d objective / d input, where the objective is the sum of the layer's output times `seed` (the
   * output's shape and layout: d objective / d output). Throws BackwardUnsupportedError where the
   * backward pass to the input cannot be built.
   */
  seededGradient?(batch: InputBatch, layer: string, seed: InputBatch): Promise<{ gradient: Float32Array; value: Float32Array }>;
  /** Why no gradient can be built here, where the engine runs forward passes only. */
  readonly unsupported?: string;
  /** Frees the engine's sessions, where it holds its own. */
  release?(): Promise<void>;
}

/** A layer's output without its gradient. */
export type LayerValue = Omit<LayerGradientRun, 'gradient'>;

function argmaxRow(scores: Float32Array, row: number, classes: number): number {
  let best = 0;
  for (let i = 1; i < classes; i++) if (scores[row * classes + i]! > scores[row * classes + best]!) best = i;
  return best;
}

function checkClass(source: string, classIndex: number | undefined, classes: number): void {
  if (classIndex !== undefined && !(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < classes)) {
    throw new SelectionError(`${source} scores ${classes} classes (0..${classes - 1}), but class ${classIndex} was asked for.`);
  }
}

/** The TensorFlow.js engine (autodiff through the built layers). */
export function tfjsGradients(net: RunnableModel, fallback?: string): GradientEngine {
  return {
    engine: 'TensorFlow.js',
    ...(fallback ? { fallback } : {}),
    scoreKind: scoreDescription(net),
    maxBatch: 32,
    scores: (batch) => classScores(net, batch),
    async inputGradients(batch, classIndex) {
      const first = await classScores(net, batch);
      checkClass(net.source, classIndex, first.classes);
      const n = batch.shape[0]!;
      const chosen = classIndex ?? argmaxRow(first.outputs, 0, first.outputs.length / n);
      if (classIndex === undefined && n > 1) throw new RangeError('TensorFlow.js input gradients of the top class take one sample at a time.');
      return { gradient: await inputGradient(net, batch, chosen), scores: first.scores, classes: first.classes, outputs: first.outputs };
    },
    layerGradient: (batch, layer, classIndex) => layerGradient(net, batch, layer === undefined ? undefined : findNode(net, layer), classIndex),
    layerValue: (batch, layer, classIndex) => layerGradient(net, batch, layer === undefined ? undefined : findNode(net, layer), classIndex),
  };
}

/** A forward graph's value that holds the class scores: the input of a final Softmax, else the output itself. */
function scoreValue(nodes: readonly ForwardNode[], output: string): { value: string; softmax: ForwardNode | undefined } {
  const producer = nodes.find((n) => n.outputs.includes(output));
  return producer?.opType === 'Softmax' ? { value: producer.inputs[0]!, softmax: producer } : { value: output, softmax: undefined };
}

interface Target {
  /** The value differentiated with respect to: the graph input, or a layer's output. */
  readonly value: string;
  readonly channelsFirst: boolean;
  readonly layer: string;
}

/**
 * Gradients on ONNX Runtime: one session per target value (the input, a Grad-CAM layer), each the
 * forward graph with its backward pass appended, built when first asked for.
 */
class OrtGradients {
  private readonly sessions = new Map<string, Promise<{ net: OnnxNet; gradient: string; scores: string }>>();
  private readonly seeded = new Map<string, Promise<{ net: OnnxNet; gradient: string }>>();

  constructor(
    readonly base: OnnxNet,
    readonly graph: ForwardGraph,
    readonly scores: string,
    readonly outputs: readonly string[],
    readonly maxBatch: number,
  ) {}

  /** Builds the backward pass to `target` (throws BackwardUnsupportedError); the session is created on first use. */
  prepare(target: string): void {
    if (this.sessions.has(target)) return;
    const backward = buildBackward(this.graph, target, this.scores);
    const patch = encodeGraphPatch(
      { nodes: backward.nodes, initializers: backward.initializers, inputs: [{ name: CLASS_INPUT, shape: [null, 1] }], outputs: [{ name: backward.gradient }, { name: backward.scores }] },
      'convscope_grad/',
    );
    const net = this.base.extend(patch, [{ name: CLASS_INPUT, elemType: 1, shape: [null, 1] }], [
      { name: backward.gradient, elemType: 1, shape: null },
      { name: backward.scores, elemType: 1, shape: null },
    ]);
    this.sessions.set(target, net.then((n) => ({ net: n, gradient: backward.gradient, scores: backward.scores })));
  }

  /** The input's gradient and `value` for every sample, given d objective / d `value` fed as SEED_INPUT. */
  async seededGradient(batch: InputBatch, value: string, seed: InputBatch): Promise<{ gradient: Float32Array; value: Float32Array }> {
    let session = this.seeded.get(value);
    if (!session) {
      const backward = buildGradients(this.graph, [this.graph.input], value, SEED_INPUT);
      const gradient = backward.gradients.get(this.graph.input)!;
      const shape = seed.shape.map(() => null);
      const patch = encodeGraphPatch({ nodes: backward.nodes, initializers: backward.initializers, inputs: [{ name: SEED_INPUT, shape }], outputs: [{ name: gradient }] }, 'convscope_grad/');
      session = this.base.extend(patch, [{ name: SEED_INPUT, elemType: 1, shape }], [{ name: gradient, elemType: 1, shape: null }]).then((net) => ({ net, gradient }));
      this.seeded.set(value, session);
    }
    const { net, gradient } = await session;
    const n = batch.shape[0]!;
    const size = batch.data.length / n;
    const seedSize = seed.data.length / n;
    const parts: { gradient: Float32Array; value: Float32Array }[] = [];
    for (let start = 0; start < n; start += this.maxBatch) {
      const count = Math.min(this.maxBatch, n - start);
      const part: InputBatch = { shape: [count, ...batch.shape.slice(1)], data: batch.data.subarray(start * size, (start + count) * size) };
      const seedPart: InputBatch = { shape: [count, ...seed.shape.slice(1)], data: seed.data.subarray(start * seedSize, (start + count) * seedSize) };
      const fetched = await net.run([part, seedPart], [gradient, value]);
      parts.push({ gradient: fetched.get(gradient)!.data!, value: fetched.get(value)!.data! });
    }
    return { gradient: concat(parts.map((p) => p.gradient)), value: concat(parts.map((p) => p.value)) };
  }

  /** Runs forward and backward for `batch` (split into passes of maxBatch), fetching `extra` values of the first sample too. */
  async run(batch: InputBatch, classIndex: number | undefined, target: string, extra: readonly string[] = []): Promise<InputGradients & { values: Map<string, Float32Array>; shapes: Map<string, readonly number[]> }> {
    this.prepare(target);
    const { net, gradient, scores } = await this.sessions.get(target)!;
    const n = batch.shape[0]!;
    const size = batch.data.length / n;
    const parts: { gradient: Float32Array; scores: Float32Array; outputs: Float32Array }[] = [];
    const values = new Map<string, Float32Array>();
    const shapes = new Map<string, readonly number[]>();
    let classes = 0;
    for (let start = 0; start < n; start += this.maxBatch) {
      const count = Math.min(this.maxBatch, n - start);
      const part: InputBatch = { shape: [count, ...batch.shape.slice(1)], data: batch.data.subarray(start * size, (start + count) * size) };
      const cls: InputBatch = { shape: [count, 1], data: new Float32Array(count).fill(classIndex ?? -1) };
      const fetched = await net.run([part, cls], [gradient, scores, ...this.outputs, ...(start === 0 ? extra : [])]);
      const s = fetched.get(scores)!;
      classes = s.shape[1]!;
      if (start === 0) {
        checkClass(net.source, classIndex, classes);
        for (const name of extra) {
          values.set(name, fetched.get(name)!.data!);
          shapes.set(name, fetched.get(name)!.shape);
        }
      }
      parts.push({ gradient: fetched.get(gradient)!.data!, scores: s.data!, outputs: fetched.get(this.outputs[0]!)!.data! });
    }
    const join = (key: 'gradient' | 'scores' | 'outputs'): Float32Array => concat(parts.map((p) => p[key]));
    return { gradient: join('gradient'), scores: join('scores'), classes, outputs: join('outputs'), values, shapes };
  }

  /**
   * Scores and outputs only, on the forward graph as it is (ONNX Runtime runs every node of a session
   * whatever is fetched, so the gradient sessions would run their backward nodes too).
   */
  async forward(batch: InputBatch): Promise<{ scores: Float32Array; classes: number; outputs: Float32Array }> {
    const n = batch.shape[0]!;
    const size = batch.data.length / n;
    const output = this.outputs[0]!;
    const parts: { scores: Float32Array; outputs: Float32Array }[] = [];
    for (let start = 0; start < n; start += this.maxBatch) {
      const count = Math.min(this.maxBatch, n - start);
      const part: InputBatch = { shape: [count, ...batch.shape.slice(1)], data: batch.data.subarray(start * size, (start + count) * size) };
      const fetched = await this.base.run([part], [this.scores, output]);
      parts.push({ scores: fetched.get(this.scores)!.data!, outputs: fetched.get(output)!.data! });
    }
    const scores = concat(parts.map((p) => p.scores));
    return { scores, classes: scores.length / n, outputs: concat(parts.map((p) => p.outputs)) };
  }

  async layerGradient(batch: InputBatch, target: Target, classIndex: number | undefined): Promise<LayerGradientRun> {
    const r = await this.run(firstSample(batch), classIndex, target.value, [target.value]);
    const layout = spatialLayout(target, r.shapes.get(target.value)!);
    const chosen = classIndex ?? argmaxRow(r.scores, 0, r.classes);
    return { ...layout.describe, activation: layout.last(r.values.get(target.value)!), gradient: layout.last(r.gradient), score: r.scores[chosen]!, classIndex: chosen, outputs: r.outputs };
  }

  /** The layer's output from the plain forward graph (no backward pass). */
  async layerValue(batch: InputBatch, target: Target, classIndex: number | undefined): Promise<LayerValue> {
    const output = this.outputs[0]!;
    const fetched = await this.base.run([firstSample(batch)], [target.value, this.scores, output]);
    const scores = fetched.get(this.scores)!.data!;
    checkClass(this.base.source, classIndex, scores.length);
    const layout = spatialLayout(target, fetched.get(target.value)!.shape);
    const chosen = classIndex ?? argmaxRow(scores, 0, scores.length);
    return { ...layout.describe, activation: layout.last(fetched.get(target.value)!.data!), score: scores[chosen]!, classIndex: chosen, outputs: fetched.get(output)!.data! };
  }
}

/** The graph input carrying d objective / d layer output (activation maximization). */
const SEED_INPUT = 'convscope_grad/seed';

function firstSample(batch: InputBatch): InputBatch {
  return { shape: [1, ...batch.shape.slice(1)], data: batch.data.subarray(0, batch.data.length / batch.shape[0]!) };
}

/** A rank-4 layer output's size, and its first sample channels-last. */
function spatialLayout(target: Target, shape: readonly number[]): { describe: { layer: string; height: number; width: number; channels: number }; last: (data: Float32Array) => Float32Array } {
  if (shape.length !== 4) throw new UsageError(`A class activation map needs a layer with a spatial output, but ${target.layer} has shape (${shape.join(', ')}).`, { concept: 'layer' });
  const [, a, b, c] = shape as [number, number, number, number];
  const [height, width, channels] = target.channelsFirst ? [b, c, a] : [a, b, c];
  const last = (data: Float32Array): Float32Array => {
    if (!target.channelsFirst) return data.slice(0, height * width * channels);
    const out = new Float32Array(height * width * channels);
    for (let k = 0; k < channels; k++) for (let p = 0; p < height * width; p++) out[p * channels + k] = data[k * height * width + p]!;
    return out;
  };
  return { describe: { layer: target.layer, height, width, channels }, last };
}

function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

function engineOf(ort: OrtGradients, scoreKind: string, source: string, targetOf: (layer: string | undefined) => Target, owned: boolean, unsupported?: string): GradientEngine {
  return {
    engine: 'ONNX Runtime',
    ...(unsupported ? { unsupported } : {}),
    layerValue: (batch, layer, classIndex) => ort.layerValue(batch, targetOf(layer), classIndex),
    ...(owned ? { release: () => ort.base.release() } : {}),
    scoreKind,
    maxBatch: ort.maxBatch,
    scores: (batch) => ort.forward(batch),
    async inputGradients(batch, classIndex) {
      const r = await ort.run(batch, classIndex, ort.graph.input);
      return { gradient: r.gradient, scores: r.scores, classes: r.classes, outputs: r.outputs };
    },
    seededGradient: (batch, layer, seed) => ort.seededGradient(batch, targetOf(layer).value, seed),
    async layerGradient(batch, layer, classIndex) {
      const target = targetOf(layer);
      try {
        ort.prepare(target.value);
      } catch (e) {
        if (e instanceof BackwardUnsupportedError) throw new UsageError(`${source}: the gradient at ${target.layer} cannot be built on ONNX Runtime: ${e.message}.`);
        throw e;
      }
      return ort.layerGradient(batch, target, classIndex);
    },
  };
}

const kerasEngines = new WeakMap<RunnableModel, { stamp: readonly object[]; engine: Promise<GradientEngine> }>();

/** The identity of the network's weight values: TensorFlow.js gives a variable new data on every update (training). */
function weightStamp(net: RunnableModel): object[] {
  return net.net.weights.map((w) => (w.read() as unknown as { dataId: object }).dataId);
}

/**
 * The gradient engine for a built Keras / TF.js network: ONNX Runtime when the converter and the
 * gradient builder cover every layer on the path, else TensorFlow.js with the reason. Kept with the
 * network while its weights stay the same, so that repeated attributions reuse the sessions.
 */
export function kerasGradients(net: RunnableModel): Promise<GradientEngine> {
  const stamp = weightStamp(net);
  const cached = kerasEngines.get(net);
  if (cached && cached.stamp.length === stamp.length && cached.stamp.every((d, i) => d === stamp[i])) return cached.engine;
  if (cached) void cached.engine.then((e) => e.release?.(), () => undefined);
  const engine = kerasOrtGradients(net);
  kerasEngines.set(net, { stamp, engine });
  return engine;
}

async function kerasOrtGradients(net: RunnableModel): Promise<GradientEngine> {
  if (net.graph.inputs.length !== 1 || net.graph.outputs.length !== 1) return tfjsGradients(net, 'the network has more than one input or output');
  let conversion;
  try {
    conversion = kerasToOnnx(net);
  } catch (e) {
    if (e instanceof OrtConversionError) return tfjsGradients(net, e.message.replace(/\.$/, ''));
    throw e;
  }
  const refOf = (value: string): TensorRef | undefined => {
    const m = /^(\d+):(\d+)$/.exec(value);
    return m ? { node: Number(m[1]), output: Number(m[2]) } : undefined;
  };
  const forward = forwardOfWritten(
    conversion.nodes,
    conversion.initializers,
    conversion.inputNames[0]!,
    net.inputShapes[0]!.length,
    (value) => {
      const ref = refOf(value);
      return ref === undefined ? undefined : activationName(net.graph.nodes[ref.node]!);
    },
    (value) => {
      const ref = refOf(value);
      return ref === undefined ? undefined : kerasOutputShape(net, ref);
    },
  );
  const output = conversion.outputNames[0]!;
  const { value } = scoreValue(forward.nodes, output);
  const graph: OnnxGraph = {
    nodes: [],
    inputs: conversion.inputNames.map((name, i) => ({ name, elemType: 1, shape: [...net.inputShapes[i]!] })),
    outputs: conversion.outputNames.map((name) => ({ name, elemType: 1, shape: null })),
  };
  const base = await openOnnxNet(conversion.bytes, graph, net.source);
  const ort = new OrtGradients(base, forward, value, [output], 32);
  try {
    ort.prepare(forward.input);
  } catch (e) {
    if (e instanceof BackwardUnsupportedError) return tfjsGradients(net, e.message);
    throw e;
  }
  const targetOf = (layer: string | undefined): Target => {
    const node = layer === undefined ? defaultGradCamNode(net) : findNode(net, layer);
    return { value: conversion.valueOf({ node: node.id, output: 0 }), channelsFirst: outputChannelsFirst(net, node), layer: activationName(node) };
  };
  return engineOf(ort, scoreDescription(net), net.source, targetOf, true);
}

/**
 * The forward graph of nodes written by keras-to-onnx, each node named by the layer it belongs to:
 * a layer's nodes run up to the one writing the layer's output value (`layerOf` names its layer).
 */
function forwardOfWritten(
  nodes: readonly WriteNode[],
  initializers: readonly WriteTensor[],
  input: string,
  inputRank: number,
  layerOf: (value: string) => string | undefined,
  shapeOf: (value: string) => (number | null)[] | undefined,
): ForwardGraph {
  const layers = new Array<string | undefined>(nodes.length);
  let from = 0;
  nodes.forEach((n, i) => {
    const layer = n.outputs.map(layerOf).find((l) => l !== undefined);
    if (layer !== undefined) {
      layers.fill(layer, from, i + 1);
      from = i + 1;
    }
  });
  return {
    nodes: nodes.map((n, i) => ({ opType: n.op, inputs: n.inputs, outputs: n.outputs, attributes: n.attributes ?? {}, ...(layers[i] !== undefined ? { layer: layers[i] } : {}) })),
    input,
    inputRank,
    opset: WRITE_OPSET,
    constantShapes: new Map(initializers.map((t) => [t.name, t.dims])),
    smallInts: new Map(initializers.filter((t) => t.data instanceof BigInt64Array && t.data.length <= 64).map((t) => [t.name, Array.from(t.data as BigInt64Array, Number)])),
    smallFloats: new Map(initializers.filter((t) => t.data instanceof Float32Array && t.data.length <= 64).map((t) => [t.name, Array.from(t.data as Float32Array)])),
    valueShapes: new Map(nodes.flatMap((n) => n.outputs).flatMap((v) => {
      const shape = shapeOf(v);
      return shape ? [[v, shape] as const] : [];
    })),
  };
}

const onnxEngines = new WeakMap<OnnxNet, Promise<GradientEngine | { reason: string }>>();

/**
 * The gradient engine for an ONNX model on ONNX Runtime; where the backward pass cannot be built, an
 * engine for forward passes only that says why (`unsupported`), or why the graph cannot be explained.
 */
export function onnxGradients(net: OnnxNet): Promise<GradientEngine | { reason: string }> {
  let engine = onnxEngines.get(net);
  if (!engine) {
    engine = onnxOrtGradients(net);
    onnxEngines.set(net, engine);
  }
  return engine;
}

async function onnxOrtGradients(net: OnnxNet): Promise<GradientEngine | { reason: string }> {
  const { graph } = net;
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1) return { reason: `the graph has ${graph.inputs.length} inputs and ${graph.outputs.length} outputs, and attribution needs one of each` };
  const forward = onnxForwardGraph(graph, net.inputShapes[0]!.length);
  const output = graph.outputs[0]!.name;
  const { value, softmax } = scoreValue(forward.nodes, output);
  const fixedBatch = net.inputShapes[0]?.[0] != null;
  const ort = new OrtGradients(net, forward, value, [output], fixedBatch ? 1 : 32);
  let unsupported: string | undefined;
  try {
    ort.prepare(forward.input);
  } catch (e) {
    if (!(e instanceof BackwardUnsupportedError)) throw e;
    unsupported = e.message;
  }
  const targetOf = (layer: string | undefined): Target => {
    if (layer === undefined) {
      const last = onnxGradCamLayer(graph, forward.inputRank);
      if (!last) throw new UsageError(`${net.source} has no node with a spatial (rank-4) output for Grad-CAM; choose the layer to explain.`, { concept: 'layer' });
      return { value: last.output, channelsFirst: true, layer: last.module ?? last.name };
    }
    const [chosen] = selectOnnxLayers(graph, net.source, layer);
    if (!chosen) throw new SelectionError(`${net.source} has no layer '${layer}'.${didYouMean(layer, onnxLayers(graph).map((l) => l.name))}`);
    return { value: chosen.output, channelsFirst: true, layer };
  };
  const scoreKind = softmax ? `logit (before the softmax '${softmax.name || output}')` : `output '${output}'`;
  return engineOf(ort, scoreKind, net.source, targetOf, false, unsupported);
}
