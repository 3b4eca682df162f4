/**
 * TF.js layers-model `model.json` exactly as stored (tfjs-core io/types.ts `ModelJSON`), converted once
 * by tfjs.ts. The topology is Keras JSON (see schema/keras.ts).
 */

/** Stored element types of a weight (before dequantization). */
export type TfjsDtype = 'float32' | 'int32' | 'bool' | 'float16' | 'uint8' | 'uint16' | 'string' | 'complex64';

export interface TfjsQuantizationJson {
  /** The stored type; values are dequantized to `original_dtype` (float32) on read. */
  dtype: 'uint8' | 'uint16' | 'float16';
  /** Affine quantization: value = q * scale + min. Absent for float16. */
  scale?: number;
  min?: number;
  original_dtype?: string;
}

export interface TfjsWeightJson {
  name: string;
  shape: number[];
  dtype: TfjsDtype;
  quantization?: TfjsQuantizationJson;
  /** Graph models only; a layers model has none. */
  group?: string;
}

export interface TfjsWeightGroupJson {
  /** Shard file names relative to model.json; their bytes are concatenated in this order. */
  paths: string[];
  weights: TfjsWeightJson[];
}

export interface TfjsModelJson {
  /** 'layers-model' or absent (older converters); 'graph-model' is a different format. */
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: unknown;
  weightsManifest?: TfjsWeightGroupJson[];
  /** What the writer chose to record (`model.save` keeps it; convscope train writes its run's facts here). */
  userDefinedMetadata?: unknown;
}

/** A TensorFlow AttrValue in the protobuf JSON mapping a TF.js graph model stores (bytes as base64). */
export interface TfjsAttrJson {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size?: string | number }[]; unknownRank?: boolean };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; b?: boolean[]; type?: string[] };
}

/** One GraphDef node of a TF.js graph model's modelTopology. */
export interface TfjsNodeJson {
  name: string;
  op: string;
  /** Producers: `node`, `node:1` (output 1), `^node` (control dependency). */
  input?: string[];
  attr?: Record<string, TfjsAttrJson>;
}

/** A graph model's modelTopology: a GraphDef in the protobuf JSON mapping. */
export interface TfjsGraphJson {
  node: TfjsNodeJson[];
  library?: unknown;
  versions?: { producer?: number };
}
