import type { InferenceSession, Tensor } from 'onnxruntime-node';
import protobuf from 'protobufjs/light.js';
import type { OnnxGraph, OnnxValueInfo } from '../formats/onnx-graph.js';
import { ONNX_DESCRIPTOR } from '../formats/schema/onnx.js';
import { concatBytes } from '../io/source.js';
import { ConvscopeError, InputError, ModelFormatError, UnsupportedError } from '../model/errors.js';
import type { InputBatch } from './layer-output.js';

/**
 * The one place that runs ONNX graphs: ONNX Runtime (onnxruntime-node in Node; the browser build
 * passes its onnxruntime-web module to `setOrtModule`). Any value of the graph can be fetched by
 * name: the values asked for are appended to the model's bytes as extra graph outputs (a second
 * `graph` field, which protobuf merges into the first), so the file is never decoded and re-encoded.
 */

/**
 * Where a net's ModelProto comes from: bytes in memory, or (loadOnnxNet) a small model whose weights
 * ONNX Runtime reads from the file itself, as external data in `folder`.
 */
export interface OnnxModelBytes {
  /** The model with `patch` (extra graph fields) appended. */
  model(patch: Uint8Array | undefined): Uint8Array;
  /** The folder ONNX Runtime reads external initializers from, when the model refers to any. */
  readonly folder?: string;
}

/**
 * A model held in memory: patches go into spare room after it in its buffer once (see withPatch), else
 * into a copy. `folder` is where its external initializers are, if it refers to any.
 */
export function bytesModel(bytes: Uint8Array, folder?: string): OnnxModelBytes {
  let roomUsed = false;
  return {
    ...(folder === undefined ? {} : { folder }),
    model(patch) {
      if (!patch) return bytes;
      const room = !roomUsed;
      roomUsed = true;
      return withPatch(bytes, patch, room);
    },
  };
}

/** `base` with `patch` always appended (before any later patch). */
function patchedModel(base: OnnxModelBytes, patch: Uint8Array): OnnxModelBytes {
  return {
    model: (more) => base.model(more ? concatBytes([patch, more]) : patch),
    ...(base.folder === undefined ? {} : { folder: base.folder }),
  };
}

/** The part of the onnxruntime API convscope uses; onnxruntime-node and onnxruntime-web both provide it. */
export interface OrtModule {
  InferenceSession: { create(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
}

let chosen: OrtModule | undefined;
let loading: Promise<OrtModule> | undefined;

/** Uses `module` (onnxruntime-web in the browser) instead of onnxruntime-node. */
export function setOrtModule(module: OrtModule): void {
  chosen = module;
}

async function ort(): Promise<OrtModule> {
  if (chosen) return chosen;
  loading ??= import('onnxruntime-node').then((m) => (m.default ?? m) as unknown as OrtModule);
  return loading;
}

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const GraphPatch = root.lookupType('onnx.ModelGraphPatch');

/** The bytes of a ModelProto that, appended to a model, adds `names` to its graph outputs. */
export function extraOutputsPatch(names: readonly string[]): Uint8Array {
  return GraphPatch.encode({ graph: { output: names.map((name) => ({ name })) } }).finish();
}

/** One fetched value: float32 values in C order, or the element type ONNX Runtime reported for other types. */
export interface EngineValue {
  readonly shape: readonly number[];
  readonly type: string;
  readonly data: Float32Array | undefined;
}

export interface OnnxNet {
  readonly source: string;
  readonly graph: OnnxGraph;
  /** Input shapes with the batch axis, null where free; one per graph input. */
  readonly inputShapes: readonly (readonly (number | null)[])[];
  /** ONNX computes NCHW. */
  readonly channelsFirst: true;
  /**
   * Runs the graph on one batch per input and returns the values named in `fetch` (any node output or
   * graph output) by name. Each distinct set of extra outputs builds its session once.
   */
  run(inputs: readonly InputBatch[], fetch: readonly string[]): Promise<Map<string, EngineValue>>;
  /**
   * This graph with `patch` (onnx-write's encodeGraphPatch) appended: a net of its own, fed the
   * graph's inputs followed by `inputs`, with `outputs` among its graph outputs; released with this net.
   */
  extend(patch: Uint8Array, inputs: readonly OnnxValueInfo[], outputs: readonly OnnxValueInfo[]): Promise<OnnxNet>;
  release(): Promise<void>;
}

export interface OnnxNetOptions {
  /** Threads within an operator (ONNX Runtime's intra-op pool); 0 lets ONNX Runtime decide. */
  threads?: number;
  /**
   * Whether idle pool threads spin while waiting for work (ONNX Runtime's default, true): spinning
   * wins short runs on an idle machine and loses long ones on a busy one.
   */
  spinning?: boolean;
  /**
   * Hold as little memory as ONNX Runtime allows (default false): no repacked copy of Gemm / MatMul
   * weights (made beside them: VGG16's fc layers, 470 MB more at peak), no memory arena and no
   * precomputed plan of activation buffers. These pay off over many batches, not over the few images an
   * `activations` run feeds.
   */
  lean?: boolean;
}

function checkBatch(net: OnnxNet, index: number, batch: InputBatch): void {
  const expected = net.inputShapes[index]!;
  const fits = batch.shape.length === expected.length && expected.every((d, i) => d === null || d === batch.shape[i]);
  if (!fits) {
    const show = (s: readonly (number | null)[]) => `(${s.map((d) => d ?? '?').join(', ')})`;
    throw new InputError(`${net.source} expects input '${net.graph.inputs[index]!.name}' of shape ${show(expected)}, but received ${show(batch.shape)}.`);
  }
}

/** Prepares `bytes` (an ONNX model whose structure the reader gave as `graph`) for running. */
export async function openOnnxNet(bytes: Uint8Array | OnnxModelBytes, graph: OnnxGraph, source: string, options: OnnxNetOptions = {}): Promise<OnnxNet> {
  const runtime = await ort();
  const stored = bytes instanceof Uint8Array ? bytesModel(bytes) : bytes;
  const sessionConfig = {
    ...(options.spinning === false ? { intra_op: { allow_spinning: '0' } } : {}),
    ...(stored.folder === undefined ? {} : { model_external_initializers_file_folder_path: stored.folder }),
    ...(options.lean ? { disable_prepacking: '1' } : {}),
  };
  const inputShapes = graph.inputs.map((i) => {
    if (i.elemType !== 1 && i.elemType !== 0) {
      throw new UnsupportedError(`${source} takes input '${i.name}' of ONNX data type ${i.elemType}; convscope feeds float32 inputs only.`);
    }
    return i.shape ?? [];
  });
  const outputs = new Set(graph.outputs.map((o) => o.name));
  // One session per set of extra outputs, each holding its own copy of the weights: the most recently
  // used MAX_SESSIONS are kept (a viewer switching layers), older ones released once their runs end.
  const sessions = new Map<string, Entry>();
  const children: Promise<OnnxNet>[] = [];
  const retire = (entry: Entry): void => {
    entry.retired = true;
    if (entry.runs === 0) void entry.session.then((s) => s.release(), () => undefined);
  };
  const sessionFor = (extra: readonly string[]): Entry => {
    const key = extra.join('\n');
    let entry = sessions.get(key);
    if (entry) {
      sessions.delete(key);
      sessions.set(key, entry);
      return entry;
    }
    const model = stored.model(extra.length === 0 ? undefined : extraOutputsPatch(extra));
    const session = runtime.InferenceSession.create(model, {
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      ...(options.lean ? { enableCpuMemArena: false, enableMemPattern: false } : {}),
      logSeverityLevel: 3,
      ...(Object.keys(sessionConfig).length > 0 ? { extra: { session: sessionConfig } } : {}),
    }).catch((e: unknown) => {
      sessions.delete(key);
      throw new ModelFormatError(`ONNX Runtime cannot load ${source}: ${firstLine(e)}`);
    });
    entry = { session, runs: 0, retired: false };
    sessions.set(key, entry);
    while (sessions.size > MAX_SESSIONS) {
      const [oldest, old] = sessions.entries().next().value as [string, Entry];
      sessions.delete(oldest);
      retire(old);
    }
    return entry;
  };
  const net: OnnxNet = {
    source,
    graph,
    inputShapes,
    channelsFirst: true,
    async run(inputs, fetch) {
      if (inputs.length !== graph.inputs.length) throw new InputError(`${source} has ${graph.inputs.length} inputs, but received ${inputs.length}.`);
      inputs.forEach((b, i) => checkBatch(net, i, b));
      const extra = [...new Set(fetch)].filter((name) => !outputs.has(name));
      const entry = sessionFor(extra);
      entry.runs++;
      let result: InferenceSession.OnnxValueMapType;
      try {
        const session = await entry.session;
        const feeds: Record<string, Tensor> = {};
        graph.inputs.forEach((input, i) => (feeds[input.name] = new runtime.Tensor('float32', inputs[i]!.data, inputs[i]!.shape)));
        result = await session.run(feeds, [...new Set(fetch)]).catch((e: unknown) => {
          throw new ConvscopeError(`ONNX Runtime could not run ${source}: ${firstLine(e)}`);
        });
      } finally {
        entry.runs--;
        if (entry.retired) retire(entry);
      }
      const values = new Map<string, EngineValue>();
      for (const name of fetch) {
        const t = result[name]!;
        values.set(name, { shape: [...t.dims], type: t.type, data: t.type === 'float32' ? (t.data as Float32Array) : undefined });
      }
      return values;
    },
    extend(patch, extraInputs, extraOutputs) {
      const extended = { ...graph, inputs: [...graph.inputs, ...extraInputs], outputs: [...graph.outputs, ...extraOutputs] };
      const child = openOnnxNet(patchedModel(stored, patch), extended, source, options);
      children.push(child);
      return child;
    },
    async release() {
      await Promise.allSettled(children.splice(0).map(async (c) => (await c).release()));
      const all = [...sessions.values()];
      sessions.clear();
      for (const entry of all) retire(entry);
      await Promise.allSettled(all.map((e) => e.session));
    },
  };
  return net;
}

/** Sessions kept per net (see sessionFor). */
const MAX_SESSIONS = 2;

interface Entry {
  readonly session: Promise<InferenceSession>;
  /** Runs in flight on this session. */
  runs: number;
  /** Dropped from the cache: released when its last run ends. */
  retired: boolean;
}

function firstLine(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The model bytes followed by `patch`: written in place into spare room after `bytes` in its buffer
 * when there is some and no other session is being created from it (a caller may allocate a model
 * with room to spare, saving a copy of the whole model), else copied.
 */
function withPatch(bytes: Uint8Array, patch: Uint8Array, first: boolean): Uint8Array {
  if (first && bytes.buffer.byteLength - bytes.byteOffset - bytes.length >= patch.length) {
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length + patch.length);
    view.set(patch, bytes.length);
    return view;
  }
  return concatBytes([bytes, patch]);
}
