import type { AxisName } from '../model/axes.js';
import { SelectionError } from '../model/errors.js';
import { findLayer, findWeight, indexExpression } from '../model/lookup.js';
import type { Layer, Model, Weight } from '../model/model.js';
import type { AxisSelection, NamedTensor } from '../model/named-tensor.js';

export interface SliceRequest {
  layer: string;
  /** Role or stored name; default: the layer's kernel. */
  weight?: string;
  /** Filter j: out = j. */
  filter?: number;
  /** Input channel c: in = c. */
  channel?: number;
}

export interface WeightSlice {
  layer: Layer;
  weight: Weight;
  selection: AxisSelection;
  tensor: NamedTensor;
  /** `filter 6 of conv_1` */
  what: string;
  /** The same slice in the file's framework: `kernel[:, :, :, 6]`. */
  expression: string;
}

function checkIndex(layer: Layer, weight: Weight, axis: AxisName, index: number, noun: string, option: string): void {
  const i = weight.axes.indexOf(axis);
  if (i < 0) {
    throw new SelectionError(
      `Weight '${weight.role}' of layer '${layer.name}' has axes [${weight.axes.join(', ')}] and no '${axis}' axis, so ${option} does not apply.`,
    );
  }
  const n = weight.shape[i]!;
  if (index >= n) {
    throw new SelectionError(
      `${noun[0]!.toUpperCase()}${noun.slice(1)} ${index} is out of range for layer '${layer.name}': it has ${n} ${noun}s (valid: 0 to ${n - 1}).`,
    );
  }
}

/** Reads exactly one slice of one weight, checking indices against the stored shape before reading. */
export async function readSlice(model: Model, request: SliceRequest): Promise<WeightSlice> {
  const layer = findLayer(model, request.layer);
  const weight = findWeight(layer, request.weight);
  const selection: AxisSelection = {};
  const parts: string[] = [];
  if (request.channel !== undefined) {
    checkIndex(layer, weight, 'in', request.channel, 'input channel', '--channel');
    selection.in = request.channel;
    parts.push(`input channel ${request.channel}`);
  }
  if (request.filter !== undefined) {
    checkIndex(layer, weight, 'out', request.filter, 'filter', '--filter');
    selection.out = request.filter;
    parts.push(`filter ${request.filter}`);
  }
  const full = await weight.read();
  const tensor = full.select(selection);
  const head = parts.length > 0 ? `${parts.join(' of ')} of` : `${weight.role} of`;
  return {
    layer,
    weight,
    selection,
    tensor,
    what: `${head} ${layer.name}`,
    expression: indexExpression(model.framework, weight, selection),
  };
}
