import { ConvscopeError, UsageError } from '../model/errors.js';
import type { LayerGraph } from '../model/graph.js';
import type { Model } from '../model/model.js';
import { describePlacement, RESIZE_MODES, RESIZE_NAMES, type Placement, type ResizeMode, type Size } from '../io/image-fit.js';
import type { Preset } from './choices.js';
import { describePreset, type PreprocessOptions } from './preprocess.js';

/**
 * The one owner of "how a model wants its pixels when the user does not say": decided from what the
 * file says, with the reason in one line, so every surface (activations, attribute, examples,
 * maximize, the viewer's auto, the report) feeds a model the same input and can say why.
 *
 * - a Teachable Machine image model (its metadata.json names @teachablemachine/image): symmetric, the
 *   -1..1 scaling the Teachable Machine library applies before predicting;
 * - a checkpoint whose metadata records the pixel scale its training fed it (`input_scale`, written by
 *   convscope train): that scale, raw or unit;
 * - a Keras graph that scales or normalises its own input (a Rescaling or Normalization layer right
 *   after the input): raw 0..255, since the model does the rest;
 * - an ONNX model: torchvision's ImageNet mean and std, what image classifiers exported from PyTorch
 *   expect;
 * - anything else: unit (x / 255), what most small Keras models were trained on.
 */
export interface DefaultPreprocessing {
  readonly preset: Preset;
  /** Why this preset, naming what in the file decided it; completes "the default for ...". */
  readonly reason: string;
}

/** Layers that reshape or crop an image without changing its value scale: looked through to find the first scaling layer. */
const SCALE_PRESERVING = new Set(['Resizing', 'CenterCrop', 'RandomCrop', 'RandomFlip', 'RandomRotation', 'RandomZoom', 'RandomTranslation', 'RandomContrast']);

/** Layers that take raw pixels and scale them themselves. */
const SELF_SCALING = new Set(['Rescaling', 'Normalization']);

/** The first self-scaling layer fed (possibly through scale-preserving layers) by a model input, if any. */
function inputScalingLayer(graph: LayerGraph): { name: string; className: string } | undefined {
  const fromInput = new Set(graph.inputs);
  for (const node of graph.nodes) {
    if (node.inputs.length === 0 || !node.inputs.every((ref) => fromInput.has(ref.node))) continue;
    if (SELF_SCALING.has(node.layer.className)) return { name: node.layer.name, className: node.layer.className };
    if (SCALE_PRESERVING.has(node.layer.className)) fromInput.add(node.id);
  }
  return undefined;
}

function graphOf(model: Model): LayerGraph | undefined {
  try {
    return model.callGraph?.();
  } catch (e) {
    // A graph that cannot be built cannot run either: the run says so, in its own sentence.
    if (e instanceof ConvscopeError) return undefined;
    throw e;
  }
}

/** The Teachable Machine image library named by the model's metadata.json, if any. */
function teachableMachine(model: Model): string | undefined {
  const name = model.metadata?.packageName;
  return name?.startsWith('@teachablemachine/image') ? name : undefined;
}

/**
 * The pixel scale a checkpoint's training run fed it, where its metadata records one: `convscope train`
 * writes `input_scale` (raw 0..255 or unit 0..1) into both of its files.
 */
export function recordedInputScale(model: Model): 'raw' | 'unit' | undefined {
  const scale = model.metadata?.input_scale ?? model.metadata?.scale;
  return scale === 'raw' || scale === 'unit' ? scale : undefined;
}

export function defaultPreprocessing(model: Model): DefaultPreprocessing {
  const tmPackage = teachableMachine(model);
  if (tmPackage) {
    return { preset: 'symmetric', reason: `a Teachable Machine image model (its metadata.json names ${tmPackage}), which scales pixels to -1..1` };
  }
  const trained = recordedInputScale(model);
  if (trained) {
    return { preset: trained, reason: `a model trained on pixels ${trained === 'raw' ? '0..255' : '0..1'} (its metadata records input_scale ${trained})` };
  }
  if (model.framework === 'onnx') {
    const producer = model.metadata?.producer;
    return { preset: 'torchvision', reason: `an ONNX model${producer ? ` (made by ${producer})` : ''}, as image classifiers exported from PyTorch expect` };
  }
  const graph = graphOf(model);
  const scaling = graph ? inputScalingLayer(graph) : undefined;
  if (scaling) return { preset: 'raw', reason: `a model that scales its own input (${scaling.className} layer '${scaling.name}'), so it takes pixels 0..255` };
  return { preset: 'unit', reason: 'a model whose file says nothing about its input scaling (most Keras and TF.js models take 0..1)' };
}

/** The preprocessing a run uses: the user's preset when given, else the model's default and why. */
export function choosePreprocessing(model: Model, given: Preset | undefined): { preset: Preset; reason?: string } {
  return given ? { preset: given } : defaultPreprocessing(model);
}

/** What was done to the pixels, for every surface: "symmetric (x / 127.5 - 1), the default for a Teachable Machine ...". */
export function describePreprocessing(chosen: Pick<PreprocessOptions, 'preset' | 'mean' | 'std'> & { reason?: string }): string {
  return `${describePreset(chosen)}${chosen.reason ? `, the default for ${chosen.reason}` : ''}`;
}

/**
 * How a photograph is fitted to the input size (io/image-fit.ts) and, when it is the model's default,
 * why. The default follows the convention the model's own tooling feeds it with:
 * - a Teachable Machine image model: crop, as its library crops the centre square of the picture;
 * - a PyTorch, safetensors or ONNX model: crop, as torchvision's evaluation transforms resize the
 *   shorter side and keep the centre (the torchvision mode, which also leaves a border as its ImageNet
 *   transforms do, is a choice: it would also resize a photo that already has the input size);
 * - anything else (Keras, TF.js, TensorFlow): stretch, as Keras's image loading does
 *   (`load_img(target_size=...)`, `image_dataset_from_directory`).
 */
export interface Resize {
  readonly mode: ResizeMode;
  /** Why this mode, naming what in the file decided it; completes "the default for ...". */
  readonly reason?: string;
}

export function defaultResize(model: Model): Required<Resize> {
  if (teachableMachine(model)) return { mode: 'crop', reason: 'a Teachable Machine image model, whose library crops the centre square' };
  if (model.framework === 'onnx' || model.framework === 'pytorch' || model.framework === 'safetensors') {
    return { mode: 'crop', reason: `a${model.framework === 'onnx' ? 'n ONNX' : ' PyTorch'} model, as torchvision's evaluation transforms resize the shorter side and keep the centre` };
  }
  return { mode: 'stretch', reason: "a Keras, TF.js or TensorFlow model, as Keras's image loading (load_img with a target size) stretches" };
}

/** The resize a run uses: the user's mode when given, else (undefined or 'auto') the model's default and why. */
export function chooseResize(model: Model, given: string | undefined): Resize {
  if (given === undefined || given === 'auto') return defaultResize(model);
  if ((RESIZE_MODES as readonly string[]).includes(given)) return { mode: given as ResizeMode };
  throw new UsageError(`Resize '${given.slice(0, 40)}' is unknown; choose auto or one of ${RESIZE_MODES.join(', ')}.`, { concept: 'resize' });
}

/**
 * What was done to a photo's shape, for every surface: "centre crop (resized to 336x224, the centre
 * 224x224 kept), the default for ..." for one photo, "centre crop, the default for ..." for a set.
 */
export function describeResize(chosen: Resize, one?: { at: Placement; target: Size }): string {
  const what = one ? describePlacement(chosen.mode, one.at, one.target) : RESIZE_NAMES[chosen.mode];
  return `${what}${chosen.reason ? `, the default for ${chosen.reason}` : ''}`;
}
