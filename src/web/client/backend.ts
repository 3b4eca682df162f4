import type { ModelDiff } from '../../analyze/diff.js';
import type { NamedTensor } from '../../model/named-tensor.js';
import type { ModelGraph } from '../../views/graph-view.js';
import type { StepHistograms } from '../../views/timeline-view.js';
import type { ActivationsView } from '../activations-view.js';
import type { FilterDetail, LayerRow, ModelInfo, WeightHistogram } from '../../views/model-view.js';
import type { DetectsInfo, DetectsPart, DetectsView } from '../../views/detects-view.js';

export interface ActivationsInput {
  /** A bundled sample photograph by name, or an image file the user chose. */
  sample?: string;
  file?: File;
  layer?: string;
  preprocess: string;
  /** A resize mode (io/image-fit.ts) or 'auto' (the model's default). */
  resize: string;
}

/** One part of the "what it detects" tab, with the options the page chose (names as the server's query). */
export interface DetectsInput {
  part: DetectsPart;
  layer: string | undefined;
  /** The window of filters drawn, first and last. */
  filters: [number, number];
  objective: string;
  steps: number;
  /** Index into the data sets the backend offers. */
  data: number;
  top: number;
  statistic: string;
  method: string;
  classIndex: number | undefined;
  preprocess: string;
  /** How attribution's photo is fitted to the input: a resize mode or 'auto'. */
  resize: string;
  /** Attribution's image: a sample by name or a file the user chose. */
  sample?: string;
  file?: File;
}

/** Thrown when the user cancelled a run: the page says so instead of showing an error. */
export class Cancelled extends Error {
  constructor() {
    super('Cancelled.');
  }
}

/** A training run: snapshots of one `train --watch` directory, each a model of the page, by step. */
export interface RunInfo {
  name: string;
  members: { model: number; step: number }[];
}

export type OnProgress = (fraction: number, message: string) => void;

/**
 * Where the viewer's data comes from: the local server (models named on its command line), the
 * browser itself (a dropped file, read by the library's readers here), or a report's embedded data.
 * Every view talks to this interface only.
 */
export interface Backend {
  readonly kind: 'server' | 'browser' | 'report';
  models(): ModelInfo[];
  samples(): string[];
  /** Training runs among the models (the time slider), with URLs of their charts. */
  runs(): RunInfo[];
  /** A run's chart; `step` marks the snapshot shown (on the relative-change chart). */
  runChartUrl?(run: number, chart: 'change' | 'update-ratio', step?: number): string;
  /** A kernel's histogram at every step of a run (default layer: the first convolution). */
  runHistograms?(run: number, layer?: string): Promise<StepHistograms>;
  /** Whether activations can be computed (server) or were precomputed (report). */
  canActivate(): boolean;
  layers(model: number): Promise<LayerRow[]>;
  /** The layer graph (nodes with their inbound layers and attributes). */
  graph(model: number): Promise<ModelGraph>;
  /** Output shapes by layer name, where the architecture can be built (slower than the layer list, so asked for apart). */
  outputShapes(model: number): Promise<Record<string, (number | null)[]>>;
  /** The whole kernel of a layer, with its named axes: the grid is drawn from it in the page. */
  kernel(model: number, layer: string, row: LayerRow): Promise<NamedTensor>;
  filter(model: number, layer: string, filter: number, channel: number): Promise<FilterDetail>;
  sliceNpy(model: number, layer: string, filter: number, channel: number | undefined): Promise<{ name: string; bytes: Uint8Array }>;
  histogram(model: number, layer: string): Promise<WeightHistogram[]>;
  activations(model: number, input: ActivationsInput, progress: OnProgress): Promise<ActivationsView>;
  /** What the "what it detects" tab can do for a model (and why not, where it cannot). */
  detectsInfo(model: number): Promise<DetectsInfo>;
  /** One part of the tab; `signal` cancels it (the promise then rejects with Cancelled). */
  detects(model: number, input: DetectsInput, progress: OnProgress, signal: AbortSignal): Promise<DetectsView>;
  /** The diff of two of the models (before, after). */
  diff(pair: [number, number], progress: OnProgress): Promise<ModelDiff>;
  /** A report's picture of a kernel whose values it left out (a PNG data: URI), if it has one. */
  picture?(model: number, layer: string): string | undefined;
  /** A URL of the renderer's PNG of the grid (server only), for download and checking. */
  gridPngUrl?(model: number, layer: string, query: URLSearchParams): string;
}
