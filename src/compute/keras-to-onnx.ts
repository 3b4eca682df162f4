import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, type AttributeValue, type WriteNode, type WriteTensor } from '../formats/onnx-write.js';
import { UnsupportedError } from '../model/errors.js';
import { parseLambda, type Expr } from '../model/expression.js';
import { catalogueEntry, refusal } from '../model/keras-catalogue.js';
import { transposeLength, transposeStart } from './conv-transpose.js';
import { shortName } from '../model/lookup.js';
import type { RunnableModel } from './build.js';
import type { GraphNode, TensorRef } from '../model/graph.js';
import { toTfjsLayer } from './keras-to-tfjs.js';

/**
 * A built Keras / TF.js network as an ONNX graph, so that ONNX Runtime can run its forward pass.
 * Every value keeps its Keras layout (channels_last unless a layer says otherwise), so each layer's
 * ONNX output is exactly the activation TensorFlow.js gives; operators that ONNX defines channels
 * first (Conv, pooling, padding) are wrapped in Transposes, which ONNX Runtime cancels between
 * neighbours whose intermediate values are not fetched. Configs are the Keras 2 spelling the Keras
 * catalogue audits (model/keras-catalogue.ts, engine 'ort'); weights are read from the built tfjs
 * layers, so they are in Keras layout with every load-time fix (Theano flips) applied.
 */

export interface OnnxConversion {
  readonly bytes: Uint8Array;
  /** The ONNX value holding output `output` of graph node `node`: `${node}:${output}`. */
  valueOf(ref: TensorRef): string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** The graph as written, for building on (the backward pass of attribution). */
  readonly nodes: readonly WriteNode[];
  readonly initializers: readonly WriteTensor[];
}

/** The Keras output shape of a graph value (batch axis null). */
export function kerasOutputShape(net: RunnableModel, ref: TensorRef): (number | null)[] {
  const n = net.graph.nodes[ref.node]!;
  const layer = net.tfLayer(n) as tfl.layers.Layer & { inboundNodes: { outputTensors: { shape: (number | null)[] }[] }[] };
  return [...layer.inboundNodes[n.call]!.outputTensors[ref.output]!.shape];
}

type Json = Record<string, unknown>;

class Builder {
  readonly nodes: WriteNode[] = [];
  readonly initializers: WriteTensor[] = [];
  private counter = 0;

  fresh(hint: string): string {
    return `${hint}#${this.counter++}`;
  }

  op(op: string, inputs: readonly string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const out = output ?? this.fresh(op);
    this.nodes.push({ op, inputs, outputs: [out], attributes });
    return out;
  }

  constant(hint: string, dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const name = this.fresh(hint);
    this.initializers.push({ name, dims, data });
    return name;
  }

  ints(values: readonly number[]): string {
    return this.constant('ints', [values.length], BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  scalar(value: number): string {
    return this.constant('scalar', [], Float32Array.of(value));
  }
}

function tuple(value: unknown, rank: number, fallback: number): number[] {
  if (value === undefined || value === null) return Array.from({ length: rank }, () => fallback);
  if (typeof value === 'number') return Array.from({ length: rank }, () => value);
  return (value as number[]).map(Number);
}

/** Moves the channels axis from last to 1 (NHWC -> NCHW) and back. */
const toFirst = (rank: number): number[] => [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
const toLast = (rank: number): number[] => [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];

/** Reorders a C-order tensor's axes: out[perm applied] (out axis k = in axis perm[k]). */
function permute(data: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const out = new Float32Array(data.length);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < rank; k++) src += index[k]! * inStrides[perm[k]!]!;
    out[o] = data[src]!;
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k]! < outShape[k]!) break;
      index[k] = 0;
    }
  }
  return out;
}

export class OrtConversionError extends UnsupportedError {}

/** Converts `net` (built by buildModel, weights loaded) to ONNX; throws OrtConversionError naming the layer it cannot convert. */
export function kerasToOnnx(net: RunnableModel): OnnxConversion {
  const { graph } = net;
  const b = new Builder();
  const valueOf = (ref: TensorRef): string => `${ref.node}:${ref.output}`;
  const shapeOf = (ref: TensorRef): (number | null)[] => kerasOutputShape(net, ref);
  const inputNames: string[] = [];
  const inputs: { name: string; shape: (number | null)[] }[] = [];
  for (const node of graph.nodes) {
    const out = valueOf({ node: node.id, output: 0 });
    if (node.layer.className === 'InputLayer' || graph.inputs.includes(node.id)) {
      inputNames.push(out);
      inputs.push({ name: out, shape: [null, ...shapeOf({ node: node.id, output: 0 }).slice(1)] });
      continue;
    }
    const json = toTfjsLayer(node.layer, () => true, net.source, net.lambdas);
    // a 'Lambda' here is one the user stated (toTfjsLayer refuses stored ones)
    const why = json.class_name === 'Lambda' ? undefined : refusal(node.layer.name, json.class_name, json.config, 'ort');
    if (why) throw new OrtConversionError(`${why}.`);
    const args = node.inputs.map(valueOf);
    const shapes = node.inputs.map(shapeOf);
    convertLayer(b, net.tfLayer(node), node, json.class_name, json.config, args, shapes, out);
  }
  const outputNames = graph.outputs.map(valueOf);
  const bytes = encodeOnnxModel({
    name: graph.name,
    nodes: b.nodes,
    initializers: b.initializers,
    inputs,
    outputs: outputNames.map((name) => ({ name })),
  });
  return { bytes, valueOf, inputNames, outputNames, nodes: b.nodes, initializers: b.initializers };
}

function weightOf(layer: tfl.layers.Layer, role: string): { data: Float32Array; shape: number[] } | undefined {
  const v = layer.weights.find((w) => shortName(w.originalName) === role);
  if (!v) return undefined;
  const t = v.read();
  return { data: t.dataSync() as Float32Array, shape: [...t.shape] };
}

const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

/** An activation function by its Keras name, applied to x. */
function activate(b: Builder, name: unknown, x: string, rank: number, where: string, output?: string): string {
  const id = (): string => (output ? b.op('Identity', [x], {}, output) : x);
  switch (name ?? 'linear') {
    case 'linear':
      return id();
    case 'relu':
      return b.op('Relu', [x], {}, output);
    case 'relu6':
      return b.op('Clip', [x, b.scalar(0), b.scalar(6)], {}, output);
    case 'sigmoid':
      return b.op('Sigmoid', [x], {}, output);
    case 'tanh':
      return b.op('Tanh', [x], {}, output);
    case 'softmax':
      return b.op('Softmax', [x], { axis: rank - 1 }, output);
    case 'log_softmax':
      return b.op('LogSoftmax', [x], { axis: rank - 1 }, output);
    case 'softplus':
      return b.op('Softplus', [x], {}, output);
    case 'softsign':
      return b.op('Softsign', [x], {}, output);
    case 'elu':
      return b.op('Elu', [x], { alpha: { float: 1 } }, output);
    case 'selu':
      return b.op('Selu', [x], { alpha: { float: SELU_ALPHA }, gamma: { float: SELU_SCALE } }, output);
    case 'swish':
    case 'silu':
      return b.op('Mul', [x, b.op('Sigmoid', [x])], {}, output);
    case 'mish':
      return b.op('Mul', [x, b.op('Tanh', [b.op('Softplus', [x])])], {}, output);
    case 'gelu': {
      const erf = b.op('Erf', [b.op('Mul', [x, b.scalar(Math.SQRT1_2)])]);
      return b.op('Mul', [b.op('Mul', [x, b.scalar(0.5)]), b.op('Add', [erf, b.scalar(1)])], {}, output);
    }
    default:
      throw new OrtConversionError(`${where} uses activation '${String(name)}', which convscope does not convert to ONNX.`);
  }
}

/** A stated Lambda expression (model/expression.ts) as ONNX operators on `x`. */
function lambdaOps(b: Builder, expr: Expr, x: string): string {
  switch (expr.kind) {
    case 'number':
      return b.scalar(expr.value);
    case 'x':
      return x;
    case 'negate':
      return b.op('Neg', [lambdaOps(b, expr.arg, x)]);
    case 'binary': {
      const ops = { '+': 'Add', '-': 'Sub', '*': 'Mul', '/': 'Div', '**': 'Pow' } as const;
      return b.op(ops[expr.op], [lambdaOps(b, expr.left, x), lambdaOps(b, expr.right, x)]);
    }
    case 'call': {
      const args = expr.args.map((a) => lambdaOps(b, a, x));
      if (expr.fn === 'square') return b.op('Mul', [args[0]!, args[0]!]);
      const ops = { abs: 'Abs', sqrt: 'Sqrt', exp: 'Exp', log: 'Log', tanh: 'Tanh', sigmoid: 'Sigmoid', relu: 'Relu', minimum: 'Min', maximum: 'Max' } as const;
      return b.op(ops[expr.fn], args);
    }
  }
}

/** The spatial convolution-like op in ONNX's channels-first layout, wrapped in Transposes for channels_last values. */
function channelsFirst(b: Builder, x: string, rank: number, first: boolean, body: (xcf: string) => string): string {
  if (first) return body(x);
  return b.op('Transpose', [body(b.op('Transpose', [x], { perm: toFirst(rank) }))], { perm: toLast(rank) });
}

function convertLayer(
  b: Builder,
  layer: tfl.layers.Layer,
  node: GraphNode,
  className: string,
  c: Json,
  args: readonly string[],
  shapes: readonly (number | null)[][],
  out: string,
): void {
  const where = `layer '${node.layer.name}' (${className})`;
  const x = args[0]!;
  const rank = shapes[0]!.length;
  const first = c.data_format === 'channels_first';
  const spatial = rank - 2;
  const weight = (role: string): { data: Float32Array; shape: number[] } => {
    const w = weightOf(layer, role);
    if (!w) throw new OrtConversionError(`${where} has no '${role}' weight.`);
    return w;
  };
  const bias = (): string | undefined => {
    const w = c.use_bias === false ? undefined : weightOf(layer, 'bias');
    return w ? b.constant('bias', w.shape, w.data) : undefined;
  };
  const sizes = first ? shapes[0]!.slice(2) : shapes[0]!.slice(1, -1);
  /** TF's padding: 'same' pads max((ceil(n / s) - 1) * s + extent - n, 0), the odd one at the end. */
  const pads = (padding: unknown, kernel: readonly number[], strides: readonly number[], dilations?: readonly number[]): Record<string, AttributeValue> => {
    if (padding !== 'same') return { pads: new Array(2 * spatial).fill(0) };
    if (sizes.some((n) => n === null)) {
      if (dilations?.some((d) => d !== 1)) throw new OrtConversionError(`${where} has 'same' padding with dilation on an input of unknown size, which convscope does not convert to ONNX.`);
      return { auto_pad: 'SAME_UPPER' };
    }
    const total = sizes.map((n, i) => Math.max((Math.ceil(n! / strides[i]!) - 1) * strides[i]! + (dilations?.[i] ?? 1) * (kernel[i]! - 1) + 1 - n!, 0));
    return { pads: [...total.map((t) => Math.floor(t / 2)), ...total.map((t) => t - Math.floor(t / 2))] };
  };
  const finish = (y: string): void => void activate(b, c.activation, y, rank, where, out);

  switch (className) {
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D': {
      const k = weight('kernel');
      const w = b.constant('kernel', [k.shape.at(-1)!, k.shape.at(-2)!, ...k.shape.slice(0, -2)], permute(k.data, k.shape, [spatial + 1, spatial, ...Array.from({ length: spatial }, (_, i) => i)]));
      const dil = tuple(c.dilation_rate, spatial, 1);
      const strides = tuple(c.strides, spatial, 1);
      const attrs: Record<string, AttributeValue> = { strides, dilations: dil, ...(Number(c.groups ?? 1) > 1 ? { group: Number(c.groups) } : {}) };
      if (c.padding === 'causal') attrs.pads = [dil[0]! * (k.shape[0]! - 1), 0];
      else Object.assign(attrs, pads(c.padding, k.shape.slice(0, spatial), strides, dil));
      const bb = bias();
      finish(channelsFirst(b, x, rank, first, (xc) => b.op('Conv', bb ? [xc, w, bb] : [xc, w], attrs)));
      return;
    }
    case 'DepthwiseConv2D':
    case 'SeparableConv2D': {
      const k = weight('depthwise_kernel');
      const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
      const dw = b.constant('depthwise', [cin * mult, 1, kh, kw], permute(k.data, k.shape, [2, 3, 0, 1]));
      const [strides, dilations] = [tuple(c.strides, 2, 1), tuple(c.dilation_rate, 2, 1)];
      const attrs = { strides, dilations, group: cin, ...pads(c.padding, [kh, kw], strides, dilations) };
      if (className === 'DepthwiseConv2D') {
        const bb = bias();
        finish(channelsFirst(b, x, rank, first, (xc) => b.op('Conv', bb ? [xc, dw, bb] : [xc, dw], attrs)));
        return;
      }
      const p = weight('pointwise_kernel');
      const pw = b.constant('pointwise', [p.shape[3]!, p.shape[2]!, 1, 1], permute(p.data, p.shape, [3, 2, 0, 1]));
      const bb = bias();
      finish(channelsFirst(b, x, rank, first, (xc) => b.op('Conv', bb ? [b.op('Conv', [xc, dw], attrs), pw, bb] : [b.op('Conv', [xc, dw], attrs), pw])));
      return;
    }
    case 'Conv2DTranspose': {
      const k = weight('kernel');
      const [kh, kw] = k.shape as [number, number, number, number];
      const w = b.constant('kernel', [k.shape[3]!, k.shape[2]!, kh, kw], permute(k.data, k.shape, [3, 2, 0, 1]));
      const strides = tuple(c.strides, 2, 1);
      const dil = tuple(c.dilation_rate, 2, 1);
      // As KerasConv2DTranspose (conv-transpose.ts): 'valid' is the full transposed convolution;
      // 'same' is in * stride long, the full one cropped by the padding TF's forward conv would
      // have used or, for kernels shorter than the stride, extended at the end (output_padding).
      const extents = [kh, kw].map((k, i) => dil[i]! * (k - 1) + 1);
      const crop = extents.map((e, i) => (c.padding === 'same' ? Math.max(e - strides[i]!, 0) : 0));
      const attrs = {
        strides,
        dilations: dil,
        pads: [Math.floor(crop[0]! / 2), Math.floor(crop[1]! / 2), crop[0]! - Math.floor(crop[0]! / 2), crop[1]! - Math.floor(crop[1]! / 2)],
        output_padding: extents.map((e, i) => (c.padding === 'same' ? Math.max(strides[i]! - e, 0) : 0)),
      };
      if (c.output_padding !== null && c.output_padding !== undefined) {
        // an explicit output_padding: Keras' output length, cropped from the full transposed convolution where it starts
        if (sizes.some((n) => n === null)) throw new OrtConversionError(`${where} has output_padding on an input of unknown size, which convscope does not convert to ONNX.`);
        const extra = tuple(c.output_padding, 2, 0);
        const ends = [0, 1].map((i) => {
          const full = (sizes[i]! - 1) * strides[i]! + extents[i]!;
          const target = transposeLength(sizes[i]!, [kh, kw][i]!, strides[i]!, dil[i]!, String(c.padding), extra[i]!);
          const begin = transposeStart(full, target, String(c.padding));
          return { begin, end: full - begin - target };
        });
        attrs.pads = [ends[0]!.begin, ends[1]!.begin, Math.max(ends[0]!.end, 0), Math.max(ends[1]!.end, 0)];
        attrs.output_padding = ends.map((e) => Math.max(-e.end, 0));
      }
      const bb = bias();
      finish(channelsFirst(b, x, rank, first, (xc) => b.op('ConvTranspose', bb ? [xc, w, bb] : [xc, w], attrs)));
      return;
    }
    case 'Dense': {
      const k = weight('kernel');
      const y = b.op('MatMul', [x, b.constant('kernel', k.shape, k.data)]);
      const bb = bias();
      finish(bb ? b.op('Add', [y, bb]) : y);
      return;
    }
    case 'Activation':
      if (catalogueEntry(node.layer.className)?.status === 'identity' || c.activation === undefined) {
        b.op('Identity', [x], {}, out);
        return;
      }
      finish(x);
      return;
    case 'ReLU': {
      const max = c.max_value as number | null | undefined;
      const slope = Number(c.negative_slope ?? 0);
      const threshold = Number(c.threshold ?? 0);
      let y = threshold !== 0 ? b.op('Mul', [x, b.op('Cast', [b.op('Greater', [x, b.scalar(threshold)])], { to: 1 })]) : b.op('Relu', [x]);
      if (max !== null && max !== undefined) y = b.op('Clip', [y, b.scalar(0), b.scalar(max)]);
      if (slope !== 0) y = b.op('Sub', [y, b.op('Mul', [b.scalar(slope), b.op('Relu', [b.op('Sub', [b.scalar(threshold), x])])])]);
      b.op('Identity', [y], {}, out);
      return;
    }
    case 'LeakyReLU':
      b.op('LeakyRelu', [x], { alpha: { float: Number(c.alpha ?? c.negative_slope ?? 0.3) } }, out);
      return;
    case 'ELU':
      b.op('Elu', [x], { alpha: { float: Number(c.alpha ?? 1) } }, out);
      return;
    case 'ThresholdedReLU':
      b.op('ThresholdedRelu', [x], { alpha: { float: Number(c.theta ?? 1) } }, out);
      return;
    case 'PReLU': {
      const a = weight('alpha');
      b.op('PRelu', [x, b.constant('alpha', a.shape, a.data)], {}, out);
      return;
    }
    case 'Softmax': {
      const axis = Number(c.axis ?? -1);
      b.op('Softmax', [x], { axis: axis < 0 ? axis + rank : axis }, out);
      return;
    }
    case 'BatchNormalization': {
      const axis = Number(c.axis ?? -1);
      const at = axis < 0 ? axis + rank : axis;
      const mean = weight('moving_mean');
      const variance = weight('moving_variance');
      const gamma = c.scale === false ? undefined : weight('gamma');
      const beta = c.center === false ? undefined : weight('beta');
      const eps = Number(c.epsilon ?? 1e-3);
      const n = mean.data.length;
      const scale = new Float32Array(n);
      const shift = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        // Keras computes (x - mean) / sqrt(var + eps) * gamma + beta in float32.
        scale[i] = Math.fround((gamma?.data[i] ?? 1) / Math.fround(Math.sqrt(Math.fround(variance.data[i]! + eps))));
        shift[i] = Math.fround((beta?.data[i] ?? 0) - Math.fround(mean.data[i]! * scale[i]!));
      }
      const dims = Array.from({ length: rank - 1 }, (_, i) => (i + 1 === at ? n : 1));
      b.op('Add', [b.op('Mul', [x, b.constant('scale', dims, scale)]), b.constant('shift', dims, shift)], {}, out);
      return;
    }
    case 'MaxPooling1D':
    case 'MaxPooling2D':
    case 'MaxPooling3D':
    case 'AveragePooling1D':
    case 'AveragePooling2D':
    case 'AveragePooling3D': {
      const size = tuple(c.pool_size, spatial, 2);
      const strides = c.strides === null || c.strides === undefined ? size : tuple(c.strides, spatial, 1);
      const op = className.startsWith('Max') ? 'MaxPool' : 'AveragePool';
      b.op('Identity', [channelsFirst(b, x, rank, first, (xc) => b.op(op, [xc], { kernel_shape: size, strides, ...pads(c.padding, size, strides) }))], {}, out);
      return;
    }
    case 'GlobalMaxPooling1D':
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling1D':
    case 'GlobalAveragePooling2D': {
      const axes = first ? Array.from({ length: spatial }, (_, i) => i + 2) : Array.from({ length: spatial }, (_, i) => i + 1);
      b.op(className.startsWith('GlobalMax') ? 'ReduceMax' : 'ReduceMean', [x], { axes, keepdims: c.keepdims === true ? 1 : 0 }, out);
      return;
    }
    case 'Lambda': {
      // a Lambda layer the user stated (toTfjsLayer parsed it): elementwise ONNX operators, or a Slice
      const statement = parseLambda(node.layer.name, String(c.expression));
      if (statement.kind === 'identity') b.op('Identity', [x], {}, out);
      else if (statement.kind === 'elementwise') b.op('Identity', [lambdaOps(b, statement.expr, x)], {}, out);
      else {
        const axes = statement.slices.map((_, i) => i).filter((i) => statement.slices[i]!.start !== null || statement.slices[i]!.stop !== null);
        const starts = axes.map((i) => statement.slices[i]!.start ?? 0);
        const ends = axes.map((i) => statement.slices[i]!.stop ?? 2147483647);
        b.op('Slice', [x, b.ints(starts), b.ints(ends), b.ints(axes)], {}, out);
      }
      return;
    }
    case 'Flatten':
      if (first && rank > 2) {
        b.op('Reshape', [b.op('Transpose', [x], { perm: toLast(rank) }), b.ints([0, -1])], {}, out);
      } else {
        b.op('Reshape', [x, b.ints([0, -1])], {}, out);
      }
      return;
    case 'Reshape':
      b.op('Reshape', [x, b.ints([0, ...(c.target_shape as number[])])], {}, out);
      return;
    case 'Permute':
      b.op('Transpose', [x], { perm: [0, ...(c.dims as number[])] }, out);
      return;
    case 'ZeroPadding2D':
    case 'Cropping2D': {
      const raw = className === 'ZeroPadding2D' ? c.padding : c.cropping;
      const [[top, bottom], [left, right]] = symmetricPairs(raw);
      const [h, w] = first ? [2, 3] : [1, 2];
      if (className === 'ZeroPadding2D') {
        const p = [0, 0, 0, 0, 0, 0, 0, 0];
        [p[h], p[w], p[h + 4], p[w + 4]] = [top, left, bottom, right];
        b.op('Pad', [x, b.ints(p)], { mode: 'constant' }, out);
      } else {
        const big = 2 ** 31 - 1;
        b.op('Slice', [x, b.ints([top, left]), b.ints([bottom === 0 ? big : -bottom, right === 0 ? big : -right]), b.ints([h, w])], {}, out);
      }
      return;
    }
    case 'UpSampling2D': {
      if ((c.interpolation ?? 'nearest') !== 'nearest') throw new OrtConversionError(`${where} uses interpolation='${String(c.interpolation)}', which convscope converts to ONNX only for 'nearest'.`);
      const [sh, sw] = tuple(c.size, 2, 2);
      const scales = first ? [1, 1, sh, sw] : [1, sh, sw, 1];
      b.op('Resize', [x, '', b.constant('scales', [4], Float32Array.from(scales))], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' }, out);
      return;
    }
    case 'Add':
      b.op('Sum', args, {}, out);
      return;
    case 'Subtract':
      b.op('Sub', [args[0]!, args[1]!], {}, out);
      return;
    case 'Multiply':
      b.op('Identity', [args.slice(1).reduce((acc, a) => b.op('Mul', [acc, a]), args[0]!)], {}, out);
      return;
    case 'Average':
      b.op('Mean', args, {}, out);
      return;
    case 'Maximum':
      b.op('Max', args, {}, out);
      return;
    case 'Minimum':
      b.op('Min', args, {}, out);
      return;
    case 'Concatenate': {
      const axis = Number(c.axis ?? -1);
      b.op('Concat', args, { axis: axis < 0 ? axis + rank : axis }, out);
      return;
    }
    case 'Rescaling':
      b.op('Add', [b.op('Mul', [x, b.scalar(Number(c.scale))]), b.scalar(Number(c.offset ?? 0))], {}, out);
      return;
    default:
      if (catalogueEntry(className)?.status === 'identity') {
        b.op('Identity', [x], {}, out);
        return;
      }
      throw new OrtConversionError(`${where} has no ONNX conversion yet.`);
  }
}

/** ZeroPadding2D / Cropping2D amounts: n, (h, w) or ((top, bottom), (left, right)). */
function symmetricPairs(value: unknown): [[number, number], [number, number]] {
  if (typeof value === 'number') return [[value, value], [value, value]];
  const [a, b] = value as (number | number[])[];
  const pair = (v: number | number[] | undefined): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v ?? 0), Number(v ?? 0)]);
  return [pair(a), pair(b)];
}
