import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents, Worker, type ConnectionOptions } from 'bullmq';
import { mergeExamples, type ExamplesResult } from '../analyze/examples.js';
import { runExamplesJob, type ExamplesJob } from './examples-job.js';
import { UsageError } from '../model/errors.js';

/**
 * Scale-out of `convscope examples` on BullMQ (Redis): the data set is cut into n shards, each shard
 * is one job, any number of `convscope worker` processes on any machines take the jobs, and the
 * submitter merges the n partial results into exactly the single-run result.
 */

export const DEFAULT_QUEUE = 'convscope-examples';

/** BullMQ connection options from a redis:// URL. */
export function redisConnection(url: string): ConnectionOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`The Redis address expects a URL like redis://127.0.0.1:6379, but received '${url}'.`, { concept: 'redis' });
  }
  if (u.protocol !== 'redis:') throw new UsageError(`The Redis address expects a redis:// URL, but received '${url}'.`, { concept: 'redis' });
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    db,
    maxRetriesPerRequest: null,
  };
}

/**
 * Adds one job per shard, waits for all of them (reporting each as it finishes) and merges the
 * results. A failed job fails the whole run with the worker's message.
 */
export async function runOnQueue(
  connection: ConnectionOptions,
  queueName: string,
  job: Omit<ExamplesJob, 'shard'>,
  shards: number,
  onShard?: (done: number, total: number) => void,
): Promise<ExamplesResult> {
  const queue = new Queue<ExamplesJob, ExamplesResult>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  try {
    await events.waitUntilReady();
    const run = randomUUID();
    const jobs = await queue.addBulk(
      Array.from({ length: shards }, (_, index) => ({
        name: 'examples',
        data: { ...job, shard: { index, of: shards } },
        opts: { jobId: `${run}-${index}`, removeOnComplete: true, removeOnFail: true },
      })),
    );
    let done = 0;
    const results = await Promise.all(
      jobs.map(async (j) => {
        const result = (await j.waitUntilFinished(events)) as ExamplesResult;
        onShard?.(++done, shards);
        return result;
      }),
    );
    return mergeExamples(results);
  } finally {
    await events.close();
    await queue.close();
  }
}

/** Starts a worker that runs examples shards from the queue until `close()` is awaited. */
export function startWorker(
  connection: ConnectionOptions,
  queueName: string,
  concurrency: number,
  log: (line: string) => void,
): { close: () => Promise<void> } {
  const worker = new Worker<ExamplesJob, ExamplesResult>(
    queueName,
    async (j) => {
      const started = Date.now();
      const result = await runExamplesJob(j.data);
      log(`done ${j.id}: ${j.data.layer} of ${j.data.model} on ${j.data.data}, shard ${j.data.shard?.index}/${j.data.shard?.of} (images ${result.shard?.from}-${result.shard?.to}) in ${Date.now() - started} ms`);
      return result;
    },
    { connection, concurrency },
  );
  worker.on('failed', (j, e) => log(`failed ${j?.id}: ${e.message}`));
  let lastError = '';
  worker.on('error', (e) => {
    if (e.message !== lastError) log(`error: ${e.message}`);
    lastError = e.message;
  });
  return { close: () => worker.close() };
}
