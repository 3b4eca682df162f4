import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildModel } from '../../src/compute/build.js';
import { UnsupportedError } from '../../src/model/errors.js';
import type { FormatId, Framework } from '../../src/model/model.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { memoryModel as weightsOnly } from '../../src/formats/memory.js';
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

// What each kind of file without Keras layers needs to run: only a Keras weights-only file takes an
// architecture JSON; naming it for a PyTorch state_dict or an ONNX graph sent users to a fix that fails.
const noArchitecture: [string, FormatId, Framework, RegExp, string | undefined][] = [
  ['a Keras weights-only file', 'keras-weights-h5', 'keras', /^w\.weights\.h5 holds weights but no architecture, so convscope cannot run it; give its architecture JSON \(model\.to_json\(\)\)\.$/, 'architecture'],
  ['a PyTorch state_dict', 'pytorch', 'pytorch', /^w\.pt holds weights but not the network's code, so convscope cannot run it; export the network to ONNX \(torch\.onnx\.export\)/, undefined],
  ['a safetensors file', 'safetensors', 'safetensors', /^w\.safetensors holds weights but not the network's code/, undefined],
  ['an ONNX graph', 'onnx', 'onnx', /^w\.onnx is an ONNX graph, which convscope runs on ONNX Runtime \(activations, attribution, dataset examples, maximize\) but cannot build as a TensorFlow\.js network/, undefined],
];

for (const [what, format, framework, message, concept] of noArchitecture) {
  test(`${what} without Keras layers is refused with what would run it`, async () => {
    const ext = { 'keras-weights-h5': 'weights.h5', pytorch: 'pt', safetensors: 'safetensors', onnx: 'onnx' }[format as string];
    const model = weightsOnly({ source: `w.${ext}`, format, framework, layers: [{ name: 'c', className: 'Conv2d', kind: 'conv', weights: [{ role: 'kernel', tensor: new NamedTensor(['out', 'in', 'kh', 'kw'], [1, 1, 1, 1], new Float32Array([1])) }] }] });
    await assert.rejects(buildModel(model), (e: Error) => {
      assert.ok(e instanceof UnsupportedError);
      assert.match(e.message, message);
      assert.equal(e.concept, concept);
      return true;
    });
  });
}
