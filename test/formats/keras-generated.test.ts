import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderSummary } from '../../src/cli/inspect-run.js';
import { findLayer, findWeight, openModel, summarizeModel, type Model } from '../../src/index.js';
import {
  keras3Sequential,
  writeKeras1ThH5,
  writeKeras2FullH5,
  writeKeras2WeightsH5,
  writeKeras3WeightsH5,
  writeKerasZip,
  type TensorSpec,
} from '../helpers/keras-writers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-keras-gen-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every written tensor reads back bit-exactly, under its layer and role. */
async function assertExact(model: Model, tensors: TensorSpec[]): Promise<void> {
  for (const t of tensors) {
    const w = findWeight(findLayer(model, t.layer), t.role);
    assert.deepEqual(w.shape, t.shape, `${t.layer}/${t.role} shape`);
    const read = await w.read();
    assert.deepEqual(read.shape, t.shape);
    assert.ok(read.data instanceof Float32Array);
    assert.deepEqual(Array.from(read.data), Array.from(t.data), `${t.layer}/${t.role} values`);
  }
  const stored = model.layers.reduce((n, l) => n + l.weights.length, 0);
  assert.equal(stored, tensors.length, 'no weight is missing or invented');
}

function axesOf(model: Model, layer: string, role: string): string[] {
  return [...findWeight(findLayer(model, layer), role).axes];
}

describe('generated Keras 2 full-model h5', () => {
  it('opens with classes, inbound layers, axes and exact values', async () => {
    const { path, tensors } = await writeKeras2FullH5(dir);
    const model = await openModel(path);
    try {
      assert.equal(model.format, 'keras-h5');
      assert.equal(model.framework, 'keras');
      assert.equal(model.frameworkVersion, '2.4.0');
      assert.deepEqual(model.metadata, { backend: 'tensorflow' });
      assert.deepEqual(model.layers.map((l) => l.name), ['img', 'conv_a', 'bn_a', 'dw', 'up', 'flat', 'fc']);
      assert.deepEqual(model.layers.map((l) => l.className), ['InputLayer', 'Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'Conv2DTranspose', 'Flatten', 'Dense']);
      assert.deepEqual(findLayer(model, 'bn_a').inbound, ['conv_a']);
      assert.equal(findLayer(model, 'bn_a').trainable, false);
      assert.equal(findLayer(model, 'conv_a').trainable, true);
      assert.equal(findLayer(model, 'conv_a').config.filters, 4);
      assert.deepEqual(axesOf(model, 'conv_a', 'kernel'), ['kh', 'kw', 'in', 'out']);
      assert.deepEqual(axesOf(model, 'dw', 'depthwise_kernel'), ['kh', 'kw', 'in', 'mult']);
      assert.deepEqual(axesOf(model, 'up', 'kernel'), ['kh', 'kw', 'out', 'in']);
      assert.deepEqual(axesOf(model, 'fc', 'kernel'), ['in', 'units']);
      assert.deepEqual(axesOf(model, 'bn_a', 'moving_variance'), ['features']);
      assert.equal(findWeight(findLayer(model, 'conv_a'), 'kernel').name, 'conv_a/kernel:0');
      await assertExact(model, tensors);
      const filter = (await findWeight(findLayer(model, 'conv_a')).read()).select({ out: 3, in: 1 });
      const t = tensors[0]!;
      assert.equal(filter.data[2 * 3 + 1], t.data[((2 * 3 + 1) * 2 + 1) * 4 + 3], 'kernel[2, 1, 1, 3]');
    } finally {
      model.close();
    }
    await assert.rejects(findWeight(findLayer(model, 'fc')).read(), /was closed/);
  });
});

describe('generated Keras 1 h5 with dim_ordering th', () => {
  it('names the [out, in, kh, kw] kernel axes and maps W, b, running_mean, running_std to roles', async () => {
    const { path, tensors } = await writeKeras1ThH5(dir);
    const model = await openModel(path);
    try {
      assert.equal(model.frameworkVersion, '1.2.2');
      assert.deepEqual(axesOf(model, 'convolution2d_1', 'kernel'), ['out', 'in', 'kh', 'kw']);
      assert.deepEqual(findLayer(model, 'batchnormalization_1').weights.map((w) => w.role), ['gamma', 'beta', 'moving_mean', 'moving_variance']);
      assert.equal(findWeight(findLayer(model, 'batchnormalization_1'), 'moving_variance').name, 'batchnormalization_1_running_std:0');
      await assertExact(model, tensors);
      const filter = (await findWeight(findLayer(model, 'convolution2d_1')).read()).filter(2);
      assert.deepEqual(filter.axes, ['in', 'kh', 'kw']);
      assert.deepEqual(Array.from(filter.data as Float32Array), Array.from(tensors[0]!.data.subarray(2 * 18, 3 * 18)));
    } finally {
      model.close();
    }
  });
});

describe('generated Keras 2 save_weights h5 (layer_names split in two)', () => {
  it('without --config lists every tensor with its path and shape, axes assumed from role and rank and said so', async () => {
    const { path, tensors } = await writeKeras2WeightsH5(dir);
    const model = await openModel(path);
    try {
      assert.equal(model.format, 'keras-weights-h5');
      assert.equal(model.frameworkVersion, '2.0.8');
      assert.ok(model.notes?.some((n) => n.concept === 'architecture'), JSON.stringify(model.notes));
      assert.deepEqual(model.layers.map((l) => l.name), ['conv_a', 'bn_a', 'dw', 'up', 'flat', 'fc']);
      assert.ok(model.layers.every((l) => l.className === 'unknown'));
      const kernel = findWeight(findLayer(model, 'up'), 'kernel');
      assert.equal(kernel.name, 'up/kernel:0');
      assert.deepEqual(kernel.shape, [2, 2, 3, 8]);
      assert.deepEqual(kernel.axes, ['kh', 'kw', 'in', 'out']);
      assert.deepEqual(findWeight(findLayer(model, 'dw'), 'depthwise_kernel').axes, ['kh', 'kw', 'in', 'mult']);
      assert.deepEqual(findWeight(findLayer(model, 'fc'), 'kernel').axes, ['in', 'units']);
      assert.equal(model.layers.reduce((n, l) => n + l.weights.length, 0), tensors.length);
      const table = renderSummary(await summarizeModel(model), false);
      assert.match(table, /^up\s+unknown\s+kernel \(up\/kernel:0\)\s+\(2, 2, 3, 8\)\s+\[kh, kw, in, out\]/m);
      assert.match(table, /^note: This file holds weights only, so layer classes are unknown and kernels are shown in the Keras layout .*a Conv2DTranspose kernel is really \[kh, kw, out, in\]\. Give its architecture JSON \(model\.to_json\(\)\) for exact classes and axes\. \(--config arch\.json\)$/m);
    } finally {
      model.close();
    }
  });

  it('with a Keras 2.0 list-form --config gets classes and axis names', async () => {
    const { path, configPath, tensors } = await writeKeras2WeightsH5(dir);
    const model = await openModel(path, { config: configPath });
    try {
      assert.equal(model.notes, undefined);
      assert.deepEqual(model.layers.map((l) => l.className), ['Conv2D', 'BatchNormalization', 'DepthwiseConv2D', 'Conv2DTranspose', 'Flatten', 'Dense']);
      assert.deepEqual(findLayer(model, 'dw').inbound, ['bn_a']);
      assert.deepEqual(axesOf(model, 'up', 'kernel'), ['kh', 'kw', 'out', 'in']);
      await assertExact(model, tensors);
    } finally {
      model.close();
    }
  });
});

describe('generated Keras 3 .weights.h5 and .keras', () => {
  it('matches class-named groups to layers by vars name, then by class and position', async () => {
    const { path, tensors } = await writeKeras3WeightsH5(dir);
    const model = await openModel(path, { config: keras3Sequential() });
    try {
      assert.equal(model.format, 'keras-weights-h5');
      assert.deepEqual(model.layers.map((l) => l.name), ['input_layer', 'conv_a', 'bn', 'inner_in', 'inner_conv', 'inner_pool', 'inner_fc', 'head']);
      assert.deepEqual(findLayer(model, 'inner_conv').parents, ['inner']);
      assert.equal(findLayer(model, 'head').parents, undefined);
      assert.deepEqual(findLayer(model, 'inner_in').inbound, ['bn']);
      assert.deepEqual(findLayer(model, 'inner_fc').inbound, ['inner_pool']);
      assert.deepEqual(findLayer(model, 'head').inbound, ['inner_fc']);
      assert.deepEqual(findLayer(model, 'bn').weights.map((w) => w.role), ['beta', 'moving_mean', 'moving_variance']);
      assert.equal(findWeight(findLayer(model, 'inner_conv')).name, 'layers/functional/layers/conv2d/vars/0');
      assert.deepEqual(axesOf(model, 'inner_conv', 'kernel'), ['kh', 'kw', 'in', 'out']);
      await assertExact(model, tensors);
    } finally {
      model.close();
    }
  });

  it('without a config lists the vars groups, named by their name attribute where stored', async () => {
    const { path } = await writeKeras3WeightsH5(dir);
    const model = await openModel(path);
    try {
      assert.ok(model.notes?.some((n) => n.concept === 'architecture'), JSON.stringify(model.notes));
      assert.deepEqual(model.layers.map((l) => l.name), ['batch_normalization', 'conv_a', 'head', 'functional/conv2d', 'functional/dense']);
      assert.deepEqual(findLayer(model, 'batch_normalization').weights.map((w) => [w.role, w.shape]), [['vars/0', [4]], ['vars/1', [4]], ['vars/2', [4]]]);
    } finally {
      model.close();
    }
  });

  for (const level of [0, 6] as const) {
    it(`reads a .keras zip whose weights are ${level === 0 ? 'stored' : 'deflated'}`, async () => {
      const { path, tensors } = await writeKerasZip(dir, level);
      const model = await openModel(path);
      try {
        assert.equal(model.format, 'keras-v3');
        assert.equal(model.source, path);
        assert.equal(model.frameworkVersion, '3.4.1');
        assert.equal(model.metadata?.date_saved, '2024-07-01@12:00:00');
        await assertExact(model, tensors);
      } finally {
        model.close();
      }
    });
  }
});
