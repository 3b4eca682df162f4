import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { ExamplesResult } from '../analyze/examples.js';
import { chooseResize, defaultPreprocessing, describePreprocessing, describeResize } from '../compute/default-preprocessing.js';
import { loadAllImages } from '../data/index.js';
import { writeFileAtomic } from '../io/write.js';
import { DataError, UsageError } from '../model/errors.js';
import type { ExamplesCliOptions, MergeOptions, WorkerOptions } from './examples.js';
import { withModel } from './open-model.js';
import { keptPerFilter } from '../views/examples-view.js';

/** The work of `convscope examples`, `merge` and `worker`, loaded only when one of them runs. */

function progressBar(what: string): SingleBar | undefined {
  return process.stderr.isTTY ? new SingleBar({ format: `${what} [{bar}] {value}/{total}, ETA {eta}s`, hideCursor: true }) : undefined;
}

/** Filters drawn in one grid (one row each); the JSON ranking has every filter. */
const MAX_DRAWN = 32;

/** Writes a whole result: its grid (or the JSON when --out ends in .json), and the JSON on stdout with --json. */
async function writeExamples(result: ExamplesResult, options: MergeOptions): Promise<void> {
  const out = options.out ?? (result.shard ? `${result.layer}-examples-${result.shard.index}of${result.shard.of}.json` : `${result.layer}-examples.png`);
  const ext = extname(out).toLowerCase();
  if (ext === '.json') await writeFileAtomic(out, `${JSON.stringify(result)}\n`);
  else if (ext === '.png') {
    if (result.shard) throw new UsageError(`A shard's result is partial; write it as .json and draw the grid after convscope merge.`);
    const [{ sceneToPng }, { examplesScene }] = await Promise.all([import('../render/scene-png.js'), import('../views/examples-view.js')]);
    const drawn = Array.from({ length: Math.min(result.filters, MAX_DRAWN) }, (_, f) => f);
    const images = await loadAllImages(result.data, { height: result.inputSize[0], width: result.inputSize[1], ...(result.resize ? { resize: result.resize } : {}) });
    await writeFileAtomic(out, sceneToPng(examplesScene(result, images, drawn)));
    if (drawn.length < result.filters) process.stderr.write(`the grid shows filters 0-${drawn.length - 1} of ${result.filters}; the .json ranking (--out x.json) has them all\n`);
  } else throw new UsageError(`--out '${out}' must end in .png (the grid) or .json (the ranking).`);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
  else {
    const part = result.shard ? `, shard ${result.shard.index}/${result.shard.of} (images ${result.shard.from}-${result.shard.to - 1})` : '';
    process.stdout.write(
      `${result.layer}: top ${keptPerFilter(result)} of ${result.count} ${result.data} images for each of ${result.filters} filters by the ${result.statistic} over ${result.outputSize[0]}x${result.outputSize[1]} positions${part}; ${result.receptiveField ? `receptive field ${result.receptiveField.size[0]}x${result.receptiveField.size[1]} px` : `receptive field unknown (${result.receptiveFieldUnknown ?? 'not computed'}), crops are whole images`}; ran on ${result.engine} -> ${out}\n`,
    );
  }
}

export async function runExamples(path: string, options: ExamplesCliOptions): Promise<void> {
  if (options.shard && options.queue) throw new UsageError('--shard runs one shard here; --queue sends all shards to workers. Give one of them.');
  // Run here, the model's default preprocessing and resize are decided (and said) here; on a queue, the workers, which have the model, decide them.
  const decided = options.queue
    ? undefined
    : await withModel(path, options, async (model) => ({ preprocessing: options.scale ? undefined : defaultPreprocessing(model), resize: chooseResize(model, options.resize) }));
  const preprocessing = decided?.preprocessing;
  const job = {
    model: path,
    ...(options.config ? { config: options.config } : {}),
    layer: options.layer,
    data: options.data,
    top: options.top,
    statistic: options.statistic,
    ...(options.scale ? { scale: options.scale } : preprocessing ? { scale: preprocessing.preset } : {}),
    ...(decided ? { resize: decided.resize.mode } : options.resize ? { resize: options.resize } : {}),
    batchSize: options.batchSize,
    ...(options.engine ? { engine: options.engine } : {}),
  };
  let result: ExamplesResult;
  if (options.queue) {
    const { redisConnection, runOnQueue } = await import('../queue/examples-queue.js');
    const bar = progressBar('shards');
    bar?.start(options.shards, 0);
    result = await runOnQueue(redisConnection(options.queue), options.queueName, job, options.shards, (done) => bar?.update(done));
    bar?.stop();
  } else {
    const { runExamplesJob } = await import('../queue/examples-job.js');
    const bar = progressBar('batches');
    let started = false;
    result = await runExamplesJob({ ...job, ...(options.shard ? { shard: options.shard } : {}) }, (done, total) => {
      if (!started) bar?.start(total, 0);
      started = true;
      bar?.update(done);
    });
    if (started) bar?.stop();
  }
  await writeExamples(result, options);
  if (preprocessing && !options.json) process.stdout.write(`pixels: ${describePreprocessing(preprocessing)}\n`);
  if (decided && result.resize && !options.json) process.stdout.write(`photographs fitted to ${result.inputSize[1]}x${result.inputSize[0]}: ${describeResize(decided.resize)}\n`);
}

export async function runMerge(parts: string[], options: MergeOptions): Promise<void> {
  const { mergeExamples } = await import('../analyze/examples.js');
  const results: ExamplesResult[] = [];
  for (const part of parts) {
    let text: string;
    try {
      text = await readFile(part, 'utf8');
    } catch {
      throw new DataError(`Cannot read the partial result ${part}: no such file.`);
    }
    try {
      results.push(JSON.parse(text) as ExamplesResult);
    } catch (e) {
      throw new DataError(`${part} is not JSON: ${(e as Error).message.replace(/\.$/, '')}.`);
    }
  }
  await writeExamples(mergeExamples(results), options);
}

export async function runWorker(options: WorkerOptions): Promise<void> {
  const { redisConnection, startWorker } = await import('../queue/examples-queue.js');
  const worker = startWorker(redisConnection(options.redis), options.queueName, options.concurrency, (line) => process.stdout.write(`${line}\n`));
  process.stdout.write(`worker on ${options.redis} queue '${options.queueName}', ${options.concurrency} at a time; Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  process.stdout.write('stopping: finishing the job in hand (a second Ctrl-C quits at once)\n');
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  await worker.close();
  process.exit(0);
}
