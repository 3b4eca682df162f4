import type { WatchRecord } from '../compute/watch.js';
import { ModelFormatError, SelectionError } from '../model/errors.js';
import { findLayer, findWeight } from '../model/lookup.js';
import type { Model } from '../model/model.js';
import { firstConvLayer } from '../model/filters.js';
import type { NamedTensor } from '../model/named-tensor.js';
import { ChangeAccumulator, verdictOf, type ChangeMetrics, type Verdict } from './change.js';

/** One recorded step of one kernel. */
export interface TimelinePoint {
  step: number;
  epoch: number;
  /** ||W_t - W_0|| / ||W_0|| against the first snapshot; null where this step has no snapshot. */
  relativeChange: number | null;
  /** The recorded ||W - W_before|| / ||W|| of the last update; null at step 0. */
  updateRatio: number | null;
}

/** The course of one kernel over training. */
export interface TimelineSeries {
  layer: string;
  role: string;
  points: TimelinePoint[];
  /** The last snapshot against the first (undefined without snapshots). */
  final?: ChangeMetrics;
  verdict?: Verdict;
  medianUpdateRatio: number | null;
}

/** One conv kernel at evenly spaced snapshots, for the filters-over-time strip. */
export interface KernelFrames {
  layer: string;
  role: string;
  steps: number[];
  /** The kernel at each of `steps`, all with the same axes. */
  frames: NamedTensor[];
}

export interface Timeline {
  dir: string;
  records: number;
  snapshots: number;
  series: TimelineSeries[];
  /** The first conv layer's kernel (or the layer asked for), when the directory holds snapshots. */
  strip?: KernelFrames;
}

export interface TimelineOptions {
  /** Layer of the filter strip (default: the first convolution). */
  layer?: string;
  /** Most snapshots drawn in the strip, evenly spaced, first and last included (default 32). */
  maxFrames?: number;
}

export const SUMMARY_FILE = 'summary.jsonl';
const SNAPSHOT_NAME = /^step-\d+\.safetensors$/;

function isNumberOrNull(v: unknown): v is number | null {
  return v === null || typeof v === 'number';
}

/** What is wrong with one parsed summary line, or undefined when it is a watch record. */
function recordProblem(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return 'a JSON object';
  const o = r as Record<string, unknown>;
  if (!Number.isSafeInteger(o.step) || (o.step as number) < 0) return 'a non-negative integer "step"';
  if (typeof o.epoch !== 'number') return 'a number "epoch"';
  if (o.snapshot !== undefined && (typeof o.snapshot !== 'string' || !SNAPSHOT_NAME.test(o.snapshot))) {
    return 'a "snapshot" named step-NNNNNN.safetensors';
  }
  if (!Array.isArray(o.weights)) return 'a "weights" array';
  for (const w of o.weights as unknown[]) {
    const x = w as Record<string, unknown>;
    if (typeof w !== 'object' || w === null || typeof x.layer !== 'string' || typeof x.role !== 'string' || !isNumberOrNull(x.updateRatio)) {
      return 'weights of the form { "layer": string, "role": string, "updateRatio": number | null }';
    }
  }
  return undefined;
}

/** Parses `summary.jsonl`: one watch record per non-empty line, steps increasing. */
export function parseSummary(text: string, file: string): WatchRecord[] {
  const records: WatchRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new ModelFormatError(`${file} line ${i + 1} is not valid JSON (${(e as Error).message}): ${line.slice(0, 80)}`);
    }
    const problem = recordProblem(parsed);
    if (problem) throw new ModelFormatError(`${file} line ${i + 1} expects a watch record with ${problem}, but received: ${line.slice(0, 80)}`);
    const record = parsed as WatchRecord;
    const previous = records.at(-1);
    if (previous && record.step <= previous.step) {
      throw new ModelFormatError(`${file} line ${i + 1} expects a step after ${previous.step}, but received step ${record.step}.`);
    }
    records.push(record);
  });
  if (records.length === 0) throw new ModelFormatError(`${file} holds no watch records.`);
  return records;
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Indices of at most `max` evenly spaced items of `n`, first and last included. */
function evenlySpaced(n: number, max: number): Set<number> {
  if (n <= max) return new Set(Array.from({ length: n }, (_, i) => i));
  return new Set(Array.from({ length: max }, (_, i) => Math.round((i * (n - 1)) / (max - 1))));
}

const isKernel = (role: string): boolean => role.endsWith('kernel');

/**
 * A training run as the timeline reads it: its watch records and a way to open each snapshot they
 * name (views/timeline-run.ts reads both from a snapshot directory), so this maths never touches files.
 */
export interface SnapshotRun {
  /** The run, for messages and Timeline.dir (the snapshot directory). */
  readonly name: string;
  /** The summary file the records were read from, for messages. */
  readonly summary: string;
  readonly records: readonly WatchRecord[];
  /** The snapshot a record names (`step-NNNNNN.safetensors`), opened as a model. */
  open(snapshot: string): Promise<Model>;
}

async function readKernel(model: Model, layer: string, role: string): Promise<NamedTensor> {
  const found = model.layers.find((l) => l.name === layer)?.weights.find((w) => w.role === role);
  if (!found) throw new SelectionError(`Snapshot ${model.source} has no weight '${layer}/${role}', which ${SUMMARY_FILE} records.`);
  return found.read();
}

/**
 * Follows every kernel of a training run: the recorded update ratio per step and, from the snapshots
 * (opened one at a time), the relative change against the first snapshot. Also gathers the frames of
 * the filter strip.
 */
export async function followTimeline(run: SnapshotRun, options: TimelineOptions = {}): Promise<Timeline> {
  const { records } = run;
  const kernels = records[0]!.weights.filter((w) => isKernel(w.role)).map((w) => ({ layer: w.layer, role: w.role }));
  if (kernels.length === 0) throw new SelectionError(`${run.summary} records no kernel weights to follow.`);
  const withSnapshot = records.filter((r) => r.snapshot !== undefined);
  const framed = evenlySpaced(withSnapshot.length, options.maxFrames ?? 32);
  const relative = new Map<WatchRecord, number[]>();
  const finals: ChangeAccumulator[] = [];
  let base: Float32Array[] = [];
  let strip: KernelFrames | undefined;
  for (const [k, record] of withSnapshot.entries()) {
    const model = await run.open(record.snapshot!);
    try {
      if (k === 0) {
        const layer = options.layer === undefined ? firstConvLayer(model) : findLayer(model, options.layer);
        strip = { layer: layer.name, role: findWeight(layer).role, steps: [], frames: [] };
      }
      const values: number[] = [];
      for (const [i, kernel] of kernels.entries()) {
        const now = (await readKernel(model, kernel.layer, kernel.role)).toFloat32();
        if (k === 0) base.push(now);
        const change = new ChangeAccumulator().add(base[i]!, now);
        values.push(change.result().relativeChange);
        finals[i] = change;
      }
      relative.set(record, values);
      if (strip && framed.has(k)) {
        strip.frames.push(await readKernel(model, strip.layer, strip.role));
        strip.steps.push(record.step);
      }
    } finally {
      model.close();
    }
  }
  base = [];
  const series = kernels.map(({ layer, role }, i): TimelineSeries => {
    const points = records.map((r) => ({
      step: r.step,
      epoch: r.epoch,
      relativeChange: relative.get(r)?.[i] ?? null,
      updateRatio: r.weights.find((w) => w.layer === layer && w.role === role)?.updateRatio ?? null,
    }));
    const ratios = points.flatMap((p) => (p.updateRatio === null ? [] : [p.updateRatio]));
    const final = finals[i]?.result();
    return { layer, role, points, ...(final ? { final, verdict: verdictOf(final) } : {}), medianUpdateRatio: median(ratios) };
  });
  return { dir: run.name, records: records.length, snapshots: withSnapshot.length, series, ...(strip ? { strip } : {}) };
}
