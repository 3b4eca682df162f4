/**
 * The large input of the h5 benchmarks: a ~550 MB Keras-2-layout h5 with VGG16's layers (first kernel
 * 5x5x3x64, fc1 kernel 25088x4096 = 411 MB), seeded values, written with h5wasm.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeKerasChainH5, type ChainLayer } from '../test/helpers/keras-writers.js';

export const LARGE_H5_KERNEL = 'block1_conv1';

/** VGG16's layers with a 5x5 first convolution: ~138 M float32 parameters. */
function architecture(): ChainLayer[] {
  const layers: ReturnType<typeof architecture> = [
    { name: 'input_1', className: 'InputLayer', config: { batch_input_shape: [null, 224, 224, 3], dtype: 'float32' }, weights: [] },
  ];
  let channels = 3;
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  blocks.forEach((filters, b) => {
    filters.forEach((f, i) => {
      const k = b === 0 && i === 0 ? 5 : 3;
      layers.push({
        name: `block${b + 1}_conv${i + 1}`,
        className: 'Conv2D',
        config: { filters: f, kernel_size: [k, k], padding: 'same', activation: 'relu', data_format: 'channels_last' },
        weights: [['kernel', [k, k, channels, f]], ['bias', [f]]],
      });
      channels = f;
    });
    layers.push({ name: `block${b + 1}_pool`, className: 'MaxPooling2D', config: { pool_size: [2, 2] }, weights: [] });
  });
  layers.push({ name: 'flatten', className: 'Flatten', config: {}, weights: [] });
  let units = 7 * 7 * 512;
  for (const [name, n] of [['fc1', 4096], ['fc2', 4096], ['predictions', 1000]] as const) {
    layers.push({ name, className: 'Dense', config: { units: n }, weights: [['kernel', [units, n]], ['bias', [n]]] });
    units = n;
  }
  return layers;
}

/** Writes the file once (through a .partial name, renamed when complete). */
export async function generateLargeH5(file: string): Promise<void> {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.partial`;
  let seed = 12345;
  await writeKerasChainH5(tmp, 'vgg16_like', architecture(), (count) => {
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      data[i] = (seed / 2 ** 32 - 0.5) * 0.1;
    }
    return data;
  });
  renameSync(tmp, file);
}

