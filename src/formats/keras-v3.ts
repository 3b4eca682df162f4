import { openHdf5, type Hdf5File } from '../io/hdf5.js';
import { bytesSource, checkRange, parseJson, type ByteSource } from '../io/source.js';
import { resolveLimits, type ReadLimits } from '../io/limits.js';
import { isZip, openZip, type ZipArchive, type ZipEntry } from '../io/zip.js';
import { kerasLayerKind } from '../model/axes.js';
import { ModelFormatError } from '../model/errors.js';
import type { FormatId, Model } from '../model/model.js';
import {
  isKerasContainer,
  kerasSnakeCase,
  parseKerasArchitecture,
  type KerasArchitecture,
  type KerasContainer,
  type KerasLayerSpec,
} from './keras-config.js';
import { buildKerasLayers, assumedLayoutNote, type StoredLayer } from './keras-weights.js';
import type { FormatReader, OpenOptions } from './reader.js';

/**
 * Keras 3 weights: the `.keras` zip (config.json, metadata.json, model.weights.h5) and standalone
 * `.weights.h5` files. In those HDF5 files a layer's variables are `layers/<class_snake>[_N]/vars/<i>`
 * (nested models: `layers/functional/layers/...`; sub-objects such as an RNN cell add
 * `layers/lstm/cell/vars/<i>`). Groups are named after classes, not layers, so each group is matched
 * to its layer by the `name` attribute of its `vars` group where present, otherwise by class and
 * position (the k-th Conv2D of a model is `conv2d_k`). Roles follow the variable order of each class.
 */

/** A `layers/<group>` entry of a Keras 3 weights file. */
interface VarsGroup {
  readonly path: string;
  readonly groupName: string;
  /** The layer name stored on the `vars` group by recent Keras 3 versions. */
  readonly layerName?: string;
  /** Dataset paths of the layer's variables, in variable order. */
  readonly vars: readonly string[];
  readonly children: readonly VarsGroup[];
}

function numericOrder(a: string, b: string): number {
  return Number(a) - Number(b) || a.localeCompare(b);
}

/** Variables of the object at `path`: its `vars/<i>`, then those of sub-objects (not nested layers). */
function collectVars(file: Hdf5File, path: string): string[] {
  const out: string[] = [];
  for (const key of file.keys(path)) {
    const child = `${path}/${key}`;
    if (key === 'vars') {
      out.push(...file.keys(child).filter((k) => file.kind(`${child}/${k}`) === 'dataset').sort(numericOrder).map((k) => `${child}/${k}`));
    }
  }
  for (const key of file.keys(path)) {
    if (key !== 'vars' && key !== 'layers' && file.kind(`${path}/${key}`) === 'group') out.push(...collectVars(file, `${path}/${key}`));
  }
  return out;
}

function walk(file: Hdf5File, path: string): VarsGroup[] {
  const layersPath = path ? `${path}/layers` : 'layers';
  if (file.kind(layersPath) !== 'group') return [];
  return file.keys(layersPath).map((key) => {
    const groupPath = `${layersPath}/${key}`;
    const hasVars = file.kind(`${groupPath}/vars`) === 'group';
    const layerName = hasVars ? file.stringAttr(`${groupPath}/vars`, 'name') : undefined;
    return {
      path: groupPath,
      groupName: key,
      ...(layerName ? { layerName } : {}),
      vars: collectVars(file, groupPath),
      children: walk(file, groupPath),
    };
  });
}

/** Variable roles of a Keras 3 layer, in the order the layer creates them. */
export function keras3Roles(spec: KerasLayerSpec, count: number): string[] {
  const c = spec.config;
  const withBias = c.use_bias === false ? [] : ['bias'];
  let roles: string[];
  switch (kerasLayerKind(spec.className)) {
    case 'conv':
    case 'conv_transpose':
    case 'dense':
      roles = ['kernel', ...withBias];
      break;
    case 'depthwise_conv':
      roles = ['depthwise_kernel', ...withBias];
      break;
    case 'separable_conv':
      roles = ['depthwise_kernel', 'pointwise_kernel', ...withBias];
      break;
    case 'batch_norm':
      roles = [...(c.scale === false ? [] : ['gamma']), ...(c.center === false ? [] : ['beta']), 'moving_mean', 'moving_variance'];
      break;
    default:
      roles = OTHER_ROLES[spec.className] ?? [];
  }
  return Array.from({ length: count }, (_, i) => roles[i] ?? `vars/${i}`);
}

const OTHER_ROLES: Record<string, string[]> = {
  LayerNormalization: ['gamma', 'beta'],
  Embedding: ['embeddings'],
  PReLU: ['alpha'],
  LSTM: ['kernel', 'recurrent_kernel', 'bias'],
  GRU: ['kernel', 'recurrent_kernel', 'bias'],
  SimpleRNN: ['kernel', 'recurrent_kernel', 'bias'],
};

/** Matches groups to the layers of `container` by class snake name and position (k-th Conv2D -> conv2d_k). */
function matchByPosition(container: KerasContainer, groups: readonly VarsGroup[], out: Map<VarsGroup, KerasLayerSpec>): void {
  const counts = new Map<string, number>();
  const byGroupName = new Map(groups.map((g) => [g.groupName, g]));
  const taken = new Set(out.values());
  for (const child of container.children) {
    if (child.className === 'InputLayer') continue;
    const snake = kerasSnakeCase(isKerasContainer(child.className) && child.className !== 'Sequential' ? 'Functional' : child.className);
    const k = counts.get(snake) ?? 0;
    counts.set(snake, k + 1);
    const group = byGroupName.get(k === 0 ? snake : `${snake}_${k}`);
    if (!group) continue;
    if (child.kind === 'container') matchByPosition(child, group.children, out);
    else if (!out.has(group) && !taken.has(child)) out.set(group, child);
  }
}

function flatten(groups: readonly VarsGroup[]): VarsGroup[] {
  return groups.flatMap((g) => [g, ...flatten(g.children)]);
}

/** Layers of a Keras 3 weights file (`.weights.h5`, or `model.weights.h5` inside a `.keras`). */
export function openKeras3Weights(
  file: Hdf5File,
  arch: KerasArchitecture | undefined,
  info: { format: FormatId; source?: string; version?: string; metadata?: Record<string, string> },
): Model {
  const groups = walk(file, '');
  const byName = new Map((arch?.layers ?? []).map((l) => [l.name, l]));
  const matched = new Map<VarsGroup, KerasLayerSpec>();
  for (const g of flatten(groups)) {
    const spec = g.layerName ? byName.get(g.layerName) : undefined;
    if (spec) matched.set(g, spec);
  }
  if (arch) matchByPosition(arch.root, groups, matched);
  const stored: StoredLayer[] = flatten(groups)
    .filter((g) => g.vars.length > 0)
    .map((g) => {
      const spec = matched.get(g);
      const label = spec?.name ?? g.layerName ?? g.path.replace(/^layers\//, '').replace(/\/layers\//g, '/');
      const roles = spec ? keras3Roles(spec, g.vars.length) : g.vars.map((v) => v.slice(g.path.length + 1));
      return {
        name: label,
        weights: g.vars.map((path, i) => {
          const dataset = file.dataset(path, `variable ${i} of layer '${label}'`);
          return {
            name: path,
            role: roles[i]!,
            owners: [label],
            shape: dataset.shape,
            dtype: dataset.dtype,
            read: async () => file.read(dataset),
            readRows: async (start: number, count: number) => file.read(dataset, { start, count }),
          };
        }),
      };
    });
  const notes = arch ? [] : [assumedLayoutNote()];
  return {
    format: info.format,
    framework: 'keras',
    ...(info.version ? { frameworkVersion: info.version } : {}),
    source: info.source ?? file.name,
    layers: buildKerasLayers(file.name, stored, arch),
    ...(arch ? { config: arch.json } : {}),
    ...(info.metadata ? { metadata: info.metadata } : {}),
    ...(notes.length > 0 ? { notes } : {}),
    close: () => file.close(),
  };
}

/** Entries whose presence marks a zip as a PyTorch checkpoint (another reader's format). */
function isTorchZip(zip: ZipArchive): boolean {
  return [...zip.entries.keys()].some((n) => /(^|\/)data\.pkl$/.test(n));
}

/** A stored (uncompressed) zip entry as a source of its own, read in place; deflated entries are inflated. */
async function entrySource(zip: ZipArchive, entry: ZipEntry, limits: ReadLimits): Promise<ByteSource> {
  const name = `${zip.source.name} (${entry.name})`;
  if (entry.method !== 0) return bytesSource(name, await zip.read(entry, limits));
  const start = await zip.dataOffset(entry);
  return {
    name,
    size: entry.size,
    read(offset, length) {
      checkRange(name, entry.size, offset, length);
      return zip.source.read(start + offset, length);
    },
    sibling: zip.source.sibling.bind(zip.source),
  };
}

async function entryJson(zip: ZipArchive, entryName: string, limits: ReadLimits): Promise<unknown> {
  const entry = zip.entries.get(entryName);
  if (!entry) return undefined;
  return parseJson(new TextDecoder().decode(await zip.read(entry, limits)), `${zip.source.name}: ${entryName}`);
}

/**
 * `.keras` zips. model.weights.h5 is normally stored uncompressed: in Node h5wasm opens files by path,
 * so io/hdf5.ts copies the entry to a temporary file in 8 MiB chunks (deleted on close); in the
 * browser it goes to h5wasm's in-memory file system.
 */
export const kerasV3Reader: FormatReader = {
  id: 'keras-v3',
  description: 'Keras 3 .keras (zip with config.json and model.weights.h5)',
  async sniff({ source, head }) {
    if (!isZip(head)) return false;
    const zip = await openZip(source);
    if (zip.entries.has('config.json')) return true;
    if (isTorchZip(zip)) return false;
    throw new ModelFormatError(`${source.name} is a zip archive but not a Keras .keras file: it has no config.json.`);
  },
  async open(source: ByteSource, options: OpenOptions): Promise<Model> {
    const limits = resolveLimits(options.limits);
    const zip = await openZip(source);
    const config = await entryJson(zip, 'config.json', limits);
    const arch = parseKerasArchitecture(config, `${source.name} (config.json)`);
    const meta = await entryJson(zip, 'metadata.json', limits);
    const metadata: Record<string, string> = {};
    if (typeof meta === 'object' && meta !== null) {
      for (const [k, v] of Object.entries(meta)) if (typeof v === 'string') metadata[k] = v;
    }
    const weightsEntry = zip.entries.get('model.weights.h5');
    if (!weightsEntry) {
      throw new ModelFormatError(`${source.name} is a .keras file without model.weights.h5, so it has no weights to read.`);
    }
    const file = await openHdf5(await entrySource(zip, weightsEntry, limits), limits);
    try {
      return openKeras3Weights(file, arch, {
        format: 'keras-v3',
        source: source.name,
        ...(metadata.keras_version ? { version: metadata.keras_version } : {}),
        metadata,
      });
    } catch (e) {
      file.close();
      throw e;
    }
  },
};
