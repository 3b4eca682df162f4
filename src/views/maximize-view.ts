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

/** "Filter 3" or "Filters 0, 1, 2", with the words that agree with it. */
function filterWords(filters: readonly number[]): { which: string; one: boolean } {
  return { which: filters.length === 1 ? `Filter ${filters[0]}` : `Filters ${filters.join(', ')}`, one: filters.length === 1 };
}

/**
 * What the figure's reader needs told about a run: filters the near-grey start did not activate, which
 * started again from stronger random images; and filters whose objective ended at exactly 0, which no
 * image the optimiser reached, nor those stronger starts, activated (their gradient was 0 throughout:
 * a dead ReLU), so their images stay the near-grey start.
 */
export function maximizeNotes(r: Pick<MaximizeResult, 'filters' | 'final' | 'restarted'>): string[] {
  const notes: string[] = [];
  if (r.restarted.length > 0) {
    const { which, one } = filterWords(r.restarted);
    notes.push(`${which} did not respond to the near-grey starting image (objective and gradient 0), so ${one ? 'it' : 'they'} started from ${one ? 'a stronger random image' : 'stronger random images'}.`);
  }
  const dead = r.filters.filter((_, i) => r.final[i] === 0);
  if (dead.length > 0) {
    const { which, one } = filterWords(dead);
    const [image, unit, gradient] = one ? ['its image stays', 'the unit', 'its gradient'] : ['their images stay', 'the units', 'their gradients'];
    notes.push(`${which} ended at objective 0, so ${image} the near-grey starting image: ${unit} never activated for any image the optimiser reached, nor for stronger random starts, so ${gradient} stayed 0 (e.g. a dead ReLU, whose input is never positive).`);
  }
  return notes;
}
