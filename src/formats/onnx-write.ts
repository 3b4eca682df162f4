import protobuf from 'protobufjs/light.js';
import { ONNX_DESCRIPTOR } from './schema/onnx.js';
import type { OnnxAttribute } from './onnx-graph.js';

/**
 * Writes ONNX ModelProto bytes from a small in-memory graph description: float32 initializers, nodes
 * with int / float / ints / floats / string attributes, float32 inputs and outputs. Used to run
 * networks from other formats on ONNX Runtime; the field numbers are onnx.proto's.
 */

export type AttributeValue = OnnxAttribute;

export interface WriteNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  /** Integers are INT / INTS; wrap in { float } / { floats } for FLOAT / FLOATS. */
  readonly attributes?: Readonly<Record<string, AttributeValue>>;
}

export interface WriteTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | BigInt64Array;
}

export interface WriteValue {
  readonly name: string;
  /** null for a free dimension (the batch). */
  readonly shape?: readonly (number | null)[];
}

export interface WriteGraph {
  readonly name: string;
  readonly nodes: readonly WriteNode[];
  readonly initializers: readonly WriteTensor[];
  readonly inputs: readonly WriteValue[];
  readonly outputs: readonly WriteValue[];
  /** The default ONNX opset the graph's operators follow (WRITE_OPSET unless given). */
  readonly opset?: number;
}

export const WRITE_OPSET = 13;

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const ModelWriter = root.lookupType('onnx.ModelWriter');

function attribute(name: string, value: AttributeValue): Record<string, unknown> {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`Attribute ${name} = ${value} is not an integer; pass { float } for a float.`);
    return { name, type: 2, i: value };
  }
  if (typeof value === 'string') return { name, type: 3, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: 7, ints: value };
  if ('float' in value) return { name, type: 1, f: value.float };
  return { name, type: 6, floats: [...(value as { floats: readonly number[] }).floats] };
}

function valueInfo(v: WriteValue): Record<string, unknown> {
  if (!v.shape) return { name: v.name, type: { tensor_type: { elem_type: 1 } } };
  const dim = v.shape.map((d, i) => (d === null ? { dim_param: i === 0 ? 'batch' : `d${i}` } : { dim_value: d }));
  return { name: v.name, type: { tensor_type: { elem_type: 1, shape: { dim } } } };
}

function graphFields(graph: Omit<WriteGraph, 'name'>, names: string): Record<string, unknown> {
  return {
    node: graph.nodes.map((n, i) => ({
      name: n.name ?? `${names}${n.op}_${i}`,
      op_type: n.op,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attributes ?? {}).map(([k, v]) => attribute(k, v)),
    })),
    initializer: graph.initializers.map((t) => ({
      name: t.name,
      dims: t.dims,
      data_type: t.data instanceof Float32Array ? 1 : 7,
      raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    })),
    input: graph.inputs.map(valueInfo),
    output: graph.outputs.map(valueInfo),
  };
}

export function encodeOnnxModel(graph: WriteGraph): Uint8Array {
  return ModelWriter.encode({
    ir_version: 7,
    producer_name: 'convscope',
    opset_import: [{ domain: '', version: graph.opset ?? WRITE_OPSET }],
    graph: { name: graph.name, ...graphFields(graph, '') },
  }).finish();
}

/**
 * The bytes that, appended to a ModelProto, add these nodes, initializers, inputs and outputs to its
 * graph: protobuf merges a second `graph` field into the first, appending to its repeated fields, so
 * the model itself is never decoded. Node names start with `prefix` to stay clear of the model's own.
 */
export function encodeGraphPatch(patch: Omit<WriteGraph, 'name'>, prefix: string): Uint8Array {
  return ModelWriter.encode({ graph: graphFields(patch, prefix) }).finish();
}
