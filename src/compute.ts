/**
 * convscope/compute: run, train and probe networks with TensorFlow.js (wasm backend). Separate from
 * the package root so that reading and drawing weights never loads TensorFlow.js.
 */
export { buildModel, type RunnableModel } from './compute/build.js';
export { runLayers, sampleView, type Activation, type InputBatch, type RunOptions, type SampleView } from './compute/activations.js';
export { imageInput, arrayInput, type ImageInputOptions, type PreparedInput } from './compute/inputs.js';
export { defaultPreprocessing, defaultResize, chooseResize, type Resize } from './compute/default-preprocessing.js';
export { imagesToBatch, type PreprocessOptions } from './compute/preprocess.js';
export { PRESETS, type Preset } from './compute/choices.js';
export { registerTrainingKernels } from './compute/kernels/index.js';
export { trainModel, evaluate, type TrainOptions, type EpochSummary, type BatchProgress } from './compute/train.js';
export { watchWeights, type WatchOptions, type WatchEvery, type WatchRecord, type WeightHealth, type WeightWatch } from './compute/watch.js';
export { saveCheckpoint, tfjsLayersFiles, safetensorsBytes } from './compute/checkpoint.js';
export { loadTrainable, type Trainable } from './compute/trainable.js';
export { probeLayer, type ProbeOptions, type ProbeResult, type ClassifierName } from './analyze/probe.js';
export { runGraphNodes, graphInputs } from './compute/tfjs-graph.js';
