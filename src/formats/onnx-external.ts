import protobuf from 'protobufjs/light.js';
import { concatBytes, type ByteSource } from '../io/source.js';
import { listFields, readFields, type FieldRef } from './onnx-fields.js';
import { GRAPH_FIELDS, MODEL_GRAPH_FIELD, TENSOR_DATA_FIELDS } from './schema/onnx.js';

/**
 * An ONNX model whose weights stay in its file: the ModelProto with every initializer's raw_data
 * replaced by an ONNX external-data reference to where those bytes already lie in the file itself
 * (location = the file's own name, offset, length). It is a few hundred KB for VGG16's 553 MB file:
 * ONNX Runtime, given it from memory with the file's folder as the external-data folder, reads each
 * weight from the file straight into its own tensor, so neither a whole-file buffer here nor ONNX
 * Runtime's decoded copy of the protobuf ever exists (measured: `activations` of VGG16 peaked at
 * 1.63 GB holding both, ~3x the file). The file is walked field by field (formats/onnx-fields.ts);
 * every other field is copied byte for byte, never decoded and re-encoded.
 */

/** raw_data smaller than this stays inline: one read of a few bytes is not worth a reference. */
const INLINE_BYTES = 4096;
const TENSOR_FIELDS = { externalData: 13, dataLocation: 14 } as const;
const EXTERNAL = 1;

function lengthDelimited(field: number, payload: Uint8Array): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(((field << 3) | 2) >>> 0).bytes(payload);
  return w.finish();
}

/** data_location = EXTERNAL and the location / offset / length entries (StringStringEntryProto: key 1, value 2). */
function externalFields(location: string, offset: number, length: number): Uint8Array {
  const w = protobuf.Writer.create();
  for (const [key, value] of [['location', location], ['offset', String(offset)], ['length', String(length)]]) {
    w.uint32(((TENSOR_FIELDS.externalData << 3) | 2) >>> 0).fork().uint32((1 << 3) | 2).string(key!).uint32((2 << 3) | 2).string(value!).ldelim();
  }
  w.uint32(TENSOR_FIELDS.dataLocation << 3).int32(EXTERNAL);
  return w.finish();
}

/** One initializer: its raw_data (the last one, protobuf's merge rule) becomes a reference; other fields are copied. */
async function tensor(source: ByteSource, ref: FieldRef, location: string): Promise<Uint8Array> {
  const fields = await listFields(source, ref.offset, ref.offset + ref.length, 'an initializer');
  const raws = fields.filter((f) => f.field === TENSOR_DATA_FIELDS.raw && f.wire === 2);
  const raw = raws.at(-1);
  const located = fields.some((f) => f.field === TENSOR_FIELDS.dataLocation || f.field === TENSOR_FIELDS.externalData);
  if (!raw || raw.length < INLINE_BYTES || located) return readFields(source, [ref]);
  const kept = await readFields(source, fields.filter((f) => f.field !== TENSOR_DATA_FIELDS.raw));
  return lengthDelimited(GRAPH_FIELDS.initializer, concatBytes([kept, externalFields(location, raw.offset, raw.length)]));
}

/**
 * The model in `source` (a local file named `location` in its folder) with its large raw_data
 * initializers referring to the file itself; `patch` (extra graph fields, see compute/ort.ts) is
 * appended. Load it with the file's folder as ONNX Runtime's external-initializer folder.
 */
export async function externalizedModel(source: ByteSource, location: string, patch: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (const top of await listFields(source, 0, source.size, 'the model')) {
    if (top.field !== MODEL_GRAPH_FIELD || top.wire !== 2) {
      parts.push(await readFields(source, [top]));
      continue;
    }
    const graph: Uint8Array[] = [];
    for (const f of await listFields(source, top.offset, top.offset + top.length, 'the graph')) {
      graph.push(f.field === GRAPH_FIELDS.initializer && f.wire === 2 ? await tensor(source, f, location) : await readFields(source, [f]));
    }
    parts.push(lengthDelimited(MODEL_GRAPH_FIELD, concatBytes(graph)));
  }
  parts.push(patch);
  return concatBytes(parts);
}
