import type { Model } from '../model/model.js';
import { DTYPE_BYTES } from '../model/dtype.js';
import { formatBytes } from '../model/format.js';
import type { DetectsSection } from '../views/detects-view.js';
import { builtAssetDir } from '../web/built.js';
import { writeReport } from '../web/report.js';
import { withModelOptions } from './open-model.js';
import { REPORT_FLAGS, type ReportOptions } from './report.js';
import { cliNote } from './run.js';

/** The work of `convscope report`, loaded only when the command runs. */

/** Models whose weights pass this get the "what it detects" section only when a layer is named: it builds the whole network. */
const DETECTS_AUTO_LIMIT = 64 * 1024 * 1024;

function weightBytes(model: Model): number {
  return model.layers.reduce((a, l) => a + l.weights.reduce((b, w) => b + w.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[w.dtype], 0), 0);
}

/** The "what it detects" section, unless left out (`--detects-layer none`, or a large model without a layer named, said in a note). */
async function detectsSection(model: Model, options: ReportOptions): Promise<DetectsSection | undefined> {
  if (options.detectsLayer === 'none') return undefined;
  if (options.detectsLayer === undefined && weightBytes(model) > DETECTS_AUTO_LIMIT) {
    process.stdout.write(`note: no "what it detects" section: it builds the whole network (${formatBytes(weightBytes(model))} of weights); name its layer with --detects-layer to include it\n`);
    return undefined;
  }
  const { reportDetects } = await import('../web/activations.js');
  const say = (line: string): void => {
    if (process.stderr.isTTY) process.stderr.write(`what it detects: ${line}\n`);
  };
  return reportDetects(
    model,
    { ...(options.detectsLayer ? { layer: options.detectsLayer } : {}), data: options.detectsData ?? 'digits', ...(options.image ? { imagePath: options.image } : {}), steps: Math.max(1, options.detectsSteps), filters: 4 },
    say,
  );
}

export async function runReport(path: string, options: ReportOptions): Promise<void> {
  const assetDir = builtAssetDir();
  const models: Model[] = [await withModelOptions(path, options)];
  try {
    if (options.compare) models.push(await withModelOptions(options.compare, options));
    const { reportData } = await import('../web/activations.js');
    const started = performance.now();
    const { activations, outputShapes, notes } = await reportData(models, options.image);
    const detects = await detectsSection(models[0]!, options);
    const written = await writeReport({ models, activations, activationNotes: notes, outputShapes, assetDir, maxWeightBytes: options.maxWeightMb, ...(detects ? { detects } : {}) }, options.out);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    const weights = models.reduce((a, m) => a + weightBytes(m), 0);
    process.stdout.write(`wrote ${options.out} (${formatBytes(written.bytes)} in ${seconds} s; the models' weights are ${formatBytes(weights)})\n`);
    for (const note of new Set([...notes, ...written.notes].map((n) => cliNote(n, REPORT_FLAGS)))) process.stdout.write(`note: ${note}\n`);
    for (const note of detects?.info.notes ?? []) process.stdout.write(`note: ${cliNote(note, REPORT_FLAGS)}\n`);
  } finally {
    for (const m of models) m.close();
  }
}
