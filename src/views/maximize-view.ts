import type { MaximizeResult } from '../compute/maximize.js';
import { examplesFigure } from '../render/examples.js';
import type { Scene } from '../render/scene.js';
import { formatNumber } from '../model/format.js';

/**
 * The figure of activation maximization: one labelled image per filter, rows of up to 8 (4 for
 * images wider than 64 px), pixels as optimised (0..1 -> 0..255), the settings under the title.
 */
export function maximizeScene(r: MaximizeResult, settings: { transforms: string; tv: number; l2: number; seed: number }): Scene {
  const perRow = r.width > 64 ? 4 : 8;
  const size = r.height * r.width * r.channels;
  const tiles = r.filters.map((filter, i) => ({
    height: r.height,
    width: r.width,
    channels: r.channels,
    data: Uint8Array.from(r.images.subarray(i * size, (i + 1) * size), (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
    caption: `${filter}: ${formatNumber(r.final[i]!, 3)}`,
  }));
  const rows = [];
  for (let i = 0; i < tiles.length; i += perRow) rows.push({ label: '', crops: tiles.slice(i, i + perRow) });
  return examplesFigure(rows, {
    title: `images that maximise each filter of ${r.layer} (${r.objective} objective)`,
    lines: [`label = filter: its objective on the image; ${r.trace.length} Adam steps on a Fourier-parameterised image, transforms ${settings.transforms}, TV ${settings.tv}, L2 ${settings.l2}, seed ${settings.seed}`],
  });
}

/**
 * Why some images stay plain grey, when they do: filters whose objective ended at exactly 0 never
 * activated for any image the optimiser reached, so their gradient was 0 throughout (a dead ReLU).
 */
export function deadFiltersNote(r: Pick<MaximizeResult, 'filters' | 'final'>): string | undefined {
  const dead = r.filters.filter((_, i) => r.final[i] === 0);
  if (dead.length === 0) return undefined;
  const one = dead.length === 1;
  const which = one ? `Filter ${dead[0]}` : `Filters ${dead.join(', ')}`;
  const [image, unit, gradient] = one ? ['its image stays', 'the unit', 'its gradient'] : ['their images stay', 'the units', 'their gradients'];
  return `${which} ended at objective 0, so ${image} the near-grey starting image: ${unit} never activated for any image the optimiser reached, so ${gradient} stayed 0 (e.g. a dead ReLU, whose input is never positive).`;
}
