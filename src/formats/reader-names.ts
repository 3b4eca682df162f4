/**
 * Id and description of the readers that formats/index.ts loads on first use (their modules bring
 * protobufjs), kept here so that listing the supported formats does not load them.
 */
export const ONNX_NAMES = { id: 'onnx', description: 'ONNX (.onnx)' } as const;
export const TF_SAVEDMODEL_NAMES = {
  id: 'tf-savedmodel',
  description: 'TensorFlow SavedModel (saved_model.pb + variables/, Keras architecture from keras_metadata.pb)',
} as const;
export const TF_CHECKPOINT_NAMES = {
  id: 'tf-checkpoint',
  description: 'TensorFlow checkpoint (checkpoint file, or <prefix>.index + .data-* shards; TF1 and TF2)',
} as const;
