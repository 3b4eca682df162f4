import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModel } from '../../src/compute/build.js';
import { UnsupportedError } from '../../src/model/errors.js';
import { memoryModel } from './memory-model.js';

function sequential(...layers: { class_name: string; config: Record<string, unknown> }[]): unknown {
  const [first, ...rest] = layers;
  return { class_name: 'Sequential', config: { name: 's', layers: [{ ...first, config: { ...first!.config, batch_input_shape: [null, 8, 8, 3] } }, ...rest] } };
}

const cases: [string, unknown, RegExp][] = [
  ['a Lambda layer', sequential({ class_name: 'Flatten', config: { name: 'f' } }, { class_name: 'Lambda', config: { name: 'l', function: 'x' } }), /layer 'l' is a Lambda layer \(stored Python code, which convscope never runs\); state what it computes as an expression in x /],
  ['a custom class', sequential({ class_name: 'MyAttention', config: { name: 'att' } }), /layer 'att' is a 'MyAttention' layer, a class convscope's Keras catalogue does not list/],
  ['an activation outside the catalogue', sequential({ class_name: 'Flatten', config: { name: 'f' } }, { class_name: 'Dense', config: { name: 'd', units: 2, activation: 'exponential_swirl' } }), /layer 'd' \(Dense\) uses activation='exponential_swirl', which convscope cannot run \(it runs activation: 'linear', 'relu'/],
  ['grouped transposed convolution', sequential({ class_name: 'Conv2DTranspose', config: { name: 'g', filters: 4, kernel_size: [3, 3], groups: 3 } }), /layer 'g' \(Conv2DTranspose\) uses groups=3, which convscope cannot run \(it runs groups: 1\)/],
];

for (const [what, config, message] of cases) {
  test(`${what} stops the build with an UnsupportedError naming the layer and its class`, async () => {
    await assert.rejects(buildModel(memoryModel(config, {})), (e: Error) => e instanceof UnsupportedError && message.test(e.message));
  });
}
