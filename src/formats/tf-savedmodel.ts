import protobuf from 'protobufjs/light.js';
import { parseJson, type ByteSource } from '../io/source.js';
import { resolveLimits } from '../io/limits.js';
import { isTable } from '../io/sstable.js';
import { genericAxes } from '../model/axes.js';
import { ContainmentError, ConvscopeError, ModelFormatError } from '../model/errors.js';
import { baseName, type Framework, type Model, type Note, type Weight } from '../model/model.js';
import { NamedTensor } from '../model/named-tensor.js';
import { parseKerasArchitecture, type KerasArchitecture } from './keras-config.js';
import { assumedLayoutNote, buildKerasLayers, kerasRole, type StoredLayer, type StoredWeight } from './keras-weights.js';
import { listFields, readFields } from './onnx-fields.js';
import { resolveConfig, type FormatReader, type OpenOptions } from './reader.js';
import {
  META_GRAPH_FIELDS,
  SAVED_MODEL_FIELDS,
  type KerasSavedMetadata,
  type MetaInfoDef,
  type SavedObjectGraph,
  type TrackableObjectGraph,
} from './schema/tensorflow.js';
import { openBundle, tfRoot, type BundleTensor, type TensorBundle } from './tf-bundle.js';
import { TF_CHECKPOINT_NAMES, TF_SAVEDMODEL_NAMES } from './reader-names.js';

/**
 * TensorFlow's own formats, all backed by a tensor bundle (tf-bundle.ts):
 * - SavedModel directories (`saved_model.pb`, `variables/variables.index` + data shards, and from
 *   Keras 2.5 on `keras_metadata.pb`), TF1 and TF2;
 * - checkpoints: `model.save_weights('ckpt')` / `tf.train.Checkpoint` (TF2, object-based) and
 *   `tf.train.Saver` (TF1, `model.ckpt.index` + `.data-*` + `.meta`), opened by their `.index` file
 *   or by the `checkpoint` state file that names the latest one.
 * In TF2 bundles the `_CHECKPOINTABLE_OBJECT_GRAPH` tensor maps every key
 * (`layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE`) to the variable's name (`dense/kernel`),
 * which gives the Keras layer and role. A Keras SavedModel's architecture comes from
 * `keras_metadata.pb`, or (Keras before 2.5) from the root object's metadata in `saved_model.pb`, so
 * it runs like the same model's .h5. Optimizer slots (Adam m/v), optimizer counters and metric totals
 * are listed apart as training state, never as layer weights.
 */

const OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH';
const VALUE_SUFFIX = '/.ATTRIBUTES/VARIABLE_VALUE';
const SLOT_MARK = '/.OPTIMIZER_SLOT/';
/** TF1 optimizer slot suffixes (`W/Adam`, `W/Adam_1`, `Variable/Momentum`). */
const TF1_SLOT = /^(.+)\/(Adam(?:_\d+)?|Momentum|RMSProp(?:_\d+)?|Adagrad|Adadelta(?:_\d+)?|Ftrl(?:_\d+)?|Nadam(?:_\d+)?|ExponentialMovingAverage)$/;
/** TF1 training counters. */
const TF1_COUNTERS = new Set(['global_step', 'beta1_power', 'beta2_power']);
/** Object-graph paths of TF2 training state: the optimizer, compiled metrics, the save counter. */
const TF2_STATE = /^(optimizer\/|keras_api\/metrics\/|save_counter\/)/;

const ObjectGraphType = tfRoot.lookupType('tf.TrackableObjectGraph');
const MetaInfoType = tfRoot.lookupType('tf.MetaInfoDef');
const SavedObjectGraphType = tfRoot.lookupType('tf.SavedObjectGraph');
const KerasMetadataType = tfRoot.lookupType('tf.KerasSavedMetadata');

/** How a bundle key reads in Keras and TensorFlow terms. */
interface KeyInfo {
  /** `dense/kernel` (TF2 object graph or the TF1 key itself). */
  readonly variable: string;
  /** Object-graph path (`keras_api/metrics/0/count`), or the key without its attribute suffix. */
  readonly path: string;
  /** For optimizer slots: the key of the variable the slot belongs to, and the slot name (m, v, Adam_1). */
  readonly slotOf?: { readonly key: string; readonly slot: string };
  readonly trainingState: boolean;
}

function decodeMessage<T>(type: protobuf.Type, bytes: Uint8Array, where: string, what: string): T {
  try {
    return type.decode(bytes) as unknown as T;
  } catch (e) {
    throw new ModelFormatError(`${where}: ${what} is not a valid protobuf message (${(e as Error).message}).`);
  }
}

/** Object-graph path of every node, breadth first from the root (the shortest path names a node). */
function nodePaths(graph: TrackableObjectGraph): Map<number, string> {
  const paths = new Map<number, string>([[0, '']]);
  const queue = [0];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const child of graph.nodes[id]?.children ?? []) {
      if (paths.has(child.node_id) || !graph.nodes[child.node_id]) continue;
      const parent = paths.get(id)!;
      paths.set(child.node_id, parent ? `${parent}/${child.local_name}` : child.local_name);
      queue.push(child.node_id);
    }
  }
  return paths;
}

/** Key -> variable name and kind, from the object graph (TF2) or from TF1 naming. */
async function describeKeys(bundle: TensorBundle): Promise<{ keys: Map<string, KeyInfo>; objectGraph: boolean }> {
  const keys = new Map<string, KeyInfo>();
  const graphTensor = bundle.tensors.find((t) => t.key === OBJECT_GRAPH_KEY);
  if (graphTensor) {
    const [bytes] = await bundle.readStrings(graphTensor);
    const graph = decodeMessage<TrackableObjectGraph>(ObjectGraphType, bytes ?? new Uint8Array(0), bundle.name, 'the checkpoint object graph');
    const paths = nodePaths(graph);
    const keyOfNode = new Map<number, string>();
    graph.nodes.forEach((node, id) => {
      for (const a of node.attributes) if (a.name === 'VARIABLE_VALUE') keyOfNode.set(id, a.checkpoint_key);
    });
    const slots = new Map<string, { key: string; slot: string }>();
    for (const node of graph.nodes) {
      for (const s of node.slot_variables) {
        const slotKey = keyOfNode.get(s.slot_variable_node_id);
        const original = keyOfNode.get(s.original_variable_node_id);
        if (slotKey && original) slots.set(slotKey, { key: original, slot: s.slot_name });
      }
    }
    graph.nodes.forEach((node, id) => {
      for (const a of node.attributes) {
        const path = paths.get(id) ?? a.checkpoint_key;
        const slotOf = slots.get(a.checkpoint_key) ?? slotFromKey(a.checkpoint_key);
        keys.set(a.checkpoint_key, {
          variable: a.full_name || path,
          path,
          ...(slotOf ? { slotOf } : {}),
          trainingState: slotOf !== undefined || TF2_STATE.test(`${path}/`) || a.name !== 'VARIABLE_VALUE',
        });
      }
    });
  }
  for (const t of bundle.tensors) {
    if (keys.has(t.key) || t.key === OBJECT_GRAPH_KEY) continue;
    const m = TF1_SLOT.exec(t.key);
    const slotOf = m && bundle.tensors.some((o) => o.key === m[1]) ? { key: m[1]!, slot: m[2]! } : slotFromKey(t.key);
    const path = t.key.endsWith(VALUE_SUFFIX) ? t.key.slice(0, -VALUE_SUFFIX.length) : t.key;
    keys.set(t.key, {
      variable: path,
      path,
      ...(slotOf ? { slotOf } : {}),
      trainingState: slotOf !== undefined || TF1_COUNTERS.has(t.key) || TF2_STATE.test(`${t.key}/`),
    });
  }
  linkNamedSlots(keys);
  return { keys, objectGraph: graphTensor !== undefined };
}

/**
 * Keras 2.11+ optimizers keep slots in `optimizer/_variables/N`, unlinked in the object graph but
 * named `<optimizer>/<slot>/<variable>` (`Adam/m/lstm/lstm_cell/kernel`): link those to their variable.
 */
function linkNamedSlots(keys: Map<string, KeyInfo>): void {
  const byVariable = new Map<string, string>();
  for (const [key, info] of keys) if (!info.trainingState) byVariable.set(info.variable, key);
  for (const [key, info] of keys) {
    if (!info.trainingState || info.slotOf || !info.path.startsWith('optimizer/')) continue;
    const parts = info.variable.split('/');
    for (let i = 1; i < parts.length - 1; i++) {
      const original = byVariable.get(parts.slice(i + 1).join('/'));
      if (original) {
        keys.set(key, { ...info, slotOf: { key: original, slot: parts[i]! } });
        break;
      }
    }
  }
}

/** `<var>/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE` -> `<var>/.ATTRIBUTES/VARIABLE_VALUE`, m. */
function slotFromKey(key: string): { key: string; slot: string } | undefined {
  const at = key.indexOf(SLOT_MARK);
  if (at < 0) return undefined;
  const slot = key.slice(at + SLOT_MARK.length).replace(VALUE_SUFFIX, '').split('/').pop() ?? 'slot';
  return { key: `${key.slice(0, at)}${VALUE_SUFFIX}`, slot };
}

/** Layer (owner candidates, innermost first) and role of a variable name such as `lstm/lstm_cell/kernel`. */
function ownersAndRole(variable: string): { owners: string[]; role: string } {
  const parts = variable.split('/');
  const last = parts.pop()!;
  if (parts.length === 0) return { owners: [variable], role: tf1Role(last) };
  return { owners: [...parts].reverse(), role: tf1Role(kerasRole(last, parts[parts.length - 1]!)) };
}

/** TF1 / slim spellings of roles. */
function tf1Role(name: string): string {
  return ({ weights: 'kernel', biases: 'bias', W: 'kernel', b: 'bias' } as Record<string, string>)[name] ?? name;
}

/** Whether a name alone gives no role: then a float 2-D to 5-D variable is taken as a kernel (TF1 `Wconv1`, `Variable_2`). */
function knownRole(role: string): boolean {
  return ['kernel', 'bias', 'gamma', 'beta', 'moving_mean', 'moving_variance', 'depthwise_kernel', 'pointwise_kernel', 'recurrent_kernel', 'embeddings'].includes(role);
}

function storedWeight(bundle: TensorBundle, t: BundleTensor, name: string, owners: string[], role: string): StoredWeight {
  if (t.dtype === 'string') throw new ModelFormatError(`${bundle.name}: tensor '${t.key}' holds strings, not weights.`);
  return { name, role, owners, shape: t.shape, dtype: t.dtype, read: () => bundle.read(t) };
}

function stateWeight(bundle: TensorBundle, t: BundleTensor, info: KeyInfo, layerOf: (key: string) => string | undefined): Weight {
  const dtype = t.dtype === 'string' ? 'uint8' : t.dtype;
  const axes = genericAxes(t.shape.length);
  const name = info.slotOf ? info.variable : info.path;
  return {
    name,
    role: info.slotOf?.slot ?? name.split('/').pop()!,
    shape: t.shape,
    axes,
    dtype,
    layer: (info.slotOf && layerOf(info.slotOf.key)) ?? name.split('/')[0]!,
    read: async () => new NamedTensor(axes, t.shape, await bundle.read(t)),
  };
}

interface BundleModelInfo {
  readonly source: string;
  readonly format: 'tf-savedmodel' | 'tf-checkpoint';
  readonly arch: KerasArchitecture | undefined;
  readonly version?: string;
  readonly metadata: Record<string, string>;
  readonly notes: Note[];
}

/** The Model of a bundle: weights grouped into layers (Keras names where known), training state apart. */
async function bundleModel(bundle: TensorBundle, info: BundleModelInfo): Promise<Model> {
  const { keys, objectGraph } = await describeKeys(bundle);
  const byOwner = new Map<string, StoredWeight[]>();
  const layerOfKey = new Map<string, string>();
  const state: BundleTensor[] = [];
  let assumedKernels = false;
  for (const t of bundle.tensors) {
    if (t.key === OBJECT_GRAPH_KEY) continue;
    const k = keys.get(t.key)!;
    if (k.trainingState || t.dtype === 'string') {
      state.push(t);
      continue;
    }
    const { owners, role: named } = ownersAndRole(k.variable);
    const float = ['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype);
    const role = !objectGraph && !knownRole(named) && float && t.shape.length >= 2 && t.shape.length <= 5 ? 'kernel' : named;
    if (role !== named) assumedKernels = true;
    // A bare role as the variable's name (Keras 3 `model.export()` keys `variables/N` name variables
    // `kernel`, `bias`): the object-graph path keeps each variable apart instead of one layer 'kernel'.
    const bareRole = objectGraph && !k.variable.includes('/') && knownRole(k.variable) && k.path !== k.variable;
    const owner = bareRole ? [k.path] : owners.length > 1 || role !== named || k.variable.includes('/') ? owners : [k.variable];
    const weight = storedWeight(bundle, t, k.variable, owner, role);
    const group = owner[owner.length - 1]!;
    byOwner.set(group, [...(byOwner.get(group) ?? []), weight]);
  }
  const stored: StoredLayer[] = [...byOwner].map(([name, weights]) => ({ name, weights }));
  const layers = buildKerasLayers(info.source, stored, info.arch);
  for (const layer of layers) for (const w of layer.weights) layerOfKey.set(keyOfVariable(keys, w.name) ?? w.name, layer.name);
  const trainingState = state.map((t) => stateWeight(bundle, t, keys.get(t.key) ?? { variable: t.key, path: t.key, trainingState: true }, (key) => layerOfKey.get(key)));
  const keras = info.arch !== undefined || [...keys.values()].some((k) => /^(layer_with_weights-|layer-|keras_api\/)/.test(k.path));
  const notes = [...info.notes];
  if (!info.arch) notes.push(assumedLayoutNote(keras ? 'keras' : 'tensorflow', assumedKernels));
  if (bundle.partitioned.length > 0) {
    notes.push({ text: `Partitioned variables are listed by TensorFlow in slices, which convscope does not read: ${bundle.partitioned.slice(0, 8).join(', ')}${bundle.partitioned.length > 8 ? ', ...' : ''}.` });
  }
  const framework: Framework = keras ? 'keras' : 'tensorflow';
  return {
    format: info.format,
    framework,
    ...(info.version ? { frameworkVersion: info.version } : {}),
    source: info.source,
    layers,
    ...(trainingState.length > 0 ? { trainingState } : {}),
    ...(info.arch ? { config: info.arch.json } : {}),
    metadata: { ...info.metadata, bundle_shards: String(bundle.numShards) },
    ...(notes.length > 0 ? { notes } : {}),
    close: () => undefined,
  };
}

function keyOfVariable(keys: Map<string, KeyInfo>, variable: string): string | undefined {
  for (const [key, info] of keys) if (info.variable === variable && !info.slotOf) return key;
  return undefined;
}

/** A file of the model's folder, or undefined when it does not exist (a file outside the folder is still refused). */
async function optionalSibling(source: ByteSource, name: string, what: string): Promise<ByteSource | undefined> {
  try {
    return await source.sibling(name, what);
  } catch (e) {
    if (e instanceof ConvscopeError && !(e instanceof ContainmentError)) return undefined;
    throw e;
  }
}

/** Keras' SavedModel JSON encoder writes tuples and shapes as `{ class_name: '__tuple__', items }`. */
function untuple(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const v = value as { class_name?: unknown; items?: unknown };
    if ((v.class_name === '__tuple__' || v.class_name === 'TensorShape') && Array.isArray(v.items)) return v.items;
  }
  return value;
}

/** The Keras architecture JSON stored as a SavedObject's metadata string (the root model's). */
function kerasArchFromMetadata(metadata: string, where: string): KerasArchitecture | undefined {
  const json = parseJson(metadata, `${where}: the Keras metadata of the root object`, untuple);
  if (typeof json !== 'object' || json === null || !('config' in json || 'model_config' in json)) return undefined;
  return parseKerasArchitecture(json, where);
}

interface SavedModelParts {
  readonly metaInfo?: MetaInfoDef;
  /** The root object's Keras metadata (Keras before 2.5 kept the architecture here). */
  readonly rootMetadata?: string;
}

/** Reads MetaInfoDef and the root object's metadata from a MetaGraphDef at [start, end), skipping the GraphDef. */
async function readMetaGraph(source: ByteSource, start: number, end: number): Promise<SavedModelParts> {
  const fields = await listFields(source, start, end, 'the MetaGraphDef');
  const info = fields.find((f) => f.field === META_GRAPH_FIELDS.metaInfoDef && f.wire === 2);
  const objects = fields.find((f) => f.field === META_GRAPH_FIELDS.objectGraphDef && f.wire === 2);
  const metaInfo = info ? decodeMessage<MetaInfoDef>(MetaInfoType, await source.read(info.offset, info.length), source.name, 'the MetaInfoDef') : undefined;
  let rootMetadata: string | undefined;
  if (objects) {
    const nodes = await listFields(source, objects.offset, objects.offset + objects.length, 'the SavedObjectGraph');
    const root = nodes.find((f) => f.field === 1 && f.wire === 2);
    if (root) {
      const graph = decodeMessage<SavedObjectGraph>(SavedObjectGraphType, await readFields(source, [root]), source.name, 'the root SavedObject');
      const user = graph.nodes[0]?.user_object;
      if (user && user.identifier.startsWith('_tf_keras') && user.metadata) rootMetadata = user.metadata;
    }
  }
  return { ...(metaInfo ? { metaInfo } : {}), ...(rootMetadata ? { rootMetadata } : {}) };
}

function versionMetadata(metaInfo: MetaInfoDef | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (metaInfo?.tensorflow_version) out.tensorflow_version = metaInfo.tensorflow_version;
  if (metaInfo?.tags.length) out.tags = metaInfo.tags.join(',');
  return out;
}

async function userArchitecture(options: OpenOptions): Promise<KerasArchitecture | undefined> {
  const json = await resolveConfig(options.config);
  return json === undefined ? undefined : parseKerasArchitecture(json, 'the architecture JSON');
}

/** `saved_model.pb` starts with schema version 1 (field 1) and a MetaGraphDef (field 2) whose first field is one of its messages (1 to 9). */
function looksLikeSavedModel(head: Uint8Array): boolean {
  if (head[0] !== 0x08 || head[1] !== 0x01 || head[2] !== 0x12) return false;
  let p = 3;
  while (p < head.length && p < 8 && head[p]! & 0x80) p++;
  const tag = head[p + 1];
  return tag !== undefined && (tag & 7) === 2 && tag >> 3 >= 1 && tag >> 3 <= 9;
}

export const tfSavedModelReader: FormatReader = {
  ...TF_SAVEDMODEL_NAMES,
  sniff: ({ head }) => looksLikeSavedModel(head),
  async open(source: ByteSource, options: OpenOptions): Promise<Model> {
    const top = await listFields(source, 0, source.size, 'saved_model.pb');
    const graphs = top.filter((f) => f.field === SAVED_MODEL_FIELDS.metaGraphs && f.wire === 2);
    if (graphs.length === 0) throw new ModelFormatError(`${source.name} is a SavedModel without a MetaGraphDef.`);
    const parts = await readMetaGraph(source, graphs[0]!.offset, graphs[0]!.offset + graphs[0]!.length);
    const metadata = versionMetadata(parts.metaInfo);
    let arch: KerasArchitecture | undefined;
    const kerasMeta = await optionalSibling(source, 'keras_metadata.pb', 'its Keras metadata');
    if (kerasMeta) {
      const saved = decodeMessage<KerasSavedMetadata>(KerasMetadataType, await kerasMeta.read(0, kerasMeta.size), kerasMeta.name, 'keras_metadata.pb');
      const root = saved.nodes.find((n) => n.node_path === 'root');
      if (root?.metadata) arch = kerasArchFromMetadata(root.metadata, `${kerasMeta.name} (root)`);
    } else if (parts.rootMetadata) {
      arch = kerasArchFromMetadata(parts.rootMetadata, `${source.name} (root object metadata)`);
    }
    arch ??= await userArchitecture(options);
    if (arch?.kerasVersion) metadata.keras_version = arch.kerasVersion;
    const index = await optionalSibling(source, 'variables/variables.index', 'its variables index');
    const notes: Note[] = [];
    if (!index) {
      notes.push({ text: 'This SavedModel has no variables/variables.index: its weights are frozen into the graph as constants, which convscope does not read.' });
      return {
        format: 'tf-savedmodel',
        framework: arch ? 'keras' : 'tensorflow',
        ...(metadata.tensorflow_version ? { frameworkVersion: metadata.tensorflow_version } : {}),
        source: source.name,
        layers: [],
        ...(arch ? { config: arch.json } : {}),
        metadata,
        notes,
        close: () => undefined,
      };
    }
    const bundle = await openBundle(index, source, 'variables/variables', resolveLimits(options.limits));
    const version = arch?.kerasVersion ?? metadata.tensorflow_version;
    return bundleModel(bundle, { source: source.name, format: 'tf-savedmodel', arch, ...(version ? { version } : {}), metadata, notes });
  },
};

/** The `checkpoint` state file: `model_checkpoint_path: "model.ckpt-1000"` (protobuf text format). */
function latestCheckpoint(text: string): string | undefined {
  const m = /^\s*model_checkpoint_path:\s*"((?:[^"\\]|\\.)*)"/m.exec(text);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : undefined;
}

/** A checkpoint's `.meta` (MetaGraphDef, TF1 Saver): its MetaInfoDef, for the TensorFlow version. */
async function checkpointMeta(folder: ByteSource, prefix: string): Promise<MetaInfoDef | undefined> {
  const meta = await optionalSibling(folder, `${prefix}.meta`, 'its MetaGraphDef');
  if (!meta) return undefined;
  return (await readMetaGraph(meta, 0, meta.size)).metaInfo;
}

/** Opens the checkpoint `<prefix>.index`; `folder` is the file the user opened (the index or the `checkpoint` file). */
async function openCheckpointIndex(index: ByteSource, folder: ByteSource, prefix: string, options: OpenOptions): Promise<Model> {
  const bundle = await openBundle(index, folder, prefix, resolveLimits(options.limits));
  const metadata = versionMetadata(await checkpointMeta(folder, prefix));
  const arch = await userArchitecture(options);
  const version = arch?.kerasVersion ?? metadata.tensorflow_version;
  return bundleModel(bundle, { source: index.name, format: 'tf-checkpoint', arch, ...(version ? { version } : {}), metadata, notes: [] });
}

export const tfCheckpointReader: FormatReader = {
  ...TF_CHECKPOINT_NAMES,
  async sniff({ source, head }) {
    if (latestCheckpoint(new TextDecoder().decode(head)) !== undefined) return true;
    return isTable(source);
  },
  async open(source: ByteSource, options: OpenOptions): Promise<Model> {
    if (await isTable(source)) return openCheckpointIndex(source, source, baseName(source.name).replace(/\.index$/, ''), options);
    const text = new TextDecoder().decode(await source.read(0, Math.min(source.size, 1 << 20)));
    const prefix = baseName(latestCheckpoint(text)!);
    const index = await source.sibling(`${prefix}.index`, 'the index of its latest checkpoint');
    return openCheckpointIndex(index, source, prefix, options);
  },
};
