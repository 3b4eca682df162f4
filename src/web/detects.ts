import { createHash } from 'node:crypto';
import { ATTRIBUTION_METHODS, type AttributionMethod } from '../analyze/choices.js';
import type { ExamplesResult, ExampleStatistic } from '../analyze/examples.js';
import type { RankedNet } from '../analyze/examples-runner.js';
import type { RunnableModel } from '../compute/build.js';
import type { Resize } from '../compute/default-preprocessing.js';
import { folderFit } from '../compute/inputs.js';
import type { Objective } from '../compute/maximize.js';
import type { OnnxNet } from '../compute/ort.js';
import { loadAllImages, type FolderFit, type ImageCollection } from '../data/index.js';
import { onnxGraph, type OnnxGraph } from '../formats/onnx-graph.js';
import { ConvscopeError, UsageError } from '../model/errors.js';
import { baseName, type Model } from '../model/model.js';
import { classLabels } from '../views/activations.js';
import {
  attributionView,
  classCount,
  DETECTS_PARTS,
  examplesView,
  maximizeView,
  onnxSpatialLayers,
  rankAll,
  spatialLayers,
  type DetectsInfo,
  type DetectsPart,
  type DetectsView,
  type Explained,
  type Preprocessing,
} from '../views/detects-view.js';
import type { Progress } from './jobs.js';
import { once } from './once.js';

/**
 * The server's side of the "what it detects" tab: it parses a request into settings, runs the shared
 * pipeline of views/detects-view.ts on the network the viewer already built for the model, and keeps
 * results per (model, layer, options) so asking again (another filter window, Back) is instant. A
 * request names a data set only by its place in the list the server was started with, never a path.
 */

/** One part asked for by the page. */
export interface DetectsRequest {
  part: DetectsPart;
  layer?: string;
  /** The window of filters drawn (maximize, examples). */
  filters: number[];
  objective: Objective;
  steps: number;
  seed: number;
  /** Index into the server's data sets. */
  data: number;
  top: number;
  statistic: ExampleStatistic;
  method: AttributionMethod;
  classIndex?: number;
  /** A preprocessing preset or 'auto' (the model's default). */
  preprocess: string;
  /** A resize mode or 'auto' (the model's default): how the photo explained is fitted to the input. */
  resize: string;
  image?: Uint8Array;
  imageName?: string;
}

export interface DetectsHooks {
  /** The data sets offered for dataset examples, by spec. */
  readonly data: readonly string[];
  info(model: Model): Promise<DetectsInfo>;
  run(model: Model, request: DetectsRequest, progress: Progress): Promise<DetectsView>;
}

/** What the hooks need from the viewer's engines: its built networks and the model's default preprocessing. */
export interface Engines {
  netOf(model: Model): Promise<RunnableModel>;
  onnxNetOf(model: Model, graph: OnnxGraph): Promise<OnnxNet>;
  /** A preset name or 'auto' (the model's default, with its reason) as the preprocessing to use. */
  preprocessingOf(model: Model, name: string): Preprocessing;
  /** A resize mode or 'auto' (the model's default, with its reason) as the way a photo is fitted to the input. */
  resizeOf(model: Model, name: string): Resize;
  /** Maximize images wider than this are drawn averaged down (a report's size budget). */
  maxImageSide?: number;
}

const MAX_FILTERS = 16;
const MAX_STEPS = 512;
const MAX_TOP = 16;

function intOf(query: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) > max) throw new UsageError(`Parameter '${name}' expects an integer from 0 to ${max}, but received '${raw.slice(0, 40)}'.`);
  return Number(raw);
}

function choiceOf<T extends string>(query: URLSearchParams, name: string, choices: readonly T[], fallback: T): T {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new UsageError(`Parameter '${name}' expects one of ${choices.join(', ')}, but received '${raw.slice(0, 40)}'.`);
  return raw as T;
}

/** `first-last` (at most 16 filters), or one index. */
function filtersOf(raw: string | null): number[] {
  if (raw === null || raw === '') return Array.from({ length: 8 }, (_, i) => i);
  const m = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(raw);
  const from = Number(m?.[1]);
  const to = m?.[2] === undefined ? from : Number(m[2]);
  if (!m || to < from || to - from >= MAX_FILTERS) throw new UsageError(`Parameter 'filters' expects first-last (at most ${MAX_FILTERS} filters), but received '${raw.slice(0, 40)}'.`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The request's settings from its query (the image comes from the body or a sample). */
export function parseDetectsRequest(query: URLSearchParams, image?: { bytes: Uint8Array; name: string }): DetectsRequest {
  const classRaw = query.get('class');
  return {
    part: choiceOf(query, 'part', DETECTS_PARTS, 'maximize'),
    ...(query.get('layer') ? { layer: query.get('layer')! } : {}),
    filters: filtersOf(query.get('filters')),
    objective: choiceOf(query, 'objective', ['channel', 'neuron'] as const, 'channel'),
    steps: Math.max(1, intOf(query, 'steps', 64, MAX_STEPS)),
    seed: intOf(query, 'seed', 0, 1e9),
    data: intOf(query, 'data', 0, 1e6),
    top: Math.max(1, intOf(query, 'top', 6, MAX_TOP)),
    statistic: choiceOf(query, 'statistic', ['max', 'mean'] as const, 'max'),
    method: choiceOf(query, 'method', ATTRIBUTION_METHODS, 'gradcam'),
    ...(classRaw !== null && classRaw !== '' ? { classIndex: intOf(query, 'class', 0, 1e6) } : {}),
    preprocess: query.get('preprocess') || 'auto',
    resize: query.get('resize') || 'auto',
    ...(image ? { image: image.bytes, imageName: image.name } : {}),
  };
}

/** Keeps the last `size` entries of a map in use. */
function remember<K, V>(map: Map<K, V>, key: K, value: V, size: number): V {
  map.delete(key);
  map.set(key, value);
  while (map.size > size) map.delete(map.keys().next().value as K);
  return value;
}

function perModel<V>(store: WeakMap<Model, Map<string, V>>, model: Model): Map<string, V> {
  let map = store.get(model);
  if (!map) {
    map = new Map();
    store.set(model, map);
  }
  return map;
}

/** The hooks over the viewer's engines; `data` are the data sets offered for examples (default: the built-in digits). */
export function detectsHooks(engines: Engines, data: readonly string[] = ['digits']): DetectsHooks {
  const views = new WeakMap<Model, Map<string, DetectsView>>();
  const rankings = new WeakMap<Model, Map<string, ExamplesResult>>();
  const collections = new Map<string, Promise<ImageCollection>>();
  const infos = new WeakMap<Model, Promise<DetectsInfo>>();

  const collection = (spec: string, size: FolderFit | undefined): Promise<ImageCollection> => {
    const key = `${spec}@${size ? `${size.height}x${size.width} ${size.resize}` : ''}`;
    const hit = collections.get(key);
    if (hit) return hit;
    const loading = loadAllImages(spec, size);
    loading.catch(() => collections.delete(key));
    return remember(collections, key, loading, 2);
  };

  const info = async (model: Model): Promise<DetectsInfo> => {
    const graph = onnxGraph(model);
    const labels = await classLabels(model);
    try {
      if (graph) {
        const shape = graph.outputs[0]?.shape;
        const classes = shape ? shape.slice(1).reduce<number>((a, d) => a * (d ?? 1), 1) : (labels?.length ?? 0);
        const net = await engines.onnxNetOf(model, graph);
        // A graph that cannot run on a blank image of its declared size (a free height or width) still explains photographs.
        const spatial = await onnxSpatialLayers(net).catch((e: unknown) => {
          if (e instanceof ConvscopeError) return { layers: [] };
          throw e;
        });
        return { engine: 'onnx', ...spatial, classes, ...(labels ? { labels } : {}), data: [...data] };
      }
      const net = await engines.netOf(model);
      return { engine: 'tfjs', ...spatialLayers(net), classes: classCount(net), ...(labels ? { labels } : {}), data: [...data] };
    } catch (e) {
      if (!(e instanceof ConvscopeError)) throw e;
      return { engine: 'none', why: e.message, ...(e.concept ? { concept: e.concept } : {}), layers: [], classes: labels?.length ?? 0, ...(labels ? { labels } : {}), data: [...data] };
    }
  };

  const cachedInfo = (model: Model): Promise<DetectsInfo> => once(infos, model, () => info(model));

  const compute = async (model: Model, r: DetectsRequest, progress: Progress): Promise<DetectsView> => {
    const known = await cachedInfo(model);
    const layer = r.layer ?? known.defaultLayer;
    if (r.part !== 'attribution' && !layer) throw new UsageError(`${baseName(model.source)} has no layer with a spatial output to visualise.`);
    const graph = onnxGraph(model);
    if (r.part === 'maximize') {
      const net = graph ? await engines.onnxNetOf(model, graph) : await engines.netOf(model);
      progress(0, `optimising ${r.filters.length} images for ${layer}`);
      return maximizeView(net, { layer: layer!, filters: r.filters, objective: r.objective, steps: r.steps, seed: r.seed, preprocessing: engines.preprocessingOf(model, r.preprocess) }, progress, engines.maxImageSide);
    }
    if (r.part === 'examples') {
      const spec = data[r.data];
      if (spec === undefined) throw new UsageError(`There is no data set ${r.data}: this viewer offers ${data.length} (${data.join(', ')}).`);
      const target: RankedNet = graph ? { engine: 'onnx', net: await engines.onnxNetOf(model, graph) } : { engine: 'tfjs', net: await engines.netOf(model) };
      progress(0, `loading ${spec}`);
      const resize = engines.resizeOf(model, r.resize);
      const images = await collection(spec, folderFit(target.net, resize));
      const preprocessing = engines.preprocessingOf(model, r.preprocess);
      const key = JSON.stringify([layer, spec, r.top, r.statistic, preprocessing.preset, images.resize]);
      const ranked = perModel(rankings, model);
      const result = ranked.get(key) ?? remember(ranked, key, await rankAll(target, images, { layer: layer!, top: r.top, statistic: r.statistic, preprocessing }, progress), 8);
      return examplesView(result, images, r.filters, resize);
    }
    if (!r.image) throw new UsageError('Attribution needs an image: choose a sample photograph or upload your own.');
    const target: Explained = graph ? { engine: 'onnx', net: await engines.onnxNetOf(model, graph) } : { engine: 'tfjs', net: await engines.netOf(model) };
    return attributionView(
      target,
      {
        method: r.method,
        ...(r.classIndex !== undefined ? { classIndex: r.classIndex } : {}),
        ...(r.layer && (r.method === 'gradcam' || r.method === 'gradcam++') ? { layer: r.layer } : {}),
        preprocessing: engines.preprocessingOf(model, r.preprocess),
        resize: engines.resizeOf(model, r.resize),
        image: r.image,
        imageName: r.imageName ?? 'the image',
        ...(known.labels ? { labels: known.labels } : {}),
      },
      progress,
    );
  };

  return {
    data,
    info: cachedInfo,
    run: async (model, r, progress) => {
      const { image, ...settings } = r;
      const key = JSON.stringify({ ...settings, image: image ? createHash('sha256').update(image).digest('hex') : null });
      const cache = perModel(views, model);
      const hit = cache.get(key);
      if (hit) return remember(cache, key, hit, 32);
      return remember(cache, key, await compute(model, r, progress), 32);
    },
  };
}
