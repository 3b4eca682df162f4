import { readFile } from 'node:fs/promises';
import * as tfl from '@tensorflow/tfjs-layers';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { openModel } from '../formats/open.js';
import { buildModel } from './build.js';

/** What `convscope train` fits, with notes for the user about how it was built. */
export interface Trainable {
  readonly model: tfl.LayersModel;
  readonly notes: readonly string[];
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A parsed JSON file that is a bare architecture (Keras `model.to_json()`), not a TF.js model.json. */
async function readArchitecture(path: string): Promise<Json | undefined> {
  if (!path.toLowerCase().endsWith('.json')) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    if (e instanceof SyntaxError) throw new ModelFormatError(`${path} expects JSON, but it does not parse: ${e.message}.`);
    return undefined;
  }
  return isObject(json) && 'class_name' in json && !('modelTopology' in json) ? json : undefined;
}

/** The Keras `{ class_name, config }` inside a stored architecture (TF.js topologies may wrap it in model_config). */
function kerasModelJson(config: unknown): Json | undefined {
  const outer = isObject(config) && isObject(config.modelTopology) ? config.modelTopology : config;
  const inner = isObject(outer) && isObject(outer.model_config) ? outer.model_config : outer;
  return isObject(inner) && typeof inner.class_name === 'string' ? inner : undefined;
}

/**
 * tfjs-layers' own reading of a Keras 2 / TF.js architecture: the layers' initialisers,
 * dropout and regularisers kept, as training needs them. Undefined when tfjs cannot read it.
 */
async function trainingNetwork(config: unknown): Promise<{ net?: tfl.LayersModel; error?: string }> {
  const json = kerasModelJson(config);
  if (!json) return { error: 'the architecture has no Keras model class_name' };
  try {
    return { net: await tfl.models.modelFromJSON(structuredClone(json) as never) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * The network `convscope train` fits. From an architecture JSON: fresh weights from the layers'
 * initialisers. From a Keras / TF.js model file: its weights, copied by layer name into tfjs'
 * training build of the architecture; when tfjs cannot read that architecture itself (Keras 3
 * configs), convscope's inference build is trained instead and a note says what differs.
 */
export async function loadTrainable(path: string, options: { config?: string } = {}): Promise<Trainable> {
  const architecture = await readArchitecture(path);
  if (architecture) {
    const { net, error } = await trainingNetwork(architecture);
    if (!net) throw new UnsupportedError(`${path}: TensorFlow.js cannot build this architecture for training: ${error}`);
    return { model: net, notes: [] };
  }
  const model: Model = await openModel(path, options.config ? { config: options.config } : {});
  try {
    const { net, error } = await trainingNetwork(model.config);
    if (!model.layers.some((l) => l.weights.length > 0)) {
      if (!net) throw new UnsupportedError(`${path}: TensorFlow.js cannot build this architecture for training: ${error}`);
      return { model: net, notes: [`${path} stores no weights; training starts from the layers' initialisers.`] };
    }
    const runnable = await buildModel(model);
    if (!net) {
      return {
        model: runnable.net,
        notes: [`TensorFlow.js cannot read ${path}'s architecture itself (${error}), so convscope trains its inference build: dropout-like layers are identities and regularisers are off.`],
      };
    }
    for (const layer of leafLayers(net)) if (layer.weights.length > 0) layer.setWeights(runnable.net.getLayer(layer.name).getWeights());
    runnable.dispose();
    return { model: net, notes: [] };
  } finally {
    model.close();
  }
}

function leafLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.flatMap((l) => (l instanceof tfl.LayersModel ? leafLayers(l) : [l]));
}
