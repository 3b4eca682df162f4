import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { writeFileAtomic } from '../io/write.js';
import { UsageError } from '../model/errors.js';
import { findLayer, indexExpression } from '../model/lookup.js';
import type { Layer, Model, Weight } from '../model/model.js';
import { filterFigure, type FilterFigure } from '../render/filters.js';
import { readKernelPicture } from '../views/kernel-overview.js';
import { indexPage, type IndexEntry } from '../render/index-page.js';
import { filterAxesOf, filterRule, filterSelection, firstConvLayer, kernelsOf, layersWithKernels } from '../model/filters.js';
import { formatScale, weightTitle } from '../model/format.js';
import type { FiltersOptions } from './filters.js';
import { releaseDropped, weightBytes } from './memory.js';
import { withModel } from './open-model.js';
import { cliNote } from './run.js';

/** The work of `convscope filters`, loaded only when the command runs. */

function safeName(s: string): string {
  return s.replace(/[^\w.-]+/g, '_');
}

/** A weight's figure; a large matrix (unless --filters picks some) is drawn as its overview of blocks. */
async function figureOf(weight: Weight, options: FiltersOptions): Promise<Drawn> {
  const picture = options.filters ? { tensor: await weight.read() } : await readKernelPicture(weight, releaseDropped);
  const fig = filterFigure(picture.tensor, {
    normalize: options.normalize,
    colormap: options.cmap,
    channels: options.channels,
    filters: options.filters,
    cellPx: options.scale,
    labels: options.labels,
    title: weightTitle(weight),
    layer: weight.layer,
    ...(picture.note ? { notes: [picture.note] } : {}),
  });
  return { fig, overview: picture.note !== undefined };
}

interface Drawn {
  fig: FilterFigure;
  /** The figure is an overview of blocks: its tiles are blocks of filters, not filters. */
  overview: boolean;
}

/** The lines printed (and put under each image of an index page) for one figure. */
function describe(model: Model, weight: Weight, { fig, overview }: Drawn): string[] {
  const i = fig.info;
  const drawn = i.mode === 'rgb' ? 'rgb composite' : `${i.mode}, colormap ${i.colormap}`;
  const axes = filterAxesOf(weight);
  const lines = [
    overview
      ? `${weightTitle(weight)}: all ${axes?.count ?? i.filterCount} filters as an overview of blocks, ${drawn}`
      : `${weightTitle(weight)}: ${i.shown.length} of ${i.filterCount} filters, ${drawn}`,
  ];
  const first = i.shown[0];
  if (axes && first !== undefined && !overview) {
    const expression = indexExpression(model.framework, weight, filterSelection(weight, first));
    lines.push(`filter ${first} is ${expression} (${filterRule(axes)})`);
  }
  lines.push(
    i.scale === undefined
      ? 'scale: per filter, each tile on +-(its own max |w|)'
      : `scale: shared, ${formatScale(i.scale)} (zero = middle colour)`,
  );
  lines.push(...i.notes.map((n) => cliNote(n)), ...i.warnings.map((w) => `warning: ${w}`));
  const unknownClass = model.layers.find((l) => l.name === weight.layer)?.className === 'unknown';
  if (unknownClass) lines.push(...(model.notes ?? []).map((n) => `note: ${cliNote(n)}`));
  return lines;
}

async function outputKind(out: string | undefined): Promise<'png' | 'svg' | 'dir' | undefined> {
  if (out === undefined) return undefined;
  if (out.endsWith('/') || (await stat(out).then((s) => s.isDirectory(), () => false))) return 'dir';
  const ext = extname(out).toLowerCase();
  if (ext === '.png' || ext === '.svg') return ext.slice(1) as 'png' | 'svg';
  if (ext === '') return 'dir';
  throw new UsageError(`--out expects a .png or .svg file or a directory, but received '${out}'.`);
}

async function drawOne(model: Model, layer: Layer, options: FiltersOptions): Promise<void> {
  const weights = kernelsOf(model, layer, options.weight);
  const kind = await outputKind(options.out);
  for (const weight of weights) {
    const suffix = weights.length > 1 ? `-${weight.role}` : '';
    let path: string;
    if (kind === 'png' || kind === 'svg') {
      const o = options.out!;
      path = suffix ? `${o.slice(0, -4)}${suffix}${o.slice(-4)}` : o;
    } else {
      path = join(options.out ?? '.', `${safeName(layer.name)}${suffix}-filters.png`);
    }
    const drawn = await figureOf(weight, options);
    const body = path.toLowerCase().endsWith('.svg') ? drawn.fig.svg() : drawn.fig.png();
    await writeFileAtomic(path, body);
    process.stdout.write(`${describe(model, weight, drawn).join('\n')}\nwrote ${path}\n`);
  }
}

/**
 * Reads, draws and writes one weight. A function of its own so that the weight's values (held by the
 * figure) are garbage as soon as it returns, before the next layer is read: `--layer all` then holds
 * one layer at a time, not two (and a large matrix, such as VGG16's 411 MB fc1 kernel, only a slab).
 */
async function drawToFile(model: Model, weight: Weight, path: string, options: FiltersOptions): Promise<Omit<IndexEntry, 'file'>> {
  const drawn = await figureOf(weight, options);
  const png = drawn.fig.png();
  await writeFileAtomic(path, png);
  return { title: weightTitle(weight), png, lines: describe(model, weight, drawn) };
}

async function drawAll(model: Model, path: string, options: FiltersOptions): Promise<void> {
  if (options.filters) throw new UsageError('--filters picks filters of one layer; use it with --layer <name>, not --layer all.');
  const kind = await outputKind(options.out);
  if (kind === 'png' || kind === 'svg') throw new UsageError(`--layer all writes one image per layer, so --out expects a directory, but received '${options.out}'.`);
  const dir = options.out ?? `${basename(path).replace(/\.[^.]+$/, '')}-filters`;
  const layers = layersWithKernels(model);
  if (layers.length === 0) throw new UsageError(`${model.source} has no layer with a kernel to draw.`);
  const entries: IndexEntry[] = [];
  let n = 0;
  for (const layer of layers) {
    for (const weight of kernelsOf(model, layer, options.weight)) {
      const file = `${String(n++).padStart(3, '0')}-${safeName(layer.name)}-${safeName(weight.role)}.png`;
      const entry = await drawToFile(model, weight, join(dir, file), options);
      entries.push({ ...entry, file });
      process.stdout.write(`${entry.lines.join('\n')}\n\n`);
      releaseDropped(weightBytes(weight));
    }
  }
  const index = join(dir, 'index.html');
  await writeFileAtomic(index, indexPage(`Filters of ${basename(path)}`, entries));
  process.stdout.write(`wrote ${entries.length} images and ${index}\n`);
}

export async function runFilters(path: string, options: FiltersOptions): Promise<void> {
  await withModel(path, options, async (model) => {
    if (options.layer === 'all') await drawAll(model, path, options);
    else await drawOne(model, options.layer ? findLayer(model, options.layer) : firstConvLayer(model), options);
  });
}
