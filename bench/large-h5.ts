/**
 * The large input of the h5 benchmarks: a ~550 MB Keras-2-layout h5 with VGG16's layers (first kernel
 * 5x5x3x64, fc1 kernel 25088x4096 = 411 MB), seeded values, written with h5wasm.
 */
import { mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

export const LARGE_H5_KERNEL = 'block1_conv1';

/** VGG16's layers with a 5x5 first convolution: ~138 M float32 parameters. */
function architecture(): { name: string; className: string; config: Record<string, unknown>; weights: [string, number[]][] }[] {
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
  const h5 = await import('h5wasm/node');
  await h5.ready;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.partial`;
  const layers = architecture();
  const config = {
    class_name: 'Functional',
    config: {
      name: 'vgg16_like',
      layers: layers.map((l, i) => ({
        name: l.name,
        class_name: l.className,
        config: { name: l.name, trainable: true, ...l.config },
        inbound_nodes: i === 0 ? [] : [[[layers[i - 1]!.name, 0, 0, {}]]],
      })),
      input_layers: [['input_1', 0, 0]],
      output_layers: [['predictions', 0, 0]],
    },
  };
  const f = new h5.File(tmp, 'w');
  f.create_attribute('keras_version', '2.4.0');
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('model_config', JSON.stringify(config));
  const mw = f.create_group('model_weights');
  mw.create_attribute('layer_names', layers.map((l) => l.name), [layers.length], null);
  let seed = 12345;
  for (const layer of layers) {
    const g = mw.create_group(layer.name);
    if (layer.weights.length === 0) {
      g.create_attribute('weight_names', new Float64Array(0), [0], '<f8');
      continue;
    }
    const names = layer.weights.map(([role]) => `${layer.name}/${role}:0`);
    g.create_attribute('weight_names', names, [names.length], null);
    const inner = g.create_group(layer.name);
    for (const [role, shape] of layer.weights) {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        data[i] = (seed / 2 ** 32 - 0.5) * 0.1;
      }
      inner.create_dataset({ name: `${role}:0`, data, shape, dtype: '<f4' });
    }
  }
  f.close();
  renameSync(tmp, file);
}

