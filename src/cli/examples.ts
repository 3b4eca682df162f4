import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ExamplesJob } from '../queue/examples-job.js';
import { DATA_SPEC_HELP } from '../data/spec.js';
import { addDataSetPixelOptions, addModelOptions, type ModelOptions } from './model-options.js';
import { action } from './run.js';

/** The job's own fields (what a queue worker receives), plus how this run reports and where the shards go. */
export interface ExamplesCliOptions extends ModelOptions, Omit<ExamplesJob, 'model' | 'config'> {
  queue?: string;
  queueName: string;
  shards: number;
  json?: boolean;
  out?: string;
}

/** `convscope merge`'s options. */
export interface MergeOptions {
  json?: boolean;
  out?: string;
}

/** `convscope worker`'s options. */
export interface WorkerOptions {
  redis: string;
  queueName: string;
  concurrency: number;
}

function parseShard(value: string): { index: number; of: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (!m || !(of >= 1 && index < of)) throw new InvalidArgumentError(`Expects i/n with 0 <= i < n (e.g. 0/4), but received '${value}'.`);
  return { index, of };
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) throw new InvalidArgumentError('Expects a positive integer.');
  return n;
}

export function registerExamples(program: Command): void {
  const declared = program
    .command('examples')
    .description('what does filter j detect? the k images of a data set that excite each filter most, as receptive-field crops')
    .argument('<model>', 'Keras .h5 / .keras, TF.js model.json with its architecture, or ONNX .onnx (e.g. exported from PyTorch)')
    .requiredOption('--layer <name>', 'the layer whose filters are ranked (ONNX: a node name, a value name or a PyTorch module path, as activations takes it)')
    .requiredOption('--data <spec>', `images to rank: ${DATA_SPEC_HELP}`)
    .option('--top <k>', 'images kept per filter', parsePositive, 9)
    .addOption(new Option('--statistic <s>', "one score per image and filter: the max over positions or the mean").choices(['max', 'mean']).default('max'));
  const command = addDataSetPixelOptions(declared)
    .option('--batch-size <n>', 'images per forward pass (shards are cut at whole batches)', parsePositive, 128)
    .addOption(new Option('--engine <name>', 'forward engine for Keras / TF.js models: ort (ONNX Runtime, converted in memory; falls back to tfjs, saying why, for layers without a conversion) or tfjs (TensorFlow.js); ONNX models always run on ort').choices(['ort', 'tfjs']).default('ort'))
    .option('--shard <i/n>', 'rank only shard i of n and write the partial result as .json, for convscope merge', parseShard)
    .option('--queue <redis-url>', 'run --shards jobs on BullMQ workers (convscope worker) at this Redis, then merge')
    .option('--queue-name <name>', 'BullMQ queue name', 'convscope-examples')
    .option('--shards <n>', 'with --queue: number of jobs', parsePositive, 4)
    .option('--json', 'print the ranking (filter, rank, index, score, position, crop) as JSON', false)
    .option('--out <file>', 'grid .png, or the ranking as .json (default: <layer>-examples.png; shards: <layer>-examples-<i>of<n>.json)');
  addModelOptions(command).action(
    action(async (path: string, options: ExamplesCliOptions) => {
      const { runExamples } = await import('./examples-run.js');
      await runExamples(path, options);
    }),
  );
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('combine the partial results of convscope examples --shard i/n into the single-run result')
    .argument('<parts...>', 'the .json partial results, one per shard')
    .option('--json', 'print the merged ranking as JSON', false)
    .option('--out <file>', 'grid .png or ranking .json (default: <layer>-examples.png)')
    .action(
      action(async (parts: string[], options: MergeOptions) => {
        const { runMerge } = await import('./examples-run.js');
        await runMerge(parts, options);
      }),
    );
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('take convscope examples shards from a BullMQ queue on Redis and run them, until Ctrl-C')
    .requiredOption('--redis <url>', 'the Redis the submitter uses, e.g. redis://10.0.0.5:6379')
    .option('--queue-name <name>', 'BullMQ queue name', 'convscope-examples')
    .option('--concurrency <n>', 'jobs at once on this machine', parsePositive, 1)
    .action(
      action(async (options: WorkerOptions) => {
        const { runWorker } = await import('./examples-run.js');
        await runWorker(options);
      }),
    );
}
