/**
 * Keras architecture JSON exactly as stored (`model.to_json()`, the `model_config` HDF5 attribute,
 * `.keras` config.json, TF.js `modelTopology`): snake_case keys, converted once by keras-config.ts.
 */

/** `{ class_name, config }`: a layer or a model, in every Keras version. */
export interface KerasLayerJson {
  class_name: string;
  /** A layer's settings; for Keras 1 / Keras 2.0 Sequential models, the list of layers. */
  config: KerasModelConfigJson | KerasLayerJson[] | Record<string, unknown>;
  /** Functional models only (Keras 2 and 3). */
  name?: string;
  /** Keras 2: [[[layer, node, tensor, kwargs?], ...], ...]; Keras 3: [{ args, kwargs }, ...]. */
  inbound_nodes?: unknown[];
  /** Keras 3. */
  module?: string | null;
  registered_name?: string | null;
  build_config?: unknown;
}

/** `config` of a Sequential / Functional / Model. */
export interface KerasModelConfigJson {
  name?: string;
  layers: KerasLayerJson[];
  /** Functional models: [[layer, node, tensor], ...] (Keras 2 and 3) or one such triple. */
  input_layers?: unknown[];
  output_layers?: unknown[];
  trainable?: boolean;
  [key: string]: unknown;
}

/** A Keras 3 tensor reference inside `inbound_nodes[i].args` / `kwargs`. */
export interface KerasTensorJson {
  class_name: '__keras_tensor__';
  config: { shape?: unknown; dtype?: unknown; keras_history: [string, number, number] };
}

/** The outer wrapper of a whole `model.to_json()` (Keras 2) or TF.js `modelTopology`. */
export interface KerasTopologyJson {
  class_name?: string;
  config?: unknown;
  /** TF.js converter output nests the model here. */
  model_config?: KerasLayerJson;
  keras_version?: string;
  backend?: string;
}
