import type { ModelDiff } from '../../analyze/diff.js';
import type { AxisName } from '../../model/axes.js';
import type { Concept } from '../../model/errors.js';
import { NamedTensor } from '../../model/named-tensor.js';
import { decodeNpy } from '../../model/npy.js';
import type { ModelGraph } from '../../views/graph-view.js';
import type { StepHistograms } from '../../views/timeline-view.js';
import type { ActivationsView } from '../activations-view.js';
import type { JobState } from '../jobs.js';
import type { FilterDetail, LayerRow, ModelInfo, WeightHistogram } from '../../views/model-view.js';
import { Cancelled, type ActivationsInput, type Backend, type DetectsInput, type OnProgress, type RunInfo } from './backend.js';
import type { DetectsInfo, DetectsView } from '../../views/detects-view.js';

/** An error sentence the server sent as `{ "error": ..., "concept"?: ... }`. */
export class ViewerError extends Error {
  constructor(
    message: string,
    readonly concept?: Concept,
  ) {
    super(message);
  }
}

async function check(res: Response): Promise<Response> {
  if (res.ok) return res;
  let message = `The server answered ${res.status} ${res.statusText}.`;
  let concept: Concept | undefined;
  try {
    const body = (await res.json()) as { error?: string; concept?: Concept };
    if (body.error) message = body.error;
    concept = body.concept;
  } catch {
    // not JSON: keep the status line
  }
  throw new ViewerError(message, concept);
}

async function getJson<T>(url: string, init?: RequestInit): Promise<T> {
  return (await (await check(await fetch(url, init))).json()) as T;
}

async function getBytes(url: string): Promise<Uint8Array> {
  return new Uint8Array(await (await check(await fetch(url))).arrayBuffer());
}

function q(params: Record<string, string | number | undefined>): string {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) s.set(k, String(v));
  return s.toString();
}

/** Polls a job until it is done, reporting its progress; an abort of `signal` cancels the job on the server. */
async function waitForJob<T>(job: string, progress: OnProgress, signal?: AbortSignal): Promise<T> {
  const url = `api/jobs/${encodeURIComponent(job)}`;
  // A cancellable job left running by closing or reloading the page is cancelled on the way out.
  const onLeave = (): void => void navigator.sendBeacon(`${url}/cancel`);
  if (signal) window.addEventListener('pagehide', onLeave);
  try {
    for (;;) {
      if (signal?.aborted) {
        await fetch(`${url}/cancel`, { method: 'POST' }).catch(() => undefined);
        throw new Cancelled();
      }
      const state = await getJson<JobState>(url);
      if (state.state === 'done') return state.result as T;
      if (state.state === 'error') throw new ViewerError(state.error, state.concept);
      if (state.state === 'cancelled') throw new Cancelled();
      progress(state.progress, state.message);
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    window.removeEventListener('pagehide', onLeave);
  }
}

export interface ServerInfo {
  models: ModelInfo[];
  runs?: RunInfo[];
  samples: string[];
  activations: boolean;
  detects?: boolean;
}

export class ServerBackend implements Backend {
  readonly kind = 'server';

  constructor(private readonly info: ServerInfo) {}

  static async connect(): Promise<ServerBackend> {
    return new ServerBackend(await getJson<ServerInfo>('api/models'));
  }

  models(): ModelInfo[] {
    return this.info.models;
  }

  samples(): string[] {
    return this.info.samples;
  }

  runs(): RunInfo[] {
    return this.info.runs ?? [];
  }

  runChartUrl(run: number, chart: 'change' | 'update-ratio', step?: number): string {
    return `api/runs/${run}/${chart}.svg${step === undefined ? '' : `?step=${step}`}`;
  }

  runHistograms(run: number, layer?: string): Promise<StepHistograms> {
    return getJson(`api/runs/${run}/histograms${layer ? `?layer=${encodeURIComponent(layer)}` : ''}`);
  }

  canActivate(): boolean {
    return this.info.activations;
  }

  layers(model: number): Promise<LayerRow[]> {
    return getJson(`api/models/${model}/layers`);
  }

  graph(model: number): Promise<ModelGraph> {
    return getJson(`api/models/${model}/graph`);
  }

  outputShapes(model: number): Promise<Record<string, (number | null)[]>> {
    return getJson(`api/models/${model}/shapes`);
  }

  async kernel(model: number, layer: string, row: LayerRow): Promise<NamedTensor> {
    const npy = decodeNpy(await getBytes(`api/models/${model}/kernel.npy?${q({ layer })}`), `kernel of ${layer}`);
    return new NamedTensor(row.kernel!.axes as AxisName[], npy.shape, npy.data);
  }

  filter(model: number, layer: string, filter: number, channel: number): Promise<FilterDetail> {
    return getJson(`api/models/${model}/filter?${q({ layer, filter, channel })}`);
  }

  async sliceNpy(model: number, layer: string, filter: number, channel: number | undefined): Promise<{ name: string; bytes: Uint8Array }> {
    const res = await check(await fetch(`api/models/${model}/slice.npy?${q({ layer, filter, channel })}`));
    const name = /filename="([^"]+)"/.exec(res.headers.get('Content-Disposition') ?? '')?.[1] ?? 'slice.npy';
    return { name, bytes: new Uint8Array(await res.arrayBuffer()) };
  }

  histogram(model: number, layer: string): Promise<WeightHistogram[]> {
    return getJson(`api/models/${model}/histogram?${q({ layer })}`);
  }

  async activations(model: number, input: ActivationsInput, progress: OnProgress): Promise<ActivationsView> {
    const params = q({ layer: input.layer, preprocess: input.preprocess, resize: input.resize, sample: input.file ? undefined : input.sample });
    const init: RequestInit = { method: 'POST' };
    if (input.file) {
      init.body = input.file;
      init.headers = { 'Content-Type': input.file.type || 'application/octet-stream' };
    }
    const { job } = await getJson<{ job: string }>(`api/models/${model}/activations?${params}`, init);
    return waitForJob<ActivationsView>(job, progress);
  }

  detectsInfo(model: number): Promise<DetectsInfo> {
    if (!this.info.detects) throw new ViewerError('This server cannot run networks, so "what it detects" is not available.');
    return getJson(`api/models/${model}/detects`);
  }

  async detects(model: number, input: DetectsInput, progress: OnProgress, signal: AbortSignal): Promise<DetectsView> {
    const params = q({
      part: input.part,
      layer: input.layer,
      filters: `${input.filters[0]}-${input.filters[1]}`,
      objective: input.objective,
      steps: input.steps,
      data: input.data,
      top: input.top,
      statistic: input.statistic,
      method: input.method,
      class: input.classIndex,
      preprocess: input.preprocess,
      resize: input.part === 'maximize' ? undefined : input.resize,
      sample: input.part === 'attribution' && !input.file ? input.sample : undefined,
    });
    const init: RequestInit = { method: 'POST' };
    if (input.part === 'attribution' && input.file) {
      init.body = input.file;
      init.headers = { 'Content-Type': input.file.type || 'application/octet-stream' };
    }
    const { job } = await getJson<{ job: string }>(`api/models/${model}/detects?${params}`, init);
    return waitForJob<DetectsView>(job, progress, signal);
  }

  async diff(pair: [number, number], progress: OnProgress): Promise<ModelDiff> {
    const { job } = await getJson<{ job: string }>(`api/diff?${q({ before: pair[0], after: pair[1] })}`, { method: 'POST' });
    return waitForJob<ModelDiff>(job, progress);
  }

  gridPngUrl(model: number, layer: string, query: URLSearchParams): string {
    const params = new URLSearchParams(query);
    params.set('layer', layer);
    return `api/models/${model}/grid.png?${params}`;
  }
}
