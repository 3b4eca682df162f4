import { diffModels, type ModelDiff } from '../analyze/diff.js';
import { SelectionError, UsageError } from '../model/errors.js';
import { weightTitle } from '../model/format.js';
import { findLayer } from '../model/lookup.js';
import type { Model } from '../model/model.js';
import type { ChannelMode, Normalization } from '../render/display.js';
import { filterFigure } from '../render/filters.js';
import type { Timeline } from '../analyze/timeline.js';
import { readTimeline } from '../views/timeline-run.js';
import { modelGraph } from '../views/graph-view.js';
import { changeChart, stepHistograms, updateRatioChart } from '../views/timeline-view.js';
import type { ProjectRun } from './project.js';
import { kernelOverview } from '../views/kernel-overview.js';
import type { JobTable, Progress } from './jobs.js';
import type { DetectsHooks } from './detects.js';
import { filterDetail, filterNpy, kernelNpy, layerHistograms, layerRows, modelInfo } from '../views/model-view.js';
import { kernelOf } from '../model/filters.js';

/** One parsed API request: the path below `/api/`, its query and (for POST) its body. */
export interface ApiRequest {
  method: string;
  path: string[];
  query: URLSearchParams;
  body?: Buffer;
  contentType?: string;
}

export type ApiResponse =
  | { kind: 'json'; status?: number; value: unknown }
  | { kind: 'bytes'; type: string; body: Uint8Array; filename?: string };

/** Runs a network on an image and returns the activations view; supplied by the server when compute is available. */
export type ActivationsFn = (model: Model, request: ActivationsRequest, progress: Progress) => Promise<unknown>;

export interface ActivationsRequest {
  layer?: string;
  preprocess: string;
  /** A resize mode or 'auto' (the model's default). */
  resize: string;
  /** Encoded image bytes (an upload or a bundled sample). */
  image: Uint8Array;
  imageName: string;
}

export interface ApiContext {
  models: readonly Model[];
  /** How the page names each model (default: its file name). */
  names?: readonly string[];
  /** Training runs among the models, and their timelines once read. */
  runs?: readonly ProjectRun[];
  timelines?: Map<number, Promise<Timeline>>;
  jobs: JobTable;
  /** Bundled sample photographs by name. */
  samples: ReadonlyMap<string, () => Promise<Uint8Array>>;
  activations?: ActivationsFn;
  detects?: DetectsHooks;
  /** Diffs by `before:after:layer` ('' = all layers), computed once: the models never change. */
  diffs?: Map<string, Promise<ModelDiff>>;
  /** Output shapes by layer name, per model, where the architecture could be run. */
  outputShapes?: (model: Model) => Promise<ReadonlyMap<string, (number | null)[]>>;
  /** Answers drawn from a whole weight (histograms, server-drawn grids), by request, the most recent kept. */
  drawn?: Map<string, Promise<ApiResponse>>;
}

/** How many answers drawn from whole weights the server keeps (each at most a few MB: a histogram, an overview PNG). */
const DRAWN_KEPT = 16;

/**
 * The answer to a request that reads and scans a whole weight, computed once: the models never change,
 * and going back to VGG16's fc1 (100 M values) must not read and bin it again.
 */
function drawnOnce(ctx: ApiContext, key: string, work: () => Promise<ApiResponse>): Promise<ApiResponse> {
  ctx.drawn ??= new Map();
  const kept = ctx.drawn;
  let answer = kept.get(key);
  if (answer) {
    kept.delete(key);
  } else {
    answer = work();
    answer.catch(() => kept.delete(key));
  }
  kept.set(key, answer);
  for (const old of kept.keys()) {
    if (kept.size <= DRAWN_KEPT) break;
    kept.delete(old);
  }
  return answer;
}

/** Overviews of large Dense kernels by weight (each at most 1024 x 1024 values), so another colormap redraws without a rescan. */
const overviews = new WeakMap<object, ReturnType<typeof kernelOverview>>();

function json(value: unknown, status = 200): ApiResponse {
  return { kind: 'json', status, value };
}

function intParam(query: URLSearchParams, name: string, fallback?: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`The request needs the parameter '${name}' (a non-negative integer).`);
  }
  if (!/^\d{1,9}$/.test(raw)) throw new UsageError(`Parameter '${name}' expects a non-negative integer, but received '${raw.slice(0, 40)}'.`);
  return Number(raw);
}

function stringParam(query: URLSearchParams, name: string): string {
  const raw = query.get(name);
  if (raw === null || raw === '') throw new UsageError(`The request needs the parameter '${name}'.`);
  return raw;
}

function modelAt(ctx: ApiContext, id: string | undefined): Model {
  const n = id !== undefined && /^\d+$/.test(id) ? Number(id) : NaN;
  const model = ctx.models[n];
  if (!model) {
    throw new SelectionError(
      `There is no model '${String(id).slice(0, 40)}': this server has ${ctx.models.length} model${ctx.models.length === 1 ? '' : 's'} (ids 0 to ${ctx.models.length - 1}).`,
    );
  }
  return model;
}

function channelsParam(raw: string | null): ChannelMode {
  if (raw === null || raw === '' || raw === 'auto') return 'auto';
  if (raw === 'rgb' || raw === 'each' || raw === 'mean') return raw;
  if (/^\d{1,6}$/.test(raw)) return Number(raw);
  throw new UsageError(`Parameter 'channels' expects auto, rgb, each, mean or a channel index, but received '${raw.slice(0, 40)}'.`);
}

function normalizeParam(raw: string | null): Normalization {
  if (raw === null || raw === '' || raw === 'shared') return 'shared';
  if (raw === 'per-filter') return raw;
  throw new UsageError(`Parameter 'normalize' expects shared or per-filter, but received '${raw.slice(0, 40)}'.`);
}

async function gridPng(model: Model, query: URLSearchParams): Promise<ApiResponse> {
  const layer = findLayer(model, stringParam(query, 'layer'));
  const kernel = kernelOf(layer);
  if (!kernel) throw new SelectionError(`Layer '${layer.name}' (${layer.className}) has no kernel to draw filters from.`);
  const cell = query.get('cell');
  const values = await kernel.read();
  const overview = overviews.has(kernel) ? overviews.get(kernel) : kernelOverview(values);
  overviews.set(kernel, overview);
  const figure = filterFigure(overview?.tensor ?? values, {
    ...(overview ? { notes: [overview.note] } : {}),
    normalize: normalizeParam(query.get('normalize')),
    colormap: query.get('colormap') ?? undefined,
    channels: channelsParam(query.get('channels')),
    cellPx: cell ? intParam(query, 'cell') : undefined,
    layer: layer.name,
    title: weightTitle(kernel),
  });
  return { kind: 'bytes', type: 'image/png', body: figure.png(), filename: `${layer.name.replace(/[^\w.-]+/g, '_')}_filters.png` };
}

async function modelRoute(ctx: ApiContext, model: Model, id: number, what: string | undefined, req: ApiRequest): Promise<ApiResponse> {
  const q = req.query;
  switch (what) {
    case 'graph':
      return json(modelGraph(model));
    case 'layers':
      return json(layerRows(model));
    case 'shapes':
      return json(Object.fromEntries(ctx.outputShapes ? await ctx.outputShapes(model) : []));
    case 'kernel.npy':
      return { kind: 'bytes', type: 'application/octet-stream', body: await kernelNpy(model, stringParam(q, 'layer')) };
    case 'grid.png':
      return drawnOnce(ctx, `${id}/grid.png?${q}`, () => gridPng(model, q));
    case 'filter':
      return json(await filterDetail(model, stringParam(q, 'layer'), intParam(q, 'filter'), intParam(q, 'channel', 0)));
    case 'slice.npy': {
      const channel = q.get('channel');
      const npy = await filterNpy(model, stringParam(q, 'layer'), intParam(q, 'filter'), channel === null ? undefined : intParam(q, 'channel'));
      return { kind: 'bytes', type: 'application/octet-stream', body: npy.bytes, filename: npy.name };
    }
    case 'histogram': {
      const layer = stringParam(q, 'layer');
      return drawnOnce(ctx, `${id}/histogram?${layer}`, async () => json(await layerHistograms(model, layer)));
    }
    case 'activations':
      return startActivations(ctx, model, id, req);
    case 'detects':
      return detects(ctx, model, id, req);
    default:
      throw new SelectionError(`There is no API endpoint '${String(what).slice(0, 40)}' for a model.`);
  }
}

/** The image a request names: a bundled sample (?sample=<name>) or the uploaded body; undefined with neither. */
async function requestImage(ctx: ApiContext, req: ApiRequest): Promise<{ bytes: Uint8Array; name: string } | undefined> {
  const sample = req.query.get('sample');
  if (sample) {
    const load = ctx.samples.get(sample);
    if (!load) throw new SelectionError(`There is no sample photograph '${sample.slice(0, 40)}'; the samples are: ${[...ctx.samples.keys()].join(', ')}.`);
    return { bytes: await load(), name: sample };
  }
  if (!req.body || req.body.length === 0) return undefined;
  return { bytes: req.body, name: 'the uploaded image' };
}

async function startActivations(ctx: ApiContext, model: Model, id: number, req: ApiRequest): Promise<ApiResponse> {
  if (req.method !== 'POST') throw new UsageError('Activations are started with POST (an image in the body, or ?sample=<name>).');
  const run = ctx.activations;
  if (!run) throw new UsageError('This server cannot run networks, so activations are not available.');
  const given = await requestImage(ctx, req);
  if (!given) throw new UsageError('The activations request carries no image: upload a PNG, JPEG or WebP file, or choose a sample photograph.');
  const image = given.bytes;
  const imageName = given.name;
  const layer = req.query.get('layer') ?? undefined;
  const preprocess = req.query.get('preprocess') ?? 'auto';
  const resize = req.query.get('resize') ?? 'auto';
  const job = ctx.jobs.start((progress) => run(model, { layer, preprocess, resize, image, imageName }, progress));
  return json({ job, model: id }, 202);
}

/** The "what it detects" tab: GET says what the model can do, POST starts one part as a job. */
async function detects(ctx: ApiContext, model: Model, id: number, req: ApiRequest): Promise<ApiResponse> {
  const hooks = ctx.detects;
  if (!hooks) throw new UsageError('This server cannot run networks, so "what it detects" is not available.');
  if (req.method !== 'POST') return json(await hooks.info(model));
  // Loaded here, not with the server: its views reach the engines, which no other command of the CLI needs at start.
  const { parseDetectsRequest } = await import('./detects.js');
  const request = parseDetectsRequest(req.query, await requestImage(ctx, req));
  const job = ctx.jobs.start((progress) => hooks.run(model, request, progress));
  return json({ job, model: id }, 202);
}

/** Answers one API request; every user error is thrown as a ConvscopeError for the server to send. */
export async function handleApi(ctx: ApiContext, req: ApiRequest): Promise<ApiResponse> {
  const [head, id, what] = req.path;
  if (head === 'models' && id === undefined) {
    return json({
      models: ctx.models.map((m, i) => ({ ...modelInfo(m, i), ...(ctx.names?.[i] ? { name: ctx.names[i] } : {}) })),
      samples: [...ctx.samples.keys()],
      activations: ctx.activations !== undefined,
      detects: ctx.detects !== undefined,
      runs: (ctx.runs ?? []).map((r) => ({ name: r.name, members: r.members })),
    });
  }
  if (head === 'models') {
    const model = modelAt(ctx, id);
    return modelRoute(ctx, model, Number(id), what, req);
  }
  if (head === 'diff' && id === undefined) {
    if (ctx.models.length < 2) throw new UsageError('A diff needs two models: start the server with two model files, or a folder holding them.');
    const b = intParam(req.query, 'before', 0);
    const a = intParam(req.query, 'after', 1);
    if (a === b) throw new UsageError(`A diff compares two different models, but both are model ${a}.`);
    const before = modelAt(ctx, String(b));
    const after = modelAt(ctx, String(a));
    const layer = req.query.get('layer') ?? '';
    const key = `${b}:${a}:${layer}`;
    ctx.diffs ??= new Map();
    const job = ctx.jobs.start(async (progress) => {
      progress(0, `comparing ${before.source} with ${after.source}`);
      let diff = ctx.diffs!.get(key);
      if (!diff) {
        diff = diffModels(before, after, layer ? { layer } : {});
        ctx.diffs!.set(key, diff);
        diff.catch(() => ctx.diffs!.delete(key));
      }
      return diff;
    });
    return json({ job }, 202);
  }
  if (head === 'runs' && id !== undefined && what === 'histograms') {
    const run = ctx.runs?.[/^\d{1,4}$/.test(id) ? Number(id) : NaN];
    if (!run) throw new SelectionError(`There is no training run '${id.slice(0, 20)}': this server has ${ctx.runs?.length ?? 0}.`);
    const layer = req.query.get('layer') || undefined;
    return drawnOnce(ctx, `runs/${id}/histograms?${layer ?? ''}`, async () =>
      json(await stepHistograms(run.members.map((m) => ({ step: m.step, model: modelAt(ctx, String(m.model)) })), layer)),
    );
  }
  if (head === 'runs' && id !== undefined && (what === 'change.svg' || what === 'update-ratio.svg')) {
    const n = /^\d{1,4}$/.test(id) ? Number(id) : NaN;
    const run = ctx.runs?.[n];
    if (!run) throw new SelectionError(`There is no training run '${id.slice(0, 20)}': this server has ${ctx.runs?.length ?? 0}.`);
    ctx.timelines ??= new Map();
    let timeline = ctx.timelines.get(n);
    if (!timeline) {
      timeline = readTimeline(run.dir, { maxFrames: 1 });
      ctx.timelines.set(n, timeline);
      timeline.catch(() => ctx.timelines!.delete(n));
    }
    const t = await timeline;
    const step = req.query.get('step');
    const svg = what === 'change.svg' ? changeChart(t, step === null ? undefined : intParam(req.query, 'step')) : updateRatioChart(t);
    if (!svg) throw new SelectionError(`The run ${run.name} has no snapshots to chart.`);
    return { kind: 'bytes', type: 'image/svg+xml', body: new TextEncoder().encode(svg) };
  }
  if (head === 'jobs' && id !== undefined && what === 'cancel') {
    if (req.method !== 'POST') throw new UsageError('A job is cancelled with POST.');
    return json({ cancelled: ctx.jobs.cancel(id) });
  }
  if (head === 'jobs' && id !== undefined && what === undefined) {
    const state = ctx.jobs.get(id);
    if (!state) throw new SelectionError(`There is no job '${id.slice(0, 40)}' (finished jobs are kept for a minute).`);
    return json(state);
  }
  throw new SelectionError(`There is no API endpoint '/api/${req.path.join('/').slice(0, 60)}'.`);
}
