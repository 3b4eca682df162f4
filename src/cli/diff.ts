import type { Command } from 'commander';
import { diffModels, diffToJson, type ModelDiff } from '../analyze/diff.js';
import { openModel } from '../open.js';
import { formatNumber, formatShape, table } from './format.js';
import { action } from './run.js';

interface DiffOptions {
  layer?: string;
  json?: boolean;
}

function percent(x: number): string {
  return `${(100 * x).toFixed(x === 1 || x === 0 ? 0 : 2)}%`;
}

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
        percent(w.unchangedFraction),
        w.cosine === null ? '-' : w.cosine.toFixed(6),
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
          frows.push([String(f.filter), f.verdict, formatNumber(f.relativeChange, 3), formatNumber(f.maxAbsChange, 3), f.cosine === null ? '-' : f.cosine.toFixed(6)]);
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

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two checkpoints (any formats): change per layer, weight and filter, a verdict and a diagnosis')
    .argument('<before>', 'model file before training')
    .argument('<after>', 'model file after training')
    .option('--layer <name>', 'only this layer (name in the before model); also lists every filter')
    .option('--json', 'print JSON: { layers: [...], summary: { verdict, diagnosis } }', false)
    .action(
      action(async (beforePath: string, afterPath: string, options: DiffOptions) => {
        const before = await openModel(beforePath);
        try {
          const after = await openModel(afterPath);
          try {
            const diff = await diffModels(before, after, options.layer === undefined ? {} : { layer: options.layer });
            process.stdout.write(
              options.json ? `${JSON.stringify(diffToJson(diff), null, 2)}\n` : `${renderDiff(diff, options.layer !== undefined)}\n`,
            );
          } finally {
            after.close();
          }
        } finally {
          before.close();
        }
      }),
    );
}
