import { SelectionError, UsageError } from '../model/errors.js';
import { didYouMean } from '../model/lookup.js';
import { activationName, checkInput, outputChannelsFirst, type InputBatch } from './activations.js';
import { tf } from './backend.js';
import type { RunnableModel } from './build.js';
import type { GraphNode } from '../model/graph.js';
import { gradCamNode } from './gradcam-layer.js';

/**
 * Gradients of a class score through a built network (TensorFlow.js autodiff). The score of class c
 * is the model's output c, taken before the final softmax when the network ends in one (a Dense or
 * Activation layer with softmax, or a Softmax layer): probabilities saturate near 1 and their
 * gradients vanish, which is why Grad-CAM and its successors use the logit.
 * Everything returned is downloaded and channels-last; tensors never escape this module.
 */

type Values = Map<string, tf.Tensor>;

const key = (node: number, output: number): string => `${node}:${output}`;

/**
 * Runs the graph on tensors, keeping every node's outputs (for use under tf.grad / tf.tidy, which
 * dispose them). Values already in `given` are used as they are and their node is not run.
 */
function forward(net: RunnableModel, x: tf.Tensor, given: Values = new Map()): Values {
  const values: Values = new Map(given);
  for (const node of net.graph.nodes) {
    if (values.has(key(node.id, 0))) continue;
    if (net.graph.inputs.includes(node.id)) {
      values.set(key(node.id, 0), x);
      continue;
    }
    const args = node.inputs.map((r) => values.get(key(r.node, r.output))!);
    const result = net.tfLayer(node).apply(args.length === 1 ? args[0]! : args, { training: false }) as tf.Tensor | tf.Tensor[];
    (Array.isArray(result) ? result : [result]).forEach((t, i) => values.set(key(node.id, i), t));
  }
  return values;
}

function outputNode(net: RunnableModel): GraphNode {
  if (net.graph.outputs.length !== 1) {
    throw new UsageError(`${net.source} has ${net.graph.outputs.length} outputs; attribution needs a network with one output (class scores).`);
  }
  return net.graph.nodes[net.graph.outputs[0]!.node]!;
}

/** How the class score is read: "logit (before the softmax of 'dense')" or "output of 'dense'". */
export function scoreDescription(net: RunnableModel): string {
  const node = outputNode(net);
  return endsInSoftmax(node) ? `logit (before the softmax of '${node.layer.name}')` : `output of '${node.layer.name}'`;
}

function endsInSoftmax(node: GraphNode): boolean {
  const { className, config } = node.layer;
  return className === 'Softmax' || (['Dense', 'Activation'].includes(className) && config.activation === 'softmax');
}

/** [N, classes] scores: the final layer's pre-softmax values when it ends in softmax, else its output. */
function scoresOf(net: RunnableModel, values: Values): tf.Tensor2D {
  const node = outputNode(net);
  const ref = net.graph.outputs[0]!;
  let out = values.get(key(ref.node, ref.output))!;
  if (endsInSoftmax(node)) {
    const input = values.get(key(node.inputs[0]!.node, node.inputs[0]!.output))!;
    if (node.layer.className === 'Dense') {
      const [kernel, bias] = net.tfLayer(node).getWeights();
      out = tf.matMul(tf.reshape(input, [input.shape[0]!, -1]), kernel!);
      if (bias) out = tf.add(out, bias);
    } else out = input;
  }
  return tf.reshape(out, [out.shape[0]!, -1]) as tf.Tensor2D;
}

function classColumn(scores: tf.Tensor2D, classIndex: number, net: RunnableModel): tf.Tensor1D {
  const classes = scores.shape[1];
  if (!(classIndex >= 0 && classIndex < classes)) {
    throw new SelectionError(`${net.source} scores ${classes} classes (0..${classes - 1}), but class ${classIndex} was asked for.`);
  }
  return tf.squeeze(tf.slice(scores, [0, classIndex], [-1, 1]), [1]) as tf.Tensor1D;
}

function toTensor(net: RunnableModel, batch: InputBatch): tf.Tensor {
  checkInput(net, 0, batch);
  return tf.tensor(batch.data, [...batch.shape], 'float32');
}

/** The model's class scores (see the module note) and outputs for a batch, without gradients. */
export async function classScores(net: RunnableModel, batch: InputBatch): Promise<{ scores: Float32Array; classes: number; outputs: Float32Array }> {
  const [scores, output] = tf.tidy(() => {
    const values = forward(net, toTensor(net, batch));
    const ref = net.graph.outputs[0]!;
    const out = values.get(key(ref.node, ref.output))!;
    return [scoresOf(net, values), tf.reshape(out, [out.shape[0]!, -1])];
  });
  try {
    return { scores: (await scores.data()) as Float32Array, classes: scores.shape[1]!, outputs: (await output.data()) as Float32Array };
  } finally {
    scores.dispose();
    output.dispose();
  }
}

/** d score_c / d x for every sample of the batch (each sample's own score), in the batch's layout: one forward and one backward pass. */
export async function inputGradient(net: RunnableModel, batch: InputBatch, classIndex: number): Promise<Float32Array> {
  const x = toTensor(net, batch);
  try {
    const grad = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(classColumn(scoresOf(net, forward(net, input)), classIndex, net)))(x));
    try {
      return (await grad.data()) as Float32Array;
    } finally {
      grad.dispose();
    }
  } finally {
    x.dispose();
  }
}

/** A graph node by layer name (or `name@k` for call k of a shared layer), with close names on a miss. */
export function findNode(net: RunnableModel, name: string): GraphNode {
  const node = net.graph.nodes.find((n) => activationName(n) === name);
  if (node) return node;
  throw new SelectionError(`${net.source} has no layer '${name}'.${didYouMean(name, net.graph.nodes.map(activationName))}`);
}

/** Nodes that read `node`'s output, directly or through others. */
function downstreamOf(net: RunnableModel, node: GraphNode): Set<number> {
  const reached = new Set<number>([node.id]);
  for (const n of net.graph.nodes) if (n.inputs.some((r) => reached.has(r.node))) reached.add(n.id);
  reached.delete(node.id);
  return reached;
}

/** One sample's layer output and the score's gradient with respect to it, channels-last [H, W, C]. */
export interface LayerGradient {
  readonly layer: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly activation: Float32Array;
  readonly gradient: Float32Array;
  readonly score: number;
}

function toChannelsLast(t: tf.Tensor, channelsFirst: boolean): tf.Tensor {
  const r = t.rank === 3 ? tf.expandDims(t, 1) : t;
  if (r.rank !== 4) throw new UsageError(`Grad-CAM needs a layer with a spatial output, but this one has shape (${t.shape.join(', ')}).`);
  return channelsFirst ? tf.transpose(r, [0, 2, 3, 1]) : r;
}

/** Grad-CAM's default layer (compute/gradcam-layer.ts), or a sentence saying there is none. */
export function defaultGradCamNode(net: RunnableModel): GraphNode {
  const node = gradCamNode(net);
  if (!node) throw new UsageError(`${net.source} has no layer with a spatial (rank-4) output for Grad-CAM; choose the layer to explain.`, { concept: 'layer' });
  return node;
}

/** What layerGradient also learns from its one forward pass: the class, the scores and the outputs. */
export interface LayerGradientRun extends LayerGradient {
  readonly classIndex: number;
  readonly outputs: Float32Array;
}

/**
 * A layer's output A for the first sample of `batch` and d score_c / dA, from one forward pass: the
 * layer defaults to Grad-CAM's default layer (compute/gradcam-layer.ts), the class to the top output; then only the
 * layers after the chosen one run again under the gradient tape.
 */
export async function layerGradient(net: RunnableModel, batch: InputBatch, layer: GraphNode | undefined, classIndex: number | undefined): Promise<LayerGradientRun> {
  const x = toTensor(net, batch);
  try {
    let node = layer;
    let chosen = classIndex ?? 0;
    const [a, g, s, o] = tf.tidy(() => {
      const values = forward(net, x);
      node ??= defaultGradCamNode(net);
      const ref = net.graph.outputs[0]!;
      const out = tf.reshape(values.get(key(ref.node, ref.output))!, [batch.shape[0]!, -1]);
      if (classIndex === undefined) chosen = tf.argMax(tf.slice(out, [0, 0], [1, -1]), 1).dataSync()[0]!;
      const target = node;
      const after = downstreamOf(net, target);
      const given: Values = new Map([...values].filter(([k]) => !after.has(Number(k.split(':')[0]))));
      const at = values.get(key(target.id, 0))!;
      const { value, grad } = tf.valueAndGrad((layerOutput: tf.Tensor) => {
        const replaced: Values = new Map(given);
        replaced.set(key(target.id, 0), layerOutput);
        return tf.sum(classColumn(scoresOf(net, forward(net, x, replaced)), chosen, net));
      })(at);
      const channelsFirst = outputChannelsFirst(net, target);
      return [toChannelsLast(at, channelsFirst), toChannelsLast(grad, channelsFirst), value, out];
    });
    try {
      const [, height, width, channels] = a.shape as number[];
      const size = height! * width! * channels!;
      const activation = ((await a.data()) as Float32Array).slice(0, size);
      const gradient = ((await g.data()) as Float32Array).slice(0, size);
      const outputs = ((await o.data()) as Float32Array).slice(0, o.shape[1]);
      return { layer: activationName(node!), height: height!, width: width!, channels: channels!, activation, gradient, score: (await s.data())[0]!, classIndex: chosen, outputs };
    } finally {
      tf.dispose([a, g, s, o]);
    }
  } finally {
    x.dispose();
  }
}
