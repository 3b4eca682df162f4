import { Option, type Command } from 'commander';
import { DATA_SPEC_HELP } from '../data/spec.js';
import { DEFAULT_MAX_WEIGHT_BYTES } from '../web/choices.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action, parseIndex, parseMegabytes } from './run.js';

export interface ReportOptions extends ModelOptions {
  image?: string;
  compare?: string;
  out: string;
  /** Bytes (the option is given in megabytes). */
  maxWeightMb: number;
  detectsLayer?: string;
  detectsData?: string;
  detectsSteps: number;
}

/** The report's own flags for the settings of its "what it detects" section (it has no --layer or --data). */
export const REPORT_FLAGS = { 'data-set': '--detects-data <spec>', layer: '--detects-layer <name>' } as const;

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
    )
    .option('--detects-layer <name>', 'the layer of the "what it detects" section (maximize, dataset examples, Grad-CAM of --image); none leaves the section out (default: the last convolution)')
    .option('--detects-data <spec>', `the data set ranked for its dataset examples: ${DATA_SPEC_HELP}`, 'digits')
    .option('--detects-steps <n>', 'activation maximization steps (integer; each runs the network forward and back on 4 images)', parseIndex, 32);
  addModelOptions(command).action(
      action(async (path: string, options: ReportOptions) => {
        const { runReport } = await import('./report-run.js');
        await runReport(path, options);
      }, REPORT_FLAGS),
    );
}
