import * as tfl from '@tensorflow/tfjs-layers';
import { UnsupportedError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { openArchitecture, openModel } from '../formats/open.js';
import { initBackend, tf } from './backend.js';
import { buildModel } from './build.js';
import { tfjsActivationNames, toTfjsLayer, toTfjsTopology, type TfjsLayerJson } from './keras-to-tfjs.js';

/** What `convscope train` fits, with notes for the user about how it was built. */
export interface Trainable {
  readonly model: tfl.LayersModel;
  readonly notes: readonly string[];
}

/** tfjs-layers' own classes (the training build uses them, with their initialisers, regularisers and dropout). */
function tfjsClass(name: string): boolean {
  return name in tf.serialization.SerializationMap.getMap().classNameMap;
}

/**
 * The training build of a model's call graph (model/graph.ts): tfjs-layers' own classes with each
 * layer's stored initialisers, regularisers, constraints and dropout. Undefined, with the reason, when
 * tfjs-layers cannot build it (a class it lacks, a Lambda layer).
 */
async function trainingNetwork(model: Model, source: string): Promise<{ net?: tfl.LayersModel; error?: string }> {
  await initBackend();
  try {
    const graph = model.callGraph?.();
    if (!graph) return { error: 'the file holds no architecture' };
    const layers = new Map<string, TfjsLayerJson>();
    for (const leaf of graph.layers) {
      const json = toTfjsLayer(leaf, tfjsClass, source, {}, { training: true });
      layers.set(leaf.name, { class_name: json.class_name, config: tfjsActivationNames(json.config) });
    }
    return { net: await tfl.models.modelFromJSON(toTfjsTopology(graph, layers) as never) };
  } catch (e) {
    return { error: String((e as Error).message).split('\n')[0]!.replace(/\.?\s*$/, '') };
  }
}

/**
 * The network `convscope train` fits, built from the model's one parsed call graph. From an
 * architecture JSON: fresh weights from the layers' initialisers. From a Keras / TF.js model file:
 * its weights, copied by layer name into the training build; when tfjs-layers cannot build that (a
 * class only convscope provides), convscope's inference build is trained instead and a note says
 * what differs.
 */
export async function loadTrainable(path: string, options: { config?: string } = {}): Promise<Trainable> {
  const architecture = await openArchitecture(path);
  const model: Model = architecture ?? (await openModel(path, options.config ? { config: options.config } : {}));
  try {
    const { net, error } = await trainingNetwork(model, path);
    if (!model.layers.some((l) => l.weights.length > 0)) {
      if (!net) throw new UnsupportedError(`${path}: TensorFlow.js cannot build this architecture for training: ${error}.`);
      return { model: net, notes: architecture ? [] : [`${path} stores no weights; training starts from the layers' initialisers.`] };
    }
    const runnable = await buildModel(model);
    if (!net) {
      return {
        model: runnable.net,
        notes: [`TensorFlow.js cannot build ${path}'s architecture for training (${error}), so convscope trains its inference build: dropout-like layers are identities and regularisers are off.`],
      };
    }
    for (const layer of net.layers) if (layer.weights.length > 0) layer.setWeights(runnable.net.getLayer(layer.name).getWeights());
    runnable.dispose();
    return { model: net, notes: [] };
  } finally {
    model.close();
  }
}
