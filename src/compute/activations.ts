import { InputError } from '../model/errors.js';
import { tf } from './backend.js';
import type { LayerByLayer, RunnableModel } from './build.js';
import type { GraphNode } from '../model/graph.js';
import type { InputBatch, LayerOutput } from './layer-output.js';

export { outputAxes, sampleView, type InputBatch, type LayerOutput, type SampleView } from './layer-output.js';

/**
 * Runs a built network layer by layer. Each layer's output is handed to `onActivation` as soon as it
 * exists, and every tensor is released once all layers reading it have run, so `--layer all` on
 * VGG16 never holds more than the live frontier of the graph.
 */

/** One layer's output from the TensorFlow.js layer runner. */
export interface Activation extends LayerOutput {
  readonly node: GraphNode;
}

export interface RunOptions {
  /** Which layers' outputs to download and report (default: none; the model outputs are always returned). */
  want?: (node: GraphNode) => boolean;
  onActivation?: (activation: Activation) => void | Promise<void>;
}

export function activationName(node: GraphNode): string {
  return node.call === 0 ? node.layer.name : `${node.layer.name}@${node.call}`;
}

function describe(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? 'batch' : d)).join(', ')})`;
}

/** Checks a batch against the model's declared input shape; the batch axis is free. */
export function checkInput(net: Pick<RunnableModel, 'source' | 'inputShapes'>, index: number, batch: InputBatch): void {
  const expected = net.inputShapes[index];
  if (!expected || expected.length === 0) return;
  const fits = batch.shape.length === expected.length && expected.every((d, i) => i === 0 || d === null || d === batch.shape[i]);
  if (!fits) {
    throw new InputError(
      `${net.source} expects ${net.inputShapes.length > 1 ? `input ${index}` : 'input'} of shape ${describe([null, ...expected.slice(1)])}, but received ${describe(batch.shape)}.`,
    );
  }
}

async function download(net: Pick<RunnableModel, 'channelsFirst'>, node: GraphNode, tensor: tf.Tensor): Promise<Activation> {
  return {
    name: activationName(node),
    node,
    className: node.layer.className,
    channelsFirst: outputChannelsFirst(net, node),
    shape: tensor.shape,
    data: (await tensor.data()) as Float32Array,
  };
}

/**
 * Runs the network on `inputs` (one batch per model input) and returns the model outputs
 * (downloaded). Layers selected by `want` are reported through `onActivation` in execution order.
 * `net` is a built network, or one built layer by layer (build.ts `layerByLayer`), each layer's
 * weights loaded before its call and released after its last.
 */
export async function runLayers(net: RunnableModel | LayerByLayer, inputs: readonly InputBatch[], options: RunOptions = {}): Promise<Activation[]> {
  const { graph } = net;
  if (inputs.length !== graph.inputs.length) {
    throw new InputError(`${net.source} has ${graph.inputs.length} inputs, but received ${inputs.length}.`);
  }
  inputs.forEach((batch, i) => checkInput(net, i, batch));
  const key = (node: number, output: number): string => `${node}:${output}`;
  const readers = new Map<string, number>();
  for (const node of graph.nodes) for (const r of node.inputs) readers.set(key(r.node, r.output), (readers.get(key(r.node, r.output)) ?? 0) + 1);
  const finals = new Set(graph.outputs.map((r) => key(r.node, r.output)));
  const live = new Map<string, tf.Tensor>();
  const release = (k: string): void => {
    if ((readers.get(k) ?? 0) > 0 || finals.has(k)) return;
    live.get(k)?.dispose();
    live.delete(k);
  };
  try {
    for (const node of graph.nodes) {
      const position = graph.inputs.indexOf(node.id);
      let outputs: tf.Tensor[];
      if (position >= 0) {
        const batch = inputs[position]!;
        outputs = [tf.tensor(batch.data, [...batch.shape], 'float32')];
      } else {
        const args = node.inputs.map((r) => live.get(key(r.node, r.output))!);
        const layer = 'tfLayer' in net ? net.tfLayer(node) : await net.layer(node, args);
        const result = tf.tidy(() => layer.apply(args.length === 1 ? args[0]! : args, { training: false }) as tf.Tensor | tf.Tensor[]);
        if ('release' in net) await net.release(node);
        outputs = Array.isArray(result) ? result : [result];
        for (const r of node.inputs) {
          const k = key(r.node, r.output);
          readers.set(k, readers.get(k)! - 1);
        }
      }
      outputs.forEach((t, i) => live.set(key(node.id, i), t));
      if (options.want?.(node) && options.onActivation) await options.onActivation(await download(net, node, outputs[0]!));
      outputs.forEach((_, i) => release(key(node.id, i)));
      for (const r of node.inputs) release(key(r.node, r.output));
    }
    const results: Activation[] = [];
    for (const r of graph.outputs) results.push(await download(net, graph.nodes[r.node]!, live.get(key(r.node, r.output))!));
    return results;
  } finally {
    for (const t of live.values()) t.dispose();
    if (!('tfLayer' in net)) await net.dispose();
  }
}

/** Whether a layer's output has channels on axis 1: its own data_format, else the model's. */
export function outputChannelsFirst(net: Pick<RunnableModel, 'channelsFirst'>, node: GraphNode): boolean {
  const format = node.layer.config.data_format ?? node.layer.config.dim_ordering;
  return format === undefined ? net.channelsFirst : format === 'channels_first' || format === 'th';
}
