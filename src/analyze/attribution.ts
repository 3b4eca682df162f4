import seedrandom from 'seedrandom';

/**
 * The maths of attribution maps ("where does the network look?"), free of any engine: the gradients
 * and activations come from compute/, this module turns them into maps. Names and formulas follow
 * tf-keras-vis and Captum:
 *   saliency        max over channels of |d score / d x|                     (Simonyan et al. 2014)
 *   SmoothGrad      saliency of the mean gradient over noisy copies of x       (Smilkov et al. 2017)
 *   Grad-CAM        relu(sum_k mean_ij(d score / d A_k) * A_k)                 (Selvaraju et al. 2017)
 *   Grad-CAM++      the same with the alpha-weighted positive gradients        (Chattopadhay et al. 2018)
 *   integrated gradients (x - x') * mean over alpha of grad(x' + alpha (x - x')), midpoint Riemann sum
 *   occlusion       score(x) - score(x with a window set to the baseline), averaged over the windows
 *                   covering each pixel                                         (Zeiler & Fergus 2014)
 *   Score-CAM       relu(sum_k w_k A_k), w_k = softmax(f(x * M_k))_c, M_k = A_k upsampled to the input
 *                   (bilinear, half-pixel) and scaled to 0..1: forward passes only    (Wang et al. 2020,
 *                   weights as pytorch-grad-cam's ScoreCAM computes them)
 * Every map is channels-last: [height, width] maps, [height, width, channels] gradients.
 */

/** A 2-D map over positions, row-major. */
export interface SpatialMap {
  readonly height: number;
  readonly width: number;
  readonly data: Float32Array;
}

/** Values laid out [height, width, channels], row-major (one sample). */
export interface ChannelsLast {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: Float32Array;
}

/** max over channels of |g| at each position. */
export function maxAbsOverChannels(g: ChannelsLast): SpatialMap {
  const { height, width, channels } = g;
  const data = new Float32Array(height * width);
  for (let p = 0; p < height * width; p++) {
    let m = 0;
    for (let c = 0; c < channels; c++) m = Math.max(m, Math.abs(g.data[p * channels + c]!));
    data[p] = m;
  }
  return { height, width, data };
}

/** The sum over channels at each position (signed: integrated gradients keep their sign). */
export function sumOverChannels(g: ChannelsLast): SpatialMap {
  const { height, width, channels } = g;
  const data = new Float32Array(height * width);
  for (let p = 0; p < height * width; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += g.data[p * channels + c]!;
    data[p] = s;
  }
  return { height, width, data };
}

function checkSameShape(a: ChannelsLast, b: ChannelsLast): void {
  if (a.data.length !== b.data.length || a.channels !== b.channels) {
    throw new RangeError(`Activations (${a.height}, ${a.width}, ${a.channels}) and gradients (${b.height}, ${b.width}, ${b.channels}) differ in shape.`);
  }
}

/** Grad-CAM from a layer's activations A and the score's gradient dA (same shape). */
export function gradCam(a: ChannelsLast, dA: ChannelsLast): SpatialMap {
  checkSameShape(a, dA);
  const { channels } = a;
  const positions = a.height * a.width;
  const weights = new Float64Array(channels);
  for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) weights[c]! += dA.data[p * channels + c]! / positions;
  return weightedChannelSum(a, weights);
}

/** The CAM of the Grad-CAM variants and Score-CAM: relu(sum_k w_k A_k) at every position. */
export function weightedChannelSum(a: ChannelsLast, weights: Float64Array): SpatialMap {
  const { height, width, channels } = a;
  const positions = height * width;
  const data = new Float32Array(positions);
  for (let p = 0; p < positions; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += weights[c]! * a.data[p * channels + c]!;
    data[p] = Math.max(0, s);
  }
  return { height, width, data };
}

/**
 * Grad-CAM++ as tf-keras-vis computes it with the exponential of the score (Chattopadhay et al.,
 * eq. 19): with g = dScore/dA, alpha = g^2 / (2 g^2 + sum_ij(A) g^3) (0 where the denominator is 0),
 * alpha normalised to sum 1 per channel, weights w_k = sum_ij alpha * relu(exp(score) g), and the
 * map relu(sum_k w_k A_k).
 */
export function gradCamPlusPlus(a: ChannelsLast, dA: ChannelsLast, score: number): SpatialMap {
  checkSameShape(a, dA);
  const { channels } = a;
  const positions = a.height * a.width;
  const e = Math.exp(score);
  const activationSum = new Float64Array(channels);
  for (let p = 0; p < positions; p++) for (let c = 0; c < channels; c++) activationSum[c]! += a.data[p * channels + c]!;
  const alphas = new Float64Array(positions * channels);
  const alphaSum = new Float64Array(channels);
  for (let p = 0; p < positions; p++) {
    for (let c = 0; c < channels; c++) {
      const g1 = e * dA.data[p * channels + c]!;
      const g2 = g1 * dA.data[p * channels + c]!;
      const g3 = g2 * dA.data[p * channels + c]!;
      const denominator = 2 * g2 + g3 * activationSum[c]!;
      const alpha = g2 / (denominator !== 0 ? denominator : 1);
      alphas[p * channels + c] = alpha;
      alphaSum[c]! += alpha;
    }
  }
  const weights = new Float64Array(channels);
  for (let p = 0; p < positions; p++) {
    for (let c = 0; c < channels; c++) {
      const norm = alphaSum[c]! !== 0 ? alphaSum[c]! : 1;
      weights[c]! += (alphas[p * channels + c]! / norm) * Math.max(0, e * dA.data[p * channels + c]!);
    }
  }
  return weightedChannelSum(a, weights);
}

/**
 * Score-CAM's mask from channel k of A: the map upsampled to height x width (bilinear with half-pixel
 * centres, torch's align_corners=False) and scaled to 0..1 by its own min and max (all 0 when flat).
 */
export function scoreCamMask(a: ChannelsLast, k: number, height: number, width: number): Float32Array {
  const axis = (out: number, size: number): { i0: Int32Array; i1: Int32Array; t: Float32Array } => {
    const i0 = new Int32Array(out);
    const i1 = new Int32Array(out);
    const t = new Float32Array(out);
    for (let d = 0; d < out; d++) {
      const src = Math.max(((d + 0.5) * size) / out - 0.5, 0);
      i0[d] = Math.min(Math.floor(src), size - 1);
      i1[d] = Math.min(i0[d]! + 1, size - 1);
      t[d] = src - i0[d]!;
    }
    return { i0, i1, t };
  };
  const rows = axis(height, a.height);
  const cols = axis(width, a.width);
  const at = (r: number, c: number): number => a.data[(r * a.width + c) * a.channels + k]!;
  const out = new Float32Array(height * width);
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < height; r++) {
    const [r0, r1, tr] = [rows.i0[r]!, rows.i1[r]!, rows.t[r]!];
    for (let c = 0; c < width; c++) {
      const [c0, c1, tc] = [cols.i0[c]!, cols.i1[c]!, cols.t[c]!];
      const top = at(r0, c0) * (1 - tc) + at(r0, c1) * tc;
      const bottom = at(r1, c0) * (1 - tc) + at(r1, c1) * tc;
      const v = top * (1 - tr) + bottom * tr;
      out[r * width + c] = v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = hi > lo ? (out[i]! - lo) / (hi - lo) : 0;
  return out;
}

/** softmax(row)[c] for each row of [N, classes] scores. */
export function softmaxAt(scores: Float32Array, classes: number, c: number): Float64Array {
  const n = scores.length / classes;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, scores[i * classes + j]!);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(scores[i * classes + j]! - max);
    out[i] = Math.exp(scores[i * classes + c]! - max) / sum;
  }
  return out;
}

/** The interpolation points of integrated gradients: the midpoints (k + 0.5) / steps, k = 0..steps-1. */
export function integrationAlphas(steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`Integrated gradients need at least 1 step, but received ${steps}.`);
  return Array.from({ length: steps }, (_, k) => (k + 0.5) / steps);
}

/** x' + alpha (x - x'), the input at one point of the path. */
export function pathPoint(x: Float32Array, baseline: Float32Array, alpha: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = baseline[i]! + alpha * (x[i]! - baseline[i]!);
  return out;
}

/** Integrated gradients: (x - x') times the mean of the path gradients (summed over the steps, then / steps). */
export function integratedGradients(x: Float32Array, baseline: Float32Array, gradientSum: Float64Array, steps: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = ((x[i]! - baseline[i]!) * gradientSum[i]!) / steps;
  return out;
}

/** Gaussian noise for SmoothGrad: sigma = noise * (max(x) - min(x)), Box-Muller from a seeded stream. */
export class NoiseSource {
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = seedrandom(String(seed));
  }
  /** x plus N(0, sigma^2) noise per value. */
  noisy(x: Float32Array, sigma: number): Float32Array {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i += 2) {
      const u = 1 - this.random();
      const v = this.random();
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = x[i]! + sigma * r * Math.cos(2 * Math.PI * v);
      if (i + 1 < x.length) out[i + 1] = x[i + 1]! + sigma * r * Math.sin(2 * Math.PI * v);
    }
    return out;
  }
}

/** The spread SmoothGrad's noise level is relative to: max(x) - min(x). */
export function valueRange(x: Float32Array): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return x.length > 0 ? hi - lo : 0;
}

/** One occlusion window: rows [top, top + height), columns [left, left + width). */
export interface Window {
  readonly top: number;
  readonly left: number;
  readonly height: number;
  readonly width: number;
}

/**
 * The windows of an occlusion sweep: every `stride` pixels, clipped at the image edge, with a last
 * window flush with the bottom / right edge so every pixel is covered.
 */
export function occlusionWindows(height: number, width: number, window: number, stride: number): Window[] {
  if (!(window >= 1 && stride >= 1)) throw new RangeError(`Occlusion needs a window and stride of at least 1, but received ${window} and ${stride}.`);
  const starts = (size: number): number[] => {
    const w = Math.min(window, size);
    const out: number[] = [];
    for (let s = 0; s + w <= size; s += stride) out.push(s);
    if (out[out.length - 1] !== size - w) out.push(size - w);
    return out;
  };
  const wh = Math.min(window, height);
  const ww = Math.min(window, width);
  return starts(height).flatMap((top) => starts(width).map((left) => ({ top, left, height: wh, width: ww })));
}

/** x with the window set to the baseline value, in every channel (channels-last). */
export function occlude(x: ChannelsLast, w: Window, baseline: number): Float32Array {
  const out = x.data.slice();
  for (let r = w.top; r < w.top + w.height; r++) {
    out.fill(baseline, (r * x.width + w.left) * x.channels, (r * x.width + w.left + w.width) * x.channels);
  }
  return out;
}

/** The occlusion map: each pixel's mean score drop over the windows covering it. */
export function occlusionMap(height: number, width: number, windows: readonly Window[], drops: ArrayLike<number>): SpatialMap {
  const sum = new Float64Array(height * width);
  const count = new Uint32Array(height * width);
  windows.forEach((w, k) => {
    for (let r = w.top; r < w.top + w.height; r++) {
      for (let c = w.left; c < w.left + w.width; c++) {
        sum[r * width + c]! += drops[k]!;
        count[r * width + c]!++;
      }
    }
  });
  return { height, width, data: Float32Array.from(sum, (s, i) => (count[i]! > 0 ? s / count[i]! : 0)) };
}
