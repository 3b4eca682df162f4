import type { GraphNode, LayerGraph } from '../model/graph.js';

/**
 * The receptive field of a layer's units in input pixels (Araujo et al. 2019, "Computing receptive
 * fields of convolutional neural networks"): composed along the path from the input to the layer
 * through each node's first input, per spatial axis:
 *   size  r_out = r_in + (k - 1) d j_in
 *   jump  j_out = j_in s
 *   start c_out = c_in + ((k - 1) d / 2 - pad_before) j_in        (centre of unit 0)
 * with TensorFlow's 'same' padding (pad_before = floor(total / 2)). Layers that do not move pixels
 * (activations, batch norm, adds) keep the field; ZeroPadding2D shifts it.
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

function step(axis: AxisState, k: number, s: number, d: number, same: boolean): AxisState {
  const span = (k - 1) * d + 1;
  const length = same ? Math.ceil(axis.length / s) : Math.floor((axis.length - span) / s) + 1;
  const total = same ? Math.max((length - 1) * s + span - axis.length, 0) : 0;
  const before = Math.floor(total / 2);
  return { size: axis.size + (k - 1) * d * axis.jump, jump: axis.jump * s, start: axis.start + ((k - 1) * d / 2 - before) * axis.jump, length };
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
      rows = { ...rows, start: rows.start + top * rows.jump, length: rows.length + 2 * top };
      cols = { ...cols, start: cols.start + left * cols.jump, length: cols.length + 2 * left };
    }
  }
  return { size: [rows.size, cols.size], jump: [rows.jump, cols.jump], start: [rows.start, cols.start] };
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
