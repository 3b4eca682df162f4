import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { followTimeline, parseSummary, SUMMARY_FILE, type Timeline, type TimelineOptions } from '../analyze/timeline.js';
import type { WatchRecord } from '../compute/watch.js';
import { openModel } from '../formats/open.js';
import { ModelFormatError, UsageError } from '../model/errors.js';

/**
 * A snapshot directory (`summary.jsonl` and `step-NNNNNN.safetensors`, written by training with weight
 * snapshots) read for the timeline: the files are listed and opened here, the maths over them is
 * analyze/timeline.ts.
 */

const NOT_A_RUN = 'timeline expects a snapshot directory written by training with weight snapshots (<out>/watch, or watchWeights).';

/** The records of a snapshot directory; a UsageError when it is not one. */
async function readSummary(dir: string): Promise<WatchRecord[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`${dir} is not a directory; ${NOT_A_RUN}`, { concept: 'snapshots' });
  const file = join(dir, SUMMARY_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) throw new UsageError(`${dir} has no ${SUMMARY_FILE}; ${NOT_A_RUN}`, { concept: 'snapshots' });
  return parseSummary(text, file);
}

/** Reads a snapshot directory and follows every kernel over training (analyze/timeline.ts). */
export async function readTimeline(dir: string, options: TimelineOptions = {}): Promise<Timeline> {
  const summary = join(dir, SUMMARY_FILE);
  const records = await readSummary(dir);
  const open = async (name: string) => {
    const path = join(dir, name);
    if (!(await stat(path).catch(() => undefined))?.isFile()) throw new ModelFormatError(`${summary} names the snapshot ${name}, but ${path} does not exist.`);
    return openModel(path);
  };
  return followTimeline({ name: dir, summary, records, open }, options);
}
