import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { trainModel, type EpochSummary, type GradientEngineInfo } from '../../src/compute/train.js';
import { watchWeights, type WeightWatch } from '../../src/compute/watch.js';
import { loadDataset } from '../../src/data/index.js';
import { openModel } from '../../src/formats/open.js';
import { needsPython, runPython } from '../helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-train-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A small CNN for the 8x8 digits, built the way `convscope train` builds an architecture JSON. */
export function digitsCnn(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }),
      tfl.layers.flatten({ name: 'flatten' }),
      tfl.layers.dense({ units: 10, activation: 'softmax', name: 'dense', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
}

describe('training', () => {
  let summaries: EpochSummary[];
  let engine: GradientEngineInfo | undefined;
  let watch: WeightWatch;
  let leaked: number;

  before(async () => {
    await initBackend('wasm');
    const data = await loadDataset('digits', { testFraction: 0.2, seed: 0 });
    const model = digitsCnn();
    watch = watchWeights(model, { dir: join(dir, 'watch'), every: 'epoch' });
    const tensors = tf.memory().numTensors;
    const t = performance.now();
    summaries = await trainModel(model, data, { epochs: 4, batchSize: 32, learningRate: 0.01, optimizer: 'adam', scale: 'unit', watch, onEngine: (e) => (engine = e) });
    const seconds = (performance.now() - t) / 1000;
    leaked = tf.memory().numTensors - tensors;
    console.log(`digits: ${seconds.toFixed(1)} s, loss/held-out accuracy per epoch ${summaries.map((s) => `${s.loss.toFixed(3)}/${s.testAccuracy.toFixed(3)}`).join(' ')}`);
  });

  it('a small CNN on the digits, on ONNX Runtime: loss falls and held-out accuracy rises above 96%', () => {
    assert.equal(engine?.name, 'onnxruntime', engine?.description);
    assert.ok(summaries.at(-1)!.loss < summaries[0]!.loss * 0.5, `loss ${summaries.map((s) => s.loss.toFixed(3)).join(' -> ')}`);
    assert.ok(summaries.at(-1)!.testAccuracy > 0.96, `held-out accuracy ${summaries.at(-1)!.testAccuracy}`);
  });

  it('frees every tensor it makes', () => {
    assert.equal(leaked, 0);
  });

  it('watchWeights records every epoch: norms, update ratios and gradient norms', () => {
    assert.equal(watch.records.length, 1 + summaries.length);
    const [first, ...rest] = watch.records;
    assert.deepEqual(first!.weights.map((w) => `${w.layer}/${w.role}`), ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'dense/kernel', 'dense/bias']);
    assert.ok(first!.weights.every((w) => w.updateRatio === null && w.gradNorm === null));
    for (const r of rest) {
      for (const w of r.weights) {
        assert.ok(w.norm > 0 && w.updateRatio! > 0 && w.updateRatio! < 1 && w.gradNorm! > 0, `${w.layer}/${w.role} at step ${r.step}: ${JSON.stringify(w)}`);
      }
    }
    assert.equal(rest.at(-1)!.logs.val_acc, summaries.at(-1)!.testAccuracy);
  });
});

describe('watchWeights snapshots', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('per-batch snapshots are safetensors whose differences give the recorded update ratios', needsPython('numpy'), async () => {
    const data = await loadDataset('digits');
    const model = digitsCnn();
    const watchDir = join(dir, 'per-batch');
    const watch = watchWeights(model, { dir: watchDir, every: { batches: 1 } });
    await trainModel(model, { ...data, train: { ...data.train, count: 96 } }, { epochs: 1, batchSize: 32, learningRate: 0.05, optimizer: 'sgd', scale: 'unit', watch });
    assert.deepEqual(watch.records.map((r) => r.step), [0, 1, 2, 3]);
    const files = watch.records.map((r) => join(watchDir, r.snapshot!));
    const oracle = JSON.parse(
      runPython(
        `import json, struct, sys, numpy as np
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    assert n % 8 == 0, "header length must be a multiple of 8"
    header = json.loads(b[8:8 + n])
    meta = header.pop("__metadata__")
    end = 0
    out = {}
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        lo, hi = e["data_offsets"]
        assert lo == end and e["dtype"] == "F32", (name, e)
        out[name] = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype="<f4").reshape(e["shape"])
        end = hi
    assert 8 + n + end == len(b), "data must end the file"
    return meta, out
snaps = [read(p) for p in sys.argv[1:]]
res = []
for k in range(1, len(snaps)):
    meta, now = snaps[k]
    _, prev = snaps[k - 1]
    res.append({"meta": meta, "shapes": {n: list(a.shape) for n, a in now.items()},
                "ratio": {n: float(np.linalg.norm((now[n] - prev[n]).ravel()) / np.linalg.norm(now[n].ravel())) for n in now}})
print(json.dumps(res))`,
        files,
      ),
    ) as { meta: Record<string, string>; shapes: Record<string, number[]>; ratio: Record<string, number> }[];
    assert.deepEqual(oracle[0]!.shapes, {
      'conv1.weight': [16, 1, 3, 3],
      'conv1.bias': [16],
      'conv2.weight': [32, 16, 3, 3],
      'conv2.bias': [32],
      'dense.weight': [10, 512],
      'dense.bias': [10],
    });
    for (const [k, r] of oracle.entries()) {
      const record = watch.records[k + 1]!;
      assert.equal(r.meta.step, String(record.step));
      for (const w of record.weights) {
        const name = `${w.layer}.${w.role === 'kernel' ? 'weight' : 'bias'}`;
        const want = r.ratio[name]!;
        assert.ok(Math.abs(w.updateRatio! - want) <= 1e-4 * want, `${name} step ${record.step}: ${w.updateRatio} vs NumPy ${want}`);
      }
    }
  });

  it('refuses data whose image size or class count does not fit the model', async () => {
    const data = await loadDataset('digits');
    const options = { epochs: 1, batchSize: 32, learningRate: 0.01, optimizer: 'sgd', scale: 'unit' } as const;
    await assert.rejects(trainModel(digitsCnn(), { ...data, name: 'cifar10:x', height: 32, width: 32, channels: 3 }, options), {
      name: 'UsageError',
      message: 'The model expects input of shape [batch, 8, 8, 1], but cifar10:x has images of 32x32x3 (height x width x channels).',
    });
    await assert.rejects(trainModel(digitsCnn(), { ...data, classes: ['a', 'b'] }, options), {
      name: 'UsageError',
      message: 'The model expects to output [batch, classes], but its output has shape [batch, 10] and digits has 2 classes.',
    });
  });

  it('works as a callback of tfjs model.fit (no gradients there, so gradNorm is null)', async () => {
    const data = await loadDataset('digits');
    const model = digitsCnn();
    model.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const watch = watchWeights(model, { dir: join(dir, 'fit'), every: 'epoch', snapshots: false });
    const x = tf.tensor4d(Float32Array.from(data.train.images.subarray(0, 128 * 64), (v) => v / 16), [128, 8, 8, 1]);
    const y = tf.tensor1d(data.train.labels.subarray(0, 128), 'float32');
    await model.fit(x, y, { epochs: 2, batchSize: 32, callbacks: watch, verbose: 0 });
    assert.deepEqual(watch.records.map((r) => [r.step, r.epoch]), [[0, 0], [4, 1], [8, 2]]);
    for (const w of watch.records[2]!.weights) assert.ok(w.updateRatio! > 0 && w.gradNorm === null, `${w.layer}/${w.role}`);
    assert.ok(typeof watch.records[2]!.logs.loss === 'number');
    tf.dispose([x, y]);
  });

  it("snapshots open in convscope's safetensors reader with PyTorch axes", async () => {
    const model = digitsCnn();
    const watch = watchWeights(model, { dir: join(dir, 'reader'), every: 'epoch' });
    await watch.onTrainBegin!();
    const opened = await openModel(join(dir, 'reader', watch.records[0]!.snapshot!));
    const conv1 = opened.layers.find((l) => l.name === 'conv1')!;
    const kernel = await conv1.weights.find((w) => w.role === 'kernel')!.read();
    assert.deepEqual(kernel.axes, ['out', 'in', 'kh', 'kw']);
    const keras = model.getLayer('conv1').getWeights()[0]!.arraySync() as number[][][][];
    assert.equal(kernel.at({ out: 5, in: 0, kh: 2, kw: 1 }), keras[2]![1]![0]![5]);
    opened.close();
  });
});
