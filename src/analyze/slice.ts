import { channelSelection, filterSelection, kernelOf } from '../model/filters.js';
import { findLayer, findWeight, indexExpression } from '../model/lookup.js';
import type { Layer, Model, Weight } from '../model/model.js';
import type { AxisSelection, NamedTensor } from '../model/named-tensor.js';

export interface SliceRequest {
  layer: string;
  /** Role or stored name; default: the layer's kernel (model/filters.ts kernelOf), else its first weight. */
  weight?: string;
  /** Filter j, as model/filters.ts defines it: tile j of `filters`. */
  filter?: number;
  /** Input channel c (in = c), of filter j when one is given. */
  channel?: number;
}

export interface WeightSlice {
  layer: Layer;
  weight: Weight;
  selection: AxisSelection;
  tensor: NamedTensor;
  /** The filter and input channel asked for, when they were. */
  filter?: number;
  channel?: number;
  /** `filter 6 of conv_1` */
  what: string;
  /** The same slice in the file's framework: `kernel[:, :, :, 6]`. */
  expression: string;
}

/** Reads exactly one slice of one weight, checking indices against the stored shape before reading. */
export async function readSlice(model: Model, request: SliceRequest): Promise<WeightSlice> {
  const layer = findLayer(model, request.layer);
  const weight = request.weight === undefined ? (kernelOf(layer) ?? findWeight(layer)) : findWeight(layer, request.weight);
  const place = { layer: layer.name, role: weight.role };
  const { filter, channel } = request;
  const selection =
    filter !== undefined ? filterSelection(weight, filter, channel, place) : channel !== undefined ? channelSelection(weight, channel, place) : {};
  const parts = [
    ...(channel !== undefined && (filter === undefined || !weight.axes.includes('mult')) ? [`input channel ${channel}`] : []),
    ...(filter !== undefined ? [`filter ${filter}`] : []),
  ];
  const what = `${parts.length > 0 ? parts.join(' of ') : weight.role} of ${layer.name}`;
  const tensor = (await weight.read()).select(selection);
  return { layer, weight, selection, tensor, filter, channel, what, expression: indexExpression(model.framework, weight, selection) };
}
