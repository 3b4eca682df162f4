import { summarizeModel, type ModelSummary } from '../views/model-summary.js';
import { formatAxes, formatCount, formatNumber, formatShape } from '../model/format.js';
import { table } from './format.js';
import type { InspectOptions } from './inspect.js';
import { withModel } from './open-model.js';
import { cliNote } from './run.js';

/** The work of `convscope inspect`, loaded only when the command runs. */

export function renderSummary(summary: ModelSummary, withStats: boolean): string {
  const header = ['layer', 'class', 'weight', 'shape', 'axes', 'dtype', 'params'];
  if (withStats) header.push('min', 'max', 'mean', 'std', 'zeros', 'nan/inf');
  const rows: string[][] = [header];
  for (const layer of summary.layers) {
    if (layer.weights.length === 0) {
      rows.push([layer.name, layer.className]);
      continue;
    }
    layer.weights.forEach((w, i) => {
      const row = [
        i === 0 ? layer.name : '',
        i === 0 ? layer.className : '',
        layer.className === 'unknown' && w.name !== w.role ? `${w.role} (${w.name})` : w.role,
        formatShape(w.shape),
        formatAxes(w.axes),
        w.dtype,
        formatCount(w.params),
      ];
      if (w.stats) {
        const s = w.stats;
        row.push(formatNumber(s.min), formatNumber(s.max), formatNumber(s.mean), formatNumber(s.std), formatCount(s.zeros), `${s.nan}/${s.inf}`);
      }
      rows.push(row);
    });
  }
  const version = summary.frameworkVersion ? ` ${summary.frameworkVersion}` : '';
  const lines = [`${summary.source}`, `format: ${summary.format} (${summary.framework}${version})`];
  if (summary.metadata && Object.keys(summary.metadata).length > 0) {
    lines.push(`metadata: ${Object.entries(summary.metadata).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  for (const note of summary.notes ?? []) lines.push(`note: ${cliNote(note)}`);
  const withWeights = summary.layers.filter((l) => l.weights.length > 0).length;
  lines.push('', table(rows), '');
  for (const layer of summary.layers) {
    for (const w of layer.weights.filter((x) => x.identicalFilters !== undefined)) {
      lines.push(
        `warning: all ${w.identicalFilters} filters of ${layer.name} ${w.role} are identical: a constant initializer (such as 'ones') ` +
          `never breaks symmetry, so every filter learns the same thing and the loss may never fall.`,
      );
    }
  }
  lines.push(`total parameters: ${formatCount(summary.totalParams)} in ${withWeights} of ${summary.layers.length} layers`);
  if (summary.trainingState?.length) {
    const state = summary.trainingState;
    lines.push(
      '',
      `training state, not model weights (optimizer slots, counters, metrics): ${state.length} tensors, ${formatCount(state.reduce((a, w) => a + w.params, 0))} values`,
      table([['tensor', 'owner', 'shape', 'dtype'], ...state.map((w) => [w.name, w.layer ?? '', formatShape(w.shape), w.dtype])]),
    );
  }
  return lines.join('\n');
}

export async function runInspect(path: string, options: InspectOptions): Promise<void> {
  await withModel(path, options, async (model) => {
    const summary = await summarizeModel(model, { stats: options.stats ?? false });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...summary, ...(summary.notes ? { notes: summary.notes.map((n) => cliNote(n)) } : {}) }, null, 2)}\n`);
    } else {
      process.stdout.write(`${renderSummary(summary, options.stats ?? false)}\n`);
    }
  });
}
