import { runLayers, type Activation, type InputBatch, type RunOptions } from '../compute/activations.js';
import type { LayerByLayer, RunnableModel } from '../compute/build.js';
import { kerasOnOrt, runLayersOrt, type OrtKerasNet } from '../compute/keras-ort.js';

/** The activation pipeline's engine call for Keras / TF.js networks (it imports TensorFlow.js; load it lazily). */

/** The engines a Keras / TF.js network runs on: ONNX Runtime (converted in memory) or TensorFlow.js layer by layer. */
export type KerasEngine = 'ort' | 'tfjs';

/**
 * Runs a Keras / TF.js network: the one place that picks the engine. On 'ort' the network is
 * converted to ONNX in memory and run on ONNX Runtime, unless a layer has no conversion; then, or on
 * 'tfjs', layer by layer on TensorFlow.js. A network built layer by layer (compute/build.ts
 * `layerByLayer`, for one pass within the memory of its largest layer) runs on TensorFlow.js.
 * The notes say which engine ran and why.
 */
export async function runKerasNetwork(
  net: RunnableModel | LayerByLayer,
  inputs: readonly InputBatch[],
  run: RunOptions,
  engine: KerasEngine,
): Promise<{ outputs: Activation[]; notes: string[] }> {
  const notes: string[] = [];
  let ort: OrtKerasNet | undefined;
  try {
    if (engine === 'ort' && 'tfLayer' in net) {
      const converted = await kerasOnOrt(net);
      if ('reason' in converted) notes.push(`ran on TensorFlow.js, not ONNX Runtime: ${converted.reason}.`);
      else ort = converted;
    }
    const outputs = ort ? await runLayersOrt(ort, inputs, run) : await runLayers(net, inputs, run);
    if (ort) notes.push('ran on ONNX Runtime (the Keras layers converted to ONNX in memory).');
    return { outputs, notes };
  } finally {
    await ort?.onnx.release();
  }
}
