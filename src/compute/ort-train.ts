import { availableParallelism } from 'node:os';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, type AttributeValue, type WriteNode, type WriteTensor } from '../formats/onnx-write.js';
import { tf } from './backend.js';
import { BackwardUnsupportedError, buildGradients, type GradientsGraph } from './onnx-backward.js';
import { openOnnxNet, type OnnxNet } from './ort.js';

/** ONNX opset of the training graph. */
const OPSET = 16;

/**
 * Training steps on ONNX Runtime: a Keras-style chain of layers written as one ONNX graph that
 * computes the forward pass in training mode, the softmax cross-entropy loss, and the gradient of
 * every weight (the reverse mode of onnx-backward.ts, seeded with d loss / d logits), so that one
 * session run is one step's gradients on all cores. The weights are graph inputs, fed from the
 * TensorFlow.js variables at every step, and the update is TensorFlow.js' own optimizer: the model,
 * the optimizer state and the checkpoints stay where they are.
 *
 * Layers (NCHW inside the graph, the Keras layout at its edges), in any single-input,
 * single-output graph whose layers are each called once: Conv2D (dilated too, which TensorFlow.js
 * cannot differentiate), ZeroPadding2D, MaxPooling2D, Flatten, GlobalAveragePooling2D, Dense,
 * Activation, Add, Concatenate on the channels, BatchNormalization on the channels (batch
 * statistics; the moving averages updated as Keras does and written back to the layer after each
 * step), and Dropout as Keras trains it (inverted dropout: kept values scaled by 1 / (1 - rate))
 * with masks drawn in JS and fed in; activations relu, tanh, sigmoid, linear, and a final softmax
 * with the probability loss TensorFlow.js' trainer uses (log of p clipped to [1e-7, 1]). Anything
 * else (other layers, channels_first, shared layers) is named in the reason the caller prints when
 * it trains on TensorFlow.js instead.
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
  | { kind: 'conv'; layer: string; kernel: Param; bias?: Param; strides: [number, number]; dilations: [number, number]; pads: Pads; activation: Activation }
  | { kind: 'maxpool'; layer: string; size: [number, number]; strides: [number, number]; pads: Pads }
  | { kind: 'flatten'; layer: string }
  | { kind: 'globalAverage'; layer: string }
  /** Inverted dropout: the input times a mask of 0 and 1 / (1 - rate), drawn per step and fed in. */
  | { kind: 'dropout'; layer: string; rate: number; shape: number[] }
  | { kind: 'dense'; layer: string; kernel: Param; bias?: Param; activation: Activation }
  /** Batch statistics in training; the moving averages come back as outputs and are written to the layer. */
  | { kind: 'batchnorm'; layer: string; gamma: Param; beta: Param; movingMean: Param; movingVariance: Param; epsilon: number; momentum: number }
  | { kind: 'activation'; layer: string; activation: Activation }
  | { kind: 'add'; layer: string }
  | { kind: 'zeroPad'; layer: string; pads: Pads }
  | { kind: 'concat'; layer: string };

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

/** A layer in execution order with the layers feeding it ('x' for the model's input). */
interface Placed {
  readonly layer: tfl.layers.Layer;
  readonly inputs: readonly string[];
}

/**
 * The layers of a single-input, single-output graph in execution order (the input layer left out),
 * each called once, the output layer last.
 */
function graphLayers(model: tfl.LayersModel): Placed[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) throw new NotCovered('the model has more than one input or output');
  const placed = model.layers
    .filter((l) => l.getClassName() !== 'InputLayer')
    .map((layer) => {
      if (layer.inboundNodes.length !== 1) throw new NotCovered(`layer '${layer.name}' is called ${layer.inboundNodes.length} times`);
      return { layer, inputs: layer.inboundNodes[0]!.inboundLayers.map((l) => (l.getClassName() === 'InputLayer' ? 'x' : l.name)) };
    });
  if (placed.at(-1)?.layer !== model.outputs[0]!.sourceLayer) throw new NotCovered('its output layer is not the last one computed');
  return placed;
}

const param = (variable: tfl.LayerVariable): Param => ({ input: `weight:${variable.name}`, variable });

function params(layer: tfl.layers.Layer, useBias: boolean): { kernel: Param; bias?: Param } {
  const [kernel, bias] = layer.weights;
  return useBias ? { kernel: param(kernel!), bias: param(bias!) } : { kernel: param(kernel!) };
}

function stageOf(layer: tfl.layers.Layer, last: boolean): Stage {
  const config = layer.getConfig() as Json;
  const input = (Array.isArray(layer.input) ? layer.input[0]! : layer.input).shape.slice(1);
  const className = layer.getClassName();
  const activation = 'activation' in config ? activationOf(layer, config) : 'linear';
  if (activation === 'softmax' && !last) throw new NotCovered(`layer '${layer.name}' has a softmax before the last layer`);
  switch (className) {
    case 'Conv2D': {
      channelsLast(layer, config);
      const [kh, kw] = pair(config.kernelSize);
      const strides = pair(config.strides ?? 1);
      const dilations = pair(config.dilationRate ?? 1);
      if (activation === 'softmax') throw new NotCovered(`layer '${layer.name}' has a softmax over its channels`);
      // 'same' pads for the dilated kernel's reach, as TensorFlow does
      const pads = padsOf(config.padding, input, [(kh! - 1) * dilations[0] + 1, (kw! - 1) * dilations[1] + 1], strides);
      return { kind: 'conv', layer: layer.name, ...params(layer, config.useBias !== false), strides, dilations, pads, activation };
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
    case 'Add':
      return { kind: 'add', layer: layer.name };
    case 'ZeroPadding2D': {
      channelsLast(layer, config);
      const raw = config.padding as number | number[] | number[][];
      const [[top, bottom], [left, right]] = (typeof raw === 'number' ? [[raw, raw], [raw, raw]] : Array.isArray(raw[0]) ? raw : (raw as number[]).map((v) => [v, v])) as number[][] as [[number, number], [number, number]];
      return { kind: 'zeroPad', layer: layer.name, pads: [top, left, bottom, right] };
    }
    case 'Concatenate': {
      const axis = Number(config.axis ?? -1);
      if (axis !== -1 && axis !== input.length) throw new NotCovered(`layer '${layer.name}' concatenates axis ${axis}, not the channels`);
      return { kind: 'concat', layer: layer.name };
    }
    case 'BatchNormalization': {
      const axis = Number(config.axis ?? -1);
      if (axis !== -1 && axis !== input.length) throw new NotCovered(`layer '${layer.name}' normalizes axis ${axis}, not the channels`);
      if (config.center === false || config.scale === false) throw new NotCovered(`layer '${layer.name}' has no ${config.center === false ? 'center' : 'scale'}`);
      const [gamma, beta, movingMean, movingVariance] = layer.weights.map(param);
      return { kind: 'batchnorm', layer: layer.name, gamma: gamma!, beta: beta!, movingMean: movingMean!, movingVariance: movingVariance!, epsilon: Number(config.epsilon ?? 1e-3), momentum: Number(config.momentum ?? 0.99) };
    }
    default:
      throw new NotCovered(`layer '${layer.name}' (${className}) is not among the layers it trains`);
  }
}

/** Where a value sits: the graph input x is NHWC; inside, NCHW feature maps or [batch, features] rows. */
type Layout = 'nhwc' | 'nchw' | 'rows';

class GraphWriter {
  readonly nodes: WriteNode[] = [];
  readonly initializers: WriteTensor[] = [];
  /** Shapes of the weights, of the kernels in ONNX layout and of the constants, for the reverse mode. */
  readonly shapes = new Map<string, readonly number[]>();
  readonly smallInts = new Map<string, readonly number[]>();
  private counter = 0;

  op(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    const name = `${op}#${this.counter++}`;
    this.nodes.push({ op, inputs, outputs: [name], attributes });
    return name;
  }

  ints(values: readonly number[]): string {
    const name = `ints#${this.counter++}`;
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    this.shapes.set(name, [values.length]);
    this.smallInts.set(name, values);
    return name;
  }

  scalar(value: number): string {
    const name = `scalar#${this.counter++}`;
    this.initializers.push({ name, dims: [], data: Float32Array.of(value) });
    this.shapes.set(name, []);
    return name;
  }

  /** Renames `value` to the graph output `name`. */
  output(value: string, name: string): void {
    this.nodes.push({ op: 'Identity', inputs: [value], outputs: [name] });
  }
}

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];
const ONNX_OP = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid' } as const;

/** A dropout mask the caller feeds: its graph input, rate and per-sample shape (the layer input's, Keras layout). */
interface MaskInput {
  readonly input: string;
  readonly rate: number;
  readonly shape: readonly number[];
}

/**
 * The forward pass in ONNX: the model's output, and the logits the loss starts from (the input of a
 * final softmax, else the output).
 */
/** A moving statistic the step updates: the graph output holding its new value, and its variable. */
interface MovingUpdate {
  readonly output: string;
  readonly param: Param;
}

function forward(g: GraphWriter, stages: readonly (Stage & { inputs: readonly string[] })[]): { output: string; logits: string; masks: MaskInput[]; moving: MovingUpdate[] } {
  /** Each computed layer's output (and the model input, 'x'), where it sits. */
  const values = new Map<string, { value: string; layout: Layout }>([['x', { value: 'x', layout: 'nhwc' }]]);
  const transposed = new Map<string, string>();
  const toNchw = (v: { value: string; layout: Layout }): string => {
    if (v.layout !== 'nhwc') return v.value;
    if (!transposed.has(v.value)) transposed.set(v.value, g.op('Transpose', [v.value], { perm: NHWC_TO_NCHW }));
    return transposed.get(v.value)!;
  };
  let value = 'x';
  let layout = 'nhwc' as Layout;
  let logits: string | undefined;
  const masks: MaskInput[] = [];
  const moving: MovingUpdate[] = [];
  const nchw = (): string => {
    value = toNchw({ value, layout });
    layout = 'nchw';
    return value;
  };
  const activate = (activation: Activation): void => {
    logits = value;
    if (activation === 'softmax') value = g.op('Softmax', [value], { axis: 1 });
    else if (activation !== 'linear') value = g.op(ONNX_OP[activation], [value]);
  };
  for (const stage of stages) {
    const inputs = stage.inputs.map((name) => values.get(name)!);
    ({ value, layout } = inputs[0]!);
    logits = undefined;
    switch (stage.kind) {
      case 'add':
      case 'concat': {
        // feature maps meet in NCHW; rows stay rows
        const spatial = inputs.some((v) => v.layout !== 'rows');
        const operands = inputs.map((v) => (spatial ? toNchw(v) : v.value));
        value = stage.kind === 'add' ? g.op('Sum', operands) : g.op('Concat', operands, { axis: 1 });
        layout = spatial ? 'nchw' : 'rows';
        break;
      }
      case 'conv': {
        const input = nchw();
        const oihw = g.op('Transpose', [stage.kernel.input], { perm: [3, 2, 0, 1] });
        const [kh, kw, inC, outC] = stage.kernel.variable.shape as number[];
        g.shapes.set(oihw, [outC!, inC!, kh!, kw!]);
        value = g.op('Conv', stage.bias ? [input, oihw, stage.bias.input] : [input, oihw], { strides: stage.strides, dilations: stage.dilations, pads: stage.pads });
        activate(stage.activation);
        break;
      }
      case 'zeroPad': {
        const [top, left, bottom, right] = stage.pads;
        value = g.op('Pad', [nchw(), g.ints([0, 0, top, left, 0, 0, bottom, right])]);
        break;
      }
      case 'maxpool':
        value = g.op('MaxPool', [nchw()], { kernel_shape: stage.size, strides: stage.strides, pads: stage.pads });
        break;
      case 'flatten':
        if (layout === 'nchw') value = g.op('Transpose', [value], { perm: NCHW_TO_NHWC });
        value = g.op('Reshape', [value, g.ints([0, -1])]);
        layout = 'rows';
        break;
      case 'globalAverage':
        value = g.op('Reshape', [g.op('GlobalAveragePool', [nchw()]), g.ints([0, -1])]);
        layout = 'rows';
        break;
      case 'dense':
        value = stage.bias ? g.op('Gemm', [value, stage.kernel.input, stage.bias.input]) : g.op('MatMul', [value, stage.kernel.input]);
        activate(stage.activation);
        break;
      case 'activation':
        activate(stage.activation);
        break;
      case 'batchnorm': {
        const input = layout === 'rows' ? value : nchw();
        const mean = `moving:${stage.movingMean.variable.name}`;
        const variance = `moving:${stage.movingVariance.variable.name}`;
        g.nodes.push({
          op: 'BatchNormalization',
          inputs: [input, stage.gamma.input, stage.beta.input, stage.movingMean.input, stage.movingVariance.input],
          outputs: [(value = `BatchNormalization:${stage.layer}`), mean, variance],
          attributes: { training_mode: 1, epsilon: { float: stage.epsilon }, momentum: { float: stage.momentum } },
        });
        moving.push({ output: mean, param: stage.movingMean }, { output: variance, param: stage.movingVariance });
        break;
      }
      case 'dropout': {
        // The mask is fed in the Keras layout of the layer's input, whatever the graph's layout.
        const input = `mask:${stage.layer}`;
        masks.push({ input, rate: stage.rate, shape: stage.shape });
        value = g.op('Mul', [value, layout === 'nchw' ? g.op('Transpose', [input], { perm: NHWC_TO_NCHW }) : input]);
        break;
      }
    }
    values.set(stage.layer, { value, layout });
  }
  return { output: value, logits: logits ?? value, masks, moving };
}

/**
 * The mean softmax cross-entropy over the batch (`inv` is 1 / batch size) and d loss / d logits. On
 * logits: log-softmax. On probabilities (a final softmax), as TensorFlow.js' trainer computes it:
 * -mean(sum(labels * log(clip(p, 1e-7, 1)))), whose gradient is zero where p was clipped, then back
 * through the softmax: dz = p * (dp - sum(dp * p)).
 */
function loss(g: GraphWriter, output: string, logits: string, probabilities: boolean): { loss: string; dLogits: string } {
  const axis1 = g.ints([1]);
  const mean = (perSample: string) => g.op('Neg', [g.op('Mul', [g.op('ReduceSum', [g.op('ReduceSum', [perSample, axis1], { keepdims: 0 })], { keepdims: 0 }), 'inv'])]);
  if (!probabilities) {
    const logSoftmax = g.op('LogSoftmax', [logits], { axis: 1 });
    return { loss: mean(g.op('Mul', ['labels', logSoftmax])), dLogits: g.op('Mul', [g.op('Sub', [g.op('Exp', [logSoftmax]), 'labels']), 'inv']) };
  }
  const p = output;
  const floor = g.scalar(1e-7);
  const clipped = g.op('Clip', [p, floor, g.scalar(1)]);
  const value = mean(g.op('Mul', ['labels', g.op('Log', [clipped])]));
  const dp = g.op('Where', [g.op('GreaterOrEqual', [p, floor]), g.op('Neg', [g.op('Div', [g.op('Mul', ['labels', 'inv']), clipped])]), g.scalar(0)]);
  const dz = g.op('Mul', [p, g.op('Sub', [dp, g.op('ReduceSum', [g.op('Mul', [dp, p]), axis1], { keepdims: 1 })])]);
  return { loss: value, dLogits: dz };
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
  let stages: (Stage & { inputs: readonly string[] })[];
  try {
    const layers = graphLayers(model);
    stages = layers.map((p, i) => ({ ...stageOf(p.layer, i === layers.length - 1), inputs: p.inputs }));
    const last = stages.at(-1);
    const endsInSoftmax = last !== undefined && 'activation' in last && last.activation === 'softmax';
    if (endsInSoftmax !== probabilities) throw new NotCovered('its output layer is not the softmax or logits the loss expects');
  } catch (e) {
    if (e instanceof NotCovered) return { reason: e.message };
    throw e;
  }
  const g = new GraphWriter();
  const { output, logits, masks, moving } = forward(g, stages);
  const { loss: lossValue, dLogits } = loss(g, output, logits, probabilities);
  const params = stages.flatMap((s) =>
    'kernel' in s ? [s.kernel, ...(s.bias ? [s.bias] : [])] : s.kind === 'batchnorm' ? [s.gamma, s.beta, s.movingMean, s.movingVariance] : [],
  );
  for (const p of params) g.shapes.set(p.input, p.variable.shape as number[]);
  const trainable = params.filter((p) => model.trainableWeights.some((w) => w.name === p.variable.name));
  let backward: GradientsGraph;
  try {
    const graph = { nodes: g.nodes.map((n) => ({ opType: n.op, inputs: n.inputs, outputs: n.outputs, attributes: n.attributes ?? {} })), input: 'x', inputRank: 4, opset: OPSET, constantShapes: g.shapes, smallInts: g.smallInts };
    backward = buildGradients(graph, trainable.map((p) => p.input), logits, dLogits);
  } catch (e) {
    if (e instanceof BackwardUnsupportedError) return { reason: e.message };
    throw e;
  }
  const forwardNodes = g.nodes.length;
  const grads = trainable.map((p) => ({ name: p.variable.name, output: `grad:${p.variable.name}`, shape: p.variable.shape as number[] }));
  trainable.forEach((p, i) => g.output(backward.gradients.get(p.input)!, grads[i]!.output));
  g.output(lossValue, 'loss');
  g.output(output, 'output');
  const inputShape = model.inputs[0]!.shape;
  const classes = model.outputs[0]!.shape[1]!;
  const inputs = [
    { name: 'x', shape: inputShape.map((d) => d ?? null) },
    { name: 'labels', shape: [null, classes] },
    { name: 'inv', shape: [] },
    ...params.map((p) => ({ name: p.input, shape: p.variable.shape })),
    ...masks.map((m) => ({ name: m.input, shape: [null, ...m.shape] })),
  ];
  const outputs = ['loss', 'output', ...grads.map((d) => d.output), ...moving.map((m) => m.output)];
  const bytes = encodeOnnxModel({
    name: `${model.name}-training-step`,
    nodes: [...g.nodes.slice(0, forwardNodes), ...backward.nodes, ...g.nodes.slice(forwardNodes)],
    initializers: [...g.initializers, ...backward.initializers],
    inputs,
    outputs: outputs.map((name) => ({ name })),
    opset: OPSET,
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
      for (const m of moving) {
        const updated = tf.tensor(values.get(m.output)!.data!, m.param.variable.shape as number[]);
        m.param.variable.write(updated);
        updated.dispose();
      }
      return {
        loss: values.get('loss')!.data![0]!,
        output: values.get('output')!.data!,
        grads: new Map(grads.map((d) => [d.name, { data: values.get(d.output)!.data!, shape: d.shape }])),
      };
    },
    release: () => net.release(),
  };
}
