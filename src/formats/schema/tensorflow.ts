/**
 * The subset of TensorFlow's protos convscope reads, as a protobufjs reflection descriptor with the
 * protos' own field names and numbers, and the decoded shapes:
 * - tensor bundles (`tensorflow/core/protobuf/tensor_bundle.proto`): BundleHeaderProto, BundleEntryProto;
 * - object-based checkpoints (`trackable_object_graph.proto`): TrackableObjectGraph;
 * - SavedModel (`saved_model.proto`, `meta_graph.proto`, `saved_object_graph.proto`): the MetaInfoDef,
 *   the `trainable_variables` collection (VariableDef) and the SavedObject user metadata where Keras
 *   before 2.5 kept a model's architecture;
 * - Keras' `keras_metadata.pb` (`keras/protobuf/saved_metadata.proto`): SavedMetadata.
 * SavedModel.meta_graphs (2) and MetaGraphDef's fields are walked lazily by the reader so the GraphDef
 * (often most of the file) is never decoded.
 */

export const SAVED_MODEL_FIELDS = { schemaVersion: 1, metaGraphs: 2 } as const;
export const META_GRAPH_FIELDS = { metaInfoDef: 1, collectionDef: 4, objectGraphDef: 7 } as const;

const repeated = (type: string, id: number) => ({ rule: 'repeated', type, id });

export const TF_DESCRIPTOR = {
  nested: {
    tf: {
      nested: {
        VersionDef: { fields: { producer: { type: 'int32', id: 1 }, min_consumer: { type: 'int32', id: 2 }, bad_consumers: repeated('int32', 3) } },
        TensorShapeProto: {
          fields: { dim: repeated('Dim', 2), unknown_rank: { type: 'bool', id: 3 } },
          nested: { Dim: { fields: { size: { type: 'int64', id: 1 }, name: { type: 'string', id: 2 } } } },
        },
        BundleHeaderProto: {
          fields: { num_shards: { type: 'int32', id: 1 }, endianness: { type: 'int32', id: 2 }, version: { type: 'VersionDef', id: 3 } },
        },
        BundleEntryProto: {
          fields: {
            dtype: { type: 'int32', id: 1 },
            shape: { type: 'TensorShapeProto', id: 2 },
            shard_id: { type: 'int32', id: 3 },
            offset: { type: 'int64', id: 4 },
            size: { type: 'int64', id: 5 },
            crc32c: { type: 'fixed32', id: 6 },
            slices: repeated('bytes', 7),
          },
        },
        ObjectReference: { fields: { node_id: { type: 'int32', id: 1 }, local_name: { type: 'string', id: 2 } } },
        SerializedTensor: { fields: { name: { type: 'string', id: 1 }, full_name: { type: 'string', id: 2 }, checkpoint_key: { type: 'string', id: 3 } } },
        SlotVariableReference: {
          fields: { original_variable_node_id: { type: 'int32', id: 1 }, slot_name: { type: 'string', id: 2 }, slot_variable_node_id: { type: 'int32', id: 3 } },
        },
        TrackableObject: {
          fields: { children: repeated('ObjectReference', 1), attributes: repeated('SerializedTensor', 2), slot_variables: repeated('SlotVariableReference', 3) },
        },
        TrackableObjectGraph: { fields: { nodes: repeated('TrackableObject', 1) } },
        MetaInfoDef: {
          fields: {
            meta_graph_version: { type: 'string', id: 1 },
            tags: repeated('string', 4),
            tensorflow_version: { type: 'string', id: 5 },
            tensorflow_git_version: { type: 'string', id: 6 },
          },
        },
        CollectionDef: {
          fields: { bytes_list: { type: 'BytesList', id: 4 } },
          nested: { BytesList: { fields: { value: repeated('bytes', 1) } } },
        },
        VariableDef: { fields: { variable_name: { type: 'string', id: 1 }, snapshot_name: { type: 'string', id: 3 }, trainable: { type: 'bool', id: 7 } } },
        SavedUserObject: { fields: { identifier: { type: 'string', id: 1 }, metadata: { type: 'string', id: 3 } } },
        SavedObject: { fields: { children: repeated('ObjectReference', 1), user_object: { type: 'SavedUserObject', id: 4 } } },
        SavedObjectGraph: { fields: { nodes: repeated('SavedObject', 1) } },
        KerasSavedObject: {
          fields: { node_id: { type: 'int32', id: 2 }, node_path: { type: 'string', id: 3 }, identifier: { type: 'string', id: 4 }, metadata: { type: 'string', id: 5 } },
        },
        KerasSavedMetadata: { fields: { nodes: repeated('KerasSavedObject', 1) } },
      },
    },
  },
};

/** protobufjs yields int64 fields as Long objects (or numbers when small). */
export type Int64 = number | { toString(): string };

export interface BundleHeaderProto {
  num_shards: number;
  /** 0 little-endian, 1 big-endian. */
  endianness: number;
  version: { producer: number; min_consumer: number } | null;
}

export interface BundleEntryProto {
  dtype: number;
  shape: { dim: { size: Int64; name: string }[]; unknown_rank: boolean } | null;
  shard_id: number;
  offset: Int64;
  size: Int64;
  crc32c: number;
  /** Non-empty for partitioned variables (TensorSliceProto each). */
  slices: Uint8Array[];
}

export interface TrackableObjectGraph {
  nodes: {
    children: { node_id: number; local_name: string }[];
    attributes: { name: string; full_name: string; checkpoint_key: string }[];
    slot_variables: { original_variable_node_id: number; slot_name: string; slot_variable_node_id: number }[];
  }[];
}

export interface MetaInfoDef {
  meta_graph_version: string;
  tags: string[];
  tensorflow_version: string;
  tensorflow_git_version: string;
}

export interface CollectionDef {
  bytes_list: { value: Uint8Array[] } | null;
}

export interface VariableDef {
  variable_name: string;
  snapshot_name: string;
  trainable: boolean;
}

export interface SavedObjectGraph {
  nodes: { children: { node_id: number; local_name: string }[]; user_object: { identifier: string; metadata: string } | null }[];
}

export interface KerasSavedMetadata {
  nodes: { node_id: number; node_path: string; identifier: string; metadata: string }[];
}

/** TensorFlow DataType values (types.proto) convscope reads as numbers, and their dtypes. */
export const TF_DTYPES = {
  1: 'float32',
  2: 'float64',
  3: 'int32',
  4: 'uint8',
  5: 'int16',
  6: 'int8',
  9: 'int64',
  10: 'bool',
  14: 'bfloat16',
  17: 'uint16',
  19: 'float16',
} as const;

/** DT_STRING: variable-length bytes (the object graph, vocabularies). */
export const TF_STRING = 7;

/** Names of the other DataType values, for messages. */
export const TF_DTYPE_NAMES: Record<number, string> = {
  7: 'string',
  8: 'complex64',
  11: 'qint8',
  12: 'quint8',
  13: 'qint32',
  15: 'qint16',
  16: 'quint16',
  18: 'complex128',
  20: 'resource',
  21: 'variant',
  22: 'uint32',
  23: 'uint64',
};
