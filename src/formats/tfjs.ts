import { readAll, readJson, type ByteSource } from '../io/source.js';
import { decodeLittleEndian, DTYPE_BYTES, type DType, type TensorData } from '../model/dtype.js';
import { ConvscopeError, ContainmentError, ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import type { Model } from '../model/model.js';
import { parseKerasArchitecture } from './keras-config.js';
import { openTfjsGraph } from './tfjs-graph.js';
import { buildKerasLayers, type StoredLayer, type StoredWeight } from './keras-weights.js';
import type { FormatReader, OpenOptions } from './reader.js';
import type { TfjsModelJson, TfjsWeightGroupJson, TfjsWeightJson } from './schema/tfjs.js';

/**
 * TensorFlow.js layers models: model.json (Keras topology + weightsManifest) and its binary shards.
 * Each manifest group's shards are one concatenated byte stream; a weight's offset is the running sum
 * of the sizes of the weights before it in the group. Every shard is checked to exist and to be as
 * long as the manifest needs before anything is read; a weight read touches only its own byte range.
 * Quantized weights (uint8 / uint16 affine, float16) are dequantized to float32 on read.
 */

const MAX_SNIFF_PARSE = 64 * 1024 * 1024;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A group's shards as one stream of bytes. */
interface ShardStream {
  readonly shards: readonly ByteSource[];
  read(offset: number, length: number): Promise<Uint8Array>;
}

function shardStream(shards: ByteSource[]): ShardStream {
  return {
    shards,
    async read(offset, length) {
      const out = new Uint8Array(length);
      let start = 0;
      let done = 0;
      for (const shard of shards) {
        const end = start + shard.size;
        if (done < length && offset + done < end && offset + done >= start) {
          const at = offset + done - start;
          const n = Math.min(length - done, shard.size - at);
          out.set(await shard.read(at, n), done);
          done += n;
        }
        start = end;
      }
      return out;
    },
  };
}

const STORED: Record<string, DType> = { float32: 'float32', int32: 'int32', bool: 'bool', float16: 'float16', uint8: 'uint8', uint16: 'uint16' };

function storedDType(where: string, w: TfjsWeightJson): DType {
  const name = w.quantization ? w.quantization.dtype : w.dtype;
  const dtype = Object.hasOwn(STORED, name) ? STORED[name] : undefined;
  if (!dtype) throw new UnsupportedError(`${where}: weight '${w.name}' has dtype '${name}', which convscope cannot read.`);
  return dtype;
}

function checkWeight(where: string, w: unknown): TfjsWeightJson {
  if (!isObject(w) || typeof w.name !== 'string' || typeof w.dtype !== 'string' || !Array.isArray(w.shape) || !w.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
    throw new ModelFormatError(`${where} expects each manifest weight as { name, shape: [non-negative integers], dtype }, but received ${quote(w)}.`);
  }
  const q = w.quantization;
  if (q !== undefined) {
    if (!isObject(q) || !['uint8', 'uint16', 'float16'].includes(q.dtype as string)) {
      throw new UnsupportedError(`${where}: weight '${w.name}' expects quantization dtype uint8, uint16 or float16, but received ${quote(q)}.`);
    }
    if (q.dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number')) {
      throw new ModelFormatError(`${where}: weight '${w.name}' is quantized to ${q.dtype} but has no numeric scale and min.`);
    }
  }
  return w as unknown as TfjsWeightJson;
}

function dequantize(w: TfjsWeightJson, raw: TensorData): TensorData {
  const q = w.quantization;
  if (!q || q.dtype === 'float16') return raw;
  const scale = q.scale!;
  const min = q.min!;
  const out = new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as number) * scale + min;
  return out;
}

async function openShards(source: ByteSource, group: TfjsWeightGroupJson, index: number, needed: number): Promise<ShardStream> {
  if (!Array.isArray(group.paths) || !group.paths.every((p) => typeof p === 'string')) {
    throw new ModelFormatError(`${source.name}: weightsManifest group ${index} expects 'paths' to be a list of file names.`);
  }
  const shards: ByteSource[] = [];
  for (const path of group.paths) {
    try {
      shards.push(await source.sibling(path, 'a weight shard'));
    } catch (e) {
      if (!(e instanceof ConvscopeError) || e instanceof ContainmentError) throw e;
      throw new ModelFormatError(`${source.name} needs weight shard '${path}', which is missing (${e.message.replace(/\.$/, '')}).`);
    }
  }
  const total = shards.reduce((a, s) => a + s.size, 0);
  if (total < needed) {
    const last = group.paths[group.paths.length - 1] ?? '(none)';
    throw new ModelFormatError(
      `${source.name}: weight shard '${last}' is too short: the manifest needs ${needed} bytes from ${group.paths.map((p) => `'${p}'`).join(', ')}, but ${group.paths.length === 1 ? 'it has' : 'they have'} ${total} (${needed - total} missing).`,
    );
  }
  return shardStream(shards);
}

/** One weight of a TF.js manifest: its spec, its stored dtype and a reader of its (dequantized) values. */
export interface ManifestWeight {
  readonly spec: TfjsWeightJson;
  readonly dtype: DType;
  read(): Promise<TensorData>;
}

/**
 * Every weight a TF.js weightsManifest lists (layers and graph models store them alike), in manifest
 * order; each group's shards are checked to exist and to be long enough before anything is read.
 */
export async function manifestWeights(source: ByteSource, manifest: unknown): Promise<ManifestWeight[]> {
  const groups = manifest ?? [];
  if (!Array.isArray(groups)) throw new ModelFormatError(`${source.name} expects weightsManifest to be a list of groups.`);
  const out: ManifestWeight[] = [];
  for (const [index, group] of groups.entries()) {
    if (!isObject(group) || !Array.isArray(group.weights)) {
      throw new ModelFormatError(`${source.name}: weightsManifest group ${index} expects a 'weights' list.`);
    }
    const weights = group.weights.map((w) => checkWeight(source.name, w));
    const sizes = weights.map((w) => w.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[storedDType(source.name, w)]);
    const stream = await openShards(source, group as unknown as TfjsWeightGroupJson, index, sizes.reduce((a, b) => a + b, 0));
    let offset = 0;
    weights.forEach((w, i) => {
      const at = offset;
      const size = sizes[i]!;
      offset += size;
      const dtype = storedDType(source.name, w);
      const count = size / DTYPE_BYTES[dtype];
      out.push({ spec: w, dtype, read: async () => dequantize(w, decodeLittleEndian(await stream.read(at, size), dtype, count)) });
    });
  }
  return out;
}

export function frameworkVersion(json: TfjsModelJson, topology: Record<string, unknown>): string | undefined {
  for (const text of [json.convertedBy, json.generatedBy, topology.keras_version]) {
    const m = typeof text === 'string' ? /(\d+\.\d+(?:\.\d+)?\S*)/.exec(text) : null;
    if (m) return m[1];
  }
  return undefined;
}

function sniffText(head: Uint8Array): string {
  return new TextDecoder().decode(head).trimStart();
}

/** A metadata.json of class names and a package name is small; anything larger is not one. */
const MAX_METADATA_BYTES = 1024 * 1024;

/**
 * What the metadata.json that Teachable Machine writes beside model.json says, as model metadata: the
 * package that trained the model (which decides its input scaling, compute/default-preprocessing.ts)
 * and the class labels. A missing, unreadable or refused (containment) file says nothing.
 */
async function besideMetadata(source: ByteSource): Promise<Record<string, string>> {
  if (!/(^|[\\/])model\.json$/.test(source.name)) return {};
  let json: unknown;
  try {
    const file = await source.sibling('metadata.json', 'the metadata file');
    if (file.size > MAX_METADATA_BYTES) return {};
    json = JSON.parse(new TextDecoder().decode(await readAll(file)));
  } catch (e) {
    if (e instanceof ConvscopeError || e instanceof SyntaxError) return {};
    throw e;
  }
  if (!isObject(json)) return {};
  const out: Record<string, string> = {};
  for (const key of ['packageName', 'packageVersion', 'tmVersion'] as const) if (typeof json[key] === 'string') out[key] = json[key];
  if (Array.isArray(json.labels) && json.labels.every((l) => typeof l === 'string')) out.labels = JSON.stringify(json.labels);
  return out;
}

export const tfjsReader: FormatReader = {
  id: 'tfjs-layers',
  description: 'TensorFlow.js layers model (model.json + weight shards)',
  async sniff({ source, head }) {
    const text = sniffText(head);
    if (!text.startsWith('{')) return false;
    if (text.includes('"modelTopology"') || text.includes('"weightsManifest"')) return true;
    if (source.size > MAX_SNIFF_PARSE) return false;
    try {
      const json = JSON.parse(new TextDecoder().decode(await source.read(0, source.size))) as unknown;
      return isObject(json) && ('modelTopology' in json || 'weightsManifest' in json);
    } catch {
      return false;
    }
  },
  async open(source: ByteSource, _options: OpenOptions): Promise<Model> {
    const json = (await readJson(source)) as TfjsModelJson;
    if (!isObject(json) || !isObject(json.modelTopology)) {
      throw new ModelFormatError(`${source.name} expects a TF.js model.json with a modelTopology object, but it has none.`);
    }
    const beside = await besideMetadata(source);
    if (json.format === 'graph-model' || Array.isArray((json.modelTopology as Record<string, unknown>).node)) return openTfjsGraph(source, json, beside);
    const topology = json.modelTopology as Record<string, unknown>;
    const arch = parseKerasArchitecture(topology, `${source.name} (modelTopology)`);
    const byOwner = new Map<string, StoredWeight[]>();
    for (const { spec: w, dtype, read } of await manifestWeights(source, json.weightsManifest)) {
      const parts = w.name.split('/');
      const owners = parts.slice(0, -1).reverse();
      const stored: StoredWeight = {
        name: w.name,
        role: parts[parts.length - 1]!,
        owners: owners.length > 0 ? owners : [w.name],
        shape: w.shape,
        dtype,
        read,
      };
      const key = stored.owners[0]!;
      byOwner.set(key, [...(byOwner.get(key) ?? []), stored]);
    }
    const stored: StoredLayer[] = [...byOwner].map(([name, weights]) => ({ name, weights }));
    const metadata: Record<string, string> = { ...beside };
    // Only text values, as every format's metadata is: a hostile file's nested objects are not carried.
    const declared = json.userDefinedMetadata;
    if (declared && typeof declared === 'object' && !Array.isArray(declared)) {
      for (const [k, v] of Object.entries(declared)) if (typeof v === 'string') metadata[k] = v;
    }
    for (const [k, v] of [['generatedBy', json.generatedBy], ['convertedBy', json.convertedBy], ['keras_version', topology.keras_version], ['backend', topology.backend]] as const) {
      if (typeof v === 'string') metadata[k] = v;
    }
    const version = frameworkVersion(json, topology);
    return {
      format: 'tfjs-layers',
      framework: 'tfjs',
      ...(version ? { frameworkVersion: version } : {}),
      source: source.name,
      layers: buildKerasLayers(source.name, stored, arch),
      config: arch.json,
      metadata,
      close: () => undefined,
    };
  },
};
