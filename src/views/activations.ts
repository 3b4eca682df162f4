import { sampleView, type LayerOutput } from '../compute/layer-output.js';
import { readLabels } from '../io/labels.js';
import { labelsInMetadata } from '../model/labels.js';
import { findFirstConvLayer } from '../model/filters.js';
import { formatShape } from '../model/format.js';
import type { Model } from '../model/model.js';
import { barFigure, topValues } from '../render/bars.js';
import { featureMapFigure, type MapNormalization } from '../render/feature-maps.js';
import type { Scene } from '../render/scene.js';
import { sceneToPng } from '../render/scene-png.js';

/**
 * The activation pipeline every surface shares (`convscope activations`, the viewer, the report, the
 * demo): which layer to show by default, the statistics of an output, its figure, and the top outputs
 * with class names. Engine-free, so ONNX models never load TensorFlow.js; the one engine call for
 * Keras / TF.js networks is in activations-keras.ts.
 */

/** The layer whose output a surface shows when none is asked for: the first convolution (model/filters.ts). */
export function defaultActivationLayer(model: Model): string | undefined {
  return findFirstConvLayer(model)?.name;
}

/** Range, mean and share of exact zeros of a layer output (all samples). */
export interface ActivationStats {
  min: number;
  max: number;
  mean: number;
  /** Fraction of values that are exactly 0 (dead ReLU units show here). */
  zeros: number;
}

export function activationStats(a: Pick<LayerOutput, 'data'>): ActivationStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (const v of a.data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v === 0) zeros++;
  }
  const n = a.data.length;
  return { min, max, mean: n > 0 ? sum / n : NaN, zeros: n > 0 ? zeros / n : NaN };
}

export interface FigureOptions {
  cmap?: string;
  normalize?: MapNormalization;
  /** Bars shown for vector outputs (default 10). */
  top?: number;
}

/** `conv_1 (Conv2D) output (28, 28, 6) for cat.png` */
export function activationTitle(a: Pick<LayerOutput, 'name' | 'className' | 'shape'>, inputName: string): string {
  return `${a.name} (${a.className}) output ${formatShape(a.shape.slice(1))} for ${inputName}`;
}

/** Sample n of a layer output as a figure: a feature-map grid for spatial outputs, bars of the top values for vectors; undefined for rank > 3. */
export function activationFigure(a: LayerOutput, n: number, inputName: string, options: FigureOptions = {}): Scene | undefined {
  const view = sampleView(a, n, a.channelsFirst);
  if (view.kind === 'other') return undefined;
  const title = activationTitle(a, inputName);
  const top = options.top ?? 10;
  return view.kind === 'maps'
    ? featureMapFigure(view, { title, ...(options.cmap ? { colormap: options.cmap } : {}), ...(options.normalize ? { normalize: options.normalize } : {}) }).scene
    : barFigure(view.values, { title: `${title}: top ${Math.min(top, view.values.length)}`, top });
}

/** One PNG per input sample of a layer's output (none for rank > 3 outputs); `inputNames[n]` names sample n. */
export function activationPngs(a: LayerOutput, inputNames: readonly string[], options: FigureOptions = {}): { sample: number; png: Uint8Array }[] {
  const batch = a.shape[0] ?? 1;
  const out: { sample: number; png: Uint8Array }[] = [];
  for (let n = 0; n < batch; n++) {
    const scene = activationFigure(a, n, inputNames[n] ?? `sample ${n}`, options);
    if (scene) out.push({ sample: n, png: sceneToPng(scene) });
  }
  return out;
}

/** The k largest outputs of one sample, labelled with class names when there is exactly one per output. */
export function topOutputs(scores: Float32Array, k: number, labels?: readonly string[]): { index: number; score: number; label?: string }[] {
  const names = labels?.length === scores.length ? labels : undefined;
  return topValues(scores, k).map((t) => ({ index: t.index, score: t.value, ...(names?.[t.index] ? { label: names[t.index]! } : {}) }));
}

/** Class names: a labels file when given, else the model's metadata (ONNX metadata_props, Teachable Machine's metadata.json). */
export async function classLabels(model: Model, labelsFile?: string): Promise<string[] | undefined> {
  if (labelsFile !== undefined) return readLabels(labelsFile);
  return labelsInMetadata(model.metadata);
}
