import * as tfl from '@tensorflow/tfjs-layers';
import { kerasAxes, genericAxes, type AxisName } from '../model/axes.js';
import { ModelFormatError, UnsupportedError, UsageError } from '../model/errors.js';
import { formatShape } from '../model/format.js';
import { canonicalClass, catalogueEntry } from '../model/keras-catalogue.js';
import { shortName } from '../model/lookup.js';
import type { Layer, Model, Weight } from '../model/model.js';
import type { NamedTensor } from '../model/named-tensor.js';
import { initBackend, tf } from './backend.js';
import { AxisBatchNormalization } from './batch-norm.js';
import { KerasELU, KerasReLU, KerasSoftmax, KerasSubtract } from './activation-layers.js';
import { CHANNELS_FIRST } from './channels-first.js';
import { KerasConv1D } from './conv1d.js';
import { KerasConv2DTranspose } from './conv-transpose.js';
import { KerasDepthwiseConv2D } from './depthwise.js';
import { KerasGlobalPooling } from './global-pooling.js';
import { KerasGroupedConv } from './grouped-conv.js';
import { KerasNormalization } from './normalization.js';
import { KerasSpatialLayer } from './spatial-layers.js';
import type { GraphNode, LayerGraph, LeafLayer } from '../model/graph.js';
import { StatedLambda } from './lambda-layer.js';
import { tfjsActivationNames, toTfjsLayer, toTfjsTopology, type TfjsLayerJson } from './keras-to-tfjs.js';

/**
 * A model convscope can run: the flattened graph, one tfjs layer per leaf layer, weights loaded by
 * name from the file. Build with `buildModel(model)`; release with `dispose()`.
 */
export interface RunnableModel {
  readonly source: string;
  readonly graph: LayerGraph;
  /** Input shapes with the batch axis (null where free), one per model input. */
  readonly inputShapes: readonly (readonly (number | null)[])[];
  /** Whether the network computes in channels_first layout (Keras `data_format` / Keras 1 `dim_ordering: th`). */
  readonly channelsFirst: boolean;
  /** The tfjs layer for a graph node. */
  tfLayer(node: GraphNode): tfl.layers.Layer;
  /** What the user stated the model's Lambda layers compute (Model.lambdas), by layer name. */
  readonly lambdas: Readonly<Record<string, string>>;
  /** The whole network as one tfjs LayersModel (for training: `convscope train`, watchWeights). */
  readonly net: tfl.LayersModel;
  dispose(): void;
}

/** convscope's own layers for Keras classes tfjs-layers lacks or computes differently from Keras. */
const REPLACEMENTS: Readonly<Record<string, string>> = {
  Conv1D: KerasConv1D.className,
  Conv2DTranspose: KerasConv2DTranspose.className,
  ReLU: KerasReLU.className,
  ELU: KerasELU.className,
  Softmax: KerasSoftmax.className,
  Subtract: KerasSubtract.className,
  Normalization: KerasNormalization.className,
  DepthwiseConv2D: KerasDepthwiseConv2D.className,
  Lambda: StatedLambda.className,
};

/** Padding, cropping and upsampling classes tfjs-layers has only in 2-D. */
const SPATIAL_1D_3D = /^(ZeroPadding|Cropping|UpSampling)[13]D$/;

/** The class tfjs builds for this layer: convscope's own where tfjs-layers' semantics differ from Keras'. */
function replacement(json: TfjsLayerJson): string {
  if (SPATIAL_1D_3D.test(json.class_name)) return KerasSpatialLayer.className;
  if (/^Global(Max|Average)Pooling[12]D$/.test(json.class_name)) return KerasGlobalPooling.className;
  if (/^Conv[123]D$/.test(json.class_name) && typeof json.config.groups === 'number' && json.config.groups > 1) return KerasGroupedConv.className;
  if (json.config.data_format === 'channels_first' && CHANNELS_FIRST[json.class_name]) return CHANNELS_FIRST[json.class_name]!;
  if (json.class_name === 'BatchNormalization' && (json.config.axis ?? -1) !== -1) return AxisBatchNormalization.className;
  return REPLACEMENTS[json.class_name] ?? json.class_name;
}

/** Stored weights a class keeps for training bookkeeping only (Normalization's `count`, used by adapt()). */
const UNUSED_AT_INFERENCE: Readonly<Record<string, readonly string[]>> = { Normalization: ['count'] };

/** Keras 1 weight names that later Keras renamed. */
const ROLE_ALIASES: Record<string, string> = { W: 'kernel', b: 'bias', running_mean: 'moving_mean', running_std: 'moving_variance' };

/** Kernels Keras flips when loading a file saved by the Theano backend (conv_utils.convert_kernel). */
const THEANO_FLIPPED = new Set(['Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose']);

function knownClass(name: string): boolean {
  return name in REPLACEMENTS || SPATIAL_1D_3D.test(name) || name in tf.serialization.SerializationMap.getMap().classNameMap;
}

function roleOf(weight: Weight): string {
  const role = ROLE_ALIASES[weight.role] ?? weight.role;
  return ROLE_ALIASES[shortName(role)] ?? role;
}

function backendOf(model: Model, graph: LayerGraph): string | undefined {
  return model.metadata?.backend ?? graph.backend;
}

/** The stored weights of one leaf layer, matched by name (and by enclosing models when names repeat). */
function storedLayer(model: Model, leaf: LeafLayer): Layer | undefined {
  const named = model.layers.filter((l) => l.name === leaf.name);
  if (named.length <= 1) return named[0];
  return named.find((l) => (l.parents ?? []).join('/') === leaf.parents.join('/')) ?? named[0];
}

function sameAxes(a: readonly AxisName[], b: readonly AxisName[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The stored tensor in the layout tfjs expects (Keras channels-last kernels), flipped for Theano files. */
function toTfjsLayout(tensor: NamedTensor, className: string, role: string, flip: boolean): { data: Float32Array; shape: number[] } {
  const target = kerasAxes(className, role, tensor.rank);
  const generic = genericAxes(tensor.rank);
  const ordered = !sameAxes(target, generic) && sameAxes(tensor.axes as AxisName[], target) ? tensor.toAxes(target) : tensor;
  const shape = [...ordered.shape];
  // The stored array is only read (the engine copies it), except for a Theano flip, which works on a copy.
  if (flip && role === 'kernel' && THEANO_FLIPPED.has(className) && shape.length >= 3) {
    const data = Float32Array.from(ordered.toFloat32());
    flipSpatial(data, shape);
    return { data, shape };
  }
  return { data: ordered.toFloat32(), shape };
}

/** Reverses the leading spatial axes of a [...spatial, a, b] kernel in place. */
function flipSpatial(data: Float32Array, shape: number[]): void {
  const spatial = shape.slice(0, -2);
  const inner = shape[shape.length - 2]! * shape[shape.length - 1]!;
  const positions = spatial.reduce((a, b) => a * b, 1);
  const copy = data.slice();
  for (let p = 0; p < positions; p++) {
    let rest = p;
    let mirrored = 0;
    let stride = 1;
    for (let a = spatial.length - 1; a >= 0; a--) {
      const n = spatial[a]!;
      const i = rest % n;
      rest = Math.floor(rest / n);
      mirrored += (n - 1 - i) * stride;
      stride *= n;
    }
    data.set(copy.subarray(p * inner, (p + 1) * inner), mirrored * inner);
  }
}

async function loadWeights(model: Model, graph: LayerGraph, kerasClasses: ReadonlyMap<string, string>, net: tfl.LayersModel): Promise<void> {
  const flip = backendOf(model, graph) === 'theano';
  for (const leaf of graph.layers) await loadLayerWeights(model, leaf, kerasClasses.get(leaf.name)!, net.getLayer(leaf.name), flip);
}

/**
 * Writes a stored weight into a layer's variable. On the wasm backend the values go straight into the
 * variable's memory, so a 400 MB kernel is never held twice by the engine (the zeros it was built with
 * and the stored values); elsewhere the variable takes a new tensor.
 */
function writeVariable(variable: tfl.LayerVariable, data: Float32Array, shape: readonly number[]): void {
  const backend = tf.backend() as unknown as { typedArrayFromHeap?: (t: tf.Tensor) => Float32Array };
  const current = variable.read();
  if (typeof backend.typedArrayFromHeap === 'function' && current.dtype === 'float32') {
    backend.typedArrayFromHeap(current).set(data);
    return;
  }
  const value = tf.tensor(data, [...shape], 'float32');
  variable.write(value);
  value.dispose();
}

/** Loads one leaf layer's stored weights into its built tfjs layer, checking every name and shape. */
async function loadLayerWeights(model: Model, leaf: LeafLayer, className: string, target: tfl.layers.Layer, flip: boolean): Promise<void> {
  if (target.weights.length === 0) return;
  const stored = storedLayer(model, leaf);
  const unused = new Set(stored?.weights ?? []);
  for (const variable of target.weights) {
    const role = shortName(variable.originalName);
    const weight = [...unused].find((w) => roleOf(w) === role);
    if (!weight) {
      throw new ModelFormatError(
        `${model.source}: layer '${leaf.name}' (${leaf.className}) needs a '${role}' weight of shape ${formatShape(variable.shape)}, but the file has ${stored && stored.weights.length > 0 ? `only ${stored.weights.map((w) => `'${w.role}'`).join(', ')}` : 'no weights for it'}.`,
      );
    }
    unused.delete(weight);
    const { data, shape } = toTfjsLayout(await weight.read(), className, role, flip);
    if (shape.length !== variable.shape.length || shape.some((d, i) => d !== variable.shape[i])) {
      throw new ModelFormatError(
        `${model.source}: weight '${weight.name}' of layer '${leaf.name}' has shape ${formatShape(shape)}, but the layer's config needs ${formatShape(variable.shape)}.`,
      );
    }
    writeVariable(variable, data, shape);
  }
  for (const weight of unused) if (UNUSED_AT_INFERENCE[className]?.includes(roleOf(weight))) unused.delete(weight);
  if (unused.size > 0) {
    throw new ModelFormatError(
      `${model.source}: layer '${leaf.name}' stores weight${unused.size > 1 ? 's' : ''} ${[...unused].map((w) => `'${w.name}'`).join(', ')} that its ${leaf.className} config does not use.`,
    );
  }
}

/** "layer 'x' (Class): " for the first layer tfjs-layers cannot construct on its own, or ''. */
async function culprit(layers: ReadonlyMap<string, TfjsLayerJson>): Promise<string> {
  for (const [name, json] of layers) {
    const probe = { class_name: 'Model', config: { name: 'probe', layers: [{ ...json, inbound_nodes: [] }], input_layers: [], output_layers: [] } };
    try {
      (await tfl.models.modelFromJSON(probe as never)).dispose();
    } catch {
      return `layer '${name}' (${json.class_name}): `;
    }
  }
  return '';
}

/** The stored architecture as tfjs builds it: one tfjs layer JSON per leaf layer, its Keras class, the stated Lambdas. */
interface TfjsLayers {
  graph: LayerGraph;
  layers: Map<string, TfjsLayerJson>;
  kerasClasses: Map<string, string>;
  lambdas: Readonly<Record<string, string>>;
  channelsFirst: boolean;
}

/**
 * Why a model without Keras layers cannot be built, with what would run it. Only Keras weights-only
 * files take an architecture JSON; an ONNX graph runs on ONNX Runtime alone, and a PyTorch state_dict
 * or a safetensors file needs the network's own export.
 */
function noArchitecture(model: Model): UnsupportedError {
  if (model.format === 'onnx') {
    return new UnsupportedError(
      `${model.source} is an ONNX graph, which convscope runs on ONNX Runtime (activations, attribution, dataset examples, maximize) but cannot build as a TensorFlow.js network, which training and probing need.`,
    );
  }
  if (model.format === 'pytorch' || model.format === 'safetensors') {
    return new UnsupportedError(
      `${model.source} holds weights but not the network's code, so convscope cannot run it; export the network to ONNX (torch.onnx.export) and give that file, or give the Keras or TF.js model the weights came from.`,
    );
  }
  return new UnsupportedError(
    `${model.source} holds weights but no architecture, so convscope cannot run it; give its architecture JSON (model.to_json()).`,
    { concept: 'architecture' },
  );
}

async function tfjsLayers(model: Model): Promise<TfjsLayers> {
  const graph = model.callGraph?.();
  if (graph === undefined) throw noArchitecture(model);
  await initBackend();
  const layers = new Map<string, TfjsLayerJson>();
  const kerasClasses = new Map<string, string>();
  const lambdas = model.lambdas ?? {};
  for (const name of Object.keys(lambdas)) {
    const leaf = graph.layers.find((l) => l.name === name);
    if (!leaf || !catalogueEntry(canonicalClass(leaf.className))?.statable) {
      const statable = graph.layers.filter((l) => catalogueEntry(canonicalClass(l.className))?.statable).map((l) => `'${l.name}'`);
      throw new UsageError(
        `An expression is stated for layer '${name}', which ${leaf ? `is a ${leaf.className} layer, not a Lambda layer` : 'this model does not have'}; ${statable.length > 0 ? `its Lambda layers are ${statable.join(', ')}` : 'it has no Lambda layers'}.`,
        { concept: 'lambda' },
      );
    }
  }
  for (const leaf of graph.layers) {
    const json = toTfjsLayer(leaf, knownClass, model.source, lambdas);
    kerasClasses.set(leaf.name, json.class_name);
    const className = replacement(json);
    const config = tfjsActivationNames(json.config);
    if (className === KerasGroupedConv.className) config.rank = Number(json.class_name[4]);
    if (className === KerasSpatialLayer.className) {
      config.rank = Number(/([13])D$/.exec(json.class_name)![1]);
      config.mode = json.class_name.startsWith('ZeroPadding') ? 'pad' : json.class_name.startsWith('Cropping') ? 'crop' : 'repeat';
    }
    if (className === KerasGlobalPooling.className) config.mode = json.class_name.startsWith('GlobalMax') ? 'max' : 'average';
    layers.set(leaf.name, { class_name: className, config });
  }
  const channelsFirst = [...layers.values()].some((l) => l.config.data_format === 'channels_first');
  return { graph, layers, kerasClasses, lambdas, channelsFirst };
}

/** What feeding `model`'s network needs to know (its input shapes and layout), without building it. */
export async function networkInput(model: Model): Promise<Pick<RunnableModel, 'source' | 'inputShapes' | 'channelsFirst'>> {
  const { graph, channelsFirst } = await tfjsLayers(model);
  return { source: model.source, inputShapes: graph.inputShapes, channelsFirst };
}

/** Builds the runnable network of `model` (its stored architecture and weights) on the current tfjs backend. */
export async function buildModel(model: Model): Promise<RunnableModel> {
  const { graph, layers, kerasClasses, lambdas, channelsFirst } = await tfjsLayers(model);
  let net: tfl.LayersModel;
  try {
    net = await tfl.models.modelFromJSON(toTfjsTopology(graph, layers) as never);
  } catch (e) {
    const reason = String((e as Error).message).split('\n')[0]!.replace(/\.?\s*$/, '.');
    throw new UnsupportedError(`${model.source}: TensorFlow.js cannot build this network: ${await culprit(layers)}${reason}`);
  }
  try {
    await loadWeights(model, graph, kerasClasses, net);
  } catch (e) {
    net.dispose();
    throw e;
  }
  return {
    source: model.source,
    graph,
    inputShapes: graph.inputShapes,
    channelsFirst,
    tfLayer: (node) => net.getLayer(node.layer.name),
    net,
    lambdas,
    dispose: () => net.dispose(),
  };
}

/**
 * The network of `model` built one layer at a time, for one pass over it: `layer(node, inputs)` builds
 * the node's layer for the shapes it receives and loads its stored weights, `release(node)` disposes it
 * after its last call. Only one layer's weights are in memory at once (plus the layers shared between
 * calls), so VGG16 runs within its largest layer, where buildModel holds all 138 M parameters.
 */
export interface LayerByLayer {
  readonly source: string;
  readonly graph: LayerGraph;
  readonly inputShapes: readonly (readonly (number | null)[])[];
  readonly channelsFirst: boolean;
  layer(node: GraphNode, inputs: readonly tf.Tensor[]): Promise<tfl.layers.Layer>;
  release(node: GraphNode): Promise<void>;
  /** Disposes the layers still built (after a failed pass). */
  dispose(): Promise<void>;
}

/**
 * A layer whose stored weights are larger than this runs on TensorFlow.js' cpu backend in a
 * layer-by-layer pass: its tensors keep the array read from the file, where the wasm backend copies
 * it into WebAssembly memory (which never shrinks) and XNNPACK packs a second copy for its matmul.
 */
const CPU_LAYER_BYTES = 32 * 1024 * 1024;

export async function layerByLayer(model: Model): Promise<LayerByLayer> {
  const { graph, layers, kerasClasses, channelsFirst } = await tfjsLayers(model);
  const flip = backendOf(model, graph) === 'theano';
  const calls = new Map<string, number>();
  for (const node of graph.nodes) calls.set(node.layer.name, (calls.get(node.layer.name) ?? 0) + 1);
  const built = new Map<string, tfl.LayersModel>();
  const storedBytes = (leaf: LeafLayer): number =>
    (storedLayer(model, leaf)?.weights ?? []).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0);
  /** The backend the pass runs on, restored after a big layer ran on cpu. */
  const home = tf.getBackend();
  return {
    source: model.source,
    graph,
    inputShapes: graph.inputShapes,
    channelsFirst,
    async layer(node, inputs) {
      const name = node.layer.name;
      const leaf = graph.layers.find((l) => l.name === name)!;
      const backend = home === 'wasm' && storedBytes(leaf) > CPU_LAYER_BYTES ? 'cpu' : home;
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      let net = built.get(name);
      if (!net) {
        const json = layers.get(name)!;
        const feeds = inputs.map((t, i) => ({
          class_name: 'InputLayer',
          name: `${name}__input${i}`,
          config: { name: `${name}__input${i}`, batch_input_shape: [null, ...t.shape.slice(1)], dtype: 'float32' },
          inbound_nodes: [],
        }));
        const topology = {
          class_name: 'Model',
          config: {
            name: `${name}__alone`,
            layers: [...feeds, { ...json, name, inbound_nodes: [feeds.map((f) => [f.name, 0, 0, {}])] }],
            input_layers: feeds.map((f) => [f.name, 0, 0]),
            output_layers: [[name, 0, 0]],
          },
        };
        try {
          net = await tfl.models.modelFromJSON(topology as never);
        } catch (e) {
          const reason = String((e as Error).message).split('\n')[0]!.replace(/\.?\s*$/, '.');
          throw new UnsupportedError(`${model.source}: TensorFlow.js cannot build layer '${name}' (${json.class_name}): ${reason}`);
        }
        try {
          await loadLayerWeights(model, leaf, kerasClasses.get(name)!, net.getLayer(name), flip);
        } catch (e) {
          net.dispose();
          throw e;
        }
        built.set(name, net);
      }
      return net.getLayer(name);
    },
    async release(node) {
      const name = node.layer.name;
      const left = calls.get(name)! - 1;
      calls.set(name, left);
      if (left <= 0) {
        built.get(name)?.dispose();
        built.delete(name);
      }
      if (tf.getBackend() !== home) await tf.setBackend(home);
    },
    async dispose() {
      for (const net of built.values()) net.dispose();
      built.clear();
      if (tf.getBackend() !== home) await tf.setBackend(home);
    },
  };
}
