/**
 * The subset of onnx.proto (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto) convscope reads, as
 * a protobufjs reflection descriptor with the proto's own field names and numbers, and the decoded
 * shapes. ModelProto.graph (7), GraphProto and the data fields of TensorProto are walked lazily by the
 * reader so tensor bytes are read only when a weight is; everything else is decoded by protobufjs.
 */

export const MODEL_GRAPH_FIELD = 7;
export const GRAPH_FIELDS = { node: 1, initializer: 5, input: 11, output: 12, sparseInitializer: 15 } as const;
/** TensorProto fields that hold the values: float_data, int32_data, int64_data, raw_data, double_data, uint64_data. */
export const TENSOR_DATA_FIELDS = { float: 4, int32: 5, int64: 7, raw: 9, double: 10, uint64: 11 } as const;

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });

export const ONNX_DESCRIPTOR = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            domain: { type: 'string', id: 4 },
            model_version: { type: 'int64', id: 5 },
            doc_string: { type: 'string', id: 6 },
            opset_import: repeated('OperatorSetIdProto', 8),
            metadata_props: repeated('StringStringEntryProto', 14),
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        NodeProto: {
          fields: {
            input: repeated('string', 1),
            output: repeated('string', 2),
            name: { type: 'string', id: 3 },
            op_type: { type: 'string', id: 4 },
            attribute: repeated('AttributeProto', 5),
            domain: { type: 'string', id: 7 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            t: { type: 'TensorProto', id: 5 },
            floats: repeated('float', 7),
            ints: repeated('int64', 8),
            strings: repeated('bytes', 9),
            type: { type: 'int32', id: 20 },
          },
        },
        ModelGraphPatch: { fields: { graph: { type: 'GraphProto', id: 7 } } },
        ModelWriter: {
          fields: {
            ir_version: { type: 'int64', id: 1 },
            producer_name: { type: 'string', id: 2 },
            producer_version: { type: 'string', id: 3 },
            graph: { type: 'GraphWriter', id: 7 },
            opset_import: repeated('OperatorSetIdProto', 8),
          },
        },
        GraphWriter: {
          fields: {
            node: repeated('NodeProto', 1),
            name: { type: 'string', id: 2 },
            initializer: repeated('TensorProto', 5),
            input: repeated('ValueInfoProto', 11),
            output: repeated('ValueInfoProto', 12),
          },
        },
        GraphProto: { fields: { output: repeated('ValueInfoProto', 12) } },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: { fields: { tensor_type: { type: 'TypeProtoTensor', id: 1 } } },
        TypeProtoTensor: { fields: { elem_type: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
        TensorShapeProto: { fields: { dim: repeated('TensorShapeDimension', 1) } },
        TensorShapeDimension: { fields: { dim_value: { type: 'int64', id: 1 }, dim_param: { type: 'string', id: 2 } } },
        TensorProto: {
          fields: {
            dims: repeated('int64', 1),
            data_type: { type: 'int32', id: 2 },
            float_data: repeated('float', 4),
            int32_data: repeated('int32', 5),
            int64_data: repeated('int64', 7),
            name: { type: 'string', id: 8 },
            raw_data: { type: 'bytes', id: 9 },
            double_data: repeated('double', 10),
            uint64_data: repeated('uint64', 11),
            external_data: repeated('StringStringEntryProto', 13),
            data_location: { type: 'int32', id: 14 },
          },
        },
      },
    },
  },
};

/** protobufjs yields int64 fields as Long objects (or numbers when small). */
export type Int64 = number | { toString(): string };

export interface StringStringEntryProto {
  key: string;
  value: string;
}

export interface ModelProto {
  ir_version: Int64;
  producer_name: string;
  producer_version: string;
  opset_import: { domain: string; version: Int64 }[];
  metadata_props: StringStringEntryProto[];
}

export interface TensorProto {
  dims: Int64[];
  data_type: number;
  float_data: number[];
  int32_data: number[];
  int64_data: Int64[];
  name: string;
  raw_data: Uint8Array;
  double_data: number[];
  uint64_data: Int64[];
  external_data: StringStringEntryProto[];
  data_location: number;
}

export interface AttributeProto {
  name: string;
  f: number;
  i: Int64;
  s: Uint8Array;
  t: TensorProto | null;
  floats: number[];
  ints: Int64[];
  strings: Uint8Array[];
  /** AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS, 8 STRINGS. */
  type: number;
}

export interface ValueInfoProto {
  name: string;
  type: { tensor_type: { elem_type: number; shape: { dim: { dim_value: Int64; dim_param: string }[] } | null } | null } | null;
}

export interface NodeProto {
  input: string[];
  output: string[];
  name: string;
  op_type: string;
  attribute: AttributeProto[];
  domain: string;
}

/** TensorProto.DataType values convscope reads, and their dtypes. */
export const ONNX_DTYPES = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
} as const;
