import {
  gradCam,
  gradCamPlusPlus,
  integratedGradients,
  integrationAlphas,
  maxAbsOverChannels,
  NoiseSource,
  occlude,
  occlusionMap,
  occlusionWindows,
  pathPoint,
  scoreCamMask,
  softmaxAt,
  weightedChannelSum,
  sumOverChannels,
  valueRange,
  type ChannelsLast,
  type SpatialMap,
} from './attribution.js';
import type { AttributionMethod } from './choices.js';
import { UnsupportedError, UsageError } from '../model/errors.js';
import type { OnnxNet } from '../compute/ort.js';
import type { InputBatch } from '../compute/activations.js';
import type { RunnableModel } from '../compute/build.js';
import { kerasGradients, onnxGradients, type GradientEngine } from '../compute/ort-gradients.js';
import { formatNumber } from '../model/format.js';

/**
 * "Where does the network look?" for one input: runs the gradients or forward passes a method needs
 * and hands them to analyze/attribution for the maths. Inputs are single samples in the model's layout.
 */

export interface AttributeOptions {
  method: AttributionMethod;
  /** The class whose score is explained (default: the top class). */
  classIndex?: number;
  /** Grad-CAM(++) layer (default: compute/gradcam-layer.ts, the activation after the last convolution). */
  layer?: string;
  /** Integrated gradients: path steps (default 50) and the baseline value in model-input units (default 0). */
  steps?: number;
  baseline?: number;
  /** Occlusion: window side and stride in input pixels (defaults: ceil(min(H, W) / 7) and half of it); the occluded value is `baseline`. */
  window?: number;
  stride?: number;
  /** SmoothGrad: noisy samples (default 25) and noise level as a fraction of max(x) - min(x) (default 0.15), seeded by `seed` (default 0). */
  samples?: number;
  noise?: number;
  seed?: number;
  /** Called as the passes complete. */
  onProgress?: (done: number, total: number) => void;
}

export interface Attribution {
  method: AttributionMethod;
  classIndex: number;
  /** What "score" means here: the logit before a final softmax, or the raw output. */
  scoreKind: string;
  /** score_c(x) */
  score: number;
  /** The model's outputs for x (probabilities when it ends in softmax). */
  outputs: Float32Array;
  /** The raw, unnormalised map: input resolution, except Grad-CAM(++) at the layer's resolution. */
  map: SpatialMap;
  /** Grad-CAM(++): the layer the map was taken at. */
  layer?: string;
  /** Per input value, channels-last (saliency, SmoothGrad: the gradient; integrated gradients: the attributions). */
  perValue?: ChannelsLast;
  /** Integrated gradients: sum of the attributions and score(x) - score(baseline), for the completeness check. */
  completeness?: { sum: number; delta: number };
  /** The settings used, for the caption: "50 steps, baseline 0". */
  settings: string;
  /** The engine that ran, and why not ONNX Runtime where it is not: "ONNX Runtime", "TensorFlow.js (layer 'x' ...)". */
  engine: string;
}

interface Geometry {
  height: number;
  width: number;
  channels: number;
  channelsFirst: boolean;
}

function geometry(net: { channelsFirst: boolean }, batch: InputBatch): Geometry {
  if (batch.shape.length !== 4 || batch.shape[0] !== 1) {
    throw new UsageError(`Attribution explains one image: it needs input of shape (1, H, W, C), but received (${batch.shape.join(', ')}).`);
  }
  const [, a, b, c] = batch.shape as [number, number, number, number];
  return net.channelsFirst ? { channels: a, height: b, width: c, channelsFirst: true } : { height: a, width: b, channels: c, channelsFirst: false };
}

/** Model layout (one sample) -> channels-last, and back. */
function toLast(data: Float32Array, g: Geometry): Float32Array {
  if (!g.channelsFirst) return data;
  const out = new Float32Array(data.length);
  const pixels = g.height * g.width;
  for (let c = 0; c < g.channels; c++) for (let p = 0; p < pixels; p++) out[p * g.channels + c] = data[c * pixels + p]!;
  return out;
}

function toModel(data: Float32Array, g: Geometry): Float32Array {
  if (!g.channelsFirst) return data;
  const out = new Float32Array(data.length);
  const pixels = g.height * g.width;
  for (let c = 0; c < g.channels; c++) for (let p = 0; p < pixels; p++) out[c * pixels + p] = data[p * g.channels + c]!;
  return out;
}

/** Samples per forward/backward pass: small inputs are batched, 224x224 images go one at a time. */
function passSize(g: Geometry): number {
  return Math.max(1, Math.min(32, Math.floor(200_000 / (g.height * g.width * g.channels))));
}

function stack(samples: readonly Float32Array[], batch: InputBatch): InputBatch {
  const size = samples[0]!.length;
  const data = new Float32Array(samples.length * size);
  samples.forEach((s, i) => data.set(s, i * size));
  return { shape: [samples.length, ...batch.shape.slice(1)], data };
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Sum over a batch of per-sample gradients, sample by sample into `sum`. */
async function accumulate(engine: GradientEngine, inputs: readonly Float32Array[], batch: InputBatch, classIndex: number, g: Geometry, progress: (n: number) => void): Promise<Float64Array> {
  const sum = new Float64Array(batch.data.length);
  const per = Math.min(engine.maxBatch, passSize(g));
  for (let start = 0; start < inputs.length; start += per) {
    const part = inputs.slice(start, start + per);
    const { gradient } = await engine.inputGradients(stack(part, batch), classIndex);
    for (let i = 0; i < gradient.length; i++) sum[i % sum.length]! += gradient[i]!;
    progress(part.length);
  }
  return sum;
}

/** Class scores ([N, classes] row-major) for a batch: the engine-specific part of forward-only methods. */
type Scorer = (batch: InputBatch) => Promise<{ scores: Float32Array; classes: number }>;

/** Occlusion with any engine that can score a batch. */
async function occlusion(scorer: Scorer, batch: InputBatch, g: Geometry, score: number, classIndex: number, options: AttributeOptions): Promise<{ map: SpatialMap; settings: string }> {
  const window = options.window ?? Math.ceil(Math.min(g.height, g.width) / 7);
  const stride = options.stride ?? Math.max(1, Math.floor(window / 2));
  const fill = options.baseline ?? 0;
  const windows = occlusionWindows(g.height, g.width, window, stride);
  const image: ChannelsLast = { height: g.height, width: g.width, channels: g.channels, data: toLast(batch.data, g) };
  const drops = new Float64Array(windows.length);
  const per = passSize(g);
  for (let start = 0; start < windows.length; start += per) {
    const part = windows.slice(start, start + per).map((w) => toModel(occlude(image, w, fill), g));
    const { scores, classes } = await scorer(stack(part, batch));
    part.forEach((_, i) => (drops[start + i] = score - scores[i * classes + classIndex]!));
    options.onProgress?.(Math.min(windows.length, start + per), windows.length);
  }
  return { map: occlusionMap(g.height, g.width, windows, drops), settings: `${windows.length} windows of ${window}x${window}, stride ${stride}, filled with ${fill}` };
}

/**
 * Attribution for an ONNX model on ONNX Runtime: occlusion with the graph's (only) output as the
 * score; the gradient methods with the backward pass appended to the graph (compute/onnx-backward.ts),
 * the score being the logit before a final Softmax.
 */
export async function attributeOnnx(net: OnnxNet, batch: InputBatch, options: AttributeOptions): Promise<Attribution> {
  if (options.method !== 'occlusion') {
    const engine = await onnxGradients(net);
    const why = 'reason' in engine ? engine.reason : options.method === 'scorecam' ? undefined : engine.unsupported;
    if (why !== undefined || 'reason' in engine) {
      throw new UnsupportedError(`${net.source}: '${options.method}' needs gradients, and ${why}; the occlusion and Score-CAM methods run forward only.`, { concept: 'method' });
    }
    return attributeWith(engine, net.source, geometry(net, batch), batch, options);
  }
  if (net.graph.outputs.length !== 1) throw new UsageError(`${net.source} has ${net.graph.outputs.length} outputs; attribution needs a network with one output (class scores).`);
  const output = net.graph.outputs[0]!.name;
  const fixedBatch = net.inputShapes[0]?.[0] != null;
  const once = async (b: InputBatch): Promise<Float32Array> => {
    const value = (await net.run([b], [output])).get(output);
    if (!value?.data) throw new UnsupportedError(`${net.source}: output '${output}' is not float32 (${value?.type ?? 'missing'}), so it cannot be a class score.`);
    return value.data;
  };
  /** Graphs exported with a fixed batch of 1 take the occluded images one at a time. */
  const scorer: Scorer = async (b) => {
    const n = b.shape[0]!;
    if (!fixedBatch || n === 1) {
      const scores = await once(b);
      return { scores, classes: scores.length / n };
    }
    const size = b.data.length / n;
    const parts: Float32Array[] = [];
    for (let i = 0; i < n; i++) parts.push(await once({ shape: [1, ...b.shape.slice(1)], data: b.data.subarray(i * size, (i + 1) * size) }));
    const classes = parts[0]!.length;
    const scores = new Float32Array(n * classes);
    parts.forEach((p, i) => scores.set(p, i * classes));
    return { scores, classes };
  };
  const g = geometry(net, batch);
  const first = await scorer(batch);
  const classIndex = options.classIndex ?? argmax(first.scores);
  if (!(classIndex >= 0 && classIndex < first.classes)) {
    throw new UsageError(`${net.source} scores ${first.classes} classes (0..${first.classes - 1}), but class ${classIndex} was asked for.`);
  }
  const score = first.scores[classIndex]!;
  const result = await occlusion(scorer, batch, g, score, classIndex, options);
  return { method: 'occlusion', classIndex, scoreKind: `output '${output}' (ONNX Runtime)`, score, outputs: first.scores, ...result, engine: 'ONNX Runtime' };
}

/**
 * Explains score_c of the single input `batch` with `options.method`. Gradients run on ONNX Runtime
 * (forward and backward pass in one session) where the network converts, else on TensorFlow.js; the
 * result's `engine` says which and why.
 */
export async function attribute(net: RunnableModel, batch: InputBatch, options: AttributeOptions): Promise<Attribution> {
  return attributeWith(await kerasGradients(net), net.source, geometry(net, batch), batch, options);
}

function engineName(engine: GradientEngine): string {
  return engine.fallback ? `${engine.engine} (not ONNX Runtime: ${engine.fallback})` : engine.engine;
}

/** Score-CAM: the layer's channels as masks over the input, weighted by the class probability of each masked input. */
async function scoreCam(engine: GradientEngine, g: Geometry, batch: InputBatch, options: AttributeOptions): Promise<Omit<Attribution, 'engine'>> {
  const lg = await engine.layerValue(batch, options.layer, options.classIndex);
  const a: ChannelsLast = { height: lg.height, width: lg.width, channels: lg.channels, data: lg.activation };
  const image = toLast(batch.data, g);
  const weights = new Float64Array(a.channels);
  const per = Math.min(engine.maxBatch, passSize(g));
  for (let start = 0; start < a.channels; start += per) {
    const masked: Float32Array[] = [];
    for (let k = start; k < Math.min(a.channels, start + per); k++) {
      const mask = scoreCamMask(a, k, g.height, g.width);
      masked.push(toModel(Float32Array.from(image, (v, i) => v * mask[Math.floor(i / g.channels)]!), g));
    }
    const { scores, classes } = await engine.scores(stack(masked, batch));
    softmaxAt(scores, classes, lg.classIndex).forEach((p, i) => (weights[start + i] = p));
    options.onProgress?.(start + masked.length, a.channels);
  }
  return {
    method: 'scorecam',
    classIndex: lg.classIndex,
    scoreKind: engine.scoreKind,
    score: lg.score,
    outputs: lg.outputs,
    map: weightedChannelSum(a, weights),
    layer: lg.layer,
    settings: `layer ${lg.layer} (${lg.height}x${lg.width}x${lg.channels}), ${lg.channels} masked inputs, weights softmax(scores) of the class`,
  };
}

/** The gradient methods on any gradient engine. */
async function attributeWith(engine: GradientEngine, source: string, g: Geometry, batch: InputBatch, options: AttributeOptions): Promise<Attribution> {
  const ran = engineName(engine);
  if (options.method === 'gradcam' || options.method === 'gradcam++') {
    const lg = await engine.layerGradient(batch, options.layer, options.classIndex);
    options.onProgress?.(1, 1);
    const a = { height: lg.height, width: lg.width, channels: lg.channels, data: lg.activation };
    const dA = { ...a, data: lg.gradient };
    const map = options.method === 'gradcam' ? gradCam(a, dA) : gradCamPlusPlus(a, dA, lg.score);
    return {
      method: options.method,
      classIndex: lg.classIndex,
      scoreKind: engine.scoreKind,
      score: lg.score,
      outputs: lg.outputs,
      map,
      layer: lg.layer,
      settings: `layer ${lg.layer} (${lg.height}x${lg.width}x${lg.channels})`,
      engine: ran,
    };
  }
  if (options.method === 'scorecam') return { ...(await scoreCam(engine, g, batch, options)), engine: ran };
  const x = batch.data;
  const lastOf = (data: Float32Array): ChannelsLast => ({ height: g.height, width: g.width, channels: g.channels, data: toLast(data, g) });
  // the first pass: the class (the top one unless asked for), its score and the outputs
  const first = options.method === 'occlusion' ? { ...(await engine.scores(batch)), gradient: new Float32Array(0) } : await engine.inputGradients(batch, options.classIndex);
  const classIndex = options.classIndex ?? argmax(first.outputs);
  if (!(classIndex >= 0 && classIndex < first.classes)) {
    throw new UsageError(`${source} scores ${first.classes} classes (0..${first.classes - 1}), but class ${classIndex} was asked for.`);
  }
  const score = first.scores[classIndex]!;
  const base = { method: options.method, classIndex, scoreKind: engine.scoreKind, score, outputs: first.outputs, engine: ran };
  let done = 0;
  const step = (total: number) => (n: number) => options.onProgress?.((done += n), total);

  switch (options.method) {
    case 'saliency': {
      options.onProgress?.(1, 1);
      const perValue = lastOf(first.gradient);
      return { ...base, map: maxAbsOverChannels(perValue), perValue, settings: 'max over channels of |d score / d x|' };
    }
    case 'smoothgrad': {
      const samples = options.samples ?? 25;
      const noise = options.noise ?? 0.15;
      if (!(samples >= 1)) throw new UsageError(`SmoothGrad needs at least 1 noisy sample, but received ${samples}.`, { concept: 'samples' });
      if (!(noise >= 0)) throw new UsageError(`SmoothGrad's noise level must be a fraction >= 0, but received ${noise}.`, { concept: 'samples' });
      const source = new NoiseSource(options.seed ?? 0);
      const sigma = noise * valueRange(x);
      const inputs = Array.from({ length: samples }, () => source.noisy(x, sigma));
      const sum = await accumulate(engine, inputs, batch, classIndex, g, step(samples));
      const perValue = lastOf(Float32Array.from(sum, (s) => s / samples));
      return { ...base, map: maxAbsOverChannels(perValue), perValue, settings: `${samples} samples, noise ${noise} of the input range (sigma ${formatNumber(sigma)}), seed ${options.seed ?? 0}` };
    }
    case 'integrated-gradients': {
      const steps = options.steps ?? 50;
      const baselineValue = options.baseline ?? 0;
      const baseline = new Float32Array(x.length).fill(baselineValue);
      const inputs = integrationAlphas(steps).map((alpha) => pathPoint(x, baseline, alpha));
      const sum = await accumulate(engine, inputs, batch, classIndex, g, step(steps));
      const attributions = integratedGradients(x, baseline, sum, steps);
      const baselineScore = (await engine.inputGradients({ shape: batch.shape, data: baseline }, classIndex)).scores[classIndex]!;
      const total = attributions.reduce((a, b) => a + b, 0);
      const perValue = lastOf(attributions);
      return {
        ...base,
        map: sumOverChannels(perValue),
        perValue,
        completeness: { sum: total, delta: score - baselineScore },
        settings: `${steps} steps (midpoint rule), baseline ${baselineValue}`,
      };
    }
    case 'occlusion':
      return { ...base, ...(await occlusion((b) => engine.scores(b), batch, g, score, classIndex, options)) };
  }
}
