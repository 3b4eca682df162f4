/**
 * What a forward engine hands back, engine-free so that drawing and writing outputs (and the ONNX
 * path) never load TensorFlow.js: input batches, layer outputs with their layout, and one sample of
 * an output laid out for drawing.
 */

/** An input batch: C-order float32 values of the given shape (with the batch axis). */
export interface InputBatch {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** One layer's output, whichever engine computed it. */
export interface LayerOutput {
  /** The layer name (with `@k` for call k > 0 of a shared Keras layer), or the ONNX node's name. */
  readonly name: string;
  /** The layer class (`Conv2D`) or ONNX operator (`Conv`). */
  readonly className: string;
  /** With the batch axis: (N, H, W, C) for channels_last convolutions, (N, C, H, W) for ONNX. */
  readonly shape: readonly number[];
  /** Whether channels are axis 1 (NCHW / NCW) rather than the last axis. */
  readonly channelsFirst: boolean;
  readonly data: Float32Array;
  /** The PyTorch module an exported ONNX node belongs to (`layer1.0.conv1`). */
  readonly module?: string;
}

/** The named axes of a layer output: [batch, channels, height, width] for NCHW maps, [batch, height, width, channels] for NHWC. */
export function outputAxes(output: Pick<LayerOutput, 'shape' | 'channelsFirst'>): string[] {
  const spatial = ['depth', 'height', 'width'].slice(-(output.shape.length - 2));
  if (output.shape.length === 2) return ['batch', 'features'];
  if (output.shape.length < 2 || output.shape.length > 5) return output.shape.map((_, i) => (i === 0 ? 'batch' : `d${i}`));
  return output.channelsFirst ? ['batch', 'channels', ...spatial] : ['batch', ...spatial, 'channels'];
}

/** One sample of an activation, laid out for drawing. */
export type SampleView =
  | { kind: 'maps'; height: number; width: number; channels: number; data: Float32Array }
  | { kind: 'vector'; values: Float32Array }
  | { kind: 'other'; shape: readonly number[] };

/**
 * Sample `n` of an activation: spatial outputs as channels-last maps ([H, W, C]; 1-D outputs with
 * H = 1), vectors (Dense, softmax) as they are. `channelsFirst` says the layer computes NCHW / NCW.
 */
export function sampleView(activation: Pick<LayerOutput, 'shape' | 'data'>, n: number, channelsFirst: boolean): SampleView {
  const dims = activation.shape.slice(1);
  const size = dims.reduce((a, b) => a * b, 1);
  const sample = activation.data.subarray(n * size, (n + 1) * size);
  if (dims.length === 1) return { kind: 'vector', values: sample };
  if (dims.length !== 2 && dims.length !== 3) return { kind: 'other', shape: activation.shape };
  const spatial = channelsFirst ? dims.slice(1) : dims.slice(0, -1);
  const channels = channelsFirst ? dims[0]! : dims[dims.length - 1]!;
  const [height, width] = spatial.length === 2 ? [spatial[0]!, spatial[1]!] : [1, spatial[0]!];
  if (!channelsFirst) return { kind: 'maps', height, width, channels, data: sample };
  const pixels = height * width;
  const data = new Float32Array(size);
  for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) data[p * channels + c] = sample[c * pixels + p]!;
  return { kind: 'maps', height, width, channels, data };
}
