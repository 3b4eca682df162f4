import { readFile } from 'node:fs/promises';
import { activationName, type Activation } from '../compute/activations.js';
import { buildModel, layerByLayer, type LayerByLayer, type RunnableModel } from '../compute/build.js';
import { imageBatch, imageGeometry, type InputSpec } from '../compute/inputs.js';
import { featureMapLayers, loadOnnxNet, menuName, runOnnxLayers, selectOnnxLayers, type OnnxLayer } from '../compute/onnx-activations.js';
import { openOnnxNet, type OnnxNet } from '../compute/ort.js';
import { onnxGraph, type OnnxGraph } from '../formats/onnx-graph.js';
import { chooseResize, defaultPreprocessing, describePreprocessing, describeResize, type Resize } from '../compute/default-preprocessing.js';
import { PRESETS, type Preset } from '../compute/choices.js';
import { loadImage, type DecodedImage } from '../io/image.js';
import { ConvscopeError, InputError, UsageError, type Concept } from '../model/errors.js';
import { baseName, type Model, type Note } from '../model/model.js';
import { convLayers } from '../model/filters.js';
import { encodeRaster, sceneToPng } from '../render/scene-png.js';
import { activationFigure, classLabels, topOutputs } from '../views/activations.js';
import { runKerasNetwork } from '../views/activations-keras.js';
import type { ActivationsView } from './activations-view.js';
import type { ActivationsFn, ActivationsRequest } from './api.js';
import type { Progress } from './jobs.js';
import { once } from './once.js';
import { detectsHooks, type DetectsHooks, type DetectsRequest } from './detects.js';
import type { DetectsSection, DetectsView } from '../views/detects-view.js';

function dataUri(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/** The page's preprocessing choice: `auto` is the model's own default (compute/default-preprocessing.ts), with why. */
function preprocessingOf(model: Model, name: string): { preset: Preset; reason?: string } {
  if (name === 'auto') return defaultPreprocessing(model);
  if ((PRESETS as readonly string[]).includes(name)) return { preset: name as Preset };
  throw new UsageError(`Preprocessing '${name.slice(0, 40)}' is unknown; choose auto or one of ${PRESETS.join(', ')}.`, { concept: 'preprocess' });
}

/** What the page says was done to the image before the network saw it. */
function preprocessText(image: DecodedImage, resize: Resize, preprocessing: { preset: Preset; reason?: string }): string {
  return `${describeResize(resize, { at: image.placement, target: image })}; ${describePreprocessing(preprocessing)}`;
}

/** A feature map is a layer output with spatial axes: (N, H, W, C) or (N, L, C). */
function isFeatureMap(a: Activation): boolean {
  return (a.shape.length === 4 || a.shape.length === 3) && a.className !== 'InputLayer';
}

function inputPng(image: DecodedImage): Uint8Array {
  const rgb = image.channels === 3 ? image.data : Uint8Array.from({ length: image.width * image.height * 3 }, (_, i) => image.data[Math.floor(i / 3)]!);
  return encodeRaster({ width: image.width, height: image.height, data: rgb }, 'network input');
}

/** Decodes image bytes to the network's input size. */
async function decodeFor(net: InputSpec, bytes: Uint8Array, name: string, resize: Resize): Promise<DecodedImage> {
  const { height: h, width: w, channels: c } = imageGeometry(net);
  try {
    return await loadImage({ name, bytes }, { width: w ?? undefined, height: h ?? undefined, channels: c, resize: resize.mode });
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${name[0]!.toUpperCase()}${name.slice(1)} is not an image convscope can read (PNG, JPEG, WebP, GIF, TIFF, AVIF).`);
    throw e;
  }
}

interface ImageRun {
  image: DecodedImage;
  resize: Resize;
  preprocessing: { preset: Preset; reason?: string };
  maps: Activation[];
  top: { index: number; score: number }[];
}

/** Whether an output is a convolution's (a layer with a conv kernel, model/filters.ts): the views show those first. */
function convolutionTest(model: Model): (a: Activation) => boolean {
  const names = new Set(convLayers(model).map((l) => l.name));
  return (a) => names.has(a.node.layer.name);
}

/** Most layers whose feature maps a report embeds (the first convolutions). */
const REPORT_LAYERS = 16;

/** Runs the network once on an image, keeping the values of the feature maps `keep` accepts (the others only by name and shape). */
async function runOnImage(
  model: Model,
  net: RunnableModel | LayerByLayer,
  request: ActivationsRequest,
  keep: (a: Activation) => boolean,
  progress: Progress,
  classNames?: readonly string[],
): Promise<ImageRun> {
  const preprocessing = preprocessingOf(model, request.preprocess);
  const resize = chooseResize(model, request.resize);
  progress(0.1, `decoding ${request.imageName}`);
  const image = await decodeFor(net, request.image, request.imageName, resize);
  const batch = imageBatch([image], imageGeometry(net), { preset: preprocessing.preset, channelsFirst: net.channelsFirst });
  const maps: Activation[] = [];
  const total = net.graph.nodes.length;
  let done = 0;
  const run = {
    want: () => true,
    onActivation: (a: Activation) => {
      done++;
      progress(0.2 + (0.6 * done) / total, `ran ${a.name}`);
      if (isFeatureMap(a) && keep(a)) maps.push(a);
      else if (isFeatureMap(a)) maps.push({ ...a, data: new Float32Array(0) });
    },
  };
  // The viewer keeps one built network per model across requests, so it runs it on TensorFlow.js.
  const { outputs } = await runKerasNetwork(net, [batch], run, 'tfjs');
  const last = outputs[0];
  const scores = last ? last.data.subarray(0, last.data.length / (last.shape[0] ?? 1)) : new Float32Array(0);
  return { image, resize, preprocessing, maps, top: topOutputs(scores, 5, classNames) };
}

function view(run: ImageRun, chosen: Activation, imageName: string): ActivationsView {
  const figure = activationFigure(chosen, 0, imageName)!;
  return {
    image: imageName,
    preprocess: preprocessText(run.image, run.resize, run.preprocessing),
    input: dataUri(inputPng(run.image)),
    layer: chosen.name,
    layers: run.maps.map((m) => m.name),
    shape: chosen.shape.slice(1),
    maps: dataUri(sceneToPng(figure)),
    top: run.top,
  };
}

/** Nets of ONNX models on ONNX Runtime, prepared once per model. */
const onnxNets = new WeakMap<Model, Promise<OnnxNet>>();

function onnxNetOf(model: Model, graph: OnnxGraph): Promise<OnnxNet> {
  return once(onnxNets, model, () => (graph.bytes ? graph.bytes().then((bytes) => openOnnxNet(bytes, graph, model.source)) : loadOnnxNet(model.source, graph)));
}


/**
 * Views of an ONNX model's layers on ONNX Runtime: one run fetches the layers `pick` chooses (from
 * the graph's feature-map layers) with the model outputs. `request.layer` names one layer, else the first convolution.
 */
async function onnxViews(
  model: Model,
  graph: OnnxGraph,
  request: ActivationsRequest,
  progress: Progress,
  pick: (layers: OnnxLayer[]) => OnnxLayer[] = () => selectOnnxLayers(graph, model.source, request.layer),
): Promise<ActivationsView[]> {
  progress(0, 'preparing the network on ONNX Runtime');
  const net = await onnxNetOf(model, graph);
  const preprocessing = preprocessingOf(model, request.preprocess);
  const resize = chooseResize(model, request.resize);
  progress(0.1, `decoding ${request.imageName}`);
  const image = await decodeFor(net, request.image, request.imageName, resize);
  const batch = imageBatch([image], imageGeometry(net), { preset: preprocessing.preset, channelsFirst: true });
  const menu = featureMapLayers(graph);
  const wanted = pick(menu);
  const shown = new Map(wanted.map((l) => [l.name, menuName(graph, l)]));
  progress(0.3, `running ${baseName(model.source)}`);
  const run = await runOnnxLayers(net, batch, wanted);
  const last = run.outputs[0];
  const scores = last ? last.data.subarray(0, last.data.length / (last.shape[0] ?? 1)) : new Float32Array(0);
  const top = topOutputs(scores, 5, await classLabels(model));
  const input = dataUri(inputPng(image));
  return run.layers.map((chosen) => {
    const figure = activationFigure(chosen, 0, request.imageName);
    if (!figure || chosen.shape.length < 3) throw new UsageError(`The output of '${chosen.name}' is not a feature map; choose a convolution or activation.`);
    return {
      image: request.imageName,
      preprocess: preprocessText(image, resize, preprocessing),
      input,
      layer: shown.get(chosen.name) ?? chosen.name,
      layers: menu.map((l) => l.name),
      shape: chosen.shape.slice(1),
      maps: dataUri(sceneToPng(figure)),
      top,
    };
  });
}

/** Built networks per model, built once on first use. */
/**
 * Output shapes alone never build a network holding more weights than this (the build copies every
 * weight into TensorFlow.js); larger models show their shapes once activations have built them.
 */
const SHAPES_BUILD_LIMIT = 64 * 1024 * 1024;

interface NetCache {
  (model: Model): Promise<RunnableModel>;
  built(model: Model): boolean;
}

function netCache(): NetCache {
  const nets = new Map<Model, Promise<RunnableModel>>();
  const get = (model: Model): Promise<RunnableModel> => once(nets, model, () => buildModel(model));
  return Object.assign(get, { built: (model: Model) => nets.has(model) });
}

function weightBytes(model: Model): number {
  return model.layers.reduce((a, l) => a + l.weights.reduce((b, w) => b + w.shape.reduce((x, y) => x * y, 1) * 4, 0), 0);
}

interface Hooks {
  activations: ActivationsFn;
  outputShapes: (model: Model) => Promise<ReadonlyMap<string, (number | null)[]>>;
  /** The "what it detects" tab's work, on the same built networks. */
  detects: DetectsHooks;
}

/**
 * The server's activations, output-shape and "what it detects" hooks (TensorFlow.js, wasm backend;
 * ONNX Runtime for ONNX models); `examplesData` are the data sets offered for dataset examples.
 */
export function webActivations(examplesData?: readonly string[]): Hooks {
  const { activations, outputShapes, detects } = hooks(examplesData);
  return { activations, outputShapes, detects };
}

function hooks(examplesData?: readonly string[], maxImageSide?: number): Hooks & { netOf: NetCache } {
  const netOf = netCache();
  return {
    netOf,
    detects: detectsHooks({ netOf, onnxNetOf, preprocessingOf, resizeOf: chooseResize, ...(maxImageSide ? { maxImageSide } : {}) }, examplesData),
    activations: async (model, request, progress) => {
      const graph = onnxGraph(model);
      if (graph) return (await onnxViews(model, graph, request, progress))[0]!;
      progress(0, 'building the network');
      const net = await netOf(model);
      // Without a layer asked for: the first convolution's maps (or the first maps, in a network without one).
      const isConvolution = convolutionTest(model);
      let firstMap = true;
      let firstConv = true;
      const keep = (a: Activation): boolean => {
        if (request.layer !== undefined) return a.name === request.layer;
        const take = firstMap || (firstConv && isConvolution(a));
        firstMap = false;
        if (isConvolution(a)) firstConv = false;
        return take;
      };
      const run = await runOnImage(model, net, request, keep, progress, await classLabels(model));
      const kept = run.maps.filter((m) => m.data.length > 0);
      const chosen =
        request.layer === undefined ? (kept.find(isConvolution) ?? kept[0]) : run.maps.find((m) => m.name === request.layer);
      if (!chosen) {
        throw new UsageError(
          request.layer === undefined
            ? `${baseName(model.source)} has no layer whose output is a feature map.`
            : `Layer '${request.layer.slice(0, 60)}' has no feature-map output; choose one of: ${run.maps.map((m) => m.name).join(', ')}.`,
        );
      }
      progress(0.9, `drawing ${chosen.name}`);
      return view(run, chosen, request.imageName);
    },
    outputShapes: async (model) => {
      const shapes = new Map<string, (number | null)[]>();
      if (onnxGraph(model)) return shapes;
      if (!netOf.built(model) && weightBytes(model) > SHAPES_BUILD_LIMIT) return shapes;
      try {
        const net = await netOf(model);
        for (const node of net.graph.nodes) {
          const shape = net.tfLayer(node).outputShape;
          if (Array.isArray(shape) && (shape.length === 0 || !Array.isArray(shape[0]))) shapes.set(activationName(node), (shape as (number | null)[]).slice(1));
        }
      } catch (e) {
        // Not runnable (weights only, an unsupported layer): the layer list shows no output shapes.
        if (!(e instanceof ConvscopeError)) throw e;
      }
      return shapes;
    },
  };
}

/** Most bytes of feature-map pictures a report embeds: the first layers' maps up to this size. */
const REPORT_ACTIVATION_BYTES = 3 * 1024 * 1024;

/**
 * What a report embeds besides the weights: the feature maps of the image through the first
 * convolutions (as many as fit REPORT_ACTIVATION_BYTES), and output shapes. A model that cannot run
 * (a state dict without an architecture) gets a note saying why instead of failing the report.
 */
export async function reportData(
  models: readonly Model[],
  imagePath: string | undefined,
): Promise<{ activations: ActivationsView[]; outputShapes: ReadonlyMap<string, (number | null)[]>[]; notes: Note[] }> {
  const { outputShapes } = hooks();
  const shapes = await Promise.all(models.map((m) => outputShapes(m)));
  if (imagePath === undefined || models.length === 0) return { activations: [], outputShapes: shapes, notes: [] };
  let bytes: Uint8Array;
  try {
    bytes = await readFile(imagePath);
  } catch (e) {
    throw new InputError(`Cannot read the image ${imagePath} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  const name = baseName(imagePath);
  const graph = onnxGraph(models[0]!);
  if (graph) {
    const request = { preprocess: 'auto', resize: 'auto', image: bytes, imageName: name };
    const all = await onnxViews(models[0]!, graph, request, () => {}, (menu) => menu.filter((l) => l.node.opType === 'Conv').slice(0, REPORT_LAYERS));
    let size = 0;
    const views = all.filter((v, i) => (size += v.maps.length + v.input.length) <= REPORT_ACTIVATION_BYTES || i === 0);
    for (const v of views) v.layers = views.map((x) => x.layer);
    const notes = views.length < all.length ? [{ text: `Feature maps of ${name} are in this report for the first ${views.length} convolutions; the other ${all.length - views.length} were left out to keep the report small.` }] : [];
    return { activations: views, outputShapes: shapes, notes };
  }
  // One pass, layer by layer: the report's memory stays within the largest layer (VGG16's fc1), not the whole network.
  let net: LayerByLayer;
  try {
    net = await layerByLayer(models[0]!);
  } catch (e) {
    if (!(e instanceof ConvscopeError)) throw e;
    return { activations: [], outputShapes: shapes, notes: [{ text: `No feature maps of ${name} in this report: ${e.message}`, ...(e.concept ? { concept: e.concept } : {}) }] };
  }
  let kept = 0;
  const isConvolution = convolutionTest(models[0]!);
  const keep = (a: Activation): boolean => isConvolution(a) && kept++ < REPORT_LAYERS;
  const run = await runOnImage(models[0]!, net, { preprocess: 'auto', resize: 'auto', image: bytes, imageName: name }, keep, () => {}, await classLabels(models[0]!));
  const shown = run.maps.filter((m) => m.data.length > 0);
  const views: ActivationsView[] = [];
  let size = 0;
  for (const m of shown) {
    const v = view({ ...run, maps: shown }, m, name);
    size += v.maps.length + v.input.length;
    if (views.length > 0 && size > REPORT_ACTIVATION_BYTES) break;
    views.push(v);
  }
  for (const v of views) v.layers = views.map((x) => x.layer);
  const notes =
    views.length < shown.length
      ? [{ text: `Feature maps of ${name} are in this report for the first ${views.length} convolutions (${views.map((v) => v.layer).join(', ')}); the other ${shown.length - views.length} were left out to keep the report small.` }]
      : [];
  return { activations: views, outputShapes: shapes, notes };
}

/** What `report` puts in its "what it detects" section. */
export interface ReportDetectsChoice {
  /** The layer (default: the last convolution). */
  layer?: string;
  /** The data set ranked for dataset examples (default: digits). */
  data?: string;
  /** The photograph explained (Grad-CAM at the layer); without one the section has no attribution. */
  imagePath?: string;
  /** Adam steps of activation maximization. */
  steps: number;
  /** Filters drawn (the first ones). */
  filters: number;
}

/** Most bytes of figures the section embeds (with the feature maps' 3 MiB, a report stays within the model's size plus 5 MB); parts past it are left out with a note. */
export const REPORT_DETECTS_BYTES = 1.5 * 1024 * 1024;

/** A report draws maximize images at most this wide. */
const REPORT_IMAGE_SIDE = 112;

/**
 * The report's "what it detects" section for one model: activation maximization and dataset examples
 * of the first filters of one layer, and Grad-CAM at that layer for the report's photograph, through
 * the viewer's own hooks. A part the model cannot do, or that would pass REPORT_DETECTS_BYTES, is a
 * note instead; `say` hears each part as it starts.
 */
export async function reportDetects(model: Model, choice: ReportDetectsChoice, say: (line: string) => void): Promise<DetectsSection> {
  const spec = choice.data ?? 'digits';
  const { detects } = hooks([spec], REPORT_IMAGE_SIDE);
  const info = await detects.info(model);
  const notes: Note[] = [];
  const views: DetectsView[] = [];
  const why = (text: string, concept: string | undefined): Note => ({ text, ...(concept ? { concept: concept as Concept } : {}) });
  if (info.engine === 'none') return { info: { ...info, notes: [why(`No "what it detects" section: ${info.why}`, info.concept)] }, views };
  const graph = onnxGraph(model);
  // an ONNX layer may be named as activations and maximize take it (a module path, a value): the section shows its node's name
  const named = choice.layer !== undefined && graph ? menuName(graph, selectOnnxLayers(graph, model.source, choice.layer)[0]!) : choice.layer;
  const layer = named ?? info.defaultLayer;
  if (named !== undefined && !info.layers.some((l) => l.name === named)) {
    throw new UsageError(`Layer '${named.slice(0, 60)}' has no spatial output to visualise; choose one of: ${info.layers.map((l) => l.name).join(', ')}.`, { concept: 'layer' });
  }
  const count = info.layers.find((l) => l.name === layer)?.filters ?? 0;
  const filters = Array.from({ length: Math.min(choice.filters, count) }, (_, i) => i);
  const base = { layer, filters, objective: 'channel' as const, steps: choice.steps, seed: 0, data: 0, top: 3, statistic: 'max' as const, method: 'gradcam' as const, preprocess: 'auto', resize: 'auto' };
  // In order of what a reader asks first, so that the size budget drops the last.
  const parts: { what: string; request: DetectsRequest | undefined; skip?: Note }[] = [
    {
      what: 'attribution',
      request: choice.imagePath ? { ...base, part: 'attribution', image: await readFile(choice.imagePath), imageName: baseName(choice.imagePath) } : undefined,
      skip: { text: 'the report was made without a photograph to explain.', concept: 'image' },
    },
    { what: 'dataset examples', request: { ...base, part: 'examples' } },
    { what: 'activation maximization', request: { ...base, part: 'maximize' } },
  ];
  let bytes = 0;
  for (const { what, request, skip } of parts) {
    if (!request) {
      notes.push(why(`No ${what} in this report: ${skip?.text}`, skip?.concept));
      continue;
    }
    say(`${what} of ${layer}`);
    try {
      const view = await detects.run(model, request, () => {});
      if (bytes + view.picture.length > REPORT_DETECTS_BYTES) {
        notes.push({ text: `No ${what} in this report: its figure (${Math.round(view.picture.length / 1024)} KiB) would pass the section's ${REPORT_DETECTS_BYTES / (1024 * 1024)} MiB.` });
        continue;
      }
      bytes += view.picture.length;
      views.push(view);
    } catch (e) {
      if (!(e instanceof ConvscopeError)) throw e;
      notes.push(why(`No ${what} in this report: ${e.message}`, e.concept));
    }
  }
  return { info: { ...info, layers: info.layers.filter((l) => l.name === layer), ...(layer ? { defaultLayer: layer } : {}), data: [spec], notes }, views };
}
