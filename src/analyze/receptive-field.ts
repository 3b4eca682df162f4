import type { OnnxGraph, OnnxNode } from '../formats/onnx-graph.js';
import type { GraphNode, LayerGraph } from '../model/graph.js';

/**
 * The receptive field of a layer's units in input pixels (Araujo et al. 2019, "Computing receptive
 * fields of convolutional neural networks"): composed along the path from the input to the layer
 * through each node's first input, per spatial axis:
 *   size  r_out = r_in + (k - 1) d j_in
 *   jump  j_out = j_in s
 *   start c_out = c_in + ((k - 1) d / 2 - pad_before) j_in        (centre of unit 0)
 * with TensorFlow's 'same' padding (pad_before = floor(total / 2)). Layers that do not move pixels
 * (activations, batch norm, adds) keep the field; padding shifts it (unit 0 of a padded map sits
 * pad_before units before the old unit 0). ONNX graphs (onnxReceptiveField) compose the same steps from
 * Conv / MaxPool / AveragePool / Pad attributes and global pools, through the operators that keep positions.
 */

export interface ReceptiveField {
  /** Side of the field in input pixels, [rows, columns]. */
  readonly size: readonly [number, number];
  /** Input pixels between neighbouring units. */
  readonly jump: readonly [number, number];
  /** Centre of unit (0, 0) in input pixel coordinates (may be fractional or negative). */
  readonly start: readonly [number, number];
}

/** Rows [top, top + height), columns [left, left + width) of the input. */
export interface Crop {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

function pair(value: unknown, fallback: number): [number, number] {
  if (Array.isArray(value)) return [Number(value[0] ?? fallback), Number(value[1] ?? value[0] ?? fallback)];
  if (typeof value === 'number') return [value, value];
  return [fallback, fallback];
}

interface AxisState {
  size: number;
  jump: number;
  start: number;
  /** Spatial length of the tensor at this point. */
  length: number;
}

/** A window of k taps, stride s, dilation d over a map padded by `before` (and `after`) units. */
function windowStep(axis: AxisState, k: number, s: number, d: number, before: number, after: number, ceil = false): AxisState {
  const span = (k - 1) * d + 1;
  const length = (ceil ? Math.ceil : Math.floor)((axis.length + before + after - span) / s) + 1;
  return { size: axis.size + (k - 1) * d * axis.jump, jump: axis.jump * s, start: axis.start + ((k - 1) * d / 2 - before) * axis.jump, length };
}

/** 'same' padding: as much as makes the output ceil(length / s) long, the smaller half before (TensorFlow, ONNX SAME_UPPER) or after (SAME_LOWER). */
function samePads(axis: AxisState, k: number, s: number, d: number, lower = false): [number, number] {
  const total = Math.max((Math.ceil(axis.length / s) - 1) * s + (k - 1) * d + 1 - axis.length, 0);
  const small = Math.floor(total / 2);
  return lower ? [total - small, small] : [small, total - small];
}

function step(axis: AxisState, k: number, s: number, d: number, same: boolean): AxisState {
  const [before, after] = same ? samePads(axis, k, s, d) : [0, 0];
  return windowStep(axis, k, s, d, before, after);
}

/** Padding `before` units ahead of a map (and `after` behind it). */
function padStep(axis: AxisState, before: number, after: number): AxisState {
  return { ...axis, start: axis.start - before * axis.jump, length: axis.length + before + after };
}

function paddingBefore(value: unknown): [number, number] {
  if (typeof value === 'number') return [value, value];
  if (Array.isArray(value)) {
    const rows = value[0];
    const cols = value[1] ?? value[0];
    return [Array.isArray(rows) ? Number(rows[0]) : Number(rows), Array.isArray(cols) ? Number(cols[0]) : Number(cols)];
  }
  return [1, 1];
}

const CONV = new Set(['Conv2D', 'Convolution2D', 'DepthwiseConv2D', 'SeparableConv2D', 'SeparableConvolution2D']);
const POOL = new Set(['MaxPooling2D', 'AveragePooling2D', 'MaxPool2D', 'AvgPool2D']);

/** The path of nodes from the graph input to `node`, following each node's first input. */
function pathTo(graph: LayerGraph, node: GraphNode): GraphNode[] {
  const path: GraphNode[] = [];
  let current: GraphNode | undefined = node;
  while (current && current.inputs.length > 0) {
    path.unshift(current);
    current = graph.nodes[current.inputs[0]!.node];
  }
  return path;
}

/** The receptive field of `node`'s units for an input of `height` x `width` pixels. */
export function receptiveField(graph: LayerGraph, node: GraphNode, height: number, width: number): ReceptiveField {
  let rows: AxisState = { size: 1, jump: 1, start: 0, length: height };
  let cols: AxisState = { size: 1, jump: 1, start: 0, length: width };
  for (const n of pathTo(graph, node)) {
    const { className, config } = n.layer;
    if (CONV.has(className) || POOL.has(className)) {
      const conv = CONV.has(className);
      const [kh, kw] = pair(conv ? config.kernel_size : config.pool_size, 2);
      const [sh, sw] = config.strides !== undefined && config.strides !== null ? pair(config.strides, 1) : conv ? [1, 1] : [kh, kw];
      const [dh, dw] = pair(config.dilation_rate, 1);
      const same = config.padding === 'same';
      rows = step(rows, kh, sh, dh, same);
      cols = step(cols, kw, sw, dw, same);
    } else if (className === 'ZeroPadding2D') {
      const [top, left] = paddingBefore(config.padding);
      rows = padStep(rows, top, top);
      cols = padStep(cols, left, left);
    }
  }
  return { size: [rows.size, cols.size], jump: [rows.jump, cols.jump], start: [rows.start, cols.start] };
}

/** Operators whose output unit (y, x) sees exactly what their inputs' units (y, x) see. */
const SAME_POSITIONS = new Set([
  'Relu', 'Clip', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Softplus', 'Softsign', 'Mish', 'Erf',
  'BatchNormalization', 'InstanceNormalization', 'Identity', 'Dropout', 'Cast', 'Neg', 'Abs', 'Sqrt', 'Exp', 'Log', 'Reciprocal', 'Floor', 'Ceil',
  'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Sum', 'Max', 'Min', 'Mean', 'Where',
]);

type OnnxField = { rows: AxisState; cols: AxisState } | { unknown: string };

function ints(node: OnnxNode, name: string): readonly number[] | undefined {
  const v = node.attributes?.[name];
  return Array.isArray(v) ? (v as readonly number[]) : undefined;
}

/** Conv, MaxPool or AveragePool over the spatial axes of an NCHW map. */
function onnxWindow(graph: OnnxGraph, node: OnnxNode, rows: AxisState, cols: AxisState): OnnxField {
  const kernel = ints(node, 'kernel_shape') ?? (node.opType === 'Conv' ? graph.constantShapes?.[node.inputs[1] ?? '']?.slice(2) : undefined);
  if (!kernel || kernel.length !== 2) return { unknown: `${node.opType} '${node.name}' has no 2-D kernel convscope can read` };
  const strides = ints(node, 'strides') ?? [1, 1];
  const dilations = ints(node, 'dilations') ?? [1, 1];
  const autoPad = String(node.attributes?.auto_pad ?? 'NOTSET');
  const ceil = node.attributes?.ceil_mode === 1;
  const axes = [rows, cols].map((axis, i) => {
    const [k, s, d] = [kernel[i]!, strides[i]!, dilations[i]!];
    const pads = ints(node, 'pads') ?? [0, 0, 0, 0];
    const [before, after] = autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' ? samePads(axis, k, s, d, autoPad === 'SAME_LOWER') : autoPad === 'VALID' ? [0, 0] : [pads[i]!, pads[i + 2]!];
    return windowStep(axis, k, s, d, before, after, ceil);
  });
  return { rows: axes[0]!, cols: axes[1]! };
}

/**
 * The receptive field of the units of ONNX value `output` (an NCHW map) for an input of `height` x
 * `width`: composed backwards through every input that depends on the graph input (where they
 * differ, the widest), or why it is unknown (an operator that moves positions in a way not covered).
 */
export function onnxReceptiveField(graph: OnnxGraph, output: string, height: number, width: number): ReceptiveField | { unknown: string } {
  const producer = new Map(graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const inputs = new Set(graph.inputs.map((i) => i.name));
  const memo = new Map<string, OnnxField | null>();
  const fieldOf = (value: string): OnnxField | null => {
    if (inputs.has(value)) return { rows: { size: 1, jump: 1, start: 0, length: height }, cols: { size: 1, jump: 1, start: 0, length: width } };
    const known = memo.get(value);
    if (known !== undefined) return known;
    const node = producer.get(value);
    memo.set(value, null);
    const live = (node?.inputs ?? []).flatMap((i) => (i === '' ? [] : [fieldOf(i)])).filter((f): f is OnnxField => f !== null);
    let field: OnnxField | null = null;
    if (node && live.length > 0) {
      const unknown = live.find((f) => 'unknown' in f);
      const known = live.filter((f): f is { rows: AxisState; cols: AxisState } => !('unknown' in f));
      const widest = known.sort((a, b) => b.rows.size * b.cols.size - a.rows.size * a.cols.size)[0];
      const op = node.opType;
      if (unknown) field = unknown;
      else if (!widest) field = null;
      else if (op === 'Conv' || op === 'MaxPool' || op === 'AveragePool') field = onnxWindow(graph, node, widest.rows, widest.cols);
      else if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') {
        // one window over the whole map
        field = { rows: windowStep(widest.rows, widest.rows.length, 1, 1, 0, 0), cols: windowStep(widest.cols, widest.cols.length, 1, 1, 0, 0) };
      }
      else if (op === 'Pad') {
        const pads = ints(node, 'pads') ?? graph.smallInts?.[node.inputs[1] ?? ''];
        field = pads && pads.length === 8 && (node.inputs[3] ?? '') === '' ? { rows: padStep(widest.rows, pads[2]!, pads[6]!), cols: padStep(widest.cols, pads[3]!, pads[7]!) } : { unknown: `Pad '${node.name}' pads axes convscope cannot read` };
      } else if (op === 'Concat' && (node.attributes?.axis === 1 || node.attributes?.axis === -3)) field = widest;
      else if (SAME_POSITIONS.has(op)) field = widest;
      else field = { unknown: `the path from the input passes ${op} '${node.name || value}', whose receptive field convscope does not compute` };
    }
    memo.set(value, field);
    return field;
  };
  const field = fieldOf(output) ?? { unknown: `'${output}' does not depend on the input` };
  if ('unknown' in field) return field;
  return { size: [field.rows.size, field.cols.size], jump: [field.rows.jump, field.cols.jump], start: [field.rows.start, field.cols.start] };
}

/** The input crop under unit (y, x): its receptive field clipped to the image. */
export function cropAt(field: ReceptiveField, y: number, x: number, height: number, width: number): Crop {
  const axis = (p: number, a: 0 | 1, limit: number): [number, number] => {
    const centre = field.start[a] + p * field.jump[a];
    const from = Math.max(0, Math.ceil(centre - (field.size[a] - 1) / 2));
    const to = Math.min(limit, Math.floor(centre + (field.size[a] - 1) / 2) + 1);
    return [from, Math.max(from + 1, to)];
  };
  const [top, bottom] = axis(y, 0, height);
  const [left, right] = axis(x, 1, width);
  return { top, left, height: bottom - top, width: right - left };
}
