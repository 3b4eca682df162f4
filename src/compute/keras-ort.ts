import { activationName, outputChannelsFirst, checkInput, type Activation, type InputBatch, type RunOptions } from './activations.js';
import type { RunnableModel } from './build.js';
import { kerasToOnnx, OrtConversionError, type OnnxConversion } from './keras-to-onnx.js';
import { openOnnxNet, type OnnxNet, type OnnxNetOptions } from './ort.js';

/**
 * Keras and TF.js networks on ONNX Runtime: the built network converted in memory to ONNX
 * (keras-to-onnx.ts), run with the same contract as the TensorFlow.js layer runner (runLayers):
 * wanted layers' outputs reported in execution order, the model outputs returned.
 */

export interface OrtKerasNet {
  readonly net: RunnableModel;
  readonly conversion: OnnxConversion;
  readonly onnx: OnnxNet;
}

/** The network on ONNX Runtime, or why it cannot run there (a layer or option the converter does not cover). */
export async function kerasOnOrt(net: RunnableModel, options: OnnxNetOptions = {}): Promise<OrtKerasNet | { reason: string }> {
  let conversion: OnnxConversion;
  try {
    conversion = kerasToOnnx(net);
  } catch (e) {
    if (e instanceof OrtConversionError) return { reason: e.message.replace(/\.$/, '') };
    throw e;
  }
  const graph = {
    nodes: [],
    inputs: conversion.inputNames.map((name, i) => ({ name, elemType: 1, shape: [...net.inputShapes[i]!] })),
    outputs: conversion.outputNames.map((name) => ({ name, elemType: 1, shape: null })),
  };
  return { net, conversion, onnx: await openOnnxNet(conversion.bytes, graph, net.source, options) };
}

/** runLayers on ONNX Runtime: one run fetches every wanted layer's output with the model outputs. */
export async function runLayersOrt(ort: OrtKerasNet, inputs: readonly InputBatch[], options: RunOptions = {}): Promise<Activation[]> {
  const { net, conversion, onnx } = ort;
  inputs.forEach((batch, i) => checkInput(net, i, batch));
  const wanted = net.graph.nodes.filter((n) => !net.graph.inputs.includes(n.id) && options.want?.(n));
  const refOf = (id: number) => ({ node: id, output: 0 });
  const values = await onnx.run(inputs, [...wanted.map((n) => conversion.valueOf(refOf(n.id))), ...conversion.outputNames]);
  const activation = (id: number, output: number): Activation => {
    const node = net.graph.nodes[id]!;
    const v = values.get(conversion.valueOf({ node: id, output }))!;
    return { name: activationName(node), node, className: node.layer.className, channelsFirst: outputChannelsFirst(net, node), shape: v.shape, data: v.data! };
  };
  for (const node of wanted) if (options.onActivation) await options.onActivation(activation(node.id, 0));
  return net.graph.outputs.map((r) => activation(r.node, r.output));
}
