import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { readSlice, type WeightSlice } from '../analyze/slice.js';
import { writeFileAtomic } from '../io/write.js';
import { formatAxes, formatShape, frameworkName } from '../model/format.js';
import type { Framework } from '../model/model.js';
import { withModel } from './open-model.js';
import type { WeightsOptions } from './weights.js';

/** The work of `convscope weights`, loaded only when the command runs. */

function toCsv(slice: WeightSlice): string {
  const { tensor } = slice;
  const lines = [[...tensor.axes, 'value'].join(',')];
  const index = new Array<number>(tensor.rank).fill(0);
  for (let i = 0; i < tensor.size; i++) {
    lines.push([...index, Number(tensor.data[i])].join(','));
    for (let k = tensor.rank - 1; k >= 0; k--) {
      if (++index[k]! < tensor.shape[k]!) break;
      index[k] = 0;
    }
  }
  return `${lines.join('\n')}\n`;
}

function toJson(slice: WeightSlice, framework: Framework): string {
  return `${JSON.stringify({
    layer: slice.layer.name,
    weight: slice.weight.name,
    role: slice.weight.role,
    selection: slice.selection,
    axes: slice.tensor.axes,
    shape: slice.tensor.shape,
    dtype: slice.tensor.dtype,
    expression: slice.expression,
    framework,
    data: slice.tensor.toNested(),
  })}\n`;
}

function defaultName(slice: WeightSlice, format: WeightsOptions['format']): string {
  const parts = [slice.layer.name, slice.weight.role];
  if (slice.filter !== undefined) parts.push(`filter${slice.filter}`);
  if (slice.channel !== undefined) parts.push(`channel${slice.channel}`);
  return `${parts.join('-').replace(/[^\w.-]+/g, '_')}.${format}`;
}

/** The file to write: --out itself, or the default name inside --out when it names a directory (as in `filters`). */
async function outputPath(out: string | undefined, slice: WeightSlice, format: WeightsOptions['format']): Promise<string | undefined> {
  if (out === undefined) return format === 'npy' ? defaultName(slice, format) : undefined;
  const isDir = out.endsWith('/') || out.endsWith(sep) || (await stat(out).then((s) => s.isDirectory(), () => false));
  return isDir ? join(out, defaultName(slice, format)) : out;
}

export async function runWeights(path: string, options: WeightsOptions): Promise<void> {
  await withModel(path, options, async (model) => {
    const request = { layer: options.layer, weight: options.weight, filter: options.filter, channel: options.channel };
    const slice = await readSlice(model, request);
    const description =
      `${slice.what}: shape ${formatShape(slice.tensor.shape)} ${formatAxes(slice.tensor.axes)} = ` +
      `${slice.expression} in ${frameworkName(model.framework)}`;
    const body =
      options.format === 'npy' ? slice.tensor.toNpy() : options.format === 'json' ? toJson(slice, model.framework) : toCsv(slice);
    const out = await outputPath(options.out, slice, options.format);
    if (out === undefined) {
      process.stderr.write(`${description}\n`);
      process.stdout.write(body);
    } else {
      await writeFileAtomic(out, body);
      process.stdout.write(`${description}\nwrote ${out}\n`);
    }
  });
}
