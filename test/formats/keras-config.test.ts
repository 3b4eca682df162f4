import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { kerasDType, kerasInputShapes, kerasSnakeCase, parseKerasArchitecture } from '../../src/formats/keras-config.js';
import { ModelFormatError } from '../../src/model/errors.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { keras2Functional, keras3Sequential } from '../helpers/keras-writers.js';

describe('Keras architecture JSON', () => {
  it('Keras 3 Sequential with a nested Functional: leaves, parents, Keras 3 inbound nodes, DTypePolicy', () => {
    const arch = parseKerasArchitecture(keras3Sequential(), 'config.json');
    assert.equal(arch.root.name, 'outer');
    assert.deepEqual(arch.layers.map((l) => [l.name, l.className, l.parents.join('/')]), [
      ['input_layer', 'InputLayer', ''],
      ['conv_a', 'Conv2D', ''],
      ['bn', 'BatchNormalization', ''],
      ['inner_in', 'InputLayer', 'inner'],
      ['inner_conv', 'Conv2D', 'inner'],
      ['inner_pool', 'GlobalAveragePooling2D', 'inner'],
      ['inner_fc', 'Dense', 'inner'],
      ['head', 'Dense', ''],
    ]);
    assert.deepEqual(arch.layers.map((l) => l.inbound.join(',')), ['', 'input_layer', 'conv_a', 'bn', 'inner_in', 'inner_conv', 'inner_pool', 'inner_fc']);
    const inner = arch.root.children[3]!;
    assert.equal(inner.kind, 'container');
    assert.deepEqual(inner.kind === 'container' ? inner.outputs : [], ['inner_fc']);
    assert.equal(arch.layers[1]!.module, 'keras.layers');
    assert.equal(kerasDType(arch.layers[1]!.config), 'float32');
    assert.deepEqual(kerasInputShapes(arch), [[null, 6, 6, 2]]);
    assert.equal((arch.layers[1]!.config.dtype as { class_name: string }).class_name, 'DTypePolicy', 'raw config kept intact');
  });

  it('Keras 2 Functional: [[name, node, tensor, kwargs]] inbound nodes and output_layers', () => {
    const arch = parseKerasArchitecture(keras2Functional().config, 'model_config');
    assert.deepEqual(arch.root.outputs, ['fc']);
    assert.deepEqual(arch.layers.find((l) => l.name === 'fc')!.inbound, ['flat']);
    assert.equal(arch.layers.find((l) => l.name === 'bn_a')!.trainable, false);
    assert.deepEqual(kerasInputShapes(arch), [[null, 8, 8, 2]]);
  });

  it('TF.js topology wrapped in model_config keeps keras_version and backend', () => {
    const arch = parseKerasArchitecture(
      { keras_version: '2.5.0', backend: 'tensorflow', model_config: { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3] } }] } } },
      'model.json',
    );
    assert.equal(arch.kerasVersion, '2.5.0');
    assert.equal(arch.backend, 'tensorflow');
    assert.deepEqual(kerasInputShapes(arch), [[null, 3]]);
  });

  it('Keras 1 Sequential (config is the list of layers)', needsFixtures, () => {
    const arch = parseKerasArchitecture(JSON.parse(readFileSync(fixture('04_dl4j_keras1_cnn', 'cnn_tf_config.json'), 'utf8')), 'cnn_tf_config.json');
    assert.equal(arch.kerasVersion, '1.1.2');
    assert.equal(arch.layers.length, 10);
    assert.deepEqual(arch.layers.slice(0, 3).map((l) => [l.name, l.className, l.inbound.join(',')]), [
      ['convolution2d_1', 'Convolution2D', ''],
      ['convolution2d_2', 'Convolution2D', 'convolution2d_1'],
      ['activation_1', 'Activation', 'convolution2d_2'],
    ]);
    assert.deepEqual(kerasInputShapes(arch), [[null, 8, 8, 3]]);
  });

  it('names the file and the bad value when the JSON is no architecture', () => {
    assert.throws(() => parseKerasArchitecture([1, 2], 'arch.json'), (e: Error) => e instanceof ModelFormatError && /arch\.json expects a Keras architecture JSON object, but received a list/.test(e.message));
    assert.throws(() => parseKerasArchitecture({ class_name: 'Sequential', config: { layers: [{ foo: 1 }] } }, 'arch.json'), /arch\.json expects each layer as \{ "class_name", "config" \}, but received \{"foo":1\}/);
  });

  it('snake_case of class names as Keras 3 names weight groups', () => {
    assert.deepEqual(
      ['Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose', 'Functional', 'GlobalAveragePooling2D'].map(kerasSnakeCase),
      ['conv2d', 'batch_normalization', 'depthwise_conv2d', 'separable_conv2d', 'conv2d_transpose', 'functional', 'global_average_pooling2d'],
    );
  });
});
