import { outputChannelsFirst, runLayers } from '../compute/activations.js';
import type { RunnableModel } from '../compute/build.js';
import { findNode } from '../compute/gradients.js';
import { kerasOnOrt, type OrtKerasNet } from '../compute/keras-ort.js';
import type { InputBatch } from '../compute/layer-output.js';
import { selectOnnxLayers } from '../compute/onnx-activations.js';
import type { OnnxNet } from '../compute/ort.js';
import { UsageError } from '../model/errors.js';
import type { ExamplesRunner, LayerBatchOutput } from './examples.js';
import { onnxReceptiveField, receptiveField } from './receptive-field.js';

/**
 * The batch runners dataset examples rank with (analyze/examples.ts): one chosen layer's output per
 * batch, on TensorFlow.js, on ONNX Runtime for a Keras / TF.js network converted in memory (the
 * engine `activations` uses, compute/keras-ort.ts), or on ONNX Runtime for an ONNX model.
 */

/** A network to rank with: a built TensorFlow.js network (Keras, TF.js) or an ONNX model on ONNX Runtime. */
export type RankedNet = { engine: 'tfjs'; net: RunnableModel } | { engine: 'onnx'; net: OnnxNet };

/** The layer `layer` of a TensorFlow.js network, run on TensorFlow.js; `engine` says why when it is a fallback. */
export function tfjsRunner(net: RunnableModel, layer: string, engine = 'TensorFlow.js'): ExamplesRunner {
  const node = findNode(net, layer);
  return {
    input: net,
    layer,
    engine,
    run: async (batch) => {
      let out: LayerBatchOutput | undefined;
      await runLayers(net, [batch], { want: (n) => n === node, onActivation: (a) => void (out = a) });
      return out!;
    },
    receptiveField: (height, width) => receptiveField(net.graph, node, height, width),
  };
}

/** The layer `layer` of a Keras / TF.js network converted to ONNX, run on ONNX Runtime. */
export function ortKerasRunner(ort: OrtKerasNet, layer: string): ExamplesRunner {
  const { net, conversion, onnx } = ort;
  const node = findNode(net, layer);
  const value = conversion.valueOf({ node: node.id, output: 0 });
  const channelsFirst = outputChannelsFirst(net, node);
  return {
    input: net,
    layer,
    engine: 'ONNX Runtime (the Keras layers converted to ONNX in memory)',
    run: async (batch) => {
      const v = (await onnx.run([batch], [value])).get(value)!;
      return { shape: v.shape, data: v.data!, channelsFirst };
    },
    receptiveField: (height, width) => receptiveField(net.graph, node, height, width),
  };
}

/**
 * Layer `layer` of an ONNX model, named as `activations` and the viewer name it (a node name, a value
 * name or a PyTorch module path). A graph whose batch axis is fixed (an export without a dynamic
 * batch) is fed batches of that size and the outputs joined.
 */
export function onnxRunner(net: OnnxNet, layer: string): ExamplesRunner {
  const chosen = selectOnnxLayers(net.graph, net.source, layer);
  if (chosen.length !== 1) throw new UsageError(`Dataset examples rank one layer at a time, but '${layer.slice(0, 60)}' names ${chosen.length}.`, { concept: 'layer' });
  const output = chosen[0]!.output;
  const fixed = net.inputShapes[0]?.[0] ?? null;
  const runOne = async (batch: InputBatch): Promise<{ shape: readonly number[]; data: Float32Array }> => {
    const v = (await net.run([batch], [output])).get(output)!;
    if (!v.data) throw new UsageError(`The output of '${layer}' (${v.type}, shape (${v.shape.join(', ')})) has no filters to rank; choose a convolution or its activation.`, { concept: 'layer' });
    return { shape: v.shape, data: v.data };
  };
  return {
    input: net,
    layer,
    engine: 'ONNX Runtime',
    run: async (batch) => {
      const n = batch.shape[0]!;
      if (fixed === null || fixed === n) return { ...(await runOne(batch)), channelsFirst: true };
      const per = batch.data.length / n;
      const parts: { shape: readonly number[]; data: Float32Array }[] = [];
      for (let i = 0; i < n; i += fixed) {
        const size = Math.min(fixed, n - i);
        const data = new Float32Array(fixed * per);
        data.set(batch.data.subarray(i * per, (i + size) * per));
        const out = await runOne({ shape: [fixed, ...batch.shape.slice(1)], data });
        parts.push({ shape: [size, ...out.shape.slice(1)], data: out.data.subarray(0, (out.data.length / fixed) * size) });
      }
      const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
      let at = 0;
      for (const p of parts) {
        data.set(p.data, at);
        at += p.data.length;
      }
      return { shape: [n, ...parts[0]!.shape.slice(1)], data, channelsFirst: true };
    },
    receptiveField: (height, width) => onnxReceptiveField(net.graph, output, height, width),
  };
}

/**
 * Runs `use` with the runner of `layer`: an ONNX model on ONNX Runtime; a TensorFlow.js network on
 * ONNX Runtime (`engine` 'ort', the default) when every layer converts, else on TensorFlow.js with the
 * converter's reason in the runner's engine. The converted session is released after `use`.
 */
export async function withExamplesRunner<T>(target: RankedNet, layer: string, use: (runner: ExamplesRunner) => Promise<T>, engine: 'ort' | 'tfjs' = 'ort'): Promise<T> {
  if (target.engine === 'onnx') {
    if (engine === 'tfjs') throw new UsageError(`${target.net.source} is an ONNX model; it runs on ONNX Runtime only.`);
    return use(onnxRunner(target.net, layer));
  }
  findNode(target.net, layer);
  if (engine === 'tfjs') return use(tfjsRunner(target.net, layer));
  // Idle pool threads sleep: over a data set's many batches on a busy machine spinning cost up to 1.8x (2,048 images, load 9).
  const converted = await kerasOnOrt(target.net, { spinning: false });
  if ('reason' in converted) return use(tfjsRunner(target.net, layer, `TensorFlow.js, not ONNX Runtime: ${converted.reason}`));
  try {
    return await use(ortKerasRunner(converted, layer));
  } finally {
    await converted.onnx.release();
  }
}
