/**
 * The structure of an ONNX graph as the reader found it (`model.config` of an ONNX model): which
 * nodes compute what, from what. Enough for an engine to run the file and name every value; the
 * tensors themselves stay in the file.
 */

export interface OnnxNode {
  /** The node's name as exported (`/layer1/layer1.0/conv1/Conv`), possibly empty. */
  readonly name: string;
  readonly opType: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** The node's attributes (INT / INTS as numbers, FLOAT / FLOATS wrapped, STRING as text); tensor and graph attributes are left out. */
  readonly attributes?: Readonly<Record<string, OnnxAttribute>>;
}

/** An attribute value as onnx-write.ts writes it, so a read graph can be extended and written back. */
export type OnnxAttribute = number | string | readonly number[] | { readonly float: number } | { readonly floats: readonly number[] };

export interface OnnxValueInfo {
  readonly name: string;
  /** TensorProto.DataType (1 = float32); 0 when the file does not say. */
  readonly elemType: number;
  /** Dimensions, null where named (`batch_size`) or unknown; null when the file gives no shape. */
  readonly shape: readonly (number | null)[] | null;
}

export interface OnnxGraph {
  readonly nodes: readonly OnnxNode[];
  /** The inputs a caller feeds (initializers listed as inputs by old exporters are left out). */
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  /** The default-domain operator set the graph was written for. */
  readonly opset?: number;
  /** Shapes of the constant tensors (initializers and Constant nodes), by value name. */
  readonly constantShapes?: Readonly<Record<string, readonly number[]>>;
  /** Values of small integer constants (shapes, pads, axes: at most 64 values), by value name. */
  readonly smallInts?: Readonly<Record<string, readonly number[]>>;
  /** Values of small floating-point constants (Resize scales: at most 64 values), by value name. */
  readonly smallFloats?: Readonly<Record<string, readonly number[]>>;
  /** The whole model file, read from its source (for an engine to run it); absent where the model was restored from JSON. */
  readonly bytes?: () => Promise<Uint8Array>;
}

/** The graph of a model the ONNX reader opened; undefined for other formats. */
export function onnxGraph(model: { format: string; config?: unknown }): OnnxGraph | undefined {
  if (model.format !== 'onnx') return undefined;
  const config = model.config as Partial<OnnxGraph> | undefined;
  return config?.nodes && config.inputs && config.outputs ? (config as OnnxGraph) : undefined;
}
