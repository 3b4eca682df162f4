/**
 * convscope's public API: reading, naming, slicing, analysing and drawing weights. Node entry:
 * `openModel(path)`; any environment: `openSource(byteSource)`. Running, training and probing
 * networks (TensorFlow.js) live in `convscope/compute`, so importing this module stays light.
 */
export { openModel, type OpenModelOptions } from './formats/open.js';
export { openSource, READERS } from './formats/index.js';
export type { FormatReader, OpenOptions, Probe } from './formats/reader.js';
export { readOnnxTensor } from './formats/onnx.js';
export {
  parseKerasArchitecture,
  kerasInputShapes,
  kerasDType,
  type KerasArchitecture,
  type KerasContainer,
  type KerasLayerSpec,
  type KerasShape,
} from './formats/keras-config.js';
export type { Model, Layer, Weight, FormatId, Framework, WeightRole } from './model/model.js';
export { type AxisName, type LayerKind, kerasAxes, torchAxes, kerasLayerKind, genericAxes } from './model/axes.js';
export type { DType, TensorData } from './model/dtype.js';
export { ConvscopeError, ContainmentError, ResourceLimitError, ModelFormatError, UnsupportedError, SelectionError, UsageError, InputError } from './model/errors.js';
export { findLayer, findWeight, indexExpression } from './model/lookup.js';
export { NamedTensor, type AxisSelection } from './model/named-tensor.js';
export { encodeNpy, decodeNpy, type NpyArray } from './model/npy.js';
export { tensorStats, type TensorStats } from './model/stats.js';
export { bytesSource, type ByteSource } from './io/source.js';
export { fileSource } from './io/node-source.js';
export { summarizeModel, type ModelSummary, type LayerSummary, type WeightSummary } from './views/model-summary.js';
export { readSlice, type SliceRequest, type WeightSlice } from './analyze/slice.js';
export { filterFigure, type FilterFigure, type FilterFigureInfo, type FilterFigureOptions } from './render/filters.js';
export type { ChannelMode, Normalization } from './render/display.js';
export { histogram, histogramFigure, type Histogram, type HistogramFigure, type HistogramPanel } from './render/histogram.js';
export { getColormap, type Colormap } from './render/colormap.js';
export { COLORMAP_NAMES, DEFAULT_COLORMAP, type ColormapName } from './render/choices.js';
export { filterAxesOf, filterSelection, firstConvLayer, kernelOf, kernelsOf, layersWithKernels, type FilterAxes } from './model/filters.js';
export { loadImage, type DecodedImage } from './io/image.js';
export { RESIZE_MODES, placement, type ResizeMode, type Placement } from './io/image-fit.js';
export { featureMapFigure, type FeatureMaps, type FeatureMapOptions, type FeatureMapFigure } from './render/feature-maps.js';
export { barFigure, topValues, type BarOptions, type TopValue } from './render/bars.js';
export { encodeSafetensors, type SafetensorsTensor } from './formats/safetensors-write.js';
export { loadDataset, parseDataSpec, batches, batchCount, DATA_SPEC_HELP, type LoadOptions, type Dataset, type ImageSet, type PixelScale, type Batch, type BatchOptions, type DataSpec } from './data/index.js';
export { diffModels, diffToJson, alignLayers, type ModelDiff, type LayerDiff, type WeightDiff, type FilterChange, type DiffOptions } from './analyze/diff.js';
export { verdictOf, BARELY_CHANGED_BELOW, EXPLODED_GROWTH, type Verdict, type ChangeMetrics } from './analyze/change.js';
export { findIdenticalFilters, type IdenticalFilters } from './analyze/symmetry.js';
export { RandomForest, accuracy } from './analyze/forest.js';
export { memoryModel, type MemoryModelSpec, type MemoryLayerSpec } from './formats/memory.js';
