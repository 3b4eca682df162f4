import type { Attribution } from '../analyze/attribute.js';
import type { AttributionMethod } from '../analyze/choices.js';
import type { PreparedInput } from '../compute/inputs.js';
import { formatNumber } from '../model/format.js';
import { attributionFigure, type InputPicture } from '../render/attribution.js';
import { topValues } from '../render/bars.js';
import type { Scene } from '../render/scene.js';

/**
 * What an attribution figure says, shared by `convscope attribute`, the viewer's "what it detects" tab
 * and the report: the method's name, the class (by name where the model gives names), the top outputs,
 * the settings, the completeness of integrated gradients, and why a Grad-CAM map is empty.
 */

export const METHOD_NAMES: Record<AttributionMethod, string> = {
  saliency: 'saliency',
  smoothgrad: 'SmoothGrad',
  gradcam: 'Grad-CAM',
  'gradcam++': 'Grad-CAM++',
  scorecam: 'Score-CAM',
  'integrated-gradients': 'integrated gradients',
  occlusion: 'occlusion',
};

/** Methods whose maps are signed (drawn on a diverging colormap centred on zero). */
const SIGNED = new Set<AttributionMethod>(['integrated-gradients', 'occlusion']);

/** "3 'Poes'" where the class has a name, else "3". */
export function className(index: number, labels: readonly string[] | undefined): string {
  const name = labels?.[index];
  return name ? `${index} '${name}'` : String(index);
}

/** One line naming the method, the class, the layer and the score explained. */
export function describeAttribution(r: Attribution, labels: readonly string[] | undefined): string {
  const where = r.layer ? ` at layer ${r.layer}` : '';
  return `${METHOD_NAMES[r.method]} of class ${className(r.classIndex, labels)}${where}; score = ${r.scoreKind} = ${formatNumber(r.score)}`;
}

/** The k largest outputs as "#3 'Poes' 0.9999". */
export function topClasses(r: Attribution, labels: readonly string[] | undefined, k: number): string[] {
  return topValues(r.outputs, Math.max(1, k)).map((t) => `#${className(t.index, labels)} ${formatNumber(t.value)}`);
}

/** Integrated gradients' completeness check in words, if the method has one. */
export function completenessLine(r: Attribution): string | undefined {
  if (!r.completeness) return undefined;
  const { sum, delta } = r.completeness;
  return `completeness: sum of attributions ${formatNumber(sum)}, score(x) - score(baseline) ${formatNumber(delta)} (${formatNumber((100 * Math.abs(sum - delta)) / Math.max(Math.abs(delta), 1e-12))}% apart)`;
}

/** The map's smallest and largest values. */
export function mapExtent(r: Attribution): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of r.map.data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return [min, max];
}

/** Why a Grad-CAM(++) map is empty, when it is (the layer is a concept each surface names in its own terms). */
export function emptyMapNote(r: Attribution): string | undefined {
  if (mapExtent(r)[1] > 0 || (r.method !== 'gradcam' && r.method !== 'gradcam++' && r.method !== 'scorecam')) return undefined;
  const weighted = r.method === 'scorecam' ? 'score-weighted' : 'gradient-weighted';
  return `the map is 0 everywhere: at every position of ${r.layer} the ${weighted} channels sum to zero or less, which ${METHOD_NAMES[r.method]}'s ReLU removes; try an earlier layer or another method`;
}

/** A picture of a preprocessed array for the input panel: its values stretched to 0..255, channels-last. */
export function arrayPicture(input: PreparedInput, channelsFirst: boolean): InputPicture {
  const [, a, b, c] = input.batch.shape as number[];
  const [height, width, channels] = channelsFirst ? [b!, c!, a!] : [a!, b!, c!];
  const data = input.batch.data;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < height * width * channels; i++) {
    lo = Math.min(lo, data[i]!);
    hi = Math.max(hi, data[i]!);
  }
  const shown = channels === 3 ? 3 : 1;
  const out = new Uint8Array(height * width * shown);
  for (let p = 0; p < height * width; p++) {
    for (let k = 0; k < shown; k++) {
      const v = data[channelsFirst ? k * height * width + p : p * channels + k]!;
      out[p * shown + k] = hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 0;
    }
  }
  return { height, width, channels: shown, data: out };
}

export interface AttributionSceneOptions {
  /** The image's name, in the title. */
  source: string;
  /** Class scores listed (default 3). */
  top?: number;
  colormap?: string;
}

/** The three-panel figure (input, map, overlay) with its colour bar and caption lines. */
export function attributionScene(r: Attribution, picture: InputPicture, labels: readonly string[] | undefined, options: AttributionSceneOptions): Scene {
  const completeness = completenessLine(r);
  const empty = emptyMapNote(r);
  return attributionFigure(picture, r.map, {
    title: `${describeAttribution(r, labels)} (${options.source})`,
    lines: [`top outputs: ${topClasses(r, labels, options.top ?? 3).join(', ')}`, `settings: ${r.settings}`, ...(completeness ? [completeness] : []), ...(empty ? [`note: ${empty}`] : [])],
    signed: SIGNED.has(r.method),
    ...(options.colormap ? { colormap: options.colormap } : {}),
  });
}
