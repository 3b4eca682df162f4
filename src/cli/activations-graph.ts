import { graphInputSpec, graphOutputs, runGraphNodes } from '../compute/tfjs-graph.js';
import { findFirstConvLayer } from '../model/filters.js';
import type { Model } from '../model/model.js';
import type { ActivationsOptions } from './activations.js';
import { header, outputPlan, writeRow, type Report } from './activations-run.js';
import { flaggedInput } from './input-flags.js';

/**
 * `convscope activations` of a TF.js graph model, run by TensorFlow.js' graph-model executor; loaded
 * only for them. `--layer` takes node names; by default the first convolution; `all` is every op that
 * holds weights and the graph's outputs.
 */
export async function runGraph(path: string, model: Model, options: ActivationsOptions): Promise<Report> {
  const spec = graphInputSpec(model);
  const input = await flaggedInput(spec, model, options);
  const ops = model.layers.filter((l) => l.className !== 'Const').map((l) => l.name);
  const wanted =
    options.layer === 'all'
      ? [...new Set([...ops, ...graphOutputs(model)])]
      : options.layer !== undefined
        ? options.layer.split(',').map((s) => s.trim())
        : [findFirstConvLayer(model)?.name ?? graphOutputs(model)[0]!];
  const outputs = await runGraphNodes(model, input.batch, wanted);
  const pathOf = await outputPlan(options, outputs.length === 1 && (options.format === 'npy' || input.batch.shape[0] === 1), path);
  const rows = header();
  for (const a of outputs) rows.push(await writeRow(a, input, options, pathOf));
  return { input, rows, outputs, notes: ["ran with TensorFlow.js' graph-model executor; outputs are NHWC, as TensorFlow computes them."] };
}
