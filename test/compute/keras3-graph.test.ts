import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runLayers, type Activation } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { kerasCallGraph } from '../../src/formats/keras-graph.js';
import { memoryModel } from './memory-model.js';

const policy = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
const glorot = { module: 'keras.initializers', class_name: 'GlorotUniform', config: { seed: null }, registered_name: null };
const tensor = (layer: string, shape: (number | null)[]): unknown => ({
  class_name: '__keras_tensor__',
  config: { shape, dtype: 'float32', keras_history: [layer, 0, 0] },
});
const dense = (name: string, units: number, activation: string, input: unknown): unknown => ({
  module: 'keras.layers',
  class_name: 'Dense',
  config: { name, trainable: true, dtype: policy, units, activation, use_bias: true, kernel_initializer: glorot, kernel_regularizer: null },
  registered_name: null,
  build_config: { input_shape: [null, 3] },
  name,
  inbound_nodes: input === undefined ? [] : [{ args: [input], kwargs: {} }],
});

/** A Keras 3 config.json model: Functional with a flat input_layers triple, an Add of two Denses, and a nested Sequential. */
const CONFIG = {
  module: 'keras',
  class_name: 'Functional',
  config: {
    name: 'k3',
    trainable: true,
    layers: [
      { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 3], dtype: 'float32', sparse: false, name: 'inp' }, registered_name: null, name: 'inp', inbound_nodes: [] },
      dense('d1', 2, 'relu', tensor('inp', [null, 3])),
      dense('d2', 2, 'linear', tensor('inp', [null, 3])),
      {
        module: 'keras.layers',
        class_name: 'Add',
        config: { name: 'add', trainable: true, dtype: policy },
        registered_name: null,
        name: 'add',
        inbound_nodes: [{ args: [[tensor('d1', [null, 2]), tensor('d2', [null, 2])]], kwargs: {} }],
      },
      {
        module: 'keras',
        class_name: 'Sequential',
        config: {
          name: 'inner',
          trainable: true,
          dtype: policy,
          layers: [
            { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 2], dtype: 'float32', sparse: false, name: 'inner_in' }, registered_name: null },
            dense('d3', 1, 'linear', undefined),
          ],
        },
        registered_name: null,
        name: 'inner',
        inbound_nodes: [{ args: [tensor('add', [null, 2])], kwargs: {} }],
      },
    ],
    input_layers: ['inp', 0, 0],
    output_layers: ['inner', 0, 0],
  },
};

test('Keras 3 functional config: args/kwargs nodes, flat input_layers, DTypePolicy, nested Sequential', async () => {
  const graph = kerasCallGraph(CONFIG, 'k3.keras');
  assert.deepEqual(graph.nodes.map((n) => n.layer.name), ['inp', 'd1', 'd2', 'add', 'd3']);
  assert.deepEqual(graph.nodes.find((n) => n.layer.name === 'd3')!.layer.parents, ['inner']);
  assert.deepEqual(graph.nodes.find((n) => n.layer.name === 'add')!.inputs.map((r) => graph.nodes[r.node]!.layer.name), ['d1', 'd2']);

  const model = memoryModel(CONFIG, {
    d1: { className: 'Dense', weights: [{ role: 'kernel', shape: [3, 2], data: [1, 0, 0, 1, 1, 1] }, { role: 'bias', shape: [2], data: [0, -1] }] },
    d2: { className: 'Dense', weights: [{ role: 'kernel', shape: [3, 2], data: [1, 1, 0, 0, 0, 0] }, { role: 'bias', shape: [2], data: [0, 0] }] },
    d3: { className: 'Dense', weights: [{ role: 'kernel', shape: [2, 1], data: [2, 3] }, { role: 'bias', shape: [1], data: [1] }] },
  });
  const net = await buildModel(model);
  try {
    const seen: Activation[] = [];
    const [out] = await runLayers(net, [{ shape: [2, 3], data: Float32Array.from([1, 2, 3, -1, 0, 0]) }], {
      want: () => true,
      onActivation: (a) => void seen.push(a),
    });
    // x = [1, 2, 3]: d1 = relu([4, 4]), d2 = [1, 1], add = [5, 5], d3 = 2*5 + 3*5 + 1 = 26.
    // x = [-1, 0, 0]: d1 = relu([-1, -1]) = [0, 0], d2 = [-1, -1], add = [-1, -1], d3 = -2 - 3 + 1 = -4.
    assert.deepEqual(Array.from(seen.find((a) => a.name === 'add')!.data), [5, 5, -1, -1]);
    assert.deepEqual(out!.shape, [2, 1]);
    assert.deepEqual(Array.from(out!.data), [26, -4]);
  } finally {
    net.dispose();
  }
});

test('Keras 3 LeakyReLU(negative_slope) and ReLU(negative_slope) both run as leaky ReLUs', async () => {
  const config = {
    class_name: 'Sequential',
    config: {
      name: 'leaky',
      layers: [
        { module: 'keras.layers', class_name: 'InputLayer', config: { batch_shape: [null, 4], dtype: 'float32', name: 'x' } },
        { module: 'keras.layers', class_name: 'LeakyReLU', config: { name: 'l1', negative_slope: 0.5, dtype: policy } },
        { module: 'keras.layers', class_name: 'ReLU', config: { name: 'l2', negative_slope: 0.1, max_value: null, threshold: 0, dtype: policy } },
      ],
    },
  };
  const net = await buildModel(memoryModel(config, {}));
  try {
    const [out] = await runLayers(net, [{ shape: [1, 4], data: Float32Array.from([-4, -1, 0, 2]) }]);
    assert.deepEqual(Array.from(out!.data, (v) => Math.round(v * 1e6) / 1e6), [-0.2, -0.05, 0, 2]);
  } finally {
    net.dispose();
  }
});
