import { activationName, type RunOptions } from '../compute/activations.js';
import { backendNote, withKernelFallback } from '../compute/backend.js';
import { buildModel, type RunnableModel } from '../compute/build.js';
import type { GraphNode } from '../model/graph.js';
import { SelectionError } from '../model/errors.js';
import { closestNames, listed } from '../model/lookup.js';
import type { Model } from '../model/model.js';
import type { ActivationsOptions } from './activations.js';
import { header, outputPlan, writeRow, type Report } from './activations-run.js';
import { defaultActivationLayer } from '../views/activations.js';
import { runKerasNetwork } from '../views/activations-keras.js';
import { flaggedInput } from './input-flags.js';

/** `convscope activations` of a Keras or TF.js model, loaded only for them: it imports TensorFlow.js. */

/** The layers whose outputs are wanted: names (comma-separated), `all`, or by default the first convolution (views/activations.ts). */
function selectNodes(model: Model, net: RunnableModel, wanted: string | undefined): GraphNode[] {
  const nodes = net.graph.nodes.filter((n) => n.layer.className !== 'InputLayer');
  if (wanted === 'all') return nodes;
  if (wanted === undefined) {
    const first = defaultActivationLayer(model);
    return [nodes.find((n) => n.layer.name === first) ?? nodes[0]!];
  }
  const names = [...new Set(nodes.map((n) => n.layer.name))];
  return wanted.split(',').flatMap((one) => {
    const name = one.trim();
    const hits = nodes.filter((n) => n.layer.name === name || activationName(n) === name);
    if (hits.length > 0) return hits;
    const close = closestNames(name, names);
    throw new SelectionError(
      `${net.source} has no layer '${name}'.${close.length > 0 ? ` Did you mean ${close.map((c) => `'${c}'`).join(' or ')}?` : ` Its layers are: ${listed(names, 12)}.`}`,
    );
  });
}

/**
 * A Keras or TF.js model: converted in memory to ONNX and run on ONNX Runtime (--engine ort, the
 * default) unless a layer has no conversion, else layer by layer on TensorFlow.js; the note says which ran and why.
 */
export async function runKeras(path: string, model: Model, options: ActivationsOptions): Promise<Report> {
  const report = await withKernelFallback(async () => {
    const net = await buildModel(model);
    try {
      const input = await flaggedInput(net, model, options);
      const nodes = selectNodes(model, net, options.layer);
      const wanted = new Set(nodes.map((n) => n.id));
      const pathOf = await outputPlan(options, nodes.length === 1 && (options.format === 'npy' || input.batch.shape[0] === 1), path);
      const rows = header();
      const run: RunOptions = {
        want: (node) => wanted.has(node.id),
        onActivation: async (a) => void rows.push(await writeRow(a, input, options, pathOf)),
      };
      const { outputs, notes } = await runKerasNetwork(net, [input.batch], run, options.engine === 'tfjs' ? 'tfjs' : 'ort');
      return { input, rows, outputs, notes };
    } finally {
      net.dispose();
    }
  });
  const note = backendNote();
  if (note) report.notes.push(note);
  return report;
}

