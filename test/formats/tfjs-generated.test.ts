import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { findLayer, findWeight, openModel } from '../../src/index.js';
import { writeTfjsModel } from '../helpers/keras-writers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-tfjs-gen-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('generated TF.js layers model (two shards, quantized weights)', () => {
  it('reads float32 weights across the shard boundary exactly and dequantizes uint8 / uint16 / float16', async () => {
    const fixture = writeTfjsModel(dir);
    const model = await openModel(fixture.path);
    try {
      assert.equal(model.format, 'tfjs-layers');
      assert.equal(model.framework, 'tfjs');
      assert.equal(model.frameworkVersion, '1.3.1');
      assert.deepEqual(model.layers.map((l) => l.name), ['conv', 'bn', 'flat', 'fc']);
      assert.deepEqual(findLayer(model, 'bn').weights.map((w) => w.role), ['beta', 'gamma']);
      for (const t of fixture.tensors) {
        const w = findWeight(findLayer(model, t.layer), t.role);
        assert.equal(w.dtype, t.storedDtype, `${t.layer}/${t.role} stored dtype`);
        const read = await w.read();
        assert.ok(read.data instanceof Float32Array, `${t.layer}/${t.role} reads as float32`);
        assert.deepEqual(read.shape, t.shape);
        let worst = 0;
        for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs((read.data[i] as number) - t.data[i]!));
        assert.ok(worst <= t.tolerance, `${t.layer}/${t.role}: max error ${worst} exceeds ${t.tolerance}`);
        if (t.storedDtype === 'uint8') assert.ok(worst > 0, 'uint8 quantization is lossy: an exact match would mean it was not applied');
      }
      assert.deepEqual([...findWeight(findLayer(model, 'conv')).axes], ['kh', 'kw', 'in', 'out']);
    } finally {
      model.close();
    }
  });
});

describe('a model saved by TensorFlow.js itself', () => {
  it('reads back every weight exactly as tfjs holds it', async () => {
    tf.env().set('PROD', true);
    await tf.setBackend('cpu');
    const seed = 7;
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          filters: 96,
          kernelSize: [5, 5],
          activation: 'relu',
          inputShape: [64, 160, 1],
          kernelInitializer: tfl.initializers.glorotNormal({ seed }),
          biasInitializer: tfl.initializers.glorotUniform({ seed }),
          padding: 'same',
          name: 'conv_1',
        }),
        tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, name: 'dw', useBias: false, depthwiseInitializer: tfl.initializers.glorotUniform({ seed }) }),
        tfl.layers.batchNormalization({ name: 'bn' }),
        tfl.layers.globalAveragePooling2d({ name: 'gap' }),
        tfl.layers.dense({ units: 3, name: 'fc', kernelInitializer: tfl.initializers.glorotUniform({ seed }) }),
      ],
    });
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        writeFileSync(join(dir, 'saved.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
        writeFileSync(
          join(dir, 'saved.json'),
          JSON.stringify({
            format: 'layers-model',
            generatedBy: `TensorFlow.js tfjs-layers v${tfl.version_layers}`,
            convertedBy: null,
            modelTopology: artifacts.modelTopology,
            weightsManifest: [{ paths: ['saved.bin'], weights: artifacts.weightSpecs }],
          }),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const opened = await openModel(join(dir, 'saved.json'));
    try {
      assert.equal(opened.frameworkVersion, tfl.version_layers);
      const conv = findWeight(findLayer(opened, 'conv_1'));
      assert.deepEqual(conv.shape, [5, 5, 1, 96]);
      assert.deepEqual(conv.axes, ['kh', 'kw', 'in', 'out']);
      assert.deepEqual(findWeight(findLayer(opened, 'dw')).axes, ['kh', 'kw', 'in', 'mult']);
      let compared = 0;
      for (const layer of model.layers) {
        const ours = findLayer(opened, layer.name).weights;
        const theirs = layer.weights;
        assert.equal(ours.length, theirs.length, `${layer.name}: weight count`);
        for (let i = 0; i < theirs.length; i++) {
          const expected = theirs[i]!.read().dataSync() as Float32Array;
          const got = await ours[i]!.read();
          assert.deepEqual(got.shape, theirs[i]!.shape, `${layer.name}/${ours[i]!.role}: shape`);
          assert.deepEqual(Array.from(got.data as Float32Array), Array.from(expected), `${layer.name}/${ours[i]!.role}: values`);
          compared++;
        }
      }
      assert.equal(compared, 9);
    } finally {
      opened.close();
      model.dispose();
    }
  });
});

describe('quantized TF.js weights against tfjs-core itself', () => {
  it("every weight reads as tf.io.decodeWeights decodes it (uint8 / uint16 affine, float16), within 1e-6 relative", async () => {
    const fixture = writeTfjsModel(dir);
    const json = JSON.parse(readFileSync(fixture.path, 'utf8')) as { weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
    const specs = json.weightsManifest.flatMap((g) => g.weights);
    assert.ok(specs.some((w) => w.quantization?.dtype === 'uint8') && specs.some((w) => w.quantization?.dtype === 'uint16') && specs.some((w) => w.quantization?.dtype === 'float16'));
    const shards = json.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(fixture.path), p))));
    const buffer = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
    let offset = 0;
    for (const s of shards) {
      buffer.set(s, offset);
      offset += s.length;
    }
    const expected = tf.io.decodeWeights(buffer.buffer, specs);
    const model = await openModel(fixture.path);
    try {
      for (const spec of specs) {
        const [layer, role] = [spec.name.split('/')[0]!, spec.name.split('/').pop()!];
        const got = (await findWeight(findLayer(model, layer), role).read()).data as Float32Array;
        const want = await expected[spec.name]!.data();
        assert.equal(got.length, want.length, spec.name);
        for (let i = 0; i < want.length; i++) {
          assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)), `${spec.name}[${i}]: convscope ${got[i]}, tfjs ${want[i]}`);
        }
      }
    } finally {
      model.close();
      tf.dispose(Object.values(expected));
    }
  });
});
