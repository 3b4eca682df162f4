import seedrandom from 'seedrandom';
import { SelectionError, UnsupportedError, UsageError } from '../model/errors.js';
import { didYouMean } from '../model/lookup.js';
import { activationName, outputChannelsFirst } from './activations.js';
import { initBackend, tf } from './backend.js';
import type { RunnableModel } from './build.js';
import type { GraphNode } from '../model/graph.js';
import { BackwardUnsupportedError } from './onnx-backward.js';
import { selectOnnxLayers } from './onnx-activations.js';
import { kerasGradients, onnxGradients, type GradientEngine } from './ort-gradients.js';
import type { OnnxNet } from './ort.js';
import type { Preset } from './choices.js';
import { pixelTransform, type PixelTransform } from './preprocess.js';

/**
 * Activation maximization (Olah et al. 2017, "Feature Visualization"; Lucid / Lucent): find an image
 * that makes filter j respond strongly, by gradient ascent on a decorrelated image parameterisation.
 *   - Fourier: each channel is a real 2-D Fourier series (cosine and sine bases) whose coefficients
 *     are scaled by 1 / frequency, so steps move all frequencies equally instead of favouring
 *     high-frequency noise; computed with matrix products, so TensorFlow.js differentiates it.
 *   - colour: RGB images are mixed from decorrelated channels with Lucid's ImageNet colour matrix.
 *   - sigmoid: pixels land in (0, 1), then the model's preprocessing preset maps them to its input.
 *   - robustness: each step sees the image through a random affine warp (jitter, scale, rotation),
 *     bilinear sampled with gathers (differentiable); `transforms: false` turns it off.
 *   - penalties: total variation (mean squared difference of neighbours) and L2 (mean squared
 *     distance from mid-grey 0.5), weighted by `tv` and `l2`.
 * Objectives as Lucid names them: `channel` = mean of filter j's output over positions, `neuron` = its
 * output at the centre position (floor(H/2), floor(W/2)). All requested filters optimise together,
 * one image each, with Adam.
 * The network is a TensorFlow.js one built from a Keras / TF.js model, or an ONNX model on ONNX Runtime
 * (a PyTorch export): either way the network's gradient comes from an engine (pixelObjective), and the
 * parameterisation, the warps and the preprocessing are differentiated in TensorFlow.js, so the
 * optimised image is always (0, 1) pixels.
 */

/** A network to maximize in: built TensorFlow.js layers (Keras, TF.js), or an ONNX model on ONNX Runtime. */
export type MaximizeNet = RunnableModel | OnnxNet;

function isOnnxNet(net: MaximizeNet): net is OnnxNet {
  return 'extend' in net;
}

export type Objective = 'channel' | 'neuron';

export interface MaximizeOptions {
  layer: string;
  filters: readonly number[];
  objective?: Objective;
  steps?: number;
  learningRate?: number;
  seed?: number;
  transforms?: boolean;
  tv?: number;
  l2?: number;
  /** How (0, 1) pixels become the model's input (the preset it was trained with, compute/preprocess.ts); default unit. */
  pixels?: Preset;
  onStep?: (step: number, steps: number, objective: number) => void;
  /** Where the network's gradient comes from: ONNX Runtime where it covers the layer ('auto', the default), or TensorFlow.js (not for ONNX models). */
  engine?: 'auto' | 'TensorFlow.js';
}

export interface MaximizeResult {
  layer: string;
  objective: Objective;
  filters: number[];
  height: number;
  width: number;
  channels: number;
  /** [filters, H, W, C] pixels in 0..1. */
  images: Float32Array;
  /** Mean over the filters of the objective (before penalties) at every step. */
  trace: number[];
  /** Each filter's objective on its final image, seen without transforms. */
  final: number[];
  /** Filters the near-grey start left at objective 0 with no gradient, started again from a stronger random image. */
  restarted: number[];
  /** The engine of the network's gradient, with why not ONNX Runtime where it is TensorFlow.js. */
  engine: string;
}

/** The spectrum's scale for the restarts of a filter the near-grey start (0.01) does not activate: ever more contrast. */
const RESTART_AMPLITUDES = [0.3, 1, 3];

/** Lucid's colour correlation of ImageNet (square root of the covariance, via SVD), columns normalised to max norm 1. */
const COLOR_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

function colorMatrix(): number[][] {
  const norms = [0, 1, 2].map((c) => Math.hypot(COLOR_SQRT[0]![c]!, COLOR_SQRT[1]![c]!, COLOR_SQRT[2]![c]!));
  const max = Math.max(...norms);
  return COLOR_SQRT.map((row) => row.map((v) => v / max));
}

/** The real Fourier basis of length n as columns (constant, cos k, sin k, ...) and each column's frequency in cycles per pixel. */
export function fourierBasis(n: number): { matrix: Float32Array; frequency: Float32Array } {
  const matrix = new Float32Array(n * n);
  const frequency = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const k = Math.ceil(j / 2);
    frequency[j] = k / n;
    for (let x = 0; x < n; x++) {
      const angle = (2 * Math.PI * k * x) / n;
      const v = j === 0 ? 1 : j % 2 === 1 ? Math.cos(angle) : Math.sin(angle);
      matrix[x * n + j] = v * Math.sqrt((j === 0 || (n % 2 === 0 && j === n - 1 && k === n / 2) ? 1 : 2) / n);
    }
  }
  return { matrix, frequency };
}

/** An affine warp about the image centre: rotation (radians), scale and shift (pixels), as 4-neighbour gathers. */
function warpIndices(h: number, w: number, angle: number, scale: number, dy: number, dx: number): { index: Int32Array[]; weight: Float32Array[] } {
  const index = [0, 1, 2, 3].map(() => new Int32Array(h * w));
  const weight = [0, 1, 2, 3].map(() => new Float32Array(h * w));
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const cos = Math.cos(angle) / scale;
  const sin = Math.sin(angle) / scale;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const sy = Math.min(h - 1, Math.max(0, cos * (y - cy) - sin * (x - cx) + cy - dy));
      const sx = Math.min(w - 1, Math.max(0, sin * (y - cy) + cos * (x - cx) + cx - dx));
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(h - 1, y0 + 1);
      const x1 = Math.min(w - 1, x0 + 1);
      const fy = sy - y0;
      const fx = sx - x0;
      const p = y * w + x;
      [y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1].forEach((q, i) => (index[i]![p] = q));
      [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx].forEach((v, i) => (weight[i]![p] = v));
    }
  }
  return { index, weight };
}

function findLayerNode(net: RunnableModel, name: string): GraphNode {
  const node = net.graph.nodes.find((n) => activationName(n) === name);
  if (!node) throw new SelectionError(`${net.source} has no layer '${name}'.${didYouMean(name, net.graph.nodes.map(activationName))}`);
  return node;
}

/** The layer maximized: its name as results show it, its output's shape for one sample, its layout, its filter count. */
interface LayerTarget {
  readonly name: string;
  readonly shape: readonly number[];
  readonly channelsFirst: boolean;
  readonly filters: number;
}

/**
 * Layer `name` of the network with its output's shape, from one forward pass on a blank input. For an
 * ONNX model the name is what `activations` and the viewer take: a node name, a value name or a
 * PyTorch module path (its last node's output).
 */
async function layerTarget(net: MaximizeNet, name: string): Promise<LayerTarget> {
  const input = net.inputShapes[0]!.map((d) => d ?? 1);
  const count = (shape: readonly number[], channelsFirst: boolean): number => (shape.length === 4 && channelsFirst ? shape[1]! : shape[shape.length - 1]!);
  if (isOnnxNet(net)) {
    const chosen = selectOnnxLayers(net.graph, net.source, name);
    if (chosen.length !== 1) throw new UsageError(`Activation maximization visualises one layer at a time, but '${name.slice(0, 60)}' names ${chosen.length}.`, { concept: 'layer' });
    const output = chosen[0]!.output;
    const value = (await net.run([{ shape: [1, ...input.slice(1)], data: new Float32Array(input.slice(1).reduce((a, d) => a * d, 1)) }], [output])).get(output)!;
    if (!value.data || value.shape.length < 2) throw new UsageError(`The output of '${name}' (${value.type}, shape (${value.shape.join(', ')})) has no filters to visualise; choose a convolution or its activation.`, { concept: 'layer' });
    return { name, shape: value.shape, channelsFirst: true, filters: count(value.shape, true) };
  }
  const node = findLayerNode(net, name);
  const channelsFirst = outputChannelsFirst(net, node);
  const shape = tf.tidy(() => forwardTo(net, node, tf.zeros([1, ...input.slice(1)])).shape);
  return { name: activationName(node), shape, channelsFirst, filters: count(shape, channelsFirst) };
}

/** Runs the network from its input up to `node` only (the layers `node` depends on). */
function forwardTo(net: RunnableModel, node: GraphNode, x: tf.Tensor): tf.Tensor {
  const needed = new Set<number>([node.id]);
  for (let i = net.graph.nodes.length - 1; i >= 0; i--) {
    const n = net.graph.nodes[i]!;
    if (needed.has(n.id)) for (const r of n.inputs) needed.add(r.node);
  }
  const values = new Map<string, tf.Tensor>();
  for (const n of net.graph.nodes) {
    if (!needed.has(n.id)) continue;
    if (net.graph.inputs.includes(n.id)) {
      values.set(`${n.id}:0`, x);
      continue;
    }
    const args = n.inputs.map((r) => values.get(`${r.node}:${r.output}`)!);
    const result = net.tfLayer(n).apply(args.length === 1 ? args[0]! : args, { training: false }) as tf.Tensor | tf.Tensor[];
    (Array.isArray(result) ? result : [result]).forEach((t, i) => values.set(`${n.id}:${i}`, t));
  }
  return values.get(`${node.id}:0`)!;
}

/**
 * (0, 1) pixels as the model's input: the preset's own per-channel affine map (compute/preprocess.ts
 * pixelTransform, on the 0..255 scale) and channel order, as differentiable tensor ops.
 */
export function toModelInput(pixels: tf.Tensor4D, transform: PixelTransform, channelsFirst: boolean): tf.Tensor {
  const channels = Array.from({ length: pixels.shape[3] }, (_, c) => c);
  const offset = channels.map((c) => transform.value(0, c));
  const gain = channels.map((c) => 255 * (transform.value(1, c) - offset[c]!));
  const ordered = channels.every((c) => transform.source(c) === c) ? pixels : tf.gather(pixels, channels.map((c) => transform.source(c)), 3);
  const x = tf.add(tf.mul(ordered, tf.tensor1d(gain)), tf.tensor1d(offset));
  return channelsFirst ? tf.transpose(x, [0, 3, 1, 2]) : x;
}

/**
 * d objective / d layer output for each sample (`filters[i]` for sample i), in the layer output's
 * shape `shape` ([N, ...], channels first when `channelsFirst` and rank 4): the mean over positions of
 * the filter's channel, or 1 at the centre position (floor(H/2), floor(W/2)). The objective itself is
 * the sum of the output times this seed.
 */
function objectiveSeed(shape: readonly number[], filters: readonly number[], objective: Objective, channelsFirst: boolean): Float32Array {
  const first4 = shape.length === 4 && channelsFirst;
  const c = first4 ? shape[1]! : shape[shape.length - 1]!;
  const [h, w] = shape.length === 4 ? (first4 ? [shape[2]!, shape[3]!] : [shape[1]!, shape[2]!]) : shape.length === 3 ? [1, shape[1]!] : [1, 1];
  const size = c * h * w;
  const seed = new Float32Array(filters.length * size);
  const at = (f: number, p: number): number => (first4 ? f * h * w + p : p * c + f);
  filters.forEach((f, i) => {
    if (objective === 'channel') for (let p = 0; p < h * w; p++) seed[i * size + at(f, p)] = 1 / (h * w);
    else seed[i * size + at(f, Math.floor(h / 2) * w + Math.floor(w / 2))] = 1;
  });
  return seed;
}

/** Each sample's objective and d objective / d input at the model's input `x`, from one engine. */
export interface ObjectiveGradients {
  /** 'ONNX Runtime' or 'TensorFlow.js'. */
  readonly engine: string;
  /** Why not ONNX Runtime, where it is TensorFlow.js. */
  readonly fallback?: string;
  /** The layer's name as results show it. */
  readonly layer: string;
  at(x: tf.Tensor): Promise<{ objective: number[]; gradient: tf.Tensor }>;
  dispose(): void;
}

/** An engine's seeded gradient as ObjectiveGradients' `at`, checked on a blank batch (throws BackwardUnsupportedError). */
async function seededAt(
  seeded: NonNullable<GradientEngine['seededGradient']>,
  layer: string,
  seedBatch: { shape: number[]; data: Float32Array },
  objectives: (value: Float32Array) => number[],
  blank: number[],
): Promise<ObjectiveGradients['at']> {
  const run = async (x: tf.Tensor): Promise<{ objective: number[]; gradient: tf.Tensor }> => {
    const r = await seeded({ shape: x.shape, data: (await x.data()) as Float32Array }, layer, seedBatch);
    return { objective: objectives(r.value), gradient: tf.tensor(r.gradient, x.shape) };
  };
  const zeros = tf.zeros(blank);
  try {
    (await run(zeros)).gradient.dispose();
  } finally {
    zeros.dispose();
  }
  return run;
}

/**
 * The objective's gradient for `filters` of `layer` (one sample per filter). An ONNX model's comes
 * from ONNX Runtime (the backward pass from the layer to the input appended to its graph); a
 * TensorFlow.js network's from ONNX Runtime when the network's gradient engine covers the path from the
 * input to the layer (kerasGradients), else (or when `engine` is 'TensorFlow.js') by TensorFlow.js
 * autodiff through the built layers.
 */
export async function objectiveGradients(net: MaximizeNet, layer: string, filters: readonly number[], objective: Objective, engine: 'auto' | 'TensorFlow.js' = 'auto'): Promise<ObjectiveGradients> {
  // The pixels and the seed live in TensorFlow.js whichever engine gives the network's gradient: an ONNX model alone never started it.
  await initBackend();
  const target = await layerTarget(net, layer);
  const outside = filters.filter((f) => !(Number.isInteger(f) && f >= 0 && f < target.filters));
  if (outside.length > 0) throw new SelectionError(`Layer '${target.name}' has ${target.filters} filters (0..${target.filters - 1}), but filter ${outside[0]} was asked for.`);
  const shape = [filters.length, ...target.shape.slice(1)];
  const seed = objectiveSeed(shape, filters, objective, target.channelsFirst);
  const size = seed.length / filters.length;
  const objectives = (value: Float32Array): number[] =>
    filters.map((_, i) => {
      let sum = 0;
      for (let k = i * size; k < (i + 1) * size; k++) if (seed[k] !== 0) sum += value[k]! * seed[k]!;
      return sum;
    });
  const blank = [filters.length, ...net.inputShapes[0]!.slice(1).map((d) => d ?? 1)];
  const seedBatch = { shape, data: seed };
  if (isOnnxNet(net)) {
    if (engine === 'TensorFlow.js') throw new UsageError(`${net.source} is an ONNX model, whose gradients run on ONNX Runtime only.`);
    const gradients = await onnxGradients(net);
    if ('reason' in gradients || !gradients.seededGradient) throw new UnsupportedError(`${net.source} cannot be maximized on ONNX Runtime: ${'reason' in gradients ? gradients.reason : 'the engine has no seeded gradient'}.`);
    try {
      const at = await seededAt(gradients.seededGradient.bind(gradients), layer, seedBatch, objectives, blank);
      return { engine: gradients.engine, layer: target.name, at, dispose: () => undefined };
    } catch (e) {
      if (e instanceof BackwardUnsupportedError) throw new UnsupportedError(`${net.source}: the gradient from '${target.name}' back to the input cannot be built on ONNX Runtime: ${e.message.replace(/\.$/, '')}.`);
      throw e;
    }
  }
  const node = findLayerNode(net, layer);
  let fallback: string | undefined;
  if (engine === 'auto') {
    const gradients = await kerasGradients(net);
    fallback = gradients.fallback ?? (gradients.seededGradient ? undefined : 'the engine has no seeded gradient');
    const seeded = gradients.seededGradient?.bind(gradients);
    if (seeded && !gradients.fallback) {
      try {
        return { engine: gradients.engine, layer: target.name, at: await seededAt(seeded, layer, seedBatch, objectives, blank), dispose: () => undefined };
      } catch (e) {
        if (!(e instanceof BackwardUnsupportedError)) throw e;
        fallback = e.message;
      }
    }
  }
  const seedTensor = tf.tensor(seed, shape);
  const grad = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(forwardTo(net, node, x), seedTensor)));
  return {
    engine: 'TensorFlow.js',
    ...(fallback ? { fallback } : {}),
    layer: target.name,
    async at(x) {
      const [value, gradient] = tf.tidy(() => [forwardTo(net, node, x), grad(x)]);
      const data = (await value.data()) as Float32Array;
      value.dispose();
      return { objective: objectives(data), gradient };
    },
    dispose: () => seedTensor.dispose(),
  };
}

/** The objective and its gradient with respect to (0, 1) pixels: what maximize ascends, the model's preprocessing included. */
export interface PixelObjective extends Omit<ObjectiveGradients, 'at'> {
  /** For [N, H, W, C] pixels (one image per filter), each filter's objective and d objective / d pixels, [N, H, W, C]. */
  at(pixels: tf.Tensor4D): Promise<{ objective: number[]; gradient: tf.Tensor4D }>;
}

/**
 * The objective of `filters` of `layer` as a function of (0, 1) pixels: the preprocessing preset
 * `pixels` maps them to the model's input (toModelInput, differentiated by TensorFlow.js), the network's
 * gradient there comes from objectiveGradients' engine and is pulled back through that map.
 */
export async function pixelObjective(net: MaximizeNet, options: { layer: string; filters: readonly number[]; objective?: Objective; pixels?: Preset; engine?: 'auto' | 'TensorFlow.js' }): Promise<PixelObjective> {
  const shape = net.inputShapes[0]!;
  const channels = (net.channelsFirst ? shape[1] : shape[3]) ?? 1;
  const mapping = pixelTransform({ preset: options.pixels ?? 'unit' }, channels);
  const gradients = await objectiveGradients(net, options.layer, options.filters, options.objective ?? 'channel', options.engine ?? 'auto');
  const pullBack = tf.grad((p: tf.Tensor) => toModelInput(p as tf.Tensor4D, mapping, net.channelsFirst));
  return {
    engine: gradients.engine,
    ...(gradients.fallback ? { fallback: gradients.fallback } : {}),
    layer: gradients.layer,
    async at(pixels) {
      const x = tf.tidy(() => toModelInput(pixels, mapping, net.channelsFirst));
      try {
        const { objective, gradient } = await gradients.at(x);
        const back = tf.tidy(() => pullBack(pixels, gradient) as tf.Tensor4D);
        gradient.dispose();
        return { objective, gradient: back };
      } finally {
        x.dispose();
      }
    },
    dispose: () => gradients.dispose(),
  };
}

/** How many filters (output channels) layer `name` has, from one forward pass on a blank input. */
export async function layerFilterCount(net: MaximizeNet, name: string): Promise<number> {
  return (await layerTarget(net, name)).filters;
}

/** Optimises one image per filter of `options.layer` to maximise its objective. */
export async function maximize(net: MaximizeNet, options: MaximizeOptions): Promise<MaximizeResult> {
  if (net.inputShapes.length !== 1 || net.inputShapes[0]!.length !== 4) throw new UsageError(`${net.source} does not take one image input; maximize needs an image model.`);
  const shape = net.inputShapes[0]!;
  const [h, w, c] = (net.channelsFirst ? [shape[2], shape[3], shape[1]] : [shape[1], shape[2], shape[3]]) as (number | null)[];
  if (!h || !w || !c) throw new UsageError(`${net.source} takes images of unstated size (${shape.map((d) => d ?? 'None').join(', ')}); maximize needs a fixed input size.`);
  if (c !== 1 && c !== 3) throw new UsageError(`${net.source} takes ${c} input channels; maximize draws grey or RGB images.`);
  const objective = options.objective ?? 'channel';
  const steps = options.steps ?? 256;
  const lr = options.learningRate ?? 0.05;
  const tvWeight = options.tv ?? 0;
  const l2Weight = options.l2 ?? 0;
  const transforms = options.transforms ?? true;
  const n = options.filters.length;
  if (n === 0) throw new UsageError('maximize needs at least one filter.');
  const gradients = await pixelObjective(net, { layer: options.layer, filters: options.filters, objective, pixels: options.pixels ?? 'unit', engine: options.engine ?? 'auto' });
  const random = seedrandom(String(options.seed ?? 0));
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

  const rows = fourierBasis(h);
  const cols = fourierBasis(w);
  const scaleData = new Float32Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) scaleData[i * w + j] = 1 / Math.max(Math.hypot(rows.frequency[i]!, cols.frequency[j]!), 1 / Math.max(h, w));
  const init = new Float32Array(n * c * h * w);
  for (let i = 0; i < init.length; i++) init[i] = 0.01 * gauss();
  const spectrum = tf.variable(tf.tensor4d(init, [n, c, h, w]));
  const basisRows = tf.tensor2d(rows.matrix, [h, h]);
  const basisCols = tf.tensor2d(cols.matrix, [w, w]);
  const scale = tf.tensor2d(scaleData, [h, w]);
  const color = tf.tensor2d(colorMatrix().flat(), [3, 3]);
  const optimizer = tf.train.adam(lr);
  const trace: number[] = [];
  const maxShift = Math.max(1, Math.round(Math.min(h, w) / 28));

  /** Spectrum -> pixels in (0, 1), [N, H, W, C]. */
  const image = (): tf.Tensor4D =>
    tf.tidy(() => {
      const scaled = tf.mul(spectrum, scale);
      // B_rows S B_cols^T for every image and channel as two plain matrix products (faster than batched ones on wasm)
      const right = tf.matMul(tf.reshape(scaled, [n * c * h, w]), basisCols, false, true);
      const spatial = tf.matMul(basisRows, tf.reshape(tf.transpose(tf.reshape(right, [n * c, h, w]), [1, 0, 2]), [h, n * c * w]));
      let hwc = tf.transpose(tf.reshape(spatial, [h, n, c, w]), [1, 0, 3, 2]) as tf.Tensor4D;
      if (c === 3) hwc = tf.reshape(tf.matMul(tf.reshape(hwc, [-1, 3]), color, false, true), [n, h, w, 3]);
      return tf.sigmoid(hwc);
    });

  /**
   * d loss / d spectrum from d loss / d pixels at `pixels` = image(): back through the sigmoid, then the
   * transpose of each linear step of image() in reverse (colour, B_rows, B_cols, the 1/frequency scale).
   * Written out so that a step computes the image once: autodiff would build it again.
   */
  const imageBack = (pixels: tf.Tensor4D, dPixels: tf.Tensor4D): tf.Tensor4D =>
    tf.tidy(() => {
      const dz = tf.mul(dPixels, tf.mul(pixels, tf.sub(1, pixels)));
      const dhwc = c === 3 ? tf.reshape(tf.matMul(tf.reshape(dz, [-1, 3]), color), [n, h, w, 3]) : dz;
      const dSpatial = tf.reshape(tf.transpose(dhwc, [1, 0, 3, 2]), [h, n * c * w]);
      const dMiddle = tf.matMul(basisRows, dSpatial, true, false);
      const dRight = tf.reshape(tf.transpose(tf.reshape(dMiddle, [h, n * c, w]), [1, 0, 2]), [n * c * h, w]);
      return tf.mul(tf.reshape(tf.matMul(dRight, basisCols), [n, c, h, w]), scale) as tf.Tensor4D;
    });

  /** The penalties on the pixels: total variation and distance from mid-grey, weighted. */
  const penalty = (pixels: tf.Tensor): tf.Scalar => {
    let loss: tf.Tensor = tf.scalar(0);
    if (tvWeight > 0) {
      const dyv = tf.sub(tf.slice(pixels, [0, 1, 0, 0], [n, h - 1, w, c]), tf.slice(pixels, [0, 0, 0, 0], [n, h - 1, w, c]));
      const dxv = tf.sub(tf.slice(pixels, [0, 0, 1, 0], [n, h, w - 1, c]), tf.slice(pixels, [0, 0, 0, 0], [n, h, w - 1, c]));
      loss = tf.add(loss, tf.mul(tvWeight * n, tf.add(tf.mean(tf.square(dyv)), tf.mean(tf.square(dxv)))));
    }
    if (l2Weight > 0) loss = tf.add(loss, tf.mul(l2Weight * n, tf.mean(tf.square(tf.sub(pixels, 0.5)))));
    return loss as tf.Scalar;
  };
  const penaltyGradient = tvWeight > 0 || l2Weight > 0 ? tf.grad(penalty) : undefined;

  /** One step's random affine warp, drawn from the seeded generator. */
  const sampleWarp = (): { index: Int32Array[]; weight: Float32Array[] } => {
    const angle = ((random() * 20 - 10) * Math.PI) / 180;
    const s = 0.95 + random() * 0.1;
    const dy = Math.round((random() * 2 - 1) * maxShift);
    const dx = Math.round((random() * 2 - 1) * maxShift);
    return warpIndices(h, w, angle, s, dy, dx);
  };

  const warp = (pixels: tf.Tensor4D, sample: { index: Int32Array[]; weight: Float32Array[] } | undefined): tf.Tensor4D => {
    if (!sample) return pixels;
    const { index, weight } = sample;
    const flat = tf.reshape(tf.transpose(pixels, [1, 2, 0, 3]), [h * w, n * c]);
    let out: tf.Tensor | undefined;
    for (let k = 0; k < 4; k++) {
      const term = tf.mul(tf.gather(flat, tf.tensor1d(index[k]!, 'int32')), tf.tensor2d(weight[k]!, [h * w, 1]));
      out = out ? tf.add(out, term) : term;
    }
    return tf.transpose(tf.reshape(out!, [h, w, n, c]), [2, 0, 1, 3]) as tf.Tensor4D;
  };

  /** The transpose of `warp`: each output pixel's gradient added back to the 4 pixels it was sampled from. */
  const warpBack = (dSeen: tf.Tensor4D, sample: { index: Int32Array[]; weight: Float32Array[] } | undefined): tf.Tensor4D => {
    if (!sample) return dSeen;
    const { index, weight } = sample;
    const flat = tf.reshape(tf.transpose(dSeen, [1, 2, 0, 3]), [h * w, n * c]);
    let out: tf.Tensor | undefined;
    for (let k = 0; k < 4; k++) {
      const term = tf.unsortedSegmentSum(tf.mul(flat, tf.tensor2d(weight[k]!, [h * w, 1])), tf.tensor1d(index[k]!, 'int32'), h * w);
      out = out ? tf.add(out, term) : term;
    }
    return tf.transpose(tf.reshape(out!, [h, w, n, c]), [2, 0, 1, 3]) as tf.Tensor4D;
  };

  /**
   * A unit that does not respond to the near-grey start (every ReLU before it off: MNIST networks,
   * trained on black with white strokes) has a gradient of 0 there and would never move. Such filters
   * start again from stronger random images, drawn from a generator of their own (the other filters'
   * runs stay as seeded); one that responds to none keeps the near-grey start.
   */
  const restartDead = async (): Promise<number[]> => {
    const draw = seedrandom(`${String(options.seed ?? 0)}/restart`);
    const normal = (): number => Math.sqrt(-2 * Math.log(1 - draw())) * Math.cos(2 * Math.PI * draw());
    const perFilter = c * h * w;
    const restarted: number[] = [];
    let dead = await deadFilters();
    for (const amplitude of RESTART_AMPLITUDES) {
      if (dead.length === 0) break;
      const values = (await spectrum.data()) as Float32Array;
      for (const i of dead) for (let k = 0; k < perFilter; k++) values[i * perFilter + k] = amplitude * normal();
      spectrum.assign(tf.tensor4d(values, [n, c, h, w]));
      const still = await deadFilters();
      restarted.push(...dead.filter((i) => !still.includes(i)));
      dead = still;
    }
    if (dead.length > 0) {
      const values = (await spectrum.data()) as Float32Array;
      for (const i of dead) values.set(init.subarray(i * perFilter, (i + 1) * perFilter), i * perFilter);
      spectrum.assign(tf.tensor4d(values, [n, c, h, w]));
    }
    return restarted.sort((a, b) => a - b).map((i) => options.filters[i]!);
  };
  /** The filters whose objective and gradient are both 0 on the current images. */
  const deadFilters = async (): Promise<number[]> => {
    const pixels = image();
    try {
      const { objective: values, gradient } = await gradients.at(pixels);
      const largest = tf.tidy(() => tf.max(tf.abs(tf.reshape(gradient, [n, -1])), 1));
      const sizes = (await largest.data()) as Float32Array;
      tf.dispose([gradient, largest]);
      return values.flatMap((v, i) => (v <= 0 && sizes[i] === 0 ? [i] : []));
    } finally {
      pixels.dispose();
    }
  };

  try {
    const restarted = await restartDead();
    for (let step = 0; step < steps; step++) {
      const sample = transforms ? sampleWarp() : undefined;
      const pixels = image();
      const seen = sample ? tf.tidy(() => warp(pixels, sample)) : pixels;
      const { objective: values, gradient } = await gradients.at(seen);
      if (seen !== pixels) seen.dispose();
      const value = values.reduce((a, v) => a + v, 0) / n;
      // loss = -objective(warp(pixels)) + penalties, with the objective's gradient g at the pixels seen
      const dSpectrum = tf.tidy(() => {
        let dPixels = tf.neg(warpBack(gradient, sample)) as tf.Tensor4D;
        if (penaltyGradient) dPixels = tf.add(dPixels, penaltyGradient(pixels)) as tf.Tensor4D;
        return imageBack(pixels, dPixels);
      });
      optimizer.applyGradients([{ name: spectrum.name, tensor: dSpectrum }]);
      for (const t of [dSpectrum, pixels, gradient]) t.dispose();
      trace.push(value);
      options.onStep?.(step + 1, steps, value);
      if (step % 16 === 15) await tf.nextFrame();
    }
    const pixels = image();
    try {
      const last = await gradients.at(pixels);
      last.gradient.dispose();
      return {
        layer: gradients.layer,
        objective,
        filters: [...options.filters],
        height: h,
        width: w,
        channels: c,
        images: (await pixels.data()) as Float32Array,
        trace,
        final: last.objective,
        restarted,
        engine: gradients.fallback ? `${gradients.engine} (not ONNX Runtime: ${gradients.fallback})` : gradients.engine,
      };
    } finally {
      pixels.dispose();
    }
  } finally {
    optimizer.dispose();
    gradients.dispose();
    for (const t of [spectrum, basisRows, basisCols, scale, color]) t.dispose();
  }
}
