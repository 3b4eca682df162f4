import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { outputAxes, sampleView, type LayerOutput } from '../compute/layer-output.js';
import { arrayInput, imageInput, type PreparedInput } from '../compute/inputs.js';
import { loadOnnxNet, runOnnxLayers, selectOnnxLayers } from '../compute/onnx-activations.js';
import { onnxGraph, type OnnxGraph } from '../formats/onnx-graph.js';
import { writeFileAtomic } from '../io/write.js';
import { SelectionError, UsageError } from '../model/errors.js';
import { labelsBesideModel, labelsInMetadata, readLabels } from '../io/labels.js';
import type { Model } from '../model/model.js';
import { barFigure, topValues } from '../render/bars.js';
import { featureMapFigure, type MapNormalization } from '../render/feature-maps.js';
import { sceneToPng } from '../render/scene-png.js';
import { encodeNpy } from '../model/npy.js';
import type { ActivationsOptions } from './activations.js';
import { formatNumber, formatPercent, formatShape } from '../model/format.js';
import { table } from './format.js';
import { withModel } from './model-options.js';

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
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (const v of a.data) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v === 0) zeros++;
  }
  const pct = a.data.length > 0 ? formatPercent(zeros / a.data.length) : '-';
  return [formatShape(a.shape), formatNumber(min), formatNumber(max), formatNumber(sum / a.data.length), pct];
}

export interface FigureOptions {
  cmap: string;
  normalize: MapNormalization;
  top?: number;
}

/**
 * One PNG per input sample of a layer's output: a feature-map grid for spatial outputs, bars of the
 * top values for vectors; nothing for rank > 3 outputs. `inputNames[n]` names sample n in titles.
 */
export function activationPngs(a: LayerOutput, inputNames: readonly string[], options: FigureOptions): { sample: number; png: Uint8Array }[] {
  const batch = a.shape[0] ?? 1;
  const out: { sample: number; png: Uint8Array }[] = [];
  for (let n = 0; n < batch; n++) {
    const view = sampleView(a, n, a.channelsFirst);
    if (view.kind === 'other') continue;
    const title = `${a.name} (${a.className}) output ${formatShape(a.shape.slice(1))} for ${inputNames[n] ?? `sample ${n}`}`;
    const top = options.top ?? 10;
    const scene =
      view.kind === 'maps'
        ? featureMapFigure(view, { title, colormap: options.cmap, normalize: options.normalize }).scene
        : barFigure(view.values, { title: `${title}: top ${Math.min(top, view.values.length)}`, top });
    out.push({ sample: n, png: sceneToPng(scene) });
  }
  return out;
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
      const best = topValues(sample, k).map((t) => `#${t.index}${labels?.[t.index] ? ` ${labels[t.index]}` : ''} ${formatNumber(t.value)}`);
      lines.push(`top ${Math.min(k, sample.length)} of '${out.name}' for ${who}: ${best.join(', ')}`);
    }
  }
  return lines;
}

/** Class names for --top: the --labels file, else the model's metadata or a metadata.json beside a model.json. */
async function classLabels(path: string, model: Model, file: string | undefined): Promise<string[] | undefined> {
  if (file !== undefined) return readLabels(file);
  return labelsInMetadata(model.metadata) ?? (await labelsBesideModel(path));
}

/** The table of written layers, the top classes and notes, as printed. */
export interface Report {
  input: PreparedInput;
  rows: string[][];
  outputs: readonly LayerOutput[];
  notes: string[];
}

async function printReport(path: string, report: Report, options: ActivationsOptions, model: Model): Promise<void> {
  const out = [...report.input.description.map((d) => `input: ${d}`), '', table(report.rows)];
  if (options.top !== undefined) out.push('', ...topLines(report.outputs, options.top, report.input, await classLabels(path, model, options.labels)));
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
async function runOnnx(path: string, graph: OnnxGraph, options: ActivationsOptions): Promise<Report> {
  const net = await loadOnnxNet(path, graph);
  try {
    const input = options.image
      ? await imageInput(net, options.image, { preset: options.preprocess ?? 'torchvision', resize: options.resize, mean: options.mean, std: options.std })
      : await arrayInput(net, options.input!);
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
    const report = graph ? await runOnnx(path, graph, options) : await (await import('./activations-keras.js')).runKeras(path, model, options);
    await printReport(path, report, options, model);
  });
}
