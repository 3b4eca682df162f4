import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

/**
 * The CLI on files users really have: a weights-only Keras h5 draws its 4-D kernels without --config
 * and says what it assumed; a TensorFlow SavedModel directory and a TF1 checkpoint prefix are given
 * as paths, like TensorFlow's own tools take them.
 */

const out = mkdtempSync(join(tmpdir(), 'convscope-tfcli-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('filters on a weights-only h5 without --config draws the conv kernel and states the assumed layout', needsFixtures, async () => {
  const r = await runCli(['filters', fixture('04_dl4j_keras1_cnn', 'cnn_tf_weights.h5'), '--out', join(out, 'w.png')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^convolution2d_1 kernel \(3, 2, 3, 2\) \[kh, kw, in, out\]: 2 of 2 filters/m);
  assert.match(r.stdout, /^note: This file holds weights only, so layer classes are unknown and kernels are shown in the Keras layout their rank implies.* \(--config arch\.json\)$/m);
});

test('inspect a SavedModel directory lists Keras layers and the training state apart', needsFixtures, async () => {
  const r = await runCli(['inspect', fixture('14_tf_savedmodel_checkpoints', 'eduardr02_mnist_keras_savedmodel', 'my_model')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^format: tf-savedmodel \(keras 2\.4\.0\)$/m);
  assert.match(r.stdout, /^conv2d\s+Conv2D\s+bias\s+\(32,\)\s+\[features\]/m);
  assert.match(r.stdout, /^total parameters: 186,030 in 5 of 9 layers$/m);
  assert.match(r.stdout, /^training state, not model weights \(optimizer slots, counters, metrics\): 29 tensors, 372,069 values$/m);
  assert.match(r.stdout, /^Adam\/conv2d\/kernel\/m\s+conv2d\s+\(3, 3, 1, 32\)\s+float32$/m);
});

test('weights --format npy from a TF1 checkpoint prefix gives the stored kernel (min, max, mean of the independent reader)', needsFixtures, async () => {
  const dir = fixture('14_tf_savedmodel_checkpoints', 'dotnet_cifar_tf1_ckpt', 'cifar_model');
  const npy = join(out, 'wconv1.npy');
  const r = await runCli(['weights', join(dir, 'model.ckpt'), '--layer', 'Wconv1', '--format', 'npy', '--out', npy]);
  assert.equal(r.code, 0, r.stderr);
  const a = decodeNpy(readFileSync(npy), npy);
  assert.deepEqual(a.shape, [7, 7, 3, 32]);
  const expected = (JSON.parse(readFileSync(fixture('14_tf_savedmodel_checkpoints', 'dotnet_cifar_tf1_ckpt', 'expected.json'), 'utf8')) as {
    bundles: Record<string, { tensors: { key: string; min: number; max: number; mean: number }[] }>;
  }).bundles['cifar_model/model.ckpt']!.tensors.find((t) => t.key === 'Wconv1')!;
  const values = Array.from(a.data as Float32Array);
  assert.equal(Math.min(...values), expected.min);
  assert.equal(Math.max(...values), expected.max);
  assert.ok(Math.abs(values.reduce((s, v) => s + v, 0) / values.length - expected.mean) < 1e-9);
});
