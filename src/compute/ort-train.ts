import { availableParallelism } from 'node:os';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, type AttributeValue, type WriteNode, type WriteTensor } from '../formats/onnx-write.js';
import { openOnnxNet, type OnnxNet } from './ort.js';

/**
 * Training steps on ONNX Runtime: a Keras-style chain of layers written as one ONNX graph that
 * computes the forward pass, the softmax cross-entropy loss and, by hand-written reverse mode, the
 * gradient of every weight, so that one session run is one step's gradients on all cores. The
 * weights are graph inputs, fed from the TensorFlow.js variables at every step, and the update is
 * TensorFlow.js' own optimizer: the model, the optimizer state and the checkpoints stay where they are.
 *
 * The reverse mode, per layer (NCHW inside the graph, the Keras layout at its edges):
 * - Conv2D: dW is a convolution of x with dy as the kernel, batch and channels swapped (stride and
 *   dilation swapped, cropped to the kernel); dx is ConvTranspose of dy with the same weights;
 * - MaxPooling2D: the forward pass keeps the argmax indices and dx scatter-adds dy at them (exact
 *   for overlapping windows and for ties, which go to the first maximum as in TensorFlow);
 * - Dense: dW = x^T dy, dx = dy W^T; biases sum dy over all but the channel axis;
 * - GlobalAveragePooling2D: dy spread evenly; Dropout: the mask the forward pass used (Keras'
 *   inverted dropout: kept values scaled by 1 / (1 - rate)), drawn in JS and fed in;
 * - activations: relu (gradient 0 at 0, as TensorFlow), tanh, sigmoid, linear; a final softmax
 *   with the probability loss TensorFlow.js' trainer uses (log of p clipped to [1e-7, 1]).
 * Anything else (other layers, channels_first, dilation, a graph that is not a chain) is named in
 * the reason the caller prints when it trains on TensorFlow.js instead.
 */

type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';
const ACTIVATIONS = new Set<string>(['linear', 'relu', 'tanh', 'sigmoid', 'softmax']);

/** A layer's weight as the graph reads it: the input name and the tfjs variable behind it. */
interface Param {
  readonly input: string;
  readonly variable: tfl.LayerVariable;
}

type Pads = [number, number, number, number];

type Stage =
  | {
      kind: 'conv';
      layer: string;
      kernel: Param;
      bias?: Param;
      kh: number;
      kw: number;
      strides: [number, number];
      pads: Pads;
      /** The input rows and columns past the last window (fewer than the stride): ConvTranspose's output_padding. */
      outputPadding: [number, number];
      activation: Activation;
    }
  | { kind: 'maxpool'; layer: string; size: [number, number]; strides: [number, number]; pads: Pads }
  | { kind: 'flatten'; layer: string }
  | { kind: 'globalAverage'; layer: string }
  /** Inverted dropout: the input times a mask of 0 and 1 / (1 - rate), drawn per step and fed in. */
  | { kind: 'dropout'; layer: string; rate: number; shape: number[] }
  | { kind: 'dense'; layer: string; kernel: Param; bias?: Param; activation: Activation }
  | { kind: 'activation'; layer: string; activation: Activation };

/** Why a model does not train on ONNX Runtime: one sentence's clause, naming the layer. */
class NotCovered extends Error {}

type Json = Record<string, unknown>;

function pair(value: unknown): [number, number] {
  const v = Array.isArray(value) ? value.map(Number) : [Number(value), Number(value)];
  return [v[0]!, v[1] ?? v[0]!];
}

/** TensorFlow's 'same' / 'valid' padding as explicit [top, left, bottom, right]. */
function padsOf(padding: unknown, input: readonly (number | null)[], size: [number, number], strides: [number, number]): Pads {
  if (padding === 'valid') return [0, 0, 0, 0];
  const total = [0, 1].map((a) => {
    const n = input[a]!;
    const out = Math.ceil(n / strides[a]!);
    return Math.max((out - 1) * strides[a]! + size[a]! - n, 0);
  });
  return [Math.floor(total[0]! / 2), Math.floor(total[1]! / 2), total[0]! - Math.floor(total[0]! / 2), total[1]! - Math.floor(total[1]! / 2)];
}

function activationOf(layer: tfl.layers.Layer, config: Json): Activation {
  const name = String(config.activation ?? 'linear');
  if (!ACTIVATIONS.has(name)) throw new NotCovered(`layer '${layer.name}' has activation '${name}'`);
  return name as Activation;
}

function channelsLast(layer: tfl.layers.Layer, config: Json): void {
  if (config.dataFormat !== undefined && config.dataFormat !== 'channelsLast') throw new NotCovered(`layer '${layer.name}' is channels_first`);
}

/** The layers of a single-input, single-output chain, in order (the input layer left out). */
function chainLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new NotCovered('the model has more than one input or output');
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let previous: tfl.layers.Layer | undefined = model.layers.find((l) => l.getClassName() === 'InputLayer');
  for (const layer of layers) {
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    const fromPrevious = previous ? inbound.length === 1 && inbound[0] === previous : inbound.every((l) => l.getClassName() === 'InputLayer');
    if (layer.inboundNodes.length !== 1 || !fromPrevious) throw new NotCovered(`layer '${layer.name}' is not fed by the layer before it alone (the model is not a chain)`);
    previous = layer;
  }
  return layers;
}

function params(layer: tfl.layers.Layer, useBias: boolean): { kernel: Param; bias?: Param } {
  const [kernel, bias] = layer.weights;
  const param = (variable: tfl.LayerVariable): Param => ({ input: `weight:${variable.name}`, variable });
  return useBias ? { kernel: param(kernel!), bias: param(bias!) } : { kernel: param(kernel!) };
}

function stageOf(layer: tfl.layers.Layer, last: boolean): Stage {
  const config = layer.getConfig() as Json;
  const input = (layer.input as tfl.SymbolicTensor).shape.slice(1);
  const className = layer.getClassName();
  const activation = 'activation' in config ? activationOf(layer, config) : 'linear';
  if (activation === 'softmax' && !last) throw new NotCovered(`layer '${layer.name}' has a softmax before the last layer`);
  switch (className) {
    case 'Conv2D': {
      channelsLast(layer, config);
      const [kh, kw] = pair(config.kernelSize);
      const strides = pair(config.strides ?? 1);
      if (pair(config.dilationRate ?? 1).some((d) => d !== 1)) throw new NotCovered(`layer '${layer.name}' is dilated`);
      if (activation === 'softmax') throw new NotCovered(`layer '${layer.name}' has a softmax over its channels`);
      const pads = padsOf(config.padding, input, [kh, kw], strides);
      const rest = (axis: 0 | 1, size: number) => (input[axis]! + pads[axis]! + pads[axis + 2]! - size) % strides[axis]!;
      return { kind: 'conv', layer: layer.name, ...params(layer, config.useBias !== false), kh, kw, strides, pads, outputPadding: [rest(0, kh), rest(1, kw)], activation };
    }
    case 'MaxPooling2D': {
      channelsLast(layer, config);
      const size = pair(config.poolSize ?? 2);
      const strides = pair(config.strides ?? config.poolSize ?? 2);
      return { kind: 'maxpool', layer: layer.name, size, strides, pads: padsOf(config.padding, input, size, strides) };
    }
    case 'Flatten':
      return { kind: 'flatten', layer: layer.name };
    case 'GlobalAveragePooling2D':
      channelsLast(layer, config);
      if (config.keepdims === true) throw new NotCovered(`layer '${layer.name}' keeps its spatial dimensions`);
      return { kind: 'globalAverage', layer: layer.name };
    case 'Dropout': {
      const rate = Number(config.rate);
      if (config.noiseShape !== undefined && config.noiseShape !== null) throw new NotCovered(`layer '${layer.name}' has a noise shape`);
      if (!(rate >= 0 && rate < 1)) throw new NotCovered(`layer '${layer.name}' has dropout rate ${String(config.rate)}`);
      return { kind: 'dropout', layer: layer.name, rate, shape: input.map(Number) };
    }
    case 'Dense':
      if (input.length !== 1) throw new NotCovered(`layer '${layer.name}' is a Dense layer on a rank-${input.length + 1} input`);
      return { kind: 'dense', layer: layer.name, ...params(layer, config.useBias !== false), activation };
    case 'Activation':
      return { kind: 'activation', layer: layer.name, activation };
    default:
      throw new NotCovered(`layer '${layer.name}' is a ${className}`);
  }
}

/** Where a value sits: NCHW feature maps or [batch, features] rows. */
type Layout = 'nchw' | 'rows';

class GraphWriter {
  readonly nodes: WriteNode[] = [];
  readonly initializers: WriteTensor[] = [];
  private counter = 0;

  op(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => `${op}#${this.counter++}`);
    this.nodes.push({ op, inputs, outputs: names, attributes });
    return names;
  }

  one(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    return this.op(op, inputs, attributes)[0]!;
  }

  ints(values: readonly number[]): string {
    const name = `ints#${this.counter++}`;
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  scalar(value: number): string {
    const name = `scalar#${this.counter++}`;
    this.initializers.push({ name, dims: [], data: Float32Array.of(value) });
    return name;
  }

  /** Renames `value` to the graph output `name`. */
  output(value: string, name: string): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
  }
}

/** What the forward pass kept of one stage for its backward pass. */
interface Taped {
  readonly stage: Stage;
  readonly input: string;
  /** The graph input x is NHWC; values inside the graph are NCHW or rows. */
  readonly inputLayout: Layout | 'nhwc';
  /** Pre-activation and activation values (conv, dense, activation). */
  readonly z?: string;
  readonly y?: string;
  /** Max-pool argmax indices; the flatten's NHWC input. */
  readonly indices?: string;
  readonly nhwc?: string;
  /** The conv kernel in ONNX OIHW. */
  readonly oihw?: string;
  /** The dropout mask's graph input. */
  readonly mask?: string;
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const SWAP_BATCH_CHANNELS = [1, 0, 2, 3];

function applyActivation(g: GraphWriter, activation: Activation, z: string): string {
  switch (activation) {
    case 'relu':
      return g.one('Relu', [z]);
    case 'tanh':
      return g.one('Tanh', [z]);
    case 'sigmoid':
      return g.one('Sigmoid', [z]);
    case 'softmax':
      return g.one('Softmax', [z], { axis: 1 });
    case 'linear':
      return z;
  }
}

/** dL/dz from dL/dy through y = activation(z) (softmax never gets here: the loss handles it). */
function activationGradient(g: GraphWriter, activation: Activation, z: string, y: string, dy: string): string {
  switch (activation) {
    case 'relu': {
      const zero = g.scalar(0);
      return g.one('Where', [g.one('Greater', [z, zero]), dy, zero]);
    }
    case 'tanh':
      return g.one('Mul', [dy, g.one('Sub', [g.scalar(1), g.one('Mul', [y, y])])]);
    case 'sigmoid':
      return g.one('Mul', [dy, g.one('Mul', [y, g.one('Sub', [g.scalar(1), y])])]);
    case 'linear':
    case 'softmax':
      return dy;
  }
}

/** A dropout mask the caller feeds: its graph input, rate and per-sample shape (the layer input's, Keras layout). */
interface MaskInput {
  readonly input: string;
  readonly rate: number;
  readonly shape: readonly number[];
}

function forward(g: GraphWriter, stages: readonly Stage[]): { taped: Taped[]; output: string; masks: MaskInput[] } {
  let value = 'x';
  let layout = 'nhwc' as Layout | 'nhwc';
  const taped: Taped[] = [];
  const masks: MaskInput[] = [];
  const nchw = (): string => {
    if (layout === 'nhwc') value = g.one('Transpose', [value], { perm: NHWC_TO_NCHW });
    layout = 'nchw';
    return value;
  };
  for (const stage of stages) {
    switch (stage.kind) {
      case 'conv': {
        const input = nchw();
        const oihw = g.one('Transpose', [stage.kernel.input], { perm: [3, 2, 0, 1] });
        const z = g.one('Conv', stage.bias ? [input, oihw, stage.bias.input] : [input, oihw], { strides: stage.strides, pads: stage.pads });
        value = applyActivation(g, stage.activation, z);
        taped.push({ stage, input, inputLayout: 'nchw', z, y: value, oihw });
        break;
      }
      case 'maxpool': {
        const input = nchw();
        const [pooled, indices] = g.op('MaxPool', [input], { kernel_shape: stage.size, strides: stage.strides, pads: stage.pads }, 2);
        value = pooled!;
        taped.push({ stage, input, inputLayout: 'nchw', indices: indices! });
        break;
      }
      case 'flatten': {
        const input = value;
        const inputLayout = layout;
        const nhwc = layout === 'nchw' ? g.one('Transpose', [value], { perm: NCHW_TO_NHWC }) : value;
        value = g.one('Reshape', [nhwc, g.ints([0, -1])]);
        layout = 'rows';
        taped.push({ stage, input, inputLayout, nhwc });
        break;
      }
      case 'dense': {
        const input = value;
        const z = stage.bias ? g.one('Gemm', [input, stage.kernel.input, stage.bias.input]) : g.one('MatMul', [input, stage.kernel.input]);
        value = applyActivation(g, stage.activation, z);
        taped.push({ stage, input, inputLayout: 'rows', z, y: value });
        break;
      }
      case 'activation': {
        const input = value;
        value = applyActivation(g, stage.activation, input);
        taped.push({ stage, input, inputLayout: layout, z: input, y: value });
        break;
      }
      case 'globalAverage': {
        const input = nchw();
        value = g.one('Reshape', [g.one('GlobalAveragePool', [input]), g.ints([0, -1])]);
        layout = 'rows';
        taped.push({ stage, input, inputLayout: 'nchw' });
        break;
      }
      case 'dropout': {
        // The mask is fed in the Keras layout of the layer's input, whatever the graph's layout.
        const input = value;
        masks.push({ input: `mask:${stage.layer}`, rate: stage.rate, shape: stage.shape });
        const mask = layout === 'nchw' ? g.one('Transpose', [`mask:${stage.layer}`], { perm: NHWC_TO_NCHW }) : `mask:${stage.layer}`;
        value = g.one('Mul', [input, mask]);
        taped.push({ stage, input, inputLayout: layout, mask });
        break;
      }
    }
  }
  return { taped, output: value, masks };
}

/**
 * The mean softmax cross-entropy over the batch (`inv` is 1 / batch size) of the model's output,
 * which is logits, or probabilities when the last layer ends in a softmax; and dL/d(logits).
 */
function loss(g: GraphWriter, output: string, probabilities: boolean): { loss: string; dLogits: string } {
  const axis1 = g.ints([1]);
  if (!probabilities) {
    const logSoftmax = g.one('LogSoftmax', [output], { axis: 1 });
    const perRow = g.one('ReduceSum', [g.one('Mul', ['labels', logSoftmax]), axis1], { keepdims: 0 });
    const value = g.one('Neg', [g.one('Mul', [g.one('ReduceSum', [perRow], { keepdims: 0 }), 'inv'])]);
    return { loss: value, dLogits: g.one('Mul', [g.one('Sub', [g.one('Exp', [logSoftmax]), 'labels']), 'inv']) };
  }
  // As TensorFlow.js' trainer: -mean(sum(labels * log(clip(p, 1e-7, 1)))), whose gradient is zero
  // where p was clipped; then back through the softmax: dz = p * (dp - sum(dp * p)).
  const p = output;
  const floor = g.scalar(1e-7);
  const clipped = g.one('Clip', [p, floor, g.scalar(1)]);
  const perRow = g.one('ReduceSum', [g.one('Mul', ['labels', g.one('Log', [clipped])]), axis1], { keepdims: 0 });
  const value = g.one('Neg', [g.one('Mul', [g.one('ReduceSum', [perRow], { keepdims: 0 }), 'inv'])]);
  const dp = g.one('Where', [g.one('GreaterOrEqual', [p, floor]), g.one('Neg', [g.one('Div', [g.one('Mul', ['labels', 'inv']), clipped])]), g.scalar(0)]);
  const dz = g.one('Mul', [p, g.one('Sub', [dp, g.one('ReduceSum', [g.one('Mul', [dp, p]), axis1], { keepdims: 1 })])]);
  return { loss: value, dLogits: dz };
}

/**
 * Walks the tape back from dL/d(output) (dL/dz of the last layer when it ends in the softmax the
 * loss took care of), handing every weight's gradient to `gradOf`.
 */
function backward(g: GraphWriter, taped: readonly Taped[], dOutput: string, gradOf: (p: Param, value: string) => void): void {
  let dy = dOutput;
  for (let i = taped.length - 1; i >= 0; i--) {
    const t = taped[i]!;
    const first = i === 0;
    const stage = t.stage;
    switch (stage.kind) {
      case 'conv': {
        const dz = activationGradient(g, stage.activation, t.z!, t.y!, dy);
        if (stage.bias) gradOf(stage.bias, g.one('ReduceSum', [dz, g.ints([0, 2, 3])], { keepdims: 0 }));
        const swappedX = g.one('Transpose', [t.input], { perm: SWAP_BATCH_CHANNELS });
        const swappedDz = g.one('Transpose', [dz], { perm: SWAP_BATCH_CHANNELS });
        const full = g.one('Conv', [swappedX, swappedDz], { pads: stage.pads, dilations: stage.strides });
        const cropped = g.one('Slice', [full, g.ints([0, 0]), g.ints([stage.kh, stage.kw]), g.ints([2, 3])]);
        gradOf(stage.kernel, g.one('Transpose', [cropped], { perm: [2, 3, 0, 1] }));
        if (!first) dy = g.one('ConvTranspose', [dz, t.oihw!], { strides: stage.strides, pads: stage.pads, output_padding: stage.outputPadding });
        break;
      }
      case 'maxpool': {
        if (first) break;
        const shape = g.one('Shape', [t.input]);
        const zeros = g.one('ConstantOfShape', [g.one('ReduceProd', [shape], { keepdims: 1 })]);
        const flat = g.ints([-1]);
        const scattered = g.one('ScatterElements', [zeros, g.one('Reshape', [t.indices!, flat]), g.one('Reshape', [dy, flat])], { axis: 0, reduction: 'add' });
        dy = g.one('Reshape', [scattered, shape]);
        break;
      }
      case 'flatten': {
        if (first) break;
        const rows = g.one('Reshape', [dy, g.one('Shape', [t.nhwc!])]);
        dy = t.inputLayout === 'nchw' ? g.one('Transpose', [rows], { perm: NHWC_TO_NCHW }) : rows;
        break;
      }
      case 'dense': {
        const dz = activationGradient(g, stage.activation, t.z!, t.y!, dy);
        if (stage.bias) gradOf(stage.bias, g.one('ReduceSum', [dz, g.ints([0])], { keepdims: 0 }));
        gradOf(stage.kernel, g.one('Gemm', [t.input, dz], { transA: 1 }));
        if (!first) dy = g.one('Gemm', [dz, stage.kernel.input], { transB: 1 });
        break;
      }
      case 'activation':
        dy = activationGradient(g, stage.activation, t.z!, t.y!, dy);
        break;
      case 'globalAverage': {
        if (first) break;
        const shape = g.one('Shape', [t.input]);
        const area = g.one('Cast', [g.one('ReduceProd', [g.one('Slice', [shape, g.ints([2]), g.ints([4])])], { keepdims: 0 })], { to: 1 });
        dy = g.one('Div', [g.one('Expand', [g.one('Reshape', [dy, g.ints([0, 0, 1, 1])]), shape]), area]);
        break;
      }
      case 'dropout':
        if (!first) dy = g.one('Mul', [dy, t.mask!]);
        break;
    }
  }
}

/** One step's results: the mean loss, the model's output for the batch, and every trainable weight's gradient. */
export interface OrtStep {
  readonly loss: number;
  readonly output: Float32Array;
  /** Keyed by TensorFlow.js variable name, as `tf.variableGrads` keys them. */
  readonly grads: ReadonlyMap<string, { readonly data: Float32Array; readonly shape: readonly number[] }>;
}

export interface OrtTrainer {
  /** ONNX Runtime's threads within an operator. */
  readonly threads: number;
  /** Gradients for one batch: `x` NHWC pixels of `size` images, `labels` one-hot [size, classes]. */
  step(x: Float32Array, labels: Float32Array, size: number): Promise<OrtStep>;
  release(): Promise<void>;
}

/** Keras' inverted dropout mask: each value kept with probability 1 - rate and scaled by 1 / (1 - rate). */
function dropoutMask(random: () => number, length: number, rate: number): Float32Array {
  const mask = new Float32Array(length);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < length; i++) if (random() >= rate) mask[i] = keep;
  return mask;
}

/**
 * The gradient step of `model` on ONNX Runtime, or why the model does not train there. `probabilities`
 * says the output is a softmax (the loss is then taken on probabilities, as TensorFlow.js' trainer does);
 * `random` draws the dropout masks (per step, layer by layer, each in the Keras layout of the layer's
 * input, C order), so that a seeded source repeats a run.
 */
export async function ortTrainer(model: tfl.LayersModel, probabilities: boolean, random: () => number = Math.random): Promise<OrtTrainer | { reason: string }> {
  let stages: Stage[];
  try {
    const layers = chainLayers(model);
    stages = layers.map((l, i) => stageOf(l, i === layers.length - 1));
    const last = stages.at(-1);
    const endsInSoftmax = last !== undefined && 'activation' in last && last.activation === 'softmax';
    if (endsInSoftmax !== probabilities) throw new NotCovered('its output layer is not the softmax or logits the loss expects');
  } catch (e) {
    if (e instanceof NotCovered) return { reason: e.message };
    throw e;
  }
  const g = new GraphWriter();
  const { taped, output, masks } = forward(g, stages);
  const { loss: lossValue, dLogits } = loss(g, output, probabilities);
  const trainable = new Set(model.trainableWeights.map((w) => w.name));
  const grads: { name: string; output: string; shape: readonly number[] }[] = [];
  backward(g, taped, dLogits, (param, value) => {
    if (!trainable.has(param.variable.name)) return;
    const name = `grad:${param.variable.name}`;
    g.output(value, name);
    grads.push({ name: param.variable.name, output: name, shape: param.variable.shape as number[] });
  });
  g.output(lossValue, 'loss');
  g.output(output, 'output');
  const params = stages.flatMap((s) => ('kernel' in s ? [s.kernel, ...(s.bias ? [s.bias] : [])] : []));
  const inputShape = model.inputs[0]!.shape;
  const classes = model.outputs[0]!.shape[1]!;
  const inputs = [
    { name: 'x', shape: inputShape.map((d) => d ?? null) },
    { name: 'labels', shape: [null, classes] },
    { name: 'inv', shape: [] },
    ...params.map((p) => ({ name: p.input, shape: p.variable.shape })),
    ...masks.map((m) => ({ name: m.input, shape: [null, ...m.shape] })),
  ];
  const outputs = ['loss', 'output', ...grads.map((d) => d.output)];
  const bytes = encodeOnnxModel({
    name: `${model.name}-training-step`,
    nodes: g.nodes,
    initializers: g.initializers,
    inputs,
    outputs: outputs.map((name) => ({ name })),
    opset: 16,
  });
  const threads = availableParallelism();
  const graph = {
    nodes: [],
    inputs: inputs.map((i) => ({ name: i.name, elemType: 1, shape: i.shape })),
    outputs: outputs.map((name) => ({ name, elemType: 1, shape: null })),
  };
  const net: OnnxNet = await openOnnxNet(bytes, graph, `the training step of ${model.name}`, { threads, spinning: false });
  return {
    threads,
    async step(x, labels, size) {
      const values = await net.run(
        [
          { shape: [size, ...inputShape.slice(1).map(Number)], data: x },
          { shape: [size, classes], data: labels },
          { shape: [], data: Float32Array.of(1 / size) },
          ...params.map((p) => ({ shape: p.variable.shape as number[], data: p.variable.read().dataSync() as Float32Array })),
          ...masks.map((m) => ({ shape: [size, ...m.shape], data: dropoutMask(random, size * m.shape.reduce((a, b) => a * b, 1), m.rate) })),
        ],
        outputs,
      );
      return {
        loss: values.get('loss')!.data![0]!,
        output: values.get('output')!.data!,
        grads: new Map(grads.map((d) => [d.name, { data: values.get(d.output)!.data!, shape: d.shape }])),
      };
    },
    release: () => net.release(),
  };
}
