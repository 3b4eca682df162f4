import assert from 'node:assert/strict';
import { test } from 'node:test';
import { arrayToBatch, imagesToBatch } from '../../src/compute/preprocess.js';
import { ConvscopeError } from '../../src/model/errors.js';

/** A 1x2 RGB image: pixel 0 = (10, 20, 30), pixel 1 = (200, 100, 0). */
const image = { width: 2, height: 1, channels: 3, data: Uint8Array.from([10, 20, 30, 200, 100, 0]) };

function close(actual: Float32Array, expected: number[]): void {
  assert.equal(actual.length, expected.length);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i]! - e) < 1e-5, `[${i}] ${actual[i]} != ${e}`));
}

test('presets match Keras preprocess_input modes (values computed by hand)', () => {
  close(imagesToBatch([image], { preset: 'raw', channelsFirst: false }).data, [10, 20, 30, 200, 100, 0]);
  close(imagesToBatch([image], { preset: 'unit', channelsFirst: false }).data, [10 / 255, 20 / 255, 30 / 255, 200 / 255, 100 / 255, 0]);
  close(imagesToBatch([image], { preset: 'symmetric', channelsFirst: false }).data, [10 / 127.5 - 1, 20 / 127.5 - 1, 30 / 127.5 - 1, 200 / 127.5 - 1, 100 / 127.5 - 1, -1]);
  // caffe: BGR order, minus [103.939, 116.779, 123.68]
  close(imagesToBatch([image], { preset: 'caffe', channelsFirst: false }).data, [30 - 103.939, 20 - 116.779, 10 - 123.68, 0 - 103.939, 100 - 116.779, 200 - 123.68]);
});

test('--mean/--std apply per channel after the preset; channels_first lays out [N, C, H, W]', () => {
  const b = imagesToBatch([image, image], { preset: 'unit', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channelsFirst: true });
  assert.deepEqual(b.shape, [2, 3, 1, 2]);
  const v = (x: number, c: number): number => (x / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!;
  const one = [v(10, 0), v(200, 0), v(20, 1), v(100, 1), v(30, 2), v(0, 2)];
  close(b.data, [...one, ...one]);
});

test('bad preprocessing requests are ConvscopeErrors that say what was expected', () => {
  assert.throws(() => imagesToBatch([image], { preset: 'unit', mean: [1, 2], channelsFirst: false }), (e: Error) => e instanceof ConvscopeError && /expects 1 or 3 values/.test(e.message));
  const grey = { width: 1, height: 1, channels: 1, data: Uint8Array.from([5]) };
  assert.throws(() => imagesToBatch([grey], { preset: 'caffe', channelsFirst: false }), /caffe preset needs RGB/);
  assert.throws(() => imagesToBatch([image, grey], { preset: 'raw', channelsFirst: false }), /must share a size/);
  assert.deepEqual(arrayToBatch([28, 28, 1], new Float32Array(784), 4, 'x.npy').shape, [1, 28, 28, 1]);
  assert.throws(() => arrayToBatch([28], new Float32Array(28), 4, 'x.npy'), /x\.npy has shape \(28\)/);
});

test('torchvision preset: x / 255, then ImageNet mean and std (torchvision.transforms.Normalize values), NCHW', () => {
  const b = imagesToBatch([image], { preset: 'torchvision', channelsFirst: true });
  assert.deepEqual(b.shape, [1, 3, 1, 2]);
  const v = (x: number, c: number): number => (x / 255 - [0.485, 0.456, 0.406][c]!) / [0.229, 0.224, 0.225][c]!;
  close(b.data, [v(10, 0), v(200, 0), v(20, 1), v(100, 1), v(30, 2), v(0, 2)]);
  const own = imagesToBatch([image], { preset: 'torchvision', mean: [0.5], std: [0.5], channelsFirst: true });
  close(own.data, [(10 / 255 - 0.5) / 0.5, (200 / 255 - 0.5) / 0.5, (20 / 255 - 0.5) / 0.5, (100 / 255 - 0.5) / 0.5, (30 / 255 - 0.5) / 0.5, -1]);
});
