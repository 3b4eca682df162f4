import type { OnnxAttribute } from '../formats/onnx-graph.js';
import type { ForwardGraph, ForwardNode } from './onnx-backward.js';

/**
 * What is known about a forward ONNX graph's values before it runs, for the backward pass
 * (onnx-backward.ts) and Grad-CAM's default layer: their ranks, and their shapes where the input's
 * shape and the operators fix them.
 */

/** Output ranks of the forward values where they follow from the input's rank (undefined where unknown). */
export function valueRanks(graph: ForwardGraph): Map<string, number> {
  const ranks = new Map<string, number>([[graph.input, graph.inputRank]]);
  // the lengths of 1-D integer values, which Reshape takes its rank from: constants, and shapes
  // computed in the graph (a `view(n, groups, -1, h, w)` with a free batch: Shape -> Gather -> Unsqueeze -> Concat)
  const lengths = new Map<string, number>();
  for (const [name, dims] of graph.constantShapes) {
    ranks.set(name, dims.length);
    if (dims.length === 1) lengths.set(name, dims[0]!);
  }
  for (const node of graph.nodes) {
    const r0 = ranks.get(node.inputs[0] ?? '');
    const a = node.attributes ?? {};
    const out = node.outputs[0] ?? '';
    let r: number | undefined;
    switch (node.opType) {
      case 'Flatten':
      case 'Gemm':
        r = 2;
        break;
      case 'Reshape':
        r = lengths.get(node.inputs[1] ?? '');
        break;
      case 'Gather': {
        const ri = ranks.get(node.inputs[1] ?? '');
        r = r0 === undefined || ri === undefined ? undefined : r0 - 1 + ri;
        const picked = lengths.get(node.inputs[1] ?? '');
        if (r === 1 && ri === 1 && picked !== undefined) lengths.set(out, picked);
        break;
      }
      case 'Cast':
      case 'Identity':
        r = r0;
        if (lengths.has(node.inputs[0] ?? '')) lengths.set(out, lengths.get(node.inputs[0]!)!);
        break;
      case 'ReduceMean':
      case 'ReduceSum':
      case 'ReduceMax': {
        const axes = (a.axes as number[] | undefined) ?? graph.smallInts.get(node.inputs[1] ?? '');
        r = r0 === undefined ? undefined : a.keepdims === 0 ? (axes ? r0 - axes.length : 0) : r0;
        break;
      }
      case 'Concat': {
        r = Math.max(...node.inputs.map((i) => ranks.get(i) ?? -1));
        if (r < 0) r = undefined;
        const parts = node.inputs.map((i) => lengths.get(i));
        if (r === 1 && parts.every((l) => l !== undefined)) lengths.set(out, parts.reduce((p, l) => p! + l!, 0)!);
        break;
      }
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
      case 'Transpose':
        r = Array.isArray(a.perm) ? a.perm.length : r0;
        break;
      case 'Shape': {
        r = 1;
        if (r0 !== undefined) {
          const at = (v: OnnxAttribute | undefined, fallback: number): number => Math.min(r0, Math.max(0, v === undefined ? fallback : Number(v) < 0 ? Number(v) + r0 : Number(v)));
          lengths.set(out, Math.max(0, at(a.end, r0) - at(a.start, 0)));
        }
        break;
      }
      case 'Squeeze':
      case 'Unsqueeze': {
        const axes = (a.axes as number[] | undefined) ?? graph.smallInts.get(node.inputs[1] ?? '');
        r = r0 === undefined || !axes ? undefined : r0 + (node.opType === 'Unsqueeze' ? axes.length : -axes.length);
        if (r === 1 && r0 === 0) lengths.set(out, 1);
        break;
      }
      default:
        r = r0;
    }
    for (const o of node.outputs) if (r !== undefined && o) ranks.set(o, r);
  }
  return ranks;
}

/** Operators whose output has their first input's shape. */
export const SAME_SHAPE = new Set([
  'Relu', 'Clip', 'LeakyRelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Identity', 'Dropout', 'Abs', 'Neg', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Erf',
  'Softplus', 'Softsign', 'Elu', 'Selu', 'Softmax', 'LogSoftmax', 'BatchNormalization', 'LayerNormalization', 'InstanceNormalization',
]);
export const BROADCASTING = new Set(['Add', 'Sub', 'Mul', 'Div', 'Sum', 'Pow']);

export type Dims = readonly (number | null)[];

/**
 * Shapes known before running: the graph's (constants, valueShapes, the input's) carried through the
 * operators of a CNN (convolutions, pooling, elementwise, flatten, Gemm, concat, transpose); null for
 * free dimensions, absent where unknown.
 */
export function knownShapes(graph: ForwardGraph): Map<string, Dims> {
  const shapes = new Map<string, Dims>([...(graph.valueShapes ?? []), ...graph.constantShapes]);
  for (const node of graph.nodes) {
    const out = node.outputs[0];
    if (!out || shapes.has(out)) continue;
    const shape = outputShape(node, node.inputs.map((i) => shapes.get(i)), graph.smallInts);
    if (shape) shapes.set(out, shape);
  }
  return shapes;
}

function outputShape(node: ForwardNode, inputs: readonly (Dims | undefined)[], smallInts: ReadonlyMap<string, readonly number[]>): Dims | undefined {
  const [x, w] = inputs;
  const a = node.attributes ?? {};
  const product = (dims: Dims) => dims.reduce<number | null>((p, d) => (p === null || d === null ? null : p * d), 1);
  if (SAME_SHAPE.has(node.opType)) return x;
  if (BROADCASTING.has(node.opType)) {
    if (inputs.some((i) => i === undefined)) return undefined;
    const rank = Math.max(...inputs.map((i) => i!.length));
    const aligned = inputs.map((i) => [...new Array<number>(rank - i!.length).fill(1), ...i!]);
    return Array.from({ length: rank }, (_, k) => aligned.map((i) => i[k]!).reduce((p, d) => (p === 1 ? d : d === 1 ? p : p ?? d)));
  }
  if (!x) return undefined;
  switch (node.opType) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      const kernel = node.opType === 'Conv' ? w?.slice(2) : ints(a.kernel_shape, []);
      if (!kernel || kernel.some((k) => k === null) || kernel.length !== x.length - 2) return undefined;
      const strides = ints(a.strides, kernel.map(() => 1));
      const dilations = ints(a.dilations, kernel.map(() => 1));
      const pads = ints(a.pads, new Array<number>(2 * kernel.length).fill(0));
      const autoPad = String(a.auto_pad ?? 'NOTSET');
      const ceil = Number(a.ceil_mode ?? 0) === 1;
      const spatial = x.slice(2).map((n, i) => {
        if (n === null) return null;
        if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(n / strides[i]!);
        const [before, after] = autoPad === 'VALID' ? [0, 0] : [pads[i]!, pads[i + kernel.length]!];
        const span = n + before + after - dilations[i]! * (kernel[i]! - 1) - 1;
        let size = (ceil ? Math.ceil(span / strides[i]!) : Math.floor(span / strides[i]!)) + 1;
        // the last window must start inside the input or its leading padding
        if (ceil && (size - 1) * strides[i]! >= n + before) size--;
        return size;
      });
      return [x[0]!, node.opType === 'Conv' ? w![0]! : x[1]!, ...spatial];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool':
      return [x[0]!, x[1]!, ...x.slice(2).map(() => 1)];
    case 'ReduceMean':
    case 'ReduceSum':
    case 'ReduceMax': {
      const given = (a.axes as number[] | undefined) ?? smallInts.get(node.inputs[1] ?? '');
      if (!given) return undefined;
      const axes = given.map((i) => (i < 0 ? i + x.length : i));
      return a.keepdims === 0 ? x.filter((_, i) => !axes.includes(i)) : x.map((d, i) => (axes.includes(i) ? 1 : d));
    }
    case 'Flatten': {
      const axis = Number(a.axis ?? 1);
      const at = axis < 0 ? axis + x.length : axis;
      return [product(x.slice(0, at)), product(x.slice(at))];
    }
    case 'Gemm':
      return w && x.length === 2 && w.length === 2 ? [a.transA === 1 ? x[1]! : x[0]!, a.transB === 1 ? w[0]! : w[1]!] : undefined;
    case 'MatMul':
      return w && w.length === 2 && x.length >= 2 ? [...x.slice(0, -1), w[1]!] : undefined;
    case 'Transpose': {
      const perm = ints(a.perm, Array.from({ length: x.length }, (_, i) => x.length - 1 - i));
      return perm.map((p) => x[p]!);
    }
    case 'Concat': {
      if (inputs.some((i) => i === undefined || i.length !== x.length)) return undefined;
      const axis = Number(a.axis ?? 0);
      const at = axis < 0 ? axis + x.length : axis;
      return x.map((d, i) => (i !== at ? d : inputs.some((s) => s![i] === null) ? null : inputs.reduce((p, s) => p + s![i]!, 0)));
    }
    default:
      return undefined;
  }
}

/** An INTS attribute, or `fallback` where it is absent. */
export function ints(a: OnnxAttribute | undefined, fallback: readonly number[]): number[] {
  return Array.isArray(a) ? [...(a as number[])] : [...fallback];
}
