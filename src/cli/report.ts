import { Option, type Command } from 'commander';
import type { Model } from '../model/model.js';
import { builtAssetDir } from '../web/built.js';
import { DEFAULT_MAX_WEIGHT_BYTES } from '../web/embed.js';
import { writeReport } from '../web/report.js';
import { DTYPE_BYTES } from '../model/dtype.js';
import { addModelOptions, withModelOptions, type ModelOptions } from './model-options.js';
import { action, cliNote, parseMegabytes } from './run.js';
import { formatBytes } from '../model/format.js';

interface ReportOptions extends ModelOptions {
  image?: string;
  compare?: string;
  out: string;
  /** Bytes (the option is given in megabytes). */
  maxWeightMb: number;
}

function weightBytes(model: Model): number {
  return model.layers.reduce((a, l) => a + l.weights.reduce((b, w) => b + w.shape.reduce((x, y) => x * y, 1) * DTYPE_BYTES[w.dtype], 0), 0);
}

export function registerReport(program: Command): void {
  const command = program
    .command('report')
    .description('write ONE self-contained HTML file (no network, no external files) with the viewer’s views')
    .argument('<model>', 'model file')
    .option('--image <file>', 'an image (PNG, JPEG, WebP) whose feature maps the report shows')
    .option('--compare <model2>', 'a second checkpoint: adds the diff view')
    .requiredOption('--out <report.html>', 'where to write the report')
    .addOption(
      new Option('--max-weight-mb <MB>', 'weights larger than this (number, megabytes) are described but left out')
        .argParser(parseMegabytes)
        .default(DEFAULT_MAX_WEIGHT_BYTES, String(DEFAULT_MAX_WEIGHT_BYTES / (1024 * 1024))),
    );
  addModelOptions(command).action(
      action(async (path: string, options: ReportOptions) => {
        const assetDir = builtAssetDir();
        const models: Model[] = [await withModelOptions(path, options)];
        try {
          if (options.compare) models.push(await withModelOptions(options.compare, options));
          const { reportData } = await import('../web/activations.js');
          const started = performance.now();
          const { activations, outputShapes, notes } = await reportData(models, options.image);
          const written = await writeReport({ models, activations, activationNotes: notes, outputShapes, assetDir, maxWeightBytes: options.maxWeightMb }, options.out);
          const seconds = ((performance.now() - started) / 1000).toFixed(1);
          const weights = models.reduce((a, m) => a + weightBytes(m), 0);
          process.stdout.write(`wrote ${options.out} (${formatBytes(written.bytes)} in ${seconds} s; the models' weights are ${formatBytes(weights)})\n`);
          for (const note of new Set([...notes, ...written.notes].map(cliNote))) process.stdout.write(`note: ${note}\n`);
        } finally {
          for (const m of models) m.close();
        }
      }),
    );
}
