import { diffModels, type ModelDiff } from '../../analyze/diff.js';
import { UsageError } from '../../model/errors.js';
import { findLayer } from '../../model/lookup.js';
import type { Model } from '../../model/model.js';
import type { NamedTensor } from '../../model/named-tensor.js';
import { modelGraph, type ModelGraph } from '../../views/graph-view.js';
import type { ActivationsView } from '../activations-view.js';
import { filterDetail, filterNpy, layerHistograms, layerRows, modelInfo, type FilterDetail, type LayerRow, type ModelInfo, type WeightHistogram } from '../../views/model-view.js';
import type { ActivationsInput, Backend, DetectsInput, OnProgress, RunInfo } from './backend.js';
import type { DetectsInfo, DetectsSection, DetectsView } from '../../views/detects-view.js';
import { isOnnx } from './onnx-local.js';
import { kernelOf } from '../../model/filters.js';

/**
 * A backend over models held in the page: files dropped on it (read by the library's readers in the
 * browser, nothing uploaded) or a report's embedded weights. Activations cannot be computed here;
 * a report carries them precomputed.
 */
export class LocalBackend implements Backend {
  constructor(
    readonly kind: 'browser' | 'report',
    private readonly loaded: Model[],
    private readonly precomputed: readonly ActivationsView[] = [],
    private readonly shapes: readonly ReadonlyMap<string, (number | null)[]>[] = [],
    /** A report's stand-ins for layers whose weights it left out: a picture of the kernel and the histograms. */
    private readonly extras: readonly ReadonlyMap<string, { picture?: string | undefined; histograms?: WeightHistogram[] | undefined }>[] = [],
    /** A report's "what it detects" section (of its first model). */
    private readonly detected?: DetectsSection,
  ) {}

  picture(model: number, layer: string): string | undefined {
    return this.extras[model]?.get(layer)?.picture;
  }

  models(): ModelInfo[] {
    return this.loaded.map((m, i) => modelInfo(m, i));
  }

  samples(): string[] {
    return [...new Set(this.precomputed.map((a) => a.image))];
  }

  runs(): RunInfo[] {
    return [];
  }

  canActivate(): boolean {
    return this.precomputed.length > 0 || (this.kind === 'browser' && this.loaded.some(isOnnx));
  }

  /** Adds a model read in the page (another dropped file); returns its id. */
  add(model: Model): number {
    this.loaded.push(model);
    return this.loaded.length - 1;
  }

  private model(i: number): Model {
    const m = this.loaded[i];
    if (!m) throw new UsageError(`There is no model ${i} in this page.`);
    return m;
  }

  async layers(model: number): Promise<LayerRow[]> {
    return layerRows(this.model(model), this.shapes[model]);
  }

  async graph(model: number): Promise<ModelGraph> {
    return modelGraph(this.model(model));
  }

  async outputShapes(model: number): Promise<Record<string, (number | null)[]>> {
    return Object.fromEntries(this.shapes[model] ?? []);
  }

  async kernel(model: number, layer: string): Promise<NamedTensor> {
    const l = findLayer(this.model(model), layer);
    const w = kernelOf(l);
    if (!w) throw new UsageError(`Layer '${layer}' has no kernel.`);
    return w.read();
  }

  filter(model: number, layer: string, filter: number, channel: number): Promise<FilterDetail> {
    return filterDetail(this.model(model), layer, filter, channel);
  }

  sliceNpy(model: number, layer: string, filter: number, channel: number | undefined): Promise<{ name: string; bytes: Uint8Array }> {
    return filterNpy(this.model(model), layer, filter, channel);
  }

  histogram(model: number, layer: string): Promise<WeightHistogram[]> {
    const stored = this.extras[model]?.get(layer)?.histograms;
    return stored ? Promise.resolve(stored) : layerHistograms(this.model(model), layer);
  }

  async activations(model: number, input: ActivationsInput, progress: OnProgress): Promise<ActivationsView> {
    if (this.kind === 'browser' && isOnnx(this.model(model))) return (await import('./onnx-local.js')).onnxActivations(this.model(model), input, progress);
    const hit = this.precomputed.find((a) => a.image === input.sample && (input.layer === undefined || a.layer === input.layer));
    if (!hit) {
      if (this.kind === 'report') throw new UsageError(`This report holds activations for ${this.samples().join(', ') || 'no image'} only.`, { concept: 'image' });
      throw new UsageError('Activations need the network to run, which a file read in this page cannot do: start `convscope serve <model>` instead.');
    }
    return hit;
  }

  async detectsInfo(model: number): Promise<DetectsInfo> {
    if (this.detected && model === 0) return this.detected.info;
    const why =
      this.kind === 'report'
        ? this.detected
          ? 'This report holds "what it detects" for its first model only.'
          : 'This report was made without the "what it detects" section.'
        : 'Activation maximization, dataset examples and attribution need the network to run, which a file read in this page cannot do: start `convscope serve <model>` instead.';
    return { engine: 'none', why, layers: [], classes: 0, data: [] };
  }

  /** The report's precomputed part matching the choice, or a sentence saying what the report holds. */
  async detects(model: number, input: DetectsInput): Promise<DetectsView> {
    const views = model === 0 ? (this.detected?.views ?? []) : [];
    const hit = views.find((v) =>
      v.part !== input.part
        ? false
        : v.part === 'attribution'
          ? v.method === input.method && (input.sample === undefined || v.source === input.sample) && (input.classIndex === undefined || v.classIndex === input.classIndex)
          : v.layer === input.layer && v.filters?.[0] === input.filters[0],
    );
    if (hit) return hit;
    const held = views.filter((v) => v.part === input.part);
    const what = held.map((v) => (v.part === 'attribution' ? `${v.method} of class ${v.classIndex} for ${v.source}` : `layer ${v.layer}, filters ${v.filters?.[0]}-${v.filters?.at(-1)}`));
    throw new UsageError(
      held.length > 0
        ? `This report holds ${input.part} for ${what.join('; ')} only; open the model with \`convscope serve\` to choose others.`
        : `This report holds no ${input.part}; open the model with \`convscope serve\` to compute it.`,
    );
  }

  async diff(pair: [number, number], progress: OnProgress): Promise<ModelDiff> {
    if (this.loaded.length < 2) throw new UsageError('A diff needs two models.');
    progress(0, 'comparing the two models');
    return diffModels(this.model(pair[0]), this.model(pair[1]));
  }
}
