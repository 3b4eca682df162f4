import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closestNames } from '../../src/model/lookup.js';

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
