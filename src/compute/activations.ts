import { InputError } from '../model/errors.js';
import { tf } from './backend.js';
import type { RunnableModel } from './build.js';
import type { GraphNode } from '../model/graph.js';

/**
 * Runs a built network layer by layer. Each layer's output is handed to `onActivation` as soon as it
 * exists, and every tensor is released once all layers reading it have run, so `--layer all` on
 * VGG16 never holds more than the live frontier of the graph.
 */

/** One layer's output, whichever engine computed it. */
export interface LayerOutput {
  /** The layer name (with `@k` for call k > 0 of a shared Keras layer), or the ONNX node's name. */
  readonly name: string;
  /** The layer class (`Conv2D`) or ONNX operator (`Conv`). */
  readonly className: string;
  /** With the batch axis: (N, H, W, C) for channels_last convolutions, (N, C, H, W) for ONNX. */
  readonly shape: readonly number[];
  /** Whether channels are axis 1 (NCHW / NCW) rather than the last axis. */
  readonly channelsFirst: boolean;
  readonly data: Float32Array;
  /** The PyTorch module an exported ONNX node belongs to (`layer1.0.conv1`). */
  readonly module?: string;
}

/** One layer's output from the TensorFlow.js layer runner. */
export interface Activation extends LayerOutput {
  readonly node: GraphNode;
}

/** The named axes of a layer output: [batch, channels, height, width] for NCHW maps, [batch, height, width, channels] for NHWC. */
export function outputAxes(output: Pick<LayerOutput, 'shape' | 'channelsFirst'>): string[] {
  const spatial = ['depth', 'height', 'width'].slice(-(output.shape.length - 2));
  if (output.shape.length === 2) return ['batch', 'features'];
  if (output.shape.length < 2 || output.shape.length > 5) return output.shape.map((_, i) => (i === 0 ? 'batch' : `d${i}`));
  return output.channelsFirst ? ['batch', 'channels', ...spatial] : ['batch', ...spatial, 'channels'];
}

export interface RunOptions {
  /** Which layers' outputs to download and report (default: none; the model outputs are always returned). */
  want?: (node: GraphNode) => boolean;
  onActivation?: (activation: Activation) => void | Promise<void>;
}

/** An input batch: C-order float32 values of the given shape (with the batch axis). */
export interface InputBatch {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function activationName(node: GraphNode): string {
  return node.call === 0 ? node.layer.name : `${node.layer.name}@${node.call}`;
}

function describe(shape: readonly (number | null)[]): string {
  return `(${shape.map((d) => (d === null ? 'batch' : d)).join(', ')})`;
}

/** Checks a batch against the model's declared input shape; the batch axis is free. */
export function checkInput(net: RunnableModel, index: number, batch: InputBatch): void {
  const expected = net.inputShapes[index];
  if (!expected || expected.length === 0) return;
  const fits = batch.shape.length === expected.length && expected.every((d, i) => i === 0 || d === null || d === batch.shape[i]);
  if (!fits) {
    throw new InputError(
      `${net.source} expects ${net.inputShapes.length > 1 ? `input ${index}` : 'input'} of shape ${describe([null, ...expected.slice(1)])}, but received ${describe(batch.shape)}.`,
    );
  }
}

async function download(net: RunnableModel, node: GraphNode, tensor: tf.Tensor): Promise<Activation> {
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
 */
export async function runLayers(net: RunnableModel, inputs: readonly InputBatch[], options: RunOptions = {}): Promise<Activation[]> {
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
        const layer = net.tfLayer(node);
        const result = tf.tidy(() => layer.apply(args.length === 1 ? args[0]! : args, { training: false }) as tf.Tensor | tf.Tensor[]);
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
  }
}

/** One sample of an activation, laid out for drawing. */
export type SampleView =
  | { kind: 'maps'; height: number; width: number; channels: number; data: Float32Array }
  | { kind: 'vector'; values: Float32Array }
  | { kind: 'other'; shape: readonly number[] };

/**
 * Sample `n` of an activation: spatial outputs as channels-last maps ([H, W, C]; 1-D outputs with
 * H = 1), vectors (Dense, softmax) as they are. `channelsFirst` says the layer computes NCHW / NCW.
 */
export function sampleView(activation: Pick<LayerOutput, 'shape' | 'data'>, n: number, channelsFirst: boolean): SampleView {
  const dims = activation.shape.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  const sample = activation.data.subarray(n * size, (n + 1) * size);
  if (dims.length === 1) return { kind: 'vector', values: sample };
  if (dims.length !== 2 && dims.length !== 3) return { kind: 'other', shape: activation.shape };
  const spatial = channelsFirst ? dims.slice(1) : dims.slice(0, -1);
  const channels = channelsFirst ? dims[0]! : dims[dims.length - 1]!;
  const [height, width] = spatial.length === 2 ? [spatial[0]!, spatial[1]!] : [1, spatial[0]!];
  if (!channelsFirst) return { kind: 'maps', height, width, channels, data: sample };
  const pixels = height * width;
  const data = new Float32Array(size);
  for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) data[p * channels + c] = sample[c * pixels + p]!;
  return { kind: 'maps', height, width, channels, data };
}

/** Whether a layer's output has channels on axis 1: its own data_format, else the model's. */
export function outputChannelsFirst(net: RunnableModel, node: GraphNode): boolean {
  const format = node.layer.config.data_format ?? node.layer.config.dim_ordering;
  return format === undefined ? net.channelsFirst : format === 'channels_first' || format === 'th';
}
