/** The safetensors header and sharded index exactly as stored (JSON, snake_case). */

/** One tensor of the header: `data_offsets` are relative to the data section after the header. */
export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** `model.safetensors.index.json` as written by transformers / huggingface_hub. */
export interface SafetensorsIndex {
  metadata?: Record<string, unknown>;
  weight_map: Record<string, string>;
}
