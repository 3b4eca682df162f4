import type { OnnxAttribute, OnnxGraph } from '../formats/onnx-graph.js';
import type { WriteNode, WriteTensor } from '../formats/onnx-write.js';
import { UnsupportedError } from '../model/errors.js';

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
 *   Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh   dy times the local derivative
 *   MaxPool                      MaxPool's Indices scattered back by MaxUnpool, in groups of windows
 *                                that do not overlap, so that overlapping windows add up
 *   AveragePool                  dy over each window's count, spread back by a ConvTranspose of ones
 *   GlobalAveragePool, ReduceMean/Sum   dy spread evenly (Expand)
 *   BatchNormalization (inference)      dy times scale / sqrt(var + eps) per channel
 *   BatchNormalization (training mode)  through the batch statistics; its scale and bias
 *   Gemm, MatMul                 dy times the transposed weight; the weight's: the input transposed times dy
 *   Add/Sum/Sub/Mul/Div, Concat, Pad, Flatten/Reshape/Squeeze/Unsqueeze, Transpose, Identity
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

/** Output ranks of the forward values where they follow from the input's rank (undefined where unknown). */
export function valueRanks(graph: ForwardGraph): Map<string, number> {
  const ranks = new Map<string, number>([[graph.input, graph.inputRank]]);
  for (const [name, dims] of graph.constantShapes) ranks.set(name, dims.length);
  for (const node of graph.nodes) {
    const r0 = ranks.get(node.inputs[0] ?? '');
    const a = node.attributes ?? {};
    let r: number | undefined;
    switch (node.opType) {
      case 'Flatten':
      case 'Gemm':
        r = 2;
        break;
      case 'Reshape':
        // the length of the (1-D, constant) target shape
        r = graph.constantShapes.get(node.inputs[1] ?? '')?.[0];
        break;
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax': {
        const axes = (a.axes as number[] | undefined) ?? graph.smallInts.get(node.inputs[1] ?? '');
        r = r0 === undefined ? undefined : a.keepdims === 0 ? (axes ? r0 - axes.length : 0) : r0;
        break;
      }
      case 'Concat':
      case 'Sum':
      case 'Add':
      case 'Sub':
      case 'Mul':
      case 'Div':
        r = Math.max(...node.inputs.map((i) => ranks.get(i) ?? -1));
        if (r < 0) r = undefined;
        break;
      case 'MatMul':
        r = Math.max(ranks.get(node.inputs[0]!) ?? -1, ranks.get(node.inputs[1]!) ?? -1);
        if (r < 0) r = undefined;
        break;
      case 'Shape':
        r = 1;
        break;
      case 'Squeeze':
      case 'Unsqueeze': {
        const axes = (a.axes as number[] | undefined) ?? graph.smallInts.get(node.inputs[1] ?? '');
        r = r0 === undefined || !axes ? undefined : r0 + (node.opType === 'Unsqueeze' ? axes.length : -axes.length);
        break;
      }
      default:
        r = r0;
    }
    for (const o of node.outputs) if (r !== undefined && o) ranks.set(o, r);
  }
  return ranks;
}

function ints(a: OnnxAttribute | undefined, fallback: readonly number[]): number[] {
  return Array.isArray(a) ? [...(a as number[])] : [...fallback];
}

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
    if (upstream.slice(1).some((u) => u !== undefined)) throw unsupported(node, 'has a second output on the path to the score');
    const dy = w.sum(upstream[0]!);
    backward(w, graph, ranks, node, dy, onPath, add);
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
      for (const v of liveInputs) add(v, dy);
      return;
    case 'Sub':
      if (onPath(x)) add(x, dy);
      if (onPath(second)) add(second, w.one('Neg', [dy]));
      return;
    case 'Mul': {
      if (liveInputs.length === 1) {
        const other = liveInputs[0] === x ? second : x;
        add(liveInputs[0]!, w.one('Mul', [dy, other]));
        return;
      }
      // two live operands: only where both have the output's shape (x * f(x) elementwise, as swish)
      const sameShape = x === second || [x, second].some((v, k) => ELEMENTWISE.has(producerOp(graph, v) ?? '') && producerInput(graph, v) === [second, x][k]);
      if (!sameShape) throw unsupported(node, 'multiplies two values computed from the input, which may broadcast');
      add(x, w.one('Mul', [dy, second]));
      add(second, w.one('Mul', [dy, x]));
      return;
    }
    case 'Div':
      if (onPath(second)) throw unsupported(node, 'divides by a value computed from the input');
      add(x, w.one('Div', [dy, second]));
      return;
    case 'Flatten':
    case 'Reshape':
    case 'Squeeze':
    case 'Unsqueeze':
      onlyFirst();
      add(x, w.one('Reshape', [dy, w.shape(x)]));
      return;
    case 'Transpose': {
      const r = rankOf(x);
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

const ELEMENTWISE = new Set(['Sigmoid', 'HardSigmoid', 'Tanh', 'Relu', 'Clip']);

function producerOp(graph: ForwardGraph, value: string): string | undefined {
  return graph.nodes.find((n) => n.outputs.includes(value))?.opType;
}

function producerInput(graph: ForwardGraph, value: string): string | undefined {
  return graph.nodes.find((n) => n.outputs.includes(value))?.inputs[0];
}

/** Sum of `x` over `axes` (not kept), in the spelling of the graph's opset. */
function reduceSum(w: Writer, graph: ForwardGraph, x: string, axes: readonly number[]): string {
  return graph.opset >= 13 ? w.one('ReduceSum', [x, w.ints(axes)], { keepdims: 0 }) : w.one('ReduceSum', [x], { axes: [...axes], keepdims: 0 });
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
 * d AveragePool(x) / dx applied to dy: each window's dy divided by the values it averaged (the whole
 * window, or only those inside the input without count_include_pad), spread back over the window by a
 * transposed convolution with a kernel of ones, channel by channel, cropped to the input's size.
 */
function averagePoolGradient(w: Writer, node: ForwardNode, dy: string): string {
  const x = node.inputs[0]!;
  const a = node.attributes ?? {};
  const kernel = ints(a.kernel_shape, []);
  const strides = ints(a.strides, kernel.map(() => 1));
  if (Number(a.ceil_mode ?? 0) !== 0) throw unsupported(node, 'rounds its output size up (ceil_mode)');
  const autoPad = String(a.auto_pad ?? 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw unsupported(node, `has auto_pad '${autoPad}'`);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * kernel.length).fill(0) : ints(a.pads, new Array<number>(2 * kernel.length).fill(0));
  const size = kernel.reduce((p, k) => p * k, 1);
  if (size === 1 && strides.every((s) => s === 1) && pads.every((p) => p === 0)) return dy;
  let scaled: string;
  if (Number(a.count_include_pad ?? 0) === 1 || pads.every((p) => p === 0)) scaled = w.one('Mul', [dy, w.scalar(1 / size)]);
  else {
    // how many values of the input each window covers: the average of ones, counting the padding, times the window
    const ones = w.one('Expand', [w.scalar(1), w.shape(x)]);
    const counted = w.one('AveragePool', [ones], { kernel_shape: kernel, strides, pads, count_include_pad: 1 });
    scaled = w.one('Div', [dy, w.one('Mul', [counted, w.scalar(size)])]);
  }
  const axes = kernel.map((_, i) => i + 2);
  const single = w.one('Reshape', [scaled, w.ints([-1, 1, ...axes.map(() => 0)])]);
  const spread = w.one('ConvTranspose', [single, w.ones([1, 1, ...kernel])], { strides, pads, output_padding: strides.map((s) => s - 1) });
  const cropped = strides.every((s) => s === 1) ? spread : w.slice(spread, axes.map(() => 0), w.slice(w.shape(x), [2], [BIG], [0]), axes);
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
