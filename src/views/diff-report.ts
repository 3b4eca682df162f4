import { join } from 'node:path';
import type { ModelDiff } from '../analyze/diff.js';
import type { TrainingFacts } from '../analyze/diagnose.js';
import { recordedInputScale } from '../compute/default-preprocessing.js';
import { writeFileAtomic } from '../io/write.js';
import { formatScale } from '../model/format.js';
import type { Model } from '../model/model.js';
import { diffPage, pngDataUri, type DiffPageGrid } from '../render/diff-page.js';
import { diffGrids, magnified, type DiffGrid } from './diff-grids.js';

/**
 * The diff report: one writer for `convscope diff --out`, the demo and any other surface that saves a
 * comparison of two checkpoints as HTML.
 */

function caption(g: DiffGrid): string {
  const delta = g.deltaScale > 0 ? `; the change on its own scale ${formatScale(g.deltaScale)} (${magnified(g.scale, g.deltaScale)})` : '';
  return `before and after on one shared scale ${formatScale(g.scale)}${delta}`;
}

/** Learning rate and input scale recorded in a checkpoint's metadata (convscope train writes them). */
export function trainingFacts(model: Model): TrainingFacts {
  const meta = model.metadata ?? {};
  const lr = Number(meta.learning_rate ?? meta.lr);
  const scale = recordedInputScale(model);
  return {
    ...(Number.isFinite(lr) && lr > 0 ? { learningRate: lr } : {}),
    ...(scale ? { inputScale: scale } : {}),
    ...(meta.optimizer ? { optimizer: meta.optimizer } : {}),
  };
}

/**
 * Writes the diff as one self-contained HTML file (`*.html`), or as a directory holding index.html and
 * the before / after / delta PNGs of each moved convolution kernel. Returns what was written.
 */
export async function writeDiffReport(diff: ModelDiff, before: Model, after: Model, out: string, colormap?: string): Promise<string[]> {
  const grids = await diffGrids(diff, before, after, colormap ? { colormap } : {});
  if (out.endsWith('.html')) {
    const sections: DiffPageGrid[] = grids.map((g) => ({
      layer: g.layer,
      weight: g.weight,
      before: pngDataUri(g.before.png()),
      after: pngDataUri(g.after.png()),
      delta: pngDataUri(g.delta.png()),
      caption: caption(g),
    }));
    await writeFileAtomic(out, diffPage(diff, sections));
    return [out];
  }
  const written: string[] = [];
  const sections: DiffPageGrid[] = [];
  for (const g of grids) {
    const base = `${g.layer}-${g.weight}`.replace(/[^\w.-]+/g, '_');
    const files = { before: `${base}-before.png`, after: `${base}-after.png`, delta: `${base}-delta.png` };
    await writeFileAtomic(join(out, files.before), g.before.png());
    await writeFileAtomic(join(out, files.after), g.after.png());
    await writeFileAtomic(join(out, files.delta), g.delta.png());
    written.push(...Object.values(files).map((f) => join(out, f)));
    sections.push({ layer: g.layer, weight: g.weight, ...files, caption: caption(g) });
  }
  await writeFileAtomic(join(out, 'index.html'), diffPage(diff, sections));
  return [join(out, 'index.html'), ...written];
}
