import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { memoryModel } from '../../src/formats/memory.js';
import { SelectionError } from '../../src/model/errors.js';
import { closestNames, findLayer } from '../../src/model/lookup.js';
import { NamedTensor } from '../../src/model/named-tensor.js';

/** "Did you mean" hints for a mistyped layer name (the MobileNetV2 layer names of fixture 11). */
describe('closestNames', () => {
  const layers = ['input_1', 'Conv1_pad', 'Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'Conv_1'];

  it('puts the name that differs only in case first', () => {
    assert.equal(closestNames('conv1', layers)[0], 'Conv1');
    assert.equal(closestNames('CONV_1', layers)[0], 'Conv_1');
  });

  it('keeps names containing the typed one, then near misses, at most three', () => {
    assert.deepEqual(closestNames('pad', layers), ['Conv1_pad']);
    assert.deepEqual(closestNames('expanded_conv_depthwize', layers), ['expanded_conv_depthwise']);
    assert.equal(closestNames('conv', layers).length, 3);
    assert.deepEqual(closestNames('dense', layers), []);
  });
});

/** An ONNX export's layers by PyTorch module path, as activations and maximize take them (torch.onnx.export's node names). */
describe('findLayer on an ONNX export', () => {
  const conv = (name: string) => ({ name, className: 'Conv', kind: 'conv' as const, weights: [{ role: 'kernel', tensor: new NamedTensor(['out', 'in', 'kh', 'kw'], [1, 1, 1, 1], new Float32Array([1])) }] });
  const names = ['/conv1/Conv', '/layer3/layer3.0/conv1/Conv', '/layer3/layer3.0/conv2/Conv', '/layer3/layer3.0/downsample/downsample.0/Conv', '/fc/Gemm'];
  const onnx = memoryModel({ source: 'resnet.onnx', format: 'onnx', framework: 'onnx', layers: names.map(conv) });

  it('takes a module path holding one layer, as activations does', () => {
    assert.equal(findLayer(onnx, 'layer3.0.conv1').name, '/layer3/layer3.0/conv1/Conv');
    assert.equal(findLayer(onnx, 'layer3.0.downsample.0').name, '/layer3/layer3.0/downsample/downsample.0/Conv');
    assert.equal(findLayer(onnx, '/fc/Gemm').name, '/fc/Gemm');
  });

  it('names the layers of a module holding several, and a typo gets the usual hint', () => {
    assert.throws(() => findLayer(onnx, 'layer3'), (e: Error) => e instanceof SelectionError && e.message === "resnet.onnx's module 'layer3' holds 3 layers with weights (/layer3/layer3.0/conv1/Conv, /layer3/layer3.0/conv2/Conv, /layer3/layer3.0/downsample/downsample.0/Conv); name one of them.");
    assert.throws(() => findLayer(onnx, 'layer9.0.conv1'), /^SelectionError: resnet\.onnx has no layer 'layer9\.0\.conv1'\./);
  });

  it('reads module paths only in ONNX files: a Keras layer is its name', () => {
    const keras = memoryModel({ source: 'm.h5', format: 'keras-h5', framework: 'keras', layers: ['/a/Conv', 'b'].map(conv) });
    assert.throws(() => findLayer(keras, 'a'), SelectionError);
  });

  it('ends a long list with how many more, not an ellipsis before the full stop', () => {
    const many = memoryModel({ source: 'big.onnx', format: 'onnx', framework: 'onnx', layers: Array.from({ length: 14 }, (_, i) => conv(`n${i}`)) });
    assert.throws(() => findLayer(many, 'zzzzzzzz'), (e: Error) => e.message.endsWith('n10, n11 and 2 more.'));
  });
});
