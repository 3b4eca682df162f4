import { diffModels, diffToJson, type ModelDiff } from '../analyze/diff.js';
import { openModel } from '../formats/open.js';
import { formatCosine, formatNumber, formatPercent, formatShape } from '../model/format.js';
import { trainingFacts, writeDiffReport } from '../views/diff-report.js';
import type { DiffOptions } from './diff.js';
import { table } from './format.js';

/** The work of `convscope diff`, loaded only when the command runs. */

export function renderDiff(diff: ModelDiff, showFilters: boolean): string {
  const rows: string[][] = [['layer', 'weight', 'shape', 'verdict', 'rel. change', 'max |change|', 'unchanged', 'cosine']];
  for (const layer of diff.layers) {
    const name = layer.afterName === layer.name ? layer.name : `${layer.name} -> ${layer.afterName}`;
    layer.weights.forEach((w, i) =>
      rows.push([
        i === 0 ? name : '',
        w.weight,
        formatShape(w.shape),
        w.verdict,
        formatNumber(w.relativeChange, 3),
        formatNumber(w.maxAbsChange, 3),
        formatPercent(w.unchangedFraction),
        formatCosine(w.cosine),
      ]),
    );
  }
  const lines = [`before: ${diff.before}`, `after:  ${diff.after}`, '', table(rows)];
  if (showFilters) {
    for (const layer of diff.layers) {
      for (const w of layer.weights.filter((x) => x.filters.length > 0)) {
        lines.push('', `filters of ${layer.name} ${w.weight}, most changed first:`);
        const frows = [['filter', 'verdict', 'rel. change', 'max |change|', 'cosine']];
        for (const f of w.filters) {
          frows.push([String(f.filter), f.verdict, formatNumber(f.relativeChange), formatNumber(f.maxAbsChange), formatCosine(f.cosine)]);
        }
        lines.push(table(frows));
      }
    }
  }
  if (diff.onlyBefore.length > 0) lines.push('', `only in before: ${diff.onlyBefore.join(', ')}`);
  if (diff.onlyAfter.length > 0) lines.push('', `only in after: ${diff.onlyAfter.join(', ')}`);
  for (const note of diff.notes) lines.push(`note: ${note}`);
  lines.push('', `verdict: ${diff.summary.verdict}`, 'diagnosis:');
  for (const d of diff.summary.diagnosis) lines.push(`  - ${d}`);
  return lines.join('\n');
}

export async function runDiff(beforePath: string, afterPath: string, options: DiffOptions): Promise<void> {
  const before = await openModel(beforePath);
  try {
    const after = await openModel(afterPath);
    try {
      const training = trainingFacts(after);
      const diff = await diffModels(before, after, { ...(options.layer === undefined ? {} : { layer: options.layer }), training });
      process.stdout.write(
        options.json ? `${JSON.stringify(diffToJson(diff), null, 2)}\n` : `${renderDiff(diff, options.layer !== undefined)}\n`,
      );
      if (options.out) {
        const written = await writeDiffReport(diff, before, after, options.out, options.cmap);
        process.stderr.write(`wrote ${written[0]}${written.length > 1 ? ` and ${written.length - 1} images` : ''}\n`);
      }
    } finally {
      after.close();
    }
  } finally {
    before.close();
  }
}
