import type { OnnxAttribute, OnnxGraph } from '../formats/onnx-graph.js';
import type { WriteNode, WriteTensor } from '../formats/onnx-write.js';
import { UnsupportedError } from '../model/errors.js';
import { BROADCASTING, ints, knownShapes, SAME_SHAPE, valueRanks, type Dims } from './onnx-shapes.js';

/**
 * The backward pass of a forward ONNX graph, written as more ONNX nodes, so that ONNX Runtime runs the
 * forward and the backward pass in one session: of a class score with respect to the input
 * (attribution: saliency, SmoothGrad, integrated gradients, Grad-CAM; `buildBackward`), or of a loss
 * with respect to weights fed as graph inputs (training; `buildGradients`). Each operator on a path
 * from a target value to the scores gets its vector-Jacobian product:
 *   Conv (stride 1, one group)  Conv of dy with the weight flipped in space and in/out swapped
 *   Conv weight / bias          Conv of x with dy as the kernel, batch and channels swapped (stride and
 *                               dilation swapped), cropped to the kernel; dy summed per channel
 *   Conv (strided, grouped)      ConvTranspose with the same weight, cropped to the input's size
 *   Relu, Clip, LeakyRelu, PRelu, HardSigmoid, HardSwish, Sigmoid, Tanh, Elu, Selu, Softplus,
 *   Softsign, Abs, Neg, Exp, Log, Sqrt, Reciprocal, Erf, Pow        dy times the local derivative
 *   MaxPool                      MaxPool's Indices scattered back by MaxUnpool, in groups of windows
 *                                that do not overlap, so that overlapping windows add up
 *                                (ceil_mode too)
 *   AveragePool                  dy over each window's divisor, spread back by a ConvTranspose of ones
 *   GlobalAveragePool, ReduceMean/Sum   dy spread evenly (Expand)
 *   GlobalMaxPool, ReduceMax     dy shared by the positions holding the maximum
 *   BatchNormalization (inference)      dy times scale / sqrt(var + eps) per channel
 *   BatchNormalization (training mode)  through the batch statistics; its scale and bias
 *   Layer/InstanceNormalization  through the statistics over the normalized axes
 *   Softmax, LogSoftmax          y (dy - sum(dy y)), dy - exp(y) sum(dy)
 *   Gemm, MatMul                 dy times the transposed weight; the weight's: the input transposed times dy
 *   Add/Sum/Sub/Mul/Div          summed over the axes each operand was broadcast along
 *   Resize                       each resized axis times the transposed interpolation matrix (Resize of the identity)
 *   Slice, Split                 scattered back into zeros (ScatterElements), parts joined (Concat)
 *   Concat, Pad, Flatten/Reshape/Squeeze/Unsqueeze, Transpose, Identity
 * The seed is one-hot on a class given per sample by the input `CLASS_INPUT` (a float; negative means
 * the sample's own top class, ArgMax inside the graph). Anything else on the path is refused with
 * BackwardUnsupportedError naming the node, so that the caller can fall back to another engine.
 */

export interface ForwardNode {
  readonly name?: string;
  /** The Keras layer the node computes part of, for messages. */
  readonly layer?: string;
  readonly opType: string;
  readonly domain?: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

export interface ForwardGraph {
  readonly nodes: readonly ForwardNode[];
  /** The value fed by the caller (the image). */
  readonly input: string;
  /** Its rank. */
  readonly inputRank: number;
  /** The default-domain opset the graph is written for. */
  readonly opset: number;
  /** Shapes of constant tensors by name. */
  readonly constantShapes: ReadonlyMap<string, readonly number[]>;
  /** Values of small integer constants by name. */
  readonly smallInts: ReadonlyMap<string, readonly number[]>;
  /** Values of small float constants by name, where known (Resize's scales). */
  readonly smallFloats?: ReadonlyMap<string, readonly number[]>;
  /** Shapes of values where known before running (a Keras layer's output), null for free dimensions. */
  readonly valueShapes?: ReadonlyMap<string, Dims>;
}

export class BackwardUnsupportedError extends UnsupportedError {}

/** An ONNX model's graph as the builder reads it, fed at its first input (of rank `inputRank`). */
export function onnxForwardGraph(graph: OnnxGraph, inputRank: number): ForwardGraph {
  return {
    nodes: graph.nodes,
    input: graph.inputs[0]!.name,
    inputRank,
    opset: graph.opset ?? 0,
    constantShapes: new Map(Object.entries(graph.constantShapes ?? {})),
    smallInts: new Map(Object.entries(graph.smallInts ?? {})),
    smallFloats: new Map(Object.entries(graph.smallFloats ?? {})),
    ...(graph.inputs[0]!.shape?.length === inputRank ? { valueShapes: new Map([[graph.inputs[0]!.name, graph.inputs[0]!.shape]]) } : {}),
  };
}

/** The graph input carrying each sample's class (float32 [N, 1]; negative: the top class). */
export const CLASS_INPUT = 'convscope_grad/class';

export interface BackwardGraph {
  readonly nodes: WriteNode[];
  readonly initializers: WriteTensor[];
  /** d score / d target, the target's shape. */
  readonly gradient: string;
  /** The scores, [N, classes]. */
  readonly scores: string;
}

const PREFIX = 'convscope_grad/';

/**
 * Operators whose outputs are locally constant in their inputs (shapes, sizes, indices, comparisons):
 * no gradient flows through them, so shape plumbing such as Shape -> Gather -> Concat -> Reshape (a
 * `view(x.size(0), -1)` exported with a free batch axis) is not on the path.
 */
const CONSTANT_OUTPUT = new Set(['Shape', 'Size', 'ArgMax', 'ArgMin', 'NonZero', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf', 'Sign', 'Floor', 'Ceil', 'Round']);
const BIG = 2 ** 62;

function floatOf(a: OnnxAttribute | undefined, fallback: number): number {
  if (a === undefined) return fallback;
  if (typeof a === 'object' && 'float' in a) return a.float;
  return typeof a === 'number' ? a : fallback;
}

class Writer {
  readonly nodes: WriteNode[] = [];
  readonly initializers: WriteTensor[] = [];
  private counter = 0;
  private readonly cache = new Map<string, string>();

  fresh(hint: string): string {
    return `${PREFIX}${hint}_${this.counter++}`;
  }

  op(op: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, () => this.fresh(op));
    this.nodes.push({ op, inputs, outputs: outs, attributes, name: this.fresh(`node_${op}`) });
    return outs;
  }

  one(op: string, inputs: readonly string[], attributes: Record<string, OnnxAttribute> = {}): string {
    return this.op(op, inputs, attributes)[0]!;
  }

  /** The value `key` names, made by `make` the first time it is asked for in this graph. */
  private cached(key: string, make: () => string): string {
    let name = this.cache.get(key);
    if (!name) {
      name = make();
      this.cache.set(key, name);
    }
    return name;
  }

  /** A new initializer holding `data`. */
  private initializer(hint: string, dims: readonly number[], data: WriteTensor['data']): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, data });
    return name;
  }

  ints(values: readonly number[]): string {
    return this.cached(`i:${values.join(',')}`, () => this.initializer('ints', [values.length], BigInt64Array.from(values.map((v) => BigInt(v)))));
  }

  /** A 0-D int64. */
  int(value: number): string {
    return this.cached(`i0:${value}`, () => this.initializer('int', [], BigInt64Array.of(BigInt(value))));
  }

  /** A float32 tensor of ones. */
  ones(dims: readonly number[]): string {
    return this.initializer('ones', dims, new Float32Array(dims.reduce((p, d) => p * d, 1)).fill(1));
  }

  scalar(value: number): string {
    return this.cached(`f:${value}`, () => this.initializer('scalar', [], Float32Array.of(value)));
  }

  /** Shape(x), once per value. */
  shape(x: string): string {
    return this.cached(`s:${x}`, () => this.one('Shape', [x]));
  }

  slice(x: string, starts: readonly number[] | string, ends: readonly number[] | string, axes: readonly number[], steps?: readonly number[]): string {
    const s = typeof starts === 'string' ? starts : this.ints(starts);
    const e = typeof ends === 'string' ? ends : this.ints(ends);
    return this.one('Slice', [x, s, e, this.ints(axes), ...(steps ? [this.ints(steps)] : [])]);
  }

  /** Where(cond, dy, 0). */
  gate(cond: string, dy: string): string {
    return this.one('Where', [cond, dy, this.scalar(0)]);
  }

  sum(terms: readonly string[]): string {
    return terms.length === 1 ? terms[0]! : this.one('Sum', terms);
  }

  /** The float ratio Size(a) / Size(b). */
  sizeRatio(a: string, b: string): string {
    const size = (x: string) => this.one('Cast', [this.one('Size', [x])], { to: 1 });
    return this.one('Div', [size(a), size(b)]);
  }
}

/**
 * Appends to `graph` the backward pass of the class score in `scores` (a value of shape [N, ...],
 * flattened to [N, classes]) with respect to `target` (the graph input, or any value between it and
 * the scores). Throws BackwardUnsupportedError naming the first node it cannot differentiate.
 */
export function buildBackward(graph: ForwardGraph, target: string, scores: string): BackwardGraph {
  const w = new Writer();
  // the seed: one-hot on each sample's class (the top class where the class input is negative)
  const flat = w.one('Flatten', [scores], { axis: 1 });
  const ones = w.one('Expand', [w.scalar(1), w.shape(flat)]);
  const grid = w.one('Sub', [w.one('CumSum', [ones, w.int(1)]), w.scalar(1)]);
  const top = w.one('Cast', [w.one('ArgMax', [flat], { axis: 1, keepdims: 1 })], { to: 1 });
  const chosen = w.one('Where', [w.one('Less', [CLASS_INPUT, w.scalar(0)]), top, CLASS_INPUT]);
  const seed = w.one('Reshape', [w.one('Cast', [w.one('Equal', [grid, chosen])], { to: 1 }), w.shape(scores)]);
  const gradient = reverse(w, graph, [target], scores, seed).get(target)!;
  return { nodes: w.nodes, initializers: w.initializers, gradient: w.one('Identity', [gradient]), scores: flat };
}

/** The backward pass of a loss: each target's gradient, by name, and the nodes that compute them. */
export interface GradientsGraph {
  readonly nodes: WriteNode[];
  readonly initializers: WriteTensor[];
  /** d loss / d target for each target, the target's shape (zeros where the loss does not depend on it). */
  readonly gradients: ReadonlyMap<string, string>;
}

/**
 * Appends to `graph` the gradients with respect to each of `targets` (weights fed as graph inputs,
 * or any values) given `seed`, the value holding d loss / d `scores`. Throws BackwardUnsupportedError
 * naming the first node it cannot differentiate.
 */
export function buildGradients(graph: ForwardGraph, targets: readonly string[], scores: string, seed: string): GradientsGraph {
  const w = new Writer();
  const gradients = reverse(w, graph, targets, scores, seed);
  return { nodes: w.nodes, initializers: w.initializers, gradients };
}

function reverse(w: Writer, graph: ForwardGraph, targets: readonly string[], scores: string, seed: string): Map<string, string> {
  if (graph.opset < 11) throw new BackwardUnsupportedError(`the graph is written for ONNX opset ${graph.opset}; gradients are built for opset 11 and later`);
  const ranks = valueRanks(graph);
  const shapes = knownShapes(graph);

  // the values on a path from a target to the scores
  const live = new Set<string>(targets);
  for (const n of graph.nodes) if (!CONSTANT_OUTPUT.has(n.opType) && n.inputs.some((i) => live.has(i))) for (const o of n.outputs) live.add(o);
  if (!live.has(scores)) throw new BackwardUnsupportedError(`the scores do not depend on '${targets.join("', '")}'`);
  const useful = new Set<string>([scores]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (n.outputs.some((o) => useful.has(o))) for (const input of n.inputs) if (live.has(input)) useful.add(input);
  }
  const onPath = (v: string): boolean => v !== '' && live.has(v) && useful.has(v);

  const grads = new Map<string, string[]>();
  const add = (value: string, g: string): void => {
    if (!onPath(value)) return;
    grads.set(value, [...(grads.get(value) ?? []), g]);
  };
  add(scores, seed);

  const ends = new Set(targets);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.outputs.some((o) => ends.has(o))) continue;
    const upstream = node.outputs.map((o) => grads.get(o));
    if (upstream.every((u) => u === undefined)) continue;
    if (node.domain && node.domain !== 'ai.onnx') throw unsupported(node, `is in operator domain '${node.domain}'`);
    if (node.opType === 'Split') {
      // each part's gradient, zeros for the parts the score does not use, joined back along the axis
      const parts = node.outputs.map((o, k) => (upstream[k] ? w.sum(upstream[k]) : w.one('Expand', [w.scalar(0), w.shape(o)])));
      add(node.inputs[0]!, w.one('Concat', parts, { axis: Number(node.attributes?.axis ?? 0) }));
      continue;
    }
    if (upstream.slice(1).some((u) => u !== undefined)) throw unsupported(node, 'has a second output on the path to the score');
    const dy = w.sum(upstream[0]!);
    backward(w, graph, ranks, shapes, node, dy, onPath, add);
  }
  const out = new Map<string, string>();
  for (const target of targets) {
    const contributions = grads.get(target);
    out.set(target, contributions ? w.sum(contributions) : w.one('Expand', [w.scalar(0), w.shape(target)]));
  }
  return out;
}

function unsupported(node: ForwardNode, why: string): BackwardUnsupportedError {
  const which = node.layer !== undefined ? `layer '${node.layer}'` : `node '${node.name || node.outputs[0]}'`;
  return new BackwardUnsupportedError(`${which} (${node.opType}) ${why}, so its gradient is not built on ONNX Runtime`);
}

function backward(
  w: Writer,
  graph: ForwardGraph,
  ranks: ReadonlyMap<string, number>,
  shapes: ReadonlyMap<string, Dims>,
  node: ForwardNode,
  dy: string,
  onPath: (v: string) => boolean,
  add: (value: string, g: string) => void,
): void {
  const [x = '', second = ''] = node.inputs;
  const y = node.outputs[0]!;
  const a = node.attributes ?? {};
  const liveInputs = node.inputs.filter(onPath);
  const rankOf = (v: string): number => {
    const r = ranks.get(v);
    if (r === undefined) throw unsupported(node, 'has an input of unknown rank');
    return r;
  };
  const onlyFirst = (): void => {
    if (liveInputs.some((v) => v !== x)) throw unsupported(node, 'depends on the input through an operand other than its first');
  };
  switch (node.opType) {
    case 'Identity':
    case 'Dropout':
      add(x, dy);
      return;
    case 'Relu':
      add(x, w.gate(w.one('Greater', [y, w.scalar(0)]), dy));
      return;
    case 'LeakyRelu':
      add(x, w.one('Where', [w.one('Greater', [x, w.scalar(0)]), dy, w.one('Mul', [dy, w.scalar(floatOf(a.alpha, 0.01))])]));
      return;
    case 'Clip': {
      onlyFirst();
      const min = node.inputs[1] || undefined;
      const max = node.inputs[2] || undefined;
      // y strictly inside (min, max) exactly where x is: the gradient is 1 there and 0 at the bounds, as in torch and TF
      const inside = [min ? w.one('Greater', [y, min]) : undefined, max ? w.one('Less', [y, max]) : undefined].filter((c): c is string => c !== undefined);
      add(x, inside.length === 0 ? dy : w.gate(inside.length === 1 ? inside[0]! : w.one('And', inside), dy));
      return;
    }
    case 'Sigmoid':
      add(x, w.one('Mul', [dy, w.one('Mul', [y, w.one('Sub', [w.scalar(1), y])])]));
      return;
    case 'Tanh':
      add(x, w.one('Mul', [dy, w.one('Sub', [w.scalar(1), w.one('Mul', [y, y])])]));
      return;
    case 'HardSigmoid': {
      const alpha = floatOf(a.alpha, 0.2);
      const inside = w.one('And', [w.one('Greater', [y, w.scalar(0)]), w.one('Less', [y, w.scalar(1)])]);
      add(x, w.gate(inside, w.one('Mul', [dy, w.scalar(alpha)])));
      return;
    }
    case 'HardSwish': {
      // torch: 0 below -3, x / 3 + 1/2 up to 3, 1 above
      const slope = w.one('Add', [w.one('Div', [x, w.scalar(3)]), w.scalar(0.5)]);
      const middle = w.one('Where', [w.one('Greater', [x, w.scalar(3)]), dy, w.one('Mul', [dy, slope])]);
      add(x, w.gate(w.one('Not', [w.one('Less', [x, w.scalar(-3)])]), middle));
      return;
    }
    case 'Conv': {
      if (onPath(x)) add(x, convInputGradient(w, graph, node, dy));
      if (onPath(second)) add(second, convWeightGradient(w, graph, node, dy));
      const bias = node.inputs[2] ?? '';
      if (onPath(bias)) add(bias, reduceSum(w, graph, dy, [0, ...Array.from({ length: rankOf(x) - 2 }, (_, i) => i + 2)]));
      return;
    }
    case 'ConvTranspose': {
      onlyFirst();
      if (a.output_shape !== undefined || (a.auto_pad !== undefined && a.auto_pad !== 'NOTSET')) throw unsupported(node, 'sets output_shape or auto_pad');
      const attrs: Record<string, OnnxAttribute> = {};
      for (const k of ['strides', 'pads', 'dilations', 'group'] as const) if (a[k] !== undefined) attrs[k] = a[k]!;
      add(x, w.one('Conv', [dy, second], attrs));
      return;
    }
    case 'MaxPool':
      onlyFirst();
      add(x, maxPoolGradient(w, node, dy));
      return;
    case 'AveragePool':
      onlyFirst();
      add(x, averagePoolGradient(w, node, dy));
      return;
    case 'GlobalMaxPool':
      add(x, maxGradient(w, x, y, dy, (v) => w.one('GlobalAveragePool', [v])));
      return;
    case 'ReduceMax': {
      onlyFirst();
      const kept = w.one('ReduceMax', node.inputs, { ...a, keepdims: 1 });
      add(x, maxGradient(w, x, kept, w.one('Reshape', [dy, w.shape(kept)]), (v) => w.one('ReduceMean', [v, ...node.inputs.slice(1)], { ...a, keepdims: 1 })));
      return;
    }
    case 'Softmax':
    case 'LogSoftmax':
      add(x, softmaxGradient(w, graph, rankOf(x), node, dy));
      return;
    case 'Abs':
      add(x, w.one('Mul', [dy, w.one('Sign', [x])]));
      return;
    case 'Neg':
      add(x, w.one('Neg', [dy]));
      return;
    case 'Exp':
      add(x, w.one('Mul', [dy, y]));
      return;
    case 'Log':
      add(x, w.one('Div', [dy, x]));
      return;
    case 'Sqrt':
      add(x, w.one('Div', [dy, w.one('Mul', [y, w.scalar(2)])]));
      return;
    case 'Reciprocal':
      add(x, w.one('Neg', [w.one('Mul', [dy, w.one('Mul', [y, y])])]));
      return;
    case 'Erf':
      add(x, w.one('Mul', [dy, w.one('Mul', [w.one('Exp', [w.one('Neg', [w.one('Mul', [x, x])])]), w.scalar(2 / Math.sqrt(Math.PI))])]));
      return;
    case 'Softplus':
      add(x, w.one('Mul', [dy, w.one('Sigmoid', [x])]));
      return;
    case 'Softsign': {
      const d = w.one('Add', [w.one('Abs', [x]), w.scalar(1)]);
      add(x, w.one('Div', [dy, w.one('Mul', [d, d])]));
      return;
    }
    case 'Elu':
    case 'Selu': {
      // below 0, y = gamma alpha (e^x - 1): its slope gamma alpha e^x is y + gamma alpha
      const alpha = floatOf(a.alpha, node.opType === 'Elu' ? 1 : 1.67326319217681884765625);
      const gamma = node.opType === 'Elu' ? 1 : floatOf(a.gamma, 1.05070102214813232421875);
      const positive = gamma === 1 ? dy : w.one('Mul', [dy, w.scalar(gamma)]);
      add(x, w.one('Where', [w.one('Greater', [x, w.scalar(0)]), positive, w.one('Mul', [dy, w.one('Add', [y, w.scalar(gamma * alpha)])])]));
      return;
    }
    case 'PRelu':
      onlyFirst();
      add(x, w.one('Where', [w.one('Less', [x, w.scalar(0)]), w.one('Mul', [dy, second]), dy]));
      return;
    case 'Pow': {
      // d a^b / da = b a^(b - 1); d a^b / db = a^b ln a
      if (onPath(x)) add(x, unbroadcast(w, graph, ranks, shapes, node, w.one('Mul', [dy, w.one('Mul', [second, w.one('Pow', [x, w.one('Sub', [second, w.scalar(1)])])])]), x));
      if (onPath(second)) add(second, unbroadcast(w, graph, ranks, shapes, node, w.one('Mul', [dy, w.one('Mul', [y, w.one('Log', [x])])]), second));
      return;
    }
    case 'LayerNormalization':
    case 'InstanceNormalization':
      onlyFirst();
      if (node.outputs.slice(1).some((o) => o !== '')) throw unsupported(node, 'returns its statistics too');
      add(x, normalizationGradient(w, graph, rankOf(x), node, dy));
      return;
    case 'Resize':
      onlyFirst();
      add(x, resizeGradient(w, graph, rankOf(x), node, dy));
      return;
    case 'GlobalAveragePool':
      add(x, w.one('Expand', [w.one('Mul', [dy, w.sizeRatio(y, x)]), w.shape(x)]));
      return;
    case 'ReduceMean':
    case 'ReduceSum': {
      onlyFirst();
      // the same reduction kept to rank gives the shape dy broadcasts from
      const kept = w.one(node.opType, node.inputs, { ...a, keepdims: 1 });
      let g = w.one('Reshape', [dy, w.shape(kept)]);
      if (node.opType === 'ReduceMean') g = w.one('Mul', [g, w.sizeRatio(kept, x)]);
      add(x, w.one('Expand', [g, w.shape(x)]));
      return;
    }
    case 'BatchNormalization': {
      if (a.training_mode === 1) {
        batchNormTrainingGradient(w, graph, rankOf(x), node, dy, onPath, add);
        return;
      }
      onlyFirst();
      if (node.outputs.length > 1 && node.outputs.slice(1).some((o) => o !== '')) throw unsupported(node, 'is in training mode');
      const [, scale, , , variance] = node.inputs;
      const factor = w.one('Div', [scale!, w.one('Sqrt', [w.one('Add', [variance!, w.scalar(floatOf(a.epsilon, 1e-5))])])]);
      const r = rankOf(x);
      add(x, w.one('Mul', [dy, r > 2 ? w.one('Reshape', [factor, w.ints([-1, ...new Array<number>(r - 2).fill(1)])]) : factor]));
      return;
    }
    case 'Gemm': {
      if (a.transA === 1) throw unsupported(node, 'transposes its input (transA)');
      const alpha = { float: floatOf(a.alpha, 1) };
      if (onPath(x)) add(x, w.one('Gemm', [dy, second], { alpha, transB: a.transB === 1 ? 0 : 1 }));
      // B (or B^T) = alpha * x^T dy
      if (onPath(second)) add(second, a.transB === 1 ? w.one('Gemm', [dy, x], { alpha, transA: 1 }) : w.one('Gemm', [x, dy], { alpha, transA: 1 }));
      const bias = node.inputs[2] ?? '';
      if (onPath(bias)) {
        if (rankOf(bias) !== 1) throw unsupported(node, 'adds a bias of rank other than 1 on the path to the score');
        add(bias, w.one('Mul', [reduceSum(w, graph, dy, [0]), w.scalar(floatOf(a.beta, 1))]));
      }
      return;
    }
    case 'MatMul': {
      if (rankOf(second) !== 2) throw unsupported(node, 'multiplies by a matrix of rank other than 2');
      if (onPath(x)) add(x, w.one('MatMul', [dy, w.one('Transpose', [second], { perm: [1, 0] })]));
      if (onPath(second)) {
        if (rankOf(x) !== 2) throw unsupported(node, 'multiplies a matrix computed from the weights by an input of rank other than 2');
        add(second, w.one('MatMul', [w.one('Transpose', [x], { perm: [1, 0] }), dy]));
      }
      return;
    }
    case 'Add':
    case 'Sum':
      for (const v of liveInputs) add(v, unbroadcast(w, graph, ranks, shapes, node, dy, v));
      return;
    case 'Sub':
      if (onPath(x)) add(x, unbroadcast(w, graph, ranks, shapes, node, dy, x));
      if (onPath(second)) add(second, unbroadcast(w, graph, ranks, shapes, node, w.one('Neg', [dy]), second));
      return;
    case 'Mul':
      // x * x gives each operand's term once: 2 x dy in all
      if (onPath(x)) add(x, unbroadcast(w, graph, ranks, shapes, node, w.one('Mul', [dy, second]), x));
      if (onPath(second)) add(second, unbroadcast(w, graph, ranks, shapes, node, w.one('Mul', [dy, x]), second));
      return;
    case 'Div': {
      const quotient = w.one('Div', [dy, second]);
      if (onPath(x)) add(x, unbroadcast(w, graph, ranks, shapes, node, quotient, x));
      // d(a / b) / db = -a / b^2 = -y / b
      if (onPath(second)) add(second, unbroadcast(w, graph, ranks, shapes, node, w.one('Neg', [w.one('Mul', [quotient, y])]), second));
      return;
    }
    case 'Flatten':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
      onlyFirst();
      add(x, w.one('Reshape', [dy, w.shape(x)]));
      return;
    case 'Transpose': {
      const r = Array.isArray(a.perm) ? a.perm.length : rankOf(x);
      const perm = ints(a.perm, Array.from({ length: r }, (_, i) => r - 1 - i));
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      add(x, w.one('Transpose', [dy], { perm: inverse }));
      return;
    }
    case 'Concat': {
      const axis = Number(a.axis ?? 0);
      let start = w.ints([0]);
      for (const v of node.inputs) {
        const size = w.one('Gather', [w.shape(v), w.ints([axis])], { axis: 0 });
        const end = w.one('Add', [start, size]);
        if (onPath(v)) add(v, w.slice(dy, start, end, [axis]));
        start = end;
      }
      return;
    }
    case 'Slice': {
      onlyFirst();
      // the flat position of every value of x, sliced like x: where each value of dy came from
      const positions = w.one('Reshape', [w.one('Range', [w.int(0), w.one('Size', [x]), w.int(1)]), w.shape(x)]);
      const from = w.one('Reshape', [w.one('Slice', [positions, ...node.inputs.slice(1)]), w.ints([-1])]);
      const zeros = w.one('ConstantOfShape', [w.one('Reshape', [w.one('Size', [x]), w.ints([1])])]);
      add(x, w.one('Reshape', [w.one('ScatterElements', [zeros, from, w.one('Reshape', [dy, w.ints([-1])])], { axis: 0 }), w.shape(x)]));
      return;
    }
    case 'Pad': {
      onlyFirst();
      if ((a.mode ?? 'constant') !== 'constant') throw unsupported(node, `pads in mode '${String(a.mode)}'`);
      const pads = graph.smallInts.get(second);
      if (!pads || node.inputs[3] || pads.some((p) => p < 0)) throw unsupported(node, 'has pads that are not constant and non-negative');
      const r = pads.length / 2;
      const begin = pads.slice(0, r);
      const end = pads.slice(r).map((p) => (p === 0 ? BIG : -p));
      add(x, w.slice(dy, begin, end, Array.from({ length: r }, (_, i) => i)));
      return;
    }
    default:
      throw unsupported(node, 'has no gradient rule yet');
  }
}

/**
 * `g`, of the output's shape, summed over the axes along which operand `v` of the broadcasting
 * `node` was stretched, in v's shape. Nothing is written where v provably has the output's shape:
 * every other operand is v, or of a shape known before running, of no larger rank, each of whose
 * dimensions is 1 or v's own there (a batch norm's [1, 1, C] scale on a Keras layer's [N, H, W, C]
 * output), or computed from such values by shape-keeping and broadcasting operators (SiLU's
 * x * sigmoid(x), GELU's x * (erf(x / sqrt 2) + 1)). Where both shapes are known before running
 * (knownShapes: a squeeze-and-excitation gate's [N, C, 1, 1] on a [N, C, H, W] map), the axes are
 * written as constants. Otherwise they are found at run time (where v's shape, padded on the left
 * with ones, differs from the output's); before opset 13, whose ReduceSum takes no axes input, each
 * axis is summed and kept where v's dimension there is 1. Reading shapes at run time has a price
 * beyond its few small nodes: ONNX Runtime no longer fuses the forward operators whose intermediate
 * values the backward pass reads, and their results may differ in the last bits.
 */
function unbroadcast(w: Writer, graph: ForwardGraph, ranks: ReadonlyMap<string, number>, shapes: ReadonlyMap<string, Dims>, node: ForwardNode, g: string, v: string): string {
  const rank = ranks.get(v);
  const own = shapes.get(v);
  // o does not stretch v: o is v, its known shape is 1 or v's on each axis, or it is computed from
  // such values by operators that keep or broadcast shapes (x * sigmoid(x), x * (erf(x / sqrt 2) + 1))
  const fits = (o: string, depth = 0): boolean => {
    if (o === v) return true;
    const dims = shapes.get(o);
    if (dims !== undefined && rank !== undefined && dims.length <= rank && dims.every((d, i) => d === 1 || (d !== null && own?.[rank - dims.length + i] === d))) return true;
    const producer = depth < 8 ? graph.nodes.find((n) => n.outputs.includes(o)) : undefined;
    if (producer && SAME_SHAPE.has(producer.opType)) return fits(producer.inputs[0]!, depth + 1);
    return producer !== undefined && BROADCASTING.has(producer.opType) && producer.inputs.every((i) => fits(i, depth + 1));
  };
  const provenFull = node.inputs.every((o) => fits(o));
  if (provenFull) return g;
  const y = node.outputs[0]!;
  // both shapes known before running: the axes too (a free dimension of both is the batch, the same on each side)
  const outDims = shapes.get(y);
  if (own && outDims && own.length === outDims.length) {
    const known = own.map((d, i) => (d === 1 ? (outDims[i] === 1 ? false : outDims[i] === null ? undefined : true) : d === null && outDims[i] !== null && outDims[i] !== 1 ? undefined : false));
    if (known.every((b) => b !== undefined)) {
      const axes = known.flatMap((b, i) => (b ? [i] : []));
      if (axes.length === 0) return g;
      return graph.opset >= 13 ? w.one('ReduceSum', [g, w.ints(axes)], { keepdims: 1 }) : w.one('ReduceSum', [g], { axes, keepdims: 1 });
    }
  }
  const outShape = w.shape(y);
  const vShape = w.shape(v);
  const outRank = ranks.get(y);
  const padding = rank !== undefined && outRank !== undefined ? w.ints(new Array<number>(outRank - rank).fill(1)) : w.one('Expand', [w.ints([1]), w.one('Sub', [w.shape(outShape), w.shape(vShape)])]);
  const padded = rank === outRank ? vShape : w.one('Concat', [padding, vShape], { axis: 0 });
  if (graph.opset >= 13) {
    const axes = w.one('Reshape', [w.one('NonZero', [w.one('Not', [w.one('Equal', [padded, outShape])])]), w.ints([-1])]);
    return w.one('Reshape', [w.one('ReduceSum', [g, axes], { keepdims: 1, noop_with_empty_axes: 1 }), vShape]);
  }
  if (outRank === undefined) throw unsupported(node, 'broadcasts to an output of unknown rank');
  let t = g;
  for (let i = 0; i < outRank; i++) {
    const dim = w.slice(padded, [i], [i + 1], [0]);
    const summed = w.one('ReduceSum', [t], { axes: [i], keepdims: 1 });
    t = w.slice(w.one('Where', [w.one('Equal', [dim, w.ints([1])]), summed, t]), w.ints([0]), dim, [i]);
  }
  return w.one('Reshape', [t, vShape]);
}

/**
 * d max(x) / dx applied to `dy` (of the kept-dimension shape of `max`): shared evenly by the values
 * equal to the maximum (TensorFlow's and torch.amax's rule; torch's max pooling gives it to the
 * first of them, which differs only where values tie). `mean` averages over the reduced axes.
 */
function maxGradient(w: Writer, x: string, max: string, dy: string, mean: (v: string) => string): string {
  const at = w.one('Cast', [w.one('Equal', [x, max])], { to: 1 });
  const count = w.one('Mul', [mean(at), w.sizeRatio(x, max)]);
  return w.one('Mul', [at, w.one('Div', [dy, count])]);
}

/**
 * Softmax: dx = y (dy - sum(dy y)); LogSoftmax: dx = dy - exp(y) sum(dy), the sums over the axis
 * (before opset 13, over every axis from `axis` on: the input seen as a matrix).
 */
function softmaxGradient(w: Writer, graph: ForwardGraph, rank: number, node: ForwardNode, dy: string): string {
  const x = node.inputs[0]!;
  const y = node.outputs[0]!;
  const given = Number(node.attributes?.axis ?? (graph.opset >= 13 ? -1 : 1));
  const axis = given < 0 ? given + rank : given;
  const asMatrix = graph.opset < 13 && axis !== rank - 1;
  const [yy, gg] = asMatrix ? [w.one('Flatten', [y], { axis }), w.one('Flatten', [dy], { axis })] : [y, dy];
  const sumAxis = asMatrix ? 1 : axis;
  const sum = (v: string) => (graph.opset >= 13 ? w.one('ReduceSum', [v, w.ints([sumAxis])], { keepdims: 1 }) : w.one('ReduceSum', [v], { axes: [sumAxis], keepdims: 1 }));
  const g = node.opType === 'Softmax' ? w.one('Mul', [yy, w.one('Sub', [gg, sum(w.one('Mul', [gg, yy]))])]) : w.one('Sub', [gg, w.one('Mul', [w.one('Exp', [yy]), sum(gg)])]);
  return asMatrix ? w.one('Reshape', [g, w.shape(x)]) : g;
}

/**
 * d Resize(x) / dx applied to dy. Every mode ONNX Runtime offers but crop-and-resize is separable and
 * linear in x: along each resized axis, y = M x for an [out, in] matrix M. M's transpose is Resize
 * itself applied to the identity (row p: where input p goes), with that axis's scale or size and 1
 * elsewhere; dy is multiplied by it along each axis. The axes are those whose known scale is not 1,
 * else the spatial axes from 2 on (ONNX's channels-first layout); a resize of any other axis ends in
 * a shape error, never a wrong gradient.
 */
function resizeGradient(w: Writer, graph: ForwardGraph, rank: number, node: ForwardNode, dy: string): string {
  const [x = '', roi = '', scales = '', sizes = ''] = node.inputs;
  const a = node.attributes ?? {};
  if (graph.opset < 11) throw unsupported(node, 'is written for an opset before 11');
  if (String(a.coordinate_transformation_mode ?? 'half_pixel') === 'tf_crop_and_resize') throw unsupported(node, "crops (coordinate mode 'tf_crop_and_resize')");
  if (a.axes !== undefined || (a.keep_aspect_ratio_policy !== undefined && String(a.keep_aspect_ratio_policy) !== 'stretch')) throw unsupported(node, 'resizes chosen axes or keeps an aspect ratio');
  const bySize = sizes !== '';
  const known = bySize ? undefined : graph.smallFloats?.get(scales);
  const axes = known ? known.flatMap((s, k) => (s === 1 ? [] : [k])) : Array.from({ length: rank - 2 }, (_, k) => k + 2);
  if (axes.includes(0)) throw unsupported(node, 'resizes the batch axis');
  const inShape = w.shape(x);
  let g = dy;
  for (const k of axes) {
    const n = w.slice(inShape, [k], [k + 1], [0]);
    // [n, 1, .., n at k, .., 1]: the identity, the row index on axis 0, the resized axis at k
    const spread = (first: string, atK: string, one: string): string => w.one('Concat', [first, ...Array.from({ length: rank - 1 }, (_, i) => (i + 1 === k ? atK : one))], { axis: 0 });
    const identity = w.one('EyeLike', [w.one('ConstantOfShape', [w.one('Concat', [n, n], { axis: 0 })])]);
    const basis = w.one('Reshape', [identity, spread(n, n, w.ints([1]))]);
    const inputs = bySize ? [basis, roi, scales, spread(n, w.slice(sizes, [k], [k + 1], [0]), w.ints([1]))] : [basis, roi, spread(w.ones([1]), w.slice(scales, [k], [k + 1], [0]), w.ones([1]))];
    const resized = w.one('Resize', inputs, a);
    // [in, out]: entry (p, i) is how much input p adds to output i
    const transposed = w.one('Reshape', [resized, w.one('Concat', [n, w.ints([-1])], { axis: 0 })]);
    if (k === rank - 2) g = w.one('MatMul', [transposed, g]);
    else {
      const perm = Array.from({ length: rank }, (_, i) => (i === k ? rank - 1 : i === rank - 1 ? k : i));
      const last = k === rank - 1 ? g : w.one('Transpose', [g], { perm });
      const product = w.one('MatMul', [last, w.one('Transpose', [transposed], { perm: [1, 0] })]);
      g = k === rank - 1 ? product : w.one('Transpose', [product], { perm });
    }
  }
  return w.one('Reshape', [g, inShape]);
}

/** Sum of `x` over `axes` (not kept), in the spelling of the graph's opset. */
function reduceSum(w: Writer, graph: ForwardGraph, x: string, axes: readonly number[]): string {
  return graph.opset >= 13 ? w.one('ReduceSum', [x, w.ints(axes)], { keepdims: 0 }) : w.one('ReduceSum', [x], { axes: [...axes], keepdims: 0 });
}

/**
 * LayerNormalization over the axes from `axis` on; InstanceNormalization over the spatial axes, with a
 * scale per channel. With x^ = (x - mean) / sqrt(var + eps) over those axes and g = dy * scale,
 * dx = (g - mean(g) - x^ mean(g x^)) / sqrt(var + eps).
 */
function normalizationGradient(w: Writer, graph: ForwardGraph, rank: number, node: ForwardNode, dy: string): string {
  const [x, scale] = node.inputs as [string, string];
  const given = Number(node.attributes?.axis ?? -1);
  const from = node.opType === 'InstanceNormalization' ? 2 : given < 0 ? given + rank : given;
  const axes = Array.from({ length: rank - from }, (_, i) => from + i);
  const mean = (v: string) => (graph.opset >= 18 ? w.one('ReduceMean', [v, w.ints(axes)], { keepdims: 1 }) : w.one('ReduceMean', [v], { axes, keepdims: 1 }));
  const centred = w.one('Sub', [x, mean(x)]);
  const invStd = w.one('Reciprocal', [w.one('Sqrt', [w.one('Add', [mean(w.one('Mul', [centred, centred])), w.scalar(floatOf(node.attributes?.epsilon, 1e-5))])])]);
  const normed = w.one('Mul', [centred, invStd]);
  const perChannel = node.opType === 'InstanceNormalization' ? w.one('Reshape', [scale, w.ints([-1, ...new Array<number>(rank - 2).fill(1)])]) : scale;
  const g = w.one('Mul', [dy, perChannel]);
  return w.one('Mul', [w.one('Sub', [w.one('Sub', [g, mean(g)]), w.one('Mul', [normed, mean(w.one('Mul', [g, normed]))])]), invStd]);
}

/**
 * BatchNormalization in training mode (batch statistics over every axis but the channels, 1): with
 * x^ = (x - mean) / sqrt(var + eps) and M values per channel,
 *   dx = scale / sqrt(var + eps) * (dy - mean(dy) - x^ * mean(dy * x^)),  dscale = sum(dy * x^),  dB = sum(dy).
 */
function batchNormTrainingGradient(
  w: Writer,
  graph: ForwardGraph,
  rank: number,
  node: ForwardNode,
  dy: string,
  onPath: (v: string) => boolean,
  add: (value: string, g: string) => void,
): void {
  const [x, scale, bias] = node.inputs as [string, string, string];
  const axes = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)];
  const mean = (v: string) => (graph.opset >= 18 ? w.one('ReduceMean', [v, w.ints(axes)], { keepdims: 1 }) : w.one('ReduceMean', [v], { axes, keepdims: 1 }));
  const perChannel = (v: string) => (rank > 2 ? w.one('Reshape', [v, w.ints([-1, ...new Array<number>(rank - 2).fill(1)])]) : v);
  const centred = w.one('Sub', [x, mean(x)]);
  const invStd = w.one('Reciprocal', [w.one('Sqrt', [w.one('Add', [mean(w.one('Mul', [centred, centred])), w.scalar(floatOf(node.attributes?.epsilon, 1e-5))])])]);
  const normed = w.one('Mul', [centred, invStd]);
  const dyNormed = w.one('Mul', [dy, normed]);
  if (onPath(x)) {
    const inner = w.one('Sub', [w.one('Sub', [dy, mean(dy)]), w.one('Mul', [normed, mean(dyNormed)])]);
    add(x, w.one('Mul', [w.one('Mul', [inner, invStd]), perChannel(scale)]));
  }
  if (onPath(scale)) add(scale, reduceSum(w, graph, dyNormed, axes));
  if (onPath(bias)) add(bias, reduceSum(w, graph, dy, axes));
}

/** A Conv node's geometry with auto_pad resolved to explicit pads. */
function convGeometry(graph: ForwardGraph, node: ForwardNode) {
  const weight = node.inputs[1]!;
  const a = node.attributes ?? {};
  const dims = graph.constantShapes.get(weight);
  if (!dims) throw unsupported(node, 'has a weight that is not a constant');
  const spatial = dims.length - 2;
  const kernel = dims.slice(2);
  const strides = ints(a.strides, kernel.map(() => 1));
  const dilations = ints(a.dilations, kernel.map(() => 1));
  const group = Number(a.group ?? 1);
  const autoPad = String(a.auto_pad ?? 'NOTSET');
  let pads = ints(a.pads, new Array<number>(2 * spatial).fill(0));
  if (autoPad === 'VALID') pads = new Array<number>(2 * spatial).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    if (strides.some((s) => s !== 1)) throw unsupported(node, `has auto_pad ${autoPad} with a stride`);
    const total = kernel.map((k, i) => dilations[i]! * (k - 1));
    const small = total.map((t) => Math.floor(t / 2));
    const big = total.map((t, i) => t - small[i]!);
    pads = autoPad === 'SAME_UPPER' ? [...small, ...big] : [...big, ...small];
  } else if (autoPad !== 'NOTSET') throw unsupported(node, `has auto_pad '${autoPad}'`);
  return { spatial, kernel, strides, dilations, group, pads };
}

/**
 * d Conv(x, W) / dW applied to dy: dW[o, c, k] = sum over n, i of x[n, c, i*s + k*d - pad] dy[n, o, i],
 * a convolution of x with dy as the kernel once batch and channels swap places (stride and dilation
 * swap too); the rows a stride leaves past the last window make it longer than the kernel: cropped.
 */
function convWeightGradient(w: Writer, graph: ForwardGraph, node: ForwardNode, dy: string): string {
  const x = node.inputs[0]!;
  const { spatial, kernel, strides, dilations, group, pads } = convGeometry(graph, node);
  if (group !== 1) throw unsupported(node, 'is grouped, and only one group has a weight gradient here');
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  const swap = [1, 0, ...axes];
  const full = w.one('Conv', [w.one('Transpose', [x], { perm: swap }), w.one('Transpose', [dy], { perm: swap })], { pads, strides: dilations, dilations: strides });
  return w.one('Transpose', [w.slice(full, axes.map(() => 0), kernel, axes)], { perm: swap });
}

/** d Conv(x, W) / dx applied to dy. */
function convInputGradient(w: Writer, graph: ForwardGraph, node: ForwardNode, dy: string): string {
  const [x, weight] = node.inputs as [string, string];
  const { spatial, kernel, strides, dilations, group, pads } = convGeometry(graph, node);
  const axes = Array.from({ length: spatial }, (_, i) => i + 2);
  const reach = kernel.map((k, i) => dilations[i]! * (k - 1));
  const flippedPads = [...reach.map((r, i) => r - pads[i]!), ...reach.map((r, i) => r - pads[i + spatial]!)];
  if (group === 1 && strides.every((s) => s === 1) && flippedPads.every((p) => p >= 0)) {
    // a stride-1 convolution's input gradient is a convolution with the kernel turned around; ONNX Runtime folds the flip into a constant
    const flipped = w.slice(weight, axes.map(() => -1), axes.map(() => -BIG), axes, axes.map(() => -1));
    const swapped = w.one('Transpose', [flipped], { perm: [1, 0, ...axes] });
    return w.one('Conv', [dy, swapped], { pads: flippedPads, dilations, strides });
  }
  // strided or grouped: the transposed convolution with the same weight, made one step too long
  // wherever the stride leaves a remainder, then cropped to the input's size
  const transposed = w.one('ConvTranspose', [dy, weight], { strides, pads, dilations, group, output_padding: strides.map((s) => s - 1) });
  if (strides.every((s) => s === 1)) return transposed;
  const size = w.slice(w.shape(x), [2], [BIG], [0]);
  return w.slice(transposed, axes.map(() => 0), size, axes);
}

/**
 * d AveragePool(x) / dx applied to dy: each window's dy divided by the window's divisor, spread back
 * over the window by a transposed convolution with a kernel of ones, channel by channel, cropped to
 * the input's size. The divisor is the kernel's size where every window is whole and counted so;
 * else (padding left out of the count, or ceil_mode's last windows reaching past the padding) it is
 * read off the pooling itself: a window of ones averages to (values inside) / divisor, and the
 * values inside are a convolution of ones with a kernel of ones over the input's extent.
 */
function averagePoolGradient(w: Writer, node: ForwardNode, dy: string): string {
  const x = node.inputs[0]!;
  const a = node.attributes ?? {};
  const kernel = ints(a.kernel_shape, []);
  const strides = ints(a.strides, kernel.map(() => 1));
  const ceil = Number(a.ceil_mode ?? 0) !== 0;
  const autoPad = String(a.auto_pad ?? 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `has auto_pad '${autoPad}'`);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * kernel.length).fill(0) : ints(a.pads, new Array<number>(2 * kernel.length).fill(0));
  const size = kernel.reduce((p, k) => p * k, 1);
  if (size === 1 && strides.every((s) => s === 1) && pads.every((p) => p === 0)) return dy;
  const axes = kernel.map((_, i) => i + 2);
  const inputSize = w.slice(w.shape(x), [2], [BIG], [0]);
  let scaled: string;
  if (!ceil && (Number(a.count_include_pad ?? 0) === 1 || pads.every((p) => p === 0))) scaled = w.one('Mul', [dy, w.scalar(1 / size)]);
  else {
    // one channel of ones the input's size; the convolution is padded past the end by a stride less one so that it has ceil_mode's last windows too
    const ones = w.one('Expand', [w.scalar(1), w.one('Concat', [w.ints([1, 1]), inputSize], { axis: 0 })]);
    const averaged = w.one('AveragePool', [ones], { ...a, pads, auto_pad: 'NOTSET' });
    const convPads = [...pads.slice(0, kernel.length), ...pads.slice(kernel.length).map((p, i) => p + strides[i]! - 1)];
    const inside = w.one('Conv', [ones, w.ones([1, 1, ...kernel])], { strides, pads: convPads });
    const counted = w.slice(inside, axes.map(() => 0), w.slice(w.shape(averaged), [2], [BIG], [0]), axes);
    scaled = w.one('Mul', [dy, w.one('Div', [averaged, counted])]);
  }
  const single = w.one('Reshape', [scaled, w.ints([-1, 1, ...axes.map(() => 0)])]);
  const spread = w.one('ConvTranspose', [single, w.ones([1, 1, ...kernel])], { strides, pads, output_padding: strides.map((s) => s - 1) });
  const cropped = strides.every((s) => s === 1) && !ceil ? spread : w.slice(spread, axes.map(() => 0), inputSize, axes);
  return w.one('Reshape', [cropped, w.shape(x)]);
}

/** d MaxPool(x) / dx applied to dy: the indices of the maxima, scattered back in groups of non-overlapping windows. */
function maxPoolGradient(w: Writer, node: ForwardNode, dy: string): string {
  const x = node.inputs[0]!;
  const a = node.attributes ?? {};
  const kernel = ints(a.kernel_shape, []);
  const strides = ints(a.strides, kernel.map(() => 1));
  if (ints(a.dilations, kernel.map(() => 1)).some((d) => d !== 1)) throw unsupported(node, 'is dilated');
  if (Number(a.storage_order ?? 0) !== 0) throw unsupported(node, 'stores its indices column-major');
  const autoPad = String(a.auto_pad ?? 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `has auto_pad '${autoPad}'`);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * kernel.length).fill(0) : ints(a.pads, new Array<number>(2 * kernel.length).fill(0));
  const [, indices] = w.op('MaxPool', [x], { ...a, pads, auto_pad: 'NOTSET' }, 2) as [string, string];
  const unpool = { kernel_shape: kernel, strides, pads };
  const groups = kernel.map((k, i) => Math.ceil(k / strides[i]!));
  const axes = kernel.map((_, i) => i + 2);
  const shape = w.shape(x);
  if (groups.every((g) => g === 1)) return w.one('MaxUnpool', [dy, indices, shape], unpool);
  // windows `groups` apart do not overlap, so each group's maxima land on distinct positions
  const parts: string[] = [];
  const offsets = groups.reduce<number[][]>((acc, g) => acc.flatMap((o) => Array.from({ length: g }, (_, k) => [...o, k])), [[]]);
  for (const offset of offsets) {
    const big = offset.map(() => BIG);
    parts.push(w.one('MaxUnpool', [w.slice(dy, offset, big, axes, groups), w.slice(indices, offset, big, axes, groups), shape], unpool));
  }
  return w.sum(parts);
}
