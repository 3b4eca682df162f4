import { attribute, attributeOnnx } from '../analyze/attribute.js';
import type { AttributionMethod } from '../analyze/choices.js';
import { rankExamples, type ExamplesResult, type ExampleStatistic } from '../analyze/examples.js';
import { withExamplesRunner, type RankedNet } from '../analyze/examples-runner.js';
import { activationName, outputChannelsFirst } from '../compute/activations.js';
import type { RunnableModel } from '../compute/build.js';
import { imageBatch, imageGeometry } from '../compute/inputs.js';
import { maximize, type MaximizeNet, type MaximizeResult, type Objective } from '../compute/maximize.js';
import { featureMapLayers, modulesByOutput } from '../compute/onnx-activations.js';
import type { OnnxNet } from '../compute/ort.js';
import { gradCamNode, onnxGradCamLayer } from '../compute/gradcam-layer.js';
import type { Preset } from '../compute/choices.js';
import { describePreset } from '../compute/preprocess.js';
import { describePreprocessing, describeResize, type Resize } from '../compute/default-preprocessing.js';
import type { ImageCollection } from '../data/index.js';
import { loadImage } from '../io/image.js';
import { InputError, UsageError } from '../model/errors.js';
import { formatNumber } from '../model/format.js';
import type { Note } from '../model/model.js';
import { sceneToPng } from '../render/scene-png.js';
import { toBase64 } from '../render/scene-svg.js';
import type { Scene } from '../render/scene.js';
import { topOutputs } from './activations.js';
import { attributionScene, describeAttribution, emptyMapNote, METHOD_NAMES } from './attribution-view.js';
import { describeCrops, examplesScene, keptPerFilter } from './examples-view.js';
import { maximizeNotes, maximizeScene } from './maximize-view.js';

/**
 * "What does filter j detect, and where does the network look?" as one view shared by the viewer's
 * tab and the report's section: activation maximization, dataset examples and attribution for one
 * layer, each a figure (the same figures `convscope maximize`, `examples` and `attribute` write) with
 * its text. The pipelines here call the library's public functions; the surfaces only choose options.
 */

export type DetectsPart = 'maximize' | 'examples' | 'attribution';

export const DETECTS_PARTS: readonly DetectsPart[] = ['maximize', 'examples', 'attribution'];

/** One part's result: plain JSON, sent by the server or embedded in a report. */
export interface DetectsView {
  part: DetectsPart;
  /** The layer shown (attribution: Grad-CAM's layer; absent for the other methods). */
  layer?: string;
  /** The filters drawn (maximize and examples). */
  filters?: number[];
  /** The figure, a PNG data: URI. */
  picture: string;
  /** The figure's title: what it shows, in one sentence (its text alternative). */
  alt: string;
  /** What was done and with which settings, shown under the figure. */
  lines: string[];
  /** Attribution: the model's largest outputs (with class names where known) and the class explained. */
  top?: { index: number; score: number; label?: string }[];
  classIndex?: number;
  method?: AttributionMethod;
  /** The image explained (attribution) or the data set ranked (examples). */
  source?: string;
}

/** What the tab can do for a model, said when it opens. */
export interface DetectsInfo {
  /** tfjs: a TensorFlow.js network; onnx: an ONNX model on ONNX Runtime (both every part); none: it cannot run. */
  engine: 'tfjs' | 'onnx' | 'none';
  /** Why the parts are unavailable, a sentence (engine none). */
  why?: string;
  /** The concept `why` points to (model/errors.ts), so the page names its own control. */
  concept?: string;
  /** Layers with a spatial output (H, W, C), in graph order, with their filter counts (and, for an ONNX model, the PyTorch module paths naming them). */
  layers: { name: string; filters: number; modules?: string[] }[];
  /** Grad-CAM's default layer (compute/gradcam-layer.ts): the activation after the last convolution. */
  defaultLayer?: string;
  /** Number of classes the model scores, and their names where the model gives them. */
  classes: number;
  labels?: string[];
  /** Data sets offered for dataset examples (specs: `digits`, `folder:DIR`, ...). */
  data: string[];
  /** A report's notes on its section: parts left out and why, with the setting that would change them. */
  notes?: Note[];
}

/** A report's "what it detects" section: what the model can do (with the section's notes) and the parts computed for one layer. */
export interface DetectsSection {
  info: DetectsInfo;
  views: DetectsView[];
}

function dataUri(scene: Scene): string {
  return `data:image/png;base64,${toBase64(sceneToPng(scene))}`;
}

/** A network's layers with a spatial output and the default among them (Grad-CAM's, the one the CLI's attribute also uses). */
export function spatialLayers(net: RunnableModel): Pick<DetectsInfo, 'layers' | 'defaultLayer'> {
  const layers: DetectsInfo['layers'] = [];
  for (const node of net.graph.nodes) {
    if (net.graph.inputs.includes(node.id)) continue;
    const shape = net.tfLayer(node).outputShape;
    if (!Array.isArray(shape) || shape.length !== 4 || Array.isArray(shape[0])) continue;
    const dims = shape as (number | null)[];
    const filters = outputChannelsFirst(net, node) ? dims[1] : dims[3];
    if (!filters) continue;
    const name = activationName(node);
    layers.push({ name, filters });
  }
  const chosen = gradCamNode(net);
  return { layers, ...(chosen ? { defaultLayer: activationName(chosen) } : {}) };
}

/**
 * An ONNX model's feature-map layers (the viewer's activations menu, onnx-activations.ts) whose output
 * is [N, C, H, W], with their filter counts from one forward pass on a blank image, named as the
 * activations view names them; the default is Grad-CAM's (the last spatial layer before pooling).
 */
export async function onnxSpatialLayers(net: OnnxNet): Promise<Pick<DetectsInfo, 'layers' | 'defaultLayer'>> {
  const input = net.inputShapes[0]!.map((d) => d ?? 1);
  const menu = featureMapLayers(net.graph);
  const blank = { shape: [1, ...input.slice(1)], data: new Float32Array(input.slice(1).reduce((a, d) => a * d, 1)) };
  const values = await net.run([blank], menu.map((l) => l.output));
  const modules = modulesByOutput(net.graph);
  const layers = menu.flatMap((l) => {
    const v = values.get(l.output)!;
    const named = modules.get(l.output);
    return v.data && v.shape.length === 4 ? [{ name: l.name, filters: v.shape[1]!, ...(named ? { modules: named } : {}) }] : [];
  });
  const chosen = onnxGradCamLayer(net.graph, input.length);
  const defaultLayer = layers.find((l) => l.name === chosen?.name)?.name ?? layers.at(-1)?.name;
  return { layers, ...(defaultLayer ? { defaultLayer } : {}) };
}

/** The number of classes a network scores (the size of its output). */
export function classCount(net: RunnableModel): number {
  const ref = net.graph.outputs[0];
  const node = ref ? net.graph.nodes.find((n) => n.id === ref.node) : undefined;
  const shape = node ? net.tfLayer(node).outputShape : undefined;
  if (!Array.isArray(shape) || Array.isArray(shape[0])) return 0;
  return (shape as (number | null)[]).slice(1).reduce<number>((a, d) => a * (d ?? 1), 1);
}

export type Progress = (fraction: number, message: string) => void;

/** A preprocessing preset and, when it is the model's default, why (compute/default-preprocessing.ts). */
export interface Preprocessing {
  preset: Preset;
  reason?: string;
}

export interface MaximizeSettings {
  layer: string;
  filters: readonly number[];
  objective: Objective;
  steps: number;
  seed: number;
  /** How (0, 1) pixels become the model's input. */
  preprocessing: Preprocessing;
}

/** The images averaged over `factor` x `factor` blocks (a report's smaller copy of the figure). */
function shrink(r: MaximizeResult, factor: number): MaximizeResult {
  const height = Math.floor(r.height / factor);
  const width = Math.floor(r.width / factor);
  const c = r.channels;
  const images = new Float32Array(r.filters.length * height * width * c);
  for (let n = 0; n < r.filters.length; n++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let k = 0; k < c; k++) {
          let sum = 0;
          for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) sum += r.images[((n * r.height + y * factor + dy) * r.width + x * factor + dx) * c + k]!;
          images[((n * height + y) * width + x) * c + k] = sum / (factor * factor);
        }
      }
    }
  }
  return { ...r, height, width, images };
}

/**
 * Activation maximization of a window of filters: Lucid's channel or neuron objective, transforms on,
 * seeded. Images wider than `maxSide` (a report's size budget) are drawn averaged down to fit.
 */
export async function maximizeView(net: MaximizeNet, s: MaximizeSettings, progress: Progress, maxSide = Infinity): Promise<DetectsView> {
  const r = await maximize(net, {
    layer: s.layer,
    filters: s.filters,
    objective: s.objective,
    steps: s.steps,
    seed: s.seed,
    pixels: s.preprocessing.preset,
    onStep: (step, steps, value) => progress(step / steps, `step ${step} of ${steps}, mean objective ${formatNumber(value)}`),
  });
  const factor = Math.max(1, Math.ceil(Math.max(r.width, r.height) / maxSide));
  const scene = maximizeScene(factor > 1 ? shrink(r, factor) : r, { transforms: 'on', tv: 0, l2: 0, seed: s.seed });
  const first = r.trace.slice(0, Math.max(1, Math.floor(r.trace.length / 10)));
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    part: 'maximize',
    layer: r.layer,
    filters: r.filters,
    picture: dataUri(scene),
    alt: scene.title,
    lines: [
      `${r.filters.length} images of ${r.width}x${r.height}, one per filter, each optimised ${r.trace.length} steps (Adam on a Fourier-parameterised image, random jitter, scale and rotation, seed ${s.seed}); pixels fed as ${describePreprocessing(s.preprocessing)}; the network's gradient ran on ${r.engine}.`,
      ...(factor > 1 ? [`Drawn at 1/${factor} of their size (each pixel the mean of ${factor}x${factor}) to keep the report small.`] : []),
      `Mean ${r.objective} objective: ${formatNumber(mean(first))} over the first tenth of the steps, ${formatNumber(mean(r.final))} on the final images; the number under each image is its filter's objective.`,
      ...maximizeNotes(r),
    ],
  };
}

export interface ExamplesSettings {
  layer: string;
  top: number;
  statistic: ExampleStatistic;
  preprocessing: Preprocessing;
}

/** Ranks every image of `data` for every filter of the layer (the figure draws a window of them). */
export async function rankAll(target: RankedNet, data: ImageCollection, s: ExamplesSettings, progress: Progress): Promise<ExamplesResult> {
  return withExamplesRunner(target, s.layer, (runner) => rankExamples(runner, data, {
    model: target.net.source,
    top: s.top,
    statistic: s.statistic,
    scale: s.preprocessing.preset,
    onProgress: (done, total) => progress(done / total, `ranked batch ${done} of ${total} of ${data.name}`),
  }));
}

/** The dataset-examples figure of some filters of a ranking; `resize` is how a folder's photographs were fitted to the input, said when they were. */
export function examplesView(result: ExamplesResult, data: ImageCollection, filters: readonly number[], resize?: Resize): DetectsView {
  const shown = filters.filter((f) => f < result.filters);
  if (shown.length === 0) throw new UsageError(`Layer '${result.layer}' has ${result.filters} filters (0..${result.filters - 1}), so filters ${filters[0]}-${filters.at(-1)} have no examples.`);
  const scene = examplesScene(result, data, shown);
  return {
    part: 'examples',
    layer: result.layer,
    filters: shown,
    source: result.data,
    picture: dataUri(scene),
    alt: scene.title,
    lines: [
      `All ${result.count} images of ${result.data} ranked for each of the ${result.filters} filters by the ${result.statistic} of its output over the ${result.outputSize[0]}x${result.outputSize[1]} positions; pixels fed as ${describePreset({ preset: result.scale })}.`,
      `Each row is a filter's top ${keptPerFilter(result)}, strongest first; ${describeCrops(result)} in that image, and the number is the score; the network ran on ${result.engine}.`,
      ...(data.resize && resize ? [`Photographs fitted to ${data.width}x${data.height}: ${describeResize(resize)}.`] : []),
    ],
  };
}

export interface AttributionSettings {
  method: AttributionMethod;
  classIndex?: number;
  layer?: string;
  preprocessing: Preprocessing;
  /** How the photo is fitted to the input size, and why when it is the model's default. */
  resize: Resize;
  image: Uint8Array;
  imageName: string;
  labels?: readonly string[];
}

/** A network to explain: TensorFlow.js, or ONNX Runtime (gradients where the graph's backward pass can be built). */
export type Explained = { engine: 'tfjs'; net: RunnableModel } | { engine: 'onnx'; net: OnnxNet };

/** Attribution of one photograph, drawn over it with a colour bar, and the class outputs for the class picker. */
export async function attributionView(target: Explained, s: AttributionSettings, progress: Progress): Promise<DetectsView> {
  const net = target.net;
  const g = imageGeometry(net);
  progress(0.05, `decoding ${s.imageName}`);
  let image;
  try {
    image = await loadImage({ name: s.imageName, bytes: s.image }, { width: g.width ?? undefined, height: g.height ?? undefined, channels: g.channels, resize: s.resize.mode });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${s.imageName} is not an image convscope can read (PNG, JPEG, WebP, GIF, TIFF, AVIF).`);
    throw e;
  }
  const batch = imageBatch([image], g, { preset: s.preprocessing.preset, channelsFirst: net.channelsFirst });
  const options = {
    method: s.method,
    ...(s.classIndex !== undefined ? { classIndex: s.classIndex } : {}),
    ...(s.layer ? { layer: s.layer } : {}),
    onProgress: (done: number, total: number) => progress(0.1 + (0.85 * done) / total, `${METHOD_NAMES[s.method]}: pass ${done} of ${total}`),
  };
  progress(0.1, `running ${METHOD_NAMES[s.method]}`);
  const r = target.engine === 'tfjs' ? await attribute(target.net, batch, options) : await attributeOnnx(target.net, batch, options);
  const scene = attributionScene(r, image, s.labels, { source: s.imageName });
  const empty = emptyMapNote(r);
  return {
    part: 'attribution',
    ...(r.layer ? { layer: r.layer } : {}),
    method: r.method,
    classIndex: r.classIndex,
    source: s.imageName,
    top: topOutputs(r.outputs, Math.min(5, r.outputs.length), s.labels),
    picture: dataUri(scene),
    alt: `${describeAttribution(r, s.labels)} (${s.imageName})`,
    lines: [
      `${s.imageName} ${describeResize(s.resize, { at: image.placement, target: image })}; pixels fed as ${describePreprocessing(s.preprocessing)}; settings: ${r.settings}; ran on ${r.engine}.`,
      'Panels: the input as the network saw it, the map, and the map over the input (opacity grows with the value); the colour bar gives the map’s values.',
      ...(empty ? [`Note: ${empty}.`] : []),
    ],
  };
}
