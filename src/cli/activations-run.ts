import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { outputAxes, type LayerOutput } from '../compute/layer-output.js';
import type { PreparedInput } from '../compute/inputs.js';
import { loadOnnxNet, runOnnxLayers, selectOnnxLayers } from '../compute/onnx-activations.js';
import { onnxGraph, type OnnxGraph } from '../formats/onnx-graph.js';
import { writeFileAtomic } from '../io/write.js';
import { SelectionError, UsageError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { encodeNpy } from '../model/npy.js';
import type { ActivationsOptions } from './activations.js';
import { formatNumber, formatPercent, formatShape } from '../model/format.js';
import { table } from './format.js';
import { withModel } from './open-model.js';
import { activationPngs, activationStats, classLabels, topOutputs } from '../views/activations.js';
import { flaggedInput } from './input-flags.js';

/**
 * The work of `convscope activations`, loaded only when the command runs, so that other commands
 * do not pay for importing sharp; ONNX models never load TensorFlow.js (activations-keras.ts does).
 */

function safeName(s: string): string {
  return s.replace(/[^\w.@-]+/g, '_');
}

/** A layer's file name: its name, or for an exported ONNX node its module path and op (`layer1.0.conv1.Conv`). */
function fileStem(a: LayerOutput): string {
  if (!a.module || a.name === a.module) return a.name.replace(/^\/+/, '');
  return `${a.module}.${a.name.split('/').at(-1)}`;
}

/** Where one layer's file goes: `--out` itself when it names a single file, else `<dir>/<layer>.<ext>`. */
export async function outputPlan(options: ActivationsOptions, single: boolean, model: string): Promise<(name: string) => string> {
  const ext = `.${options.format}`;
  const out = options.out;
  if (out !== undefined && extname(out) !== '' && !(await stat(out).then((s) => s.isDirectory(), () => false))) {
    if (extname(out).toLowerCase() !== ext) {
      throw new UsageError(`--out '${out}' does not end in ${ext}, the --format; give a ${ext} file or a directory.`);
    }
    if (!single) throw new UsageError(`--out '${out}' is one file, but several files will be written; give a directory.`);
    return () => out;
  }
  const dir = out ?? (single ? '.' : `${basename(model).replace(/\.[^.]*$/, '')}-activations`);
  return (name) => join(dir, `${safeName(name)}${ext}`);
}

function summary(a: LayerOutput): string[] {
  const s = activationStats(a);
  return [formatShape(a.shape), formatNumber(s.min), formatNumber(s.max), formatNumber(s.mean), Number.isNaN(s.zeros) ? '-' : formatPercent(s.zeros)];
}

async function writeActivation(
  a: LayerOutput,
  input: PreparedInput,
  options: ActivationsOptions,
  pathOf: (name: string) => string,
): Promise<string[]> {
  if (options.format === 'npy') {
    const path = pathOf(fileStem(a));
    await writeFileAtomic(path, encodeNpy(a.data, a.shape));
    return [path];
  }
  const names = (input.images ?? []).map((im) => basename(im.path));
  const batch = a.shape[0] ?? 1;
  const written: string[] = [];
  for (const { sample, png } of activationPngs(a, names, options)) {
    const path = pathOf(batch > 1 ? `${fileStem(a)}_${sample}` : fileStem(a));
    await writeFileAtomic(path, png);
    written.push(path);
  }
  return written;
}

function topLines(outputs: readonly LayerOutput[], k: number, input: PreparedInput, labels: readonly string[] | undefined): string[] {
  const lines: string[] = [];
  for (const out of outputs) {
    const batch = out.shape[0] ?? 1;
    const size = out.data.length / batch;
    for (let n = 0; n < batch; n++) {
      const sample = out.data.subarray(n * size, (n + 1) * size);
      const who = input.images?.[n] ? basename(input.images[n]!.path) : `sample ${n}`;
      const best = topOutputs(sample, k, labels).map((t) => `#${t.index}${t.label ? ` ${t.label}` : ''} ${formatNumber(t.score)}`);
      lines.push(`top ${Math.min(k, sample.length)} of '${out.name}' for ${who}: ${best.join(', ')}`);
    }
  }
  return lines;
}

/** The table of written layers, the top classes and notes, as printed. */
export interface Report {
  input: PreparedInput;
  rows: string[][];
  outputs: readonly LayerOutput[];
  notes: string[];
}

async function printReport(report: Report, options: ActivationsOptions, model: Model): Promise<void> {
  const out = [...report.input.description.map((d) => `input: ${d}`), '', table(report.rows)];
  if (options.top !== undefined) out.push('', ...topLines(report.outputs, options.top, report.input, await classLabels(model, options.labels)));
  out.push(...report.notes.map((n) => `note: ${n}`));
  process.stdout.write(`${out.join('\n')}\n`);
}

export function header(): string[][] {
  return [['layer', 'class', 'output', 'min', 'max', 'mean', 'zeros', 'file']];
}

export async function writeRow(a: LayerOutput, input: PreparedInput, options: ActivationsOptions, pathOf: (name: string) => string): Promise<string[]> {
  const files = await writeActivation(a, input, options, pathOf);
  return [a.module && a.module !== a.name ? `${a.name} (${a.module})` : a.name, a.className, ...summary(a), files.length === 0 ? '(not drawn: rank > 3)' : files.join(', ')];
}

/** An ONNX model on ONNX Runtime: one run fetches every wanted node's output with the graph outputs. */
async function runOnnx(path: string, model: Model, graph: OnnxGraph, options: ActivationsOptions): Promise<Report> {
  const net = await loadOnnxNet(path, graph);
  try {
    const input = await flaggedInput(net, model, options);
    const layers = selectOnnxLayers(graph, path, options.layer);
    const run = await runOnnxLayers(net, input.batch, layers);
    const pathOf = await outputPlan(options, run.layers.length === 1 && (options.format === 'npy' || input.batch.shape[0] === 1), path);
    const rows = header();
    for (const a of run.layers) rows.push(await writeRow(a, input, options, pathOf));
    const notes = [`ran on ONNX Runtime; outputs are [${outputAxes({ shape: [1, 1, 1, 1], channelsFirst: true }).join(', ')}] (NCHW).`];
    if (run.skipped.length > 0) {
      const explicit = options.layer !== undefined && options.layer !== 'all';
      if (explicit) throw new SelectionError(`${run.skipped.map((s) => `'${s.name}'`).join(', ')} ${run.skipped.length === 1 ? 'outputs' : 'output'} ${run.skipped[0]!.type} values (shape arithmetic), not feature maps.`);
      notes.push(`${run.skipped.length} node${run.skipped.length === 1 ? '' : 's'} computing ${[...new Set(run.skipped.map((s) => s.type))].join('/')} values (shape arithmetic) left out.`);
    }
    return { input, rows, outputs: run.outputs, notes };
  } finally {
    await net.release();
  }
}

/** Runs `convscope activations`: opens the model, feeds the input, writes each wanted layer's output. */
export async function runActivations(path: string, options: ActivationsOptions): Promise<void> {
  await withModel(path, options, async (model) => {
    const graph = onnxGraph(model);
    if (graph && options.engine === 'tfjs') throw new UsageError(`${path} is an ONNX model, which runs on ONNX Runtime only; leave out --engine tfjs.`);
    const report = graph
      ? await runOnnx(path, model, graph, options)
      : model.format === 'tfjs-graph'
        ? await (await import('./activations-graph.js')).runGraph(path, model, options)
        : await (await import('./activations-keras.js')).runKeras(path, model, options);
    await printReport(report, options, model);
  });
}
