import { openHdf5, type Hdf5File } from '../io/hdf5.js';
import { resolveLimits } from '../io/limits.js';
import { parseJson, type ByteSource } from '../io/source.js';
import { ModelFormatError } from '../model/errors.js';
import type { Model, Note } from '../model/model.js';
import { parseKerasArchitecture, type KerasArchitecture } from './keras-config.js';
import { openKeras3Weights } from './keras-v3.js';
import { buildKerasLayers, kerasRole, assumedLayoutNote, ownersFromPath, type StoredLayer } from './keras-weights.js';
import { resolveConfig, type FormatReader, type OpenOptions } from './reader.js';

/**
 * Keras HDF5 files, told apart by content:
 * - full models from `model.save('x.h5')` (a `model_weights` group and a `model_config` attribute):
 *   Keras 1.x (`convolution2d_1_W:0` directly under the layer group), Keras 2 / tf.keras
 *   (`model_weights/<layer>/<layer>/kernel:0`), Theano-backend files (no `:0`) and Keras 3 legacy h5
 *   (`model_weights/<layer>/<model>/<layer>/kernel`, `top_level_model_weights`);
 * - Keras 1/2 `save_weights` files (layer groups at the root, `layer_names` on the root);
 * - Keras 3 `.weights.h5` (a `layers` group; see keras-v3.ts).
 * Weights are always found through the `layer_names` and `weight_names` attributes, never by guessing
 * paths: the dataset of weight `w` of layer `l` is `<root>/<l>/<w>`.
 */

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function signatureAt(bytes: Uint8Array, at: number): boolean {
  return SIGNATURE.every((b, i) => bytes[at + i] === b);
}

/** HDF5's signature sits at offset 0, 512, 1024, 2048, ... (after an optional user block). */
export async function isHdf5(source: ByteSource, head: Uint8Array): Promise<boolean> {
  for (let at = 0; at + 8 <= source.size; at = at === 0 ? 512 : at * 2) {
    const bytes = at + 8 <= head.length ? head.subarray(at, at + 8) : await source.read(at, 8);
    if (signatureAt(bytes, 0)) return true;
  }
  return false;
}

/** Tensors listed by `layer_names` / `weight_names` under `root` ('' for the file root). */
function storedLayers(file: Hdf5File, root: string): StoredLayer[] {
  const names = file.stringListAttr(root, 'layer_names');
  if (!names) throw new ModelFormatError(`${file.name}: '${root || '/'}' has no 'layer_names' attribute, so its weights cannot be listed.`);
  const extra = file.kind(join(root, 'top_level_model_weights')) === 'group' && !names.includes('top_level_model_weights');
  return [...names, ...(extra ? ['top_level_model_weights'] : [])].map((layer) => {
    const group = join(root, layer);
    if (file.kind(group) !== 'group') {
      throw new ModelFormatError(`${file.name} lists layer '${layer}' in layer_names, but has no group '${group}'.`);
    }
    const weightNames = file.stringListAttr(group, 'weight_names') ?? [];
    const weights = weightNames.map((weightName) => {
      const dataset = file.dataset(join(group, weightName), `weight '${weightName}' of layer '${layer}'`);
      return {
        name: weightName,
        role: kerasRole(weightName, layer),
        owners: ownersFromPath(weightName, layer),
        shape: dataset.shape,
        dtype: dataset.dtype,
        read: async () => file.read(dataset),
        readRows: async (start: number, count: number) => file.read(dataset, { start, count }),
      };
    });
    return { name: layer, weights };
  });
}

function join(root: string, name: string): string {
  return root ? `${root}/${name}` : name;
}

function parseModelConfig(file: Hdf5File): KerasArchitecture | undefined {
  const text = file.stringAttr('', 'model_config');
  if (text === undefined) return undefined;
  const json = parseJson(text, `${file.name}: the model_config attribute`);
  return parseKerasArchitecture(json, `${file.name} (model_config)`);
}

async function userArchitecture(options: OpenOptions): Promise<KerasArchitecture | undefined> {
  const json = await resolveConfig(options.config);
  if (json === undefined) return undefined;
  const where = typeof options.config === 'object' && options.config !== null && 'name' in options.config ? String(options.config.name) : 'the architecture JSON';
  return parseKerasArchitecture(json, where);
}

function theanoNote(backend: string | undefined): Note[] {
  return backend === 'theano'
    ? [{ text: 'Written with the Theano backend: Theano-backend convolution kernels are spatially flipped (rotated 180 degrees) relative to TensorFlow; values are shown as stored.' }]
    : [];
}

function kerasH5Model(file: Hdf5File, options: { arch: KerasArchitecture | undefined; weightsOnly: boolean }): Model {
  const root = file.kind('model_weights') === 'group' ? 'model_weights' : '';
  const version = file.stringAttr('', 'keras_version') ?? (root ? file.stringAttr(root, 'keras_version') : undefined) ?? options.arch?.kerasVersion;
  const backend = file.stringAttr('', 'backend') ?? (root ? file.stringAttr(root, 'backend') : undefined) ?? options.arch?.backend;
  const layers = buildKerasLayers(file.name, storedLayers(file, root), options.arch);
  const notes = [...theanoNote(backend), ...(options.arch ? [] : [assumedLayoutNote()])];
  return {
    format: options.weightsOnly ? 'keras-weights-h5' : 'keras-h5',
    framework: 'keras',
    ...(version ? { frameworkVersion: version } : {}),
    source: file.name,
    layers,
    ...(options.arch ? { config: options.arch.json } : {}),
    ...(backend ? { metadata: { backend } } : {}),
    ...(notes.length > 0 ? { notes } : {}),
    close: () => file.close(),
  };
}

export const kerasH5Reader: FormatReader = {
  id: 'keras-h5',
  description: 'Keras HDF5 (.h5 full model, save_weights .h5, Keras 3 .weights.h5)',
  sniff: ({ source, head }) => isHdf5(source, head),
  async open(source: ByteSource, options: OpenOptions): Promise<Model> {
    const file = await openHdf5(source, resolveLimits(options.limits));
    try {
      if (file.kind('model_weights') === 'group' || file.attrNames('').includes('model_config')) {
        const arch = parseModelConfig(file) ?? (await userArchitecture(options));
        return kerasH5Model(file, { arch, weightsOnly: false });
      }
      if (file.stringListAttr('', 'layer_names')) {
        return kerasH5Model(file, { arch: await userArchitecture(options), weightsOnly: true });
      }
      if (file.kind('layers') === 'group') {
        return openKeras3Weights(file, await userArchitecture(options), { format: 'keras-weights-h5' });
      }
      throw new ModelFormatError(
        `${source.name} is an HDF5 file, but not a Keras model or weights file: it has no 'model_weights' group, 'layer_names' attribute or 'layers' group.`,
      );
    } catch (e) {
      file.close();
      throw e;
    }
  },
};
