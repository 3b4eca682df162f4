import { GraphModel } from '@tensorflow/tfjs-converter';
import { InputError, SelectionError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { quote } from '../model/quote.js';
import { tf, withKernelFallback } from './backend.js';
import type { InputSpec } from './inputs.js';
import type { InputBatch, LayerOutput } from './layer-output.js';

/**
 * Runs a TF.js graph model (formats/tfjs-graph.ts) with TensorFlow.js' own graph-model executor and
 * returns the outputs of the nodes asked for by name. The executor gets the GraphDef and the weights
 * the reader read (already dequantized, so every spec is float32, int32 or bool), never a URL: nothing
 * is fetched and no file outside the model's folder is read.
 */

/** What the reader puts in Model.config for a graph model (the GraphDef is handed to the executor as is). */
interface GraphConfig {
  modelTopology: { node: { name: string; op: string; input?: string[]; attr?: { shape?: { shape?: { dim?: { size?: string | number }[] } } } }[] };
  signature?: unknown;
}

function graphConfig(model: Model): GraphConfig {
  const config = model.config as Partial<GraphConfig> & { format?: string } | undefined;
  if (model.format !== 'tfjs-graph' || !config?.modelTopology) {
    throw new SelectionError(`${model.source} is not a TF.js graph model, so the graph executor cannot run it.`);
  }
  return config as GraphConfig;
}

/** The graph's Placeholder nodes: its inputs. */
export function graphInputs(model: Model): string[] {
  return graphConfig(model).modelTopology.node.filter((n) => n.op === 'Placeholder').map((n) => n.name);
}

/** What image and array inputs need to know: the Placeholders' shapes (-1 -> free), NHWC. */
export function graphInputSpec(model: Model): InputSpec {
  const placeholders = graphConfig(model).modelTopology.node.filter((n) => n.op === 'Placeholder');
  const inputShapes = placeholders.map((n) => (n.attr?.shape?.shape?.dim ?? []).map((d) => (Number(d.size ?? -1) < 0 ? null : Number(d.size))));
  return { source: model.source, inputShapes, channelsFirst: false };
}

/** Nodes nothing else consumes: the graph's outputs. */
export function graphOutputs(model: Model): string[] {
  const nodes = graphConfig(model).modelTopology.node;
  const used = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^/, '').replace(/:\d+$/, ''))));
  return nodes.filter((n) => !used.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp').map((n) => n.name);
}

async function weightData(model: Model): Promise<{ specs: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[]; data: ArrayBuffer }> {
  const specs: { name: string; shape: number[]; dtype: 'float32' | 'int32' | 'bool' }[] = [];
  const parts: Uint8Array[] = [];
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const values = (await w.read()).data;
      const dtype = w.dtype === 'int32' ? 'int32' : w.dtype === 'bool' ? 'bool' : 'float32';
      const typed = dtype === 'int32' ? Int32Array.from(values as Int32Array) : dtype === 'bool' ? Uint8Array.from(values as Uint8Array) : Float32Array.from(values as Float32Array);
      specs.push({ name: w.name, shape: [...w.shape], dtype });
      parts.push(new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength));
    }
  }
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { specs, data: data.buffer };
}

/**
 * Runs `batch` through the graph and returns the outputs of `nodes` (node names, `name:1` for a second
 * output), each with its shape; NHWC layouts stay as TensorFlow computes them.
 */
export async function runGraphNodes(model: Model, batch: InputBatch, nodes: readonly string[]): Promise<LayerOutput[]> {
  const config = graphConfig(model);
  const known = new Map(config.modelTopology.node.map((n) => [n.name, n.op]));
  for (const n of nodes) {
    if (!known.has(n.replace(/:\d+$/, ''))) throw new SelectionError(`${model.source} has no node ${quote(n)}; its graph has ${known.size} nodes.`);
  }
  const inputs = graphInputs(model);
  if (inputs.length !== 1) throw new InputError(`${model.source} has ${inputs.length} inputs (${inputs.join(', ')}); convscope feeds graph models with one input.`);
  const { specs, data } = await weightData(model);
  const graph = new GraphModel({
    load: async () => ({ modelTopology: config.modelTopology as object, weightSpecs: specs, weightData: data, format: 'graph-model', ...(config.signature ? { signature: config.signature as object } : {}) }),
  });
  return withKernelFallback(async () => {
    await graph.load();
    const x = tf.tensor(batch.data, [...batch.shape], 'float32');
    try {
      const out = graph.execute({ [inputs[0]!]: x }, [...nodes]);
      const tensors = Array.isArray(out) ? out : [out];
      const results: LayerOutput[] = [];
      for (const [i, t] of tensors.entries()) {
        results.push({ name: nodes[i]!, className: known.get(nodes[i]!.replace(/:\d+$/, '')) ?? 'op', shape: t.shape, channelsFirst: false, data: Float32Array.from(await t.data()) });
        t.dispose();
      }
      return results;
    } finally {
      x.dispose();
      graph.dispose();
    }
  });
}
