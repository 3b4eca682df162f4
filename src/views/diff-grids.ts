import type { Model } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';
import { filterFigure, type FilterFigure } from '../render/filters.js';
import type { ModelDiff } from '../analyze/diff.js';
import { formatAxes, formatNumber, formatShape } from '../model/format.js';
import { isConvKernel } from '../model/filters.js';

export interface DiffGrid {
  layer: string;
  weight: string;
  /** max |w| over before and after: the one symmetric scale of both grids. */
  scale: number;
  /** max |after - before|: the delta grid's own symmetric scale. */
  deltaScale: number;
  before: FilterFigure;
  after: FilterFigure;
  delta: FilterFigure;
}

/** `72300x magnified`: how much larger the delta grid draws the change than the weights' own scale. */
export function magnified(scale: number, deltaScale: number): string {
  const factor = scale / deltaScale;
  return `${factor >= 100 ? Math.round(factor) : formatNumber(factor, 3)}x magnified`;
}

/** The kernels worth drawing: convolution kernels of layers that moved at all. */
function drawable(diff: ModelDiff) {
  return diff.layers.flatMap((layer) =>
    layer.verdict === 'unchanged'
      ? []
      : layer.weights.filter((w) => isConvKernel({ role: w.weight, axes: w.axes })).map((w) => ({ layer, weight: w })),
  );
}

/**
 * Before, after and delta filter grids for each moved convolution kernel. Before and after share one
 * symmetric scale, so what looks the same is the same; the delta has its own scale, printed with the
 * magnification, so a change of 1e-6 is visible without pretending to be large.
 */
export async function diffGrids(diff: ModelDiff, before: Model, after: Model, options: { colormap?: string; limit?: number } = {}): Promise<DiffGrid[]> {
  const out: DiffGrid[] = [];
  for (const { layer, weight } of drawable(diff).slice(0, options.limit ?? 16)) {
    const wb = before.layers.find((l) => l.name === layer.name)!.weights.find((w) => w.role === weight.weight)!;
    const wa = after.layers.find((l) => l.name === layer.afterName)!.weights.find((w) => w.role === weight.weight)!;
    const tb = await wb.read();
    const ta = (await wa.read()).toAxes(tb.axes);
    const b = tb.toFloat32();
    const a = ta.toFloat32();
    const d = new Float32Array(b.length);
    let scale = 0;
    let deltaScale = 0;
    for (let i = 0; i < b.length; i++) {
      d[i] = a[i]! - b[i]!;
      if (Number.isFinite(b[i]!)) scale = Math.max(scale, Math.abs(b[i]!));
      if (Number.isFinite(a[i]!)) scale = Math.max(scale, Math.abs(a[i]!));
      if (Number.isFinite(d[i]!)) deltaScale = Math.max(deltaScale, Math.abs(d[i]!));
    }
    const delta = new NamedTensor(tb.axes, tb.shape, d);
    const common = { colormap: options.colormap, labels: true, layer: layer.name };
    const shape = `${formatShape(tb.shape)} ${formatAxes(tb.axes)}`;
    const magnification = deltaScale > 0 ? `, ${magnified(scale, deltaScale)}` : '';
    out.push({
      layer: layer.name,
      weight: weight.weight,
      scale,
      deltaScale,
      before: filterFigure(tb, { ...common, scale, scaleLabel: 'max |w| before and after', title: `before: ${layer.name} ${weight.weight} ${shape}` }),
      after: filterFigure(ta, { ...common, scale, scaleLabel: 'max |w| before and after', title: `after: ${layer.afterName} ${weight.weight} ${shape}` }),
      delta: filterFigure(delta, {
        ...common,
        scale: deltaScale > 0 ? deltaScale : scale,
        scaleLabel: 'max |after - before|',
        deadLabel: 'filters that did not change',
        title: `after - before: ${layer.name} ${weight.weight}${magnification}`,
      }),
    });
  }
  return out;
}
