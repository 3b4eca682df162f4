import protobuf from 'protobufjs/light.js';
import { torchAxes, type AxisName, type LayerKind } from '../model/axes.js';
import { decodeLittleEndian, DTYPE_BYTES, type DType, type TensorData } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { decodeMessage, readProto } from '../io/protobuf.js';
import type { Layer, Model, Note, Weight } from '../model/model.js';
import type { ByteSource } from '../io/source.js';
import { NamedTensor } from '../model/named-tensor.js';
import { decodePackedVarints, listFields, readFields, type FieldRef } from './onnx-fields.js';
import type { FormatReader } from './reader.js';
import {
  GRAPH_FIELDS,
  MODEL_GRAPH_FIELD,
  ONNX_DESCRIPTOR,
  ONNX_DTYPES,
  TENSOR_DATA_FIELDS,
  type AttributeProto,
  type Int64,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './schema/onnx.js';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxValueInfo } from './onnx-graph.js';
import { ONNX_NAMES } from './reader-names.js';

/**
 * ONNX models. Weights are the graph's initializers and the tensors of Constant nodes; the Conv,
 * ConvTranspose, Gemm, MatMul and BatchNormalization nodes that use them become layers (named by the
 * node, or its first output), with their attributes as config. Initializers and floating-point
 * Constant tensors no such node uses are listed as their own layers (class `Initializer` / `Constant`). At open only the graph structure and tensor
 * headers are read; a tensor's bytes (raw_data, typed fields or an external data file) are read by
 * `weight.read()`.
 */

const root = protobuf.Root.fromJSON(ONNX_DESCRIPTOR);
const ModelType = root.lookupType('onnx.ModelProto');
const NodeType = root.lookupType('onnx.NodeProto');
const TensorType = root.lookupType('onnx.TensorProto');
const ValueInfoType = root.lookupType('onnx.ValueInfoProto');

/** A decoded message: absent fields read their defaults from the prototype; bytes stay views of `bytes`. */
function decode<T>(type: protobuf.Type, bytes: Uint8Array, file: string, what: string): T {
  return decodeMessage<T>(type, bytes, file, what);
}

function int(v: Int64, file: string, what: string): number {
  const n = typeof v === 'number' ? v : Number(BigInt(v.toString()));
  if (!Number.isSafeInteger(n)) throw new ModelFormatError(`${file}: ${what} holds ${v.toString()}, which is too large to be real.`);
  return n;
}

/** A tensor the graph holds, whatever stores its bytes. */
interface OnnxTensor {
  readonly name: string;
  readonly dims: number[];
  readonly dtype: DType;
  readonly origin: 'Initializer' | 'Constant';
  read(): Promise<TensorData>;
}

function valuesToBytes(values: readonly (number | bigint)[], dtype: DType): Uint8Array {
  const width = DTYPE_BYTES[dtype];
  const bytes = new Uint8Array(values.length * width);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    if (width === 4) view.setInt32(i * 4, Number(v), true);
    else if (width === 2) view.setUint16(i * 2, Number(v) & 0xffff, true);
    else bytes[i] = Number(v) & 0xff;
  });
  return bytes;
}

/** Which typed field holds values of a data type (onnx.proto's table). */
function typedField(dtype: DType): number {
  if (dtype === 'float32') return TENSOR_DATA_FIELDS.float;
  if (dtype === 'float64') return TENSOR_DATA_FIELDS.double;
  if (dtype === 'int64') return TENSOR_DATA_FIELDS.int64;
  return TENSOR_DATA_FIELDS.int32;
}

/**
 * Checks a tensor's header (dims, type, data size against the bytes that hold it) and returns how to
 * read its values: from `proto` itself where it was decoded whole (a Constant node's tensor), else from
 * the located, not yet read, data fields in `data`. A string names a tensor of an unread data type.
 */
async function describeTensor(
  source: ByteSource,
  proto: TensorProto,
  data: Map<number, FieldRef[]>,
  origin: OnnxTensor['origin'],
  name = proto.name,
): Promise<OnnxTensor | string> {
  const file = source.name;
  const dtype = (ONNX_DTYPES as Record<number, DType>)[proto.data_type];
  if (!dtype) return `${name} (data type ${proto.data_type})`;
  const dims = proto.dims.map((d, i) => {
    const n = int(d, file, `dimension ${i} of tensor '${name}'`);
    if (n < 0) throw new ModelFormatError(`${file}: tensor '${name}' expects non-negative dimensions, but dimension ${i} is ${n}.`);
    return n;
  });
  const count = dims.reduce((a, b) => a * b, 1);
  const width = DTYPE_BYTES[dtype];
  if (!Number.isSafeInteger(count * width)) throw new ModelFormatError(`${file}: tensor '${name}' declares dims (${dims.join(', ')}), too large to be real.`);
  const needed = count * width;
  const tensor = (read: () => Promise<TensorData>): OnnxTensor => ({ name, dims, dtype, origin, read });

  if (proto.data_location === 1) {
    const entries = new Map(proto.external_data.map((e) => [e.key, e.value]));
    const location = entries.get('location') ?? '';
    const external = await source.sibling(location, `the external data of tensor ${quote(name)}`);
    const offset = Number(entries.get('offset') ?? 0);
    const length = Number(entries.get('length') ?? needed);
    if (!Number.isSafeInteger(offset) || offset < 0 || length !== needed || offset + length > external.size) {
      throw new ModelFormatError(
        `${file}: tensor '${name}' of dims (${dims.join(', ')}) needs ${needed} bytes of ${location}, but its external data declares offset ${entries.get('offset') ?? 0} and length ${entries.get('length') ?? needed} in a file of ${external.size} bytes.`,
      );
    }
    return tensor(async () => decodeLittleEndian(await external.read(offset, length), dtype, count, external.freshReads === true));
  }
  // A bytes field given twice keeps its last value (protobuf's merge rule).
  const raw = data.get(TENSOR_DATA_FIELDS.raw)?.at(-1);
  if (raw || proto.raw_data.length > 0) {
    const stored = raw ? raw.length : proto.raw_data.length;
    if (stored !== needed) {
      throw new ModelFormatError(`${file}: tensor '${name}' of dtype ${dtype} and dims (${dims.join(', ')}) needs ${needed} bytes, but its raw_data holds ${stored}.`);
    }
    if (!raw) return tensor(async () => decodeLittleEndian(proto.raw_data, dtype, count));
    return tensor(async () => decodeLittleEndian(await source.read(raw.offset, raw.length), dtype, count, source.freshReads === true));
  }
  const fieldNo = typedField(dtype);
  const packed = data.get(fieldNo) ?? [];
  const packedBytes = packed.reduce((a, r) => a + r.length, 0);
  const fixedWidth = fieldNo === TENSOR_DATA_FIELDS.float ? 4 : fieldNo === TENSOR_DATA_FIELDS.double ? 8 : 1;
  if (packedBytes > 0 && (fixedWidth > 1 ? packedBytes !== count * fixedWidth : count > packedBytes)) {
    throw new ModelFormatError(`${file}: tensor '${name}' of dims (${dims.join(', ')}) needs ${count} values, but its typed data field holds ${packedBytes} bytes.`);
  }
  return tensor(async () => {
    const values = await typedData(source, proto, fieldNo, packed, dtype);
    if (values.length !== count) {
      throw new ModelFormatError(`${file}: tensor '${name}' of dims (${dims.join(', ')}) needs ${count} values, but holds ${values.length}.`);
    }
    return values;
  });
}

/** The payloads of a packed repeated field given in several pieces, which protobuf concatenates. */
async function readPayloads(source: ByteSource, refs: readonly FieldRef[]): Promise<Uint8Array> {
  if (refs.length === 1) return source.read(refs[0]!.offset, refs[0]!.length);
  const parts = await Promise.all(refs.map((r) => source.read(r.offset, r.length)));
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

/** Values of a typed field: those protobufjs decoded inline plus the located packed payloads. */
async function typedData(source: ByteSource, proto: TensorProto, fieldNo: number, packed: readonly FieldRef[], dtype: DType): Promise<TensorData> {
  const payload = packed.length > 0 ? await readPayloads(source, packed) : new Uint8Array(0);
  if (fieldNo === TENSOR_DATA_FIELDS.float) {
    return Float32Array.from([...proto.float_data, ...(decodeLittleEndian(payload, 'float32', payload.length / 4) as Float32Array)]);
  }
  if (fieldNo === TENSOR_DATA_FIELDS.double) {
    return Float64Array.from([...proto.double_data, ...(decodeLittleEndian(payload, 'float64', payload.length / 8) as Float64Array)]);
  }
  const varints = readProto(source.name, `the packed values of tensor ${quote(proto.name)}`, () => decodePackedVarints(payload, true));
  if (fieldNo === TENSOR_DATA_FIELDS.int64) return BigInt64Array.from([...proto.int64_data.map((v) => BigInt(v.toString())), ...varints]);
  const values = [...proto.int32_data, ...varints.map(Number)];
  return decodeLittleEndian(valuesToBytes(values, dtype), dtype, values.length);
}

/** Reads a TensorProto's header, locating (not reading) its data fields. */
async function readTensorHeader(source: ByteSource, ref: FieldRef): Promise<{ proto: TensorProto; data: Map<number, FieldRef[]> }> {
  const fields = await listFields(source, ref.offset, ref.offset + ref.length, 'an initializer');
  const dataFields = new Set<number>(Object.values(TENSOR_DATA_FIELDS));
  const data = new Map<number, FieldRef[]>();
  const header: FieldRef[] = [];
  for (const f of fields) {
    if (dataFields.has(f.field) && f.wire === 2) data.set(f.field, [...(data.get(f.field) ?? []), f]);
    else header.push(f);
  }
  return { proto: decode<TensorProto>(TensorType, await readFields(source, header), source.name, 'an initializer'), data };
}

/** Bytes of a string attribute as text; a field the file leaves out decodes as protobuf's default (a plain empty array). */
function utf8(bytes: Uint8Array | readonly number[]): string {
  return new TextDecoder().decode(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
}

function attributeValue(a: AttributeProto, file: string): unknown {
  switch (a.type) {
    case 1:
      return a.f;
    case 2:
      return int(a.i, file, `attribute ${a.name}`);
    case 3:
      return utf8(a.s);
    case 6:
      return a.floats;
    case 7:
      return a.ints.map((v) => int(v, file, `attribute ${a.name}`));
    case 8:
      return a.strings.map(utf8);
    default:
      return undefined;
  }
}

/** An attribute as the graph keeps it (OnnxAttribute), or undefined for tensor, graph and string-list attributes. */
function graphAttribute(a: AttributeProto, file: string): OnnxAttribute | undefined {
  switch (a.type) {
    case 1:
      return { float: a.f };
    case 6:
      return { floats: [...a.floats] };
    case 2:
    case 3:
    case 7:
      return attributeValue(a, file) as OnnxAttribute;
    default:
      return undefined;
  }
}

function graphNode(n: NodeProto, file: string): OnnxNode {
  const attributes: Record<string, OnnxAttribute> = {};
  for (const a of n.attribute) {
    const v = graphAttribute(a, file);
    if (v !== undefined) attributes[a.name] = v;
  }
  return { name: n.name, opType: n.op_type, domain: n.domain, inputs: [...n.input], outputs: [...n.output], attributes };
}

/** Integer tensors this small are shapes, pads and axes: their values go into the graph description. */
const SMALL_INTS = 64;

interface WeightSpec {
  input: number;
  role: string;
}

const LAYER_OPS: Record<string, { kind: LayerKind; weights: WeightSpec[] }> = {
  Conv: { kind: 'conv', weights: [{ input: 1, role: 'kernel' }, { input: 2, role: 'bias' }] },
  ConvTranspose: { kind: 'conv_transpose', weights: [{ input: 1, role: 'kernel' }, { input: 2, role: 'bias' }] },
  Gemm: { kind: 'dense', weights: [{ input: 1, role: 'kernel' }, { input: 2, role: 'bias' }] },
  MatMul: { kind: 'dense', weights: [{ input: 1, role: 'kernel' }] },
  BatchNormalization: {
    kind: 'batch_norm',
    weights: [
      { input: 1, role: 'gamma' },
      { input: 2, role: 'beta' },
      { input: 3, role: 'moving_mean' },
      { input: 4, role: 'moving_variance' },
    ],
  },
};

function axesFor(op: string, role: string, rank: number, config: Record<string, unknown>): AxisName[] {
  if (op === 'Gemm' && role === 'kernel' && rank === 2) return config.transB === 1 ? ['units', 'in'] : ['in', 'units'];
  if (op === 'MatMul' && rank === 2) return ['in', 'units'];
  return torchAxes(LAYER_OPS[op]!.kind, role, rank);
}

/** A graph input or output: its name, element type and shape (null for a named or unknown dimension). */
function valueInfo(v: ValueInfoProto, file: string): OnnxValueInfo {
  const tensor = v.type?.tensor_type;
  const shape = tensor?.shape ? tensor.shape.dim.map((d, i) => (d.dim_param === '' && d.dim_value !== 0 ? int(d.dim_value, file, `dimension ${i} of '${v.name}'`) : null)) : null;
  return { name: v.name, elemType: tensor?.elem_type ?? 0, shape };
}

/** Integer Constant nodes no layer uses are shape and index plumbing, not weights: they are not listed. */
const FLOAT_DTYPES = new Set<DType>(['float16', 'bfloat16', 'float32', 'float64']);

function uniqueName(wanted: string, taken: Set<string>): string {
  let name = wanted;
  for (let i = 1; taken.has(name); i++) name = `${wanted}_${i}`;
  taken.add(name);
  return name;
}

async function openOnnx(source: ByteSource): Promise<Model> {
  const file = source.name;
  const top = await listFields(source, 0, source.size, 'the model');
  const graphRef = top.find((f) => f.field === MODEL_GRAPH_FIELD && f.wire === 2);
  const modelProto = decode<ModelProto>(ModelType, await readFields(source, top.filter((f) => f !== graphRef)), file, 'the model');
  if (!graphRef) throw new ModelFormatError(`${file} is not an ONNX model: it has no graph.`);
  const graphFields = await listFields(source, graphRef.offset, graphRef.offset + graphRef.length, 'the graph');

  const tensors = new Map<string, OnnxTensor>();
  const skipped: string[] = [];
  const nodes: NodeProto[] = [];
  const notes: Note[] = [];
  const graphInputs: OnnxValueInfo[] = [];
  const graphOutputs: OnnxValueInfo[] = [];
  for (const f of graphFields) {
    if (f.wire !== 2) continue;
    if (f.field === GRAPH_FIELDS.node) {
      const node = decode<NodeProto>(NodeType, await source.read(f.offset, f.length), file, 'a graph node');
      nodes.push(node);
      if (node.op_type === 'Constant') {
        const value = node.attribute.find((a) => a.name === 'value' && a.t);
        if (value?.t) {
          const t = await describeTensor(source, value.t, new Map(), 'Constant', node.output[0] ?? value.t.name);
          if (typeof t === 'string') skipped.push(t);
          else tensors.set(t.name, t);
        }
      }
    } else if (f.field === GRAPH_FIELDS.initializer) {
      const { proto, data } = await readTensorHeader(source, f);
      const t = await describeTensor(source, proto, data, 'Initializer');
      if (typeof t === 'string') skipped.push(t);
      else tensors.set(t.name, t);
    } else if (f.field === GRAPH_FIELDS.input || f.field === GRAPH_FIELDS.output) {
      const info = valueInfo(decode<ValueInfoProto>(ValueInfoType, await source.read(f.offset, f.length), file, 'a graph input or output'), file);
      (f.field === GRAPH_FIELDS.input ? graphInputs : graphOutputs).push(info);
    } else if (f.field === GRAPH_FIELDS.sparseInitializer) {
      notes.push({ text: 'The graph has sparse initializers, which convscope does not read.' });
    }
  }

  const layers: Layer[] = [];
  const used = new Set<string>();
  const taken = new Set<string>();
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const out of node.output) producer.set(out, node);
  const layerOf = new Map<NodeProto, string>();
  const grouped: string[] = [];
  for (const node of nodes) {
    const op = LAYER_OPS[node.op_type];
    if (!op || (node.domain !== '' && node.domain !== 'ai.onnx')) continue;
    if (node.op_type === 'MatMul' && !tensors.has(node.input[1] ?? '')) continue;
    const name = uniqueName(node.name || node.output[0] || node.op_type, taken);
    const config: Record<string, unknown> = {};
    for (const a of node.attribute) {
      const v = attributeValue(a, file);
      if (v !== undefined) config[a.name] = v;
    }
    if (typeof config.group === 'number' && config.group > 1) grouped.push(name);
    const weights: Weight[] = [];
    for (const spec of op.weights) {
      const t = tensors.get(node.input[spec.input] ?? '');
      if (!t) continue;
      used.add(t.name);
      const axes = axesFor(node.op_type, spec.role, t.dims.length, config);
      weights.push({ name: t.name, role: spec.role, shape: t.dims, axes, dtype: t.dtype, layer: name, read: async () => new NamedTensor(axes, t.dims, await t.read()) });
    }
    layerOf.set(node, name);
    layers.push({ name, className: node.op_type, kind: op.kind, config, inbound: [], weights });
  }
  const withInbound = layers.map((layer, i) => {
    const node = [...layerOf].find(([, n]) => n === layer.name)![0];
    const seen = new Set<NodeProto>();
    let p = producer.get(node.input[0] ?? '');
    while (p && !layerOf.has(p) && !seen.has(p)) {
      seen.add(p);
      p = producer.get(p.input[0] ?? '');
    }
    return p && layerOf.has(p) ? { ...layers[i]!, inbound: [layerOf.get(p)!] } : layer;
  });
  for (const t of tensors.values()) {
    if (used.has(t.name) || (t.origin === 'Constant' && !FLOAT_DTYPES.has(t.dtype))) continue;
    const name = uniqueName(t.name, taken);
    const axes = torchAxes('other', 'value', t.dims.length);
    withInbound.push({
      name,
      className: t.origin,
      kind: 'other',
      config: {},
      inbound: [],
      weights: [{ name: t.name, role: 'value', shape: t.dims, axes, dtype: t.dtype, layer: name, read: async () => new NamedTensor(axes, t.dims, await t.read()) }],
    });
  }
  if (grouped.length > 0) {
    notes.push({ text: `${grouped.join(', ')} ${grouped.length === 1 ? 'is a grouped convolution' : 'are grouped convolutions'}: ONNX stores their kernels as [out, in/group, ...], so there 'in' counts input channels within the filter's group.` });
  }
  if (skipped.length > 0) notes.push({ text: `Skipped tensors of data types convscope does not read: ${skipped.slice(0, 6).join(', ')}${skipped.length > 6 ? ', ...' : ''}.` });

  const metadata: Record<string, string> = {};
  if (modelProto.producer_name) metadata.producer = `${modelProto.producer_name} ${modelProto.producer_version}`.trim();
  metadata.ir_version = String(int(modelProto.ir_version, file, 'ir_version'));
  const opset = modelProto.opset_import.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (opset) metadata.opset = String(int(opset.version, file, 'opset version'));
  for (const p of modelProto.metadata_props) metadata[p.key] = p.value;
  const initializerNames = new Set([...tensors.values()].filter((t) => t.origin === 'Initializer').map((t) => t.name));
  const constantShapes: Record<string, number[]> = {};
  const smallInts: Record<string, number[]> = {};
  const smallFloats: Record<string, number[]> = {};
  for (const t of tensors.values()) {
    constantShapes[t.name] = t.dims;
    if (t.dims.reduce((a, b) => a * b, 1) <= SMALL_INTS) (FLOAT_DTYPES.has(t.dtype) ? smallFloats : smallInts)[t.name] = Array.from(await t.read(), Number);
  }
  const config: OnnxGraph = {
    nodes: nodes.map((n) => graphNode(n, file)),
    ...(opset ? { opset: Number(metadata.opset) } : {}),
    constantShapes,
    smallInts,
    smallFloats,
    inputs: graphInputs.filter((i) => !initializerNames.has(i.name)),
    outputs: graphOutputs,
    bytes: () => source.read(0, source.size),
  };
  return { format: 'onnx', framework: 'onnx', source: file, layers: withInbound, config, metadata, notes, close() {} };
}

/**
 * Reads a standalone TensorProto file (ONNX test data's `input_0.pb`, an exported initializer),
 * checked like an initializer.
 */
export async function readOnnxTensor(source: ByteSource): Promise<NamedTensor> {
  const { proto, data } = await readTensorHeader(source, { field: 0, wire: 2, tagOffset: 0, offset: 0, length: source.size });
  const t = await describeTensor(source, proto, data, 'Initializer');
  if (typeof t === 'string') throw new UnsupportedError(`${source.name} holds tensor ${t}, whose data type convscope does not read.`);
  return new NamedTensor(torchAxes('other', 'value', t.dims.length), t.dims, await t.read());
}

/** A ModelProto starts with ir_version (field 1, a varint) and has a graph (field 7); only field headers are read. */
async function isOnnx(source: ByteSource, head: Uint8Array): Promise<boolean> {
  if (head.length < 2 || head[0] !== 0x08) return false;
  try {
    const top = await listFields(source, 0, source.size, 'the model');
    return top.some((f) => f.field === MODEL_GRAPH_FIELD && f.wire === 2) && top.every((f) => f.field <= 20);
  } catch {
    return false;
  }
}

export const onnxReader: FormatReader = {
  ...ONNX_NAMES,
  sniff: ({ source, head }) => isOnnx(source, head),
  open: (source) => openOnnx(source),
};
