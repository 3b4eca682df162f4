import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { evaluate } from '../../src/compute/train.js';
import { loadTrainable } from '../../src/compute/trainable.js';
import { loadDataset } from '../../src/data/index.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-train-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads a TF.js layers checkpoint directory with tfjs' own loader. */
async function loadCheckpoint(path: string): Promise<tfl.LayersModel> {
  const json = JSON.parse(readFileSync(join(path, 'model.json'), 'utf8'));
  const weights = readFileSync(join(path, 'weights.bin'));
  return tfl.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
}

describe('convscope train', () => {
  let arch: string;
  let result: { code: number | null; stdout: string; stderr: string };

  before(async () => {
    await initBackend('wasm');
    const net = tfl.sequential({
      layers: [
        tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }),
        tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
        tfl.layers.dropout({ rate: 0.1, name: 'drop' }),
        tfl.layers.flatten({ name: 'flat' }),
        tfl.layers.dense({ units: 10, activation: 'softmax', name: 'dense' }),
      ],
    });
    arch = join(dir, 'arch.json');
    writeFileSync(arch, JSON.stringify(net.toJSON(null, false)));
    net.dispose();
    result = await runCli(['train', arch, '--data', 'digits', '--epochs', '2', '--lr', '0.01', '--watch', '20-batches', '--out', join(dir, 'out')], { timeoutMs: 120000 });
  });

  it('trains an architecture JSON, printing each epoch and saving checkpoints tfjs loads', async () => {
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    assert.match(lines[0]!, /^training .*arch\.json on digits: 1438 images \(8x8x1, 10 classes\), 359 held out; adam lr 0\.01, batch 32, scale unit$/);
    assert.match(lines[1]!, /^gradients: (ONNX Runtime, \d+ threads|TensorFlow\.js wasm \(ONNX Runtime does not cover it: .+\))$/);
    const last = lines.find((l) => l.startsWith('epoch 2/2'))!;
    const printed = Number(/held-out loss [\d.]+ accuracy ([\d.]+)%/.exec(last)![1]) / 100;
    assert.ok(printed > 0.8, last);
    const checkpoint = join(dir, 'out', 'epoch-002');
    assert.ok(existsSync(join(checkpoint, 'model.safetensors')));
    const model = await loadCheckpoint(checkpoint);
    const data = await loadDataset('digits');
    const { accuracy } = evaluate(model, data, data.test, 64, 'unit');
    assert.ok(Math.abs(accuracy - printed) < 0.0005, `checkpoint accuracy ${accuracy} vs printed ${printed}`);
    model.dispose();
  });

  it('--watch n-batches writes a summary line per record and names the health ratios', () => {
    const summary = readFileSync(join(dir, 'out', 'watch', 'summary.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(summary.map((r) => r.step), [0, 20, 40, 60, 80]);
    assert.match(result.stdout, /update\/weight ratio \(healthy ~1e-3\): lowest \S+ [\d.]+(e[-+]\d+)?, highest \S+ [\d.]+(e[-+]\d+)?; snapshots and summary\.jsonl in /);
  });

  it("loadTrainable resumes from the checkpoint through convscope's TF.js reader with the same accuracy", async () => {
    const last = result.stdout.split('\n').find((l) => l.startsWith('epoch 2/2'))!;
    const printed = Number(/held-out loss [\d.]+ accuracy ([\d.]+)%/.exec(last)![1]) / 100;
    const { model, notes } = await loadTrainable(join(dir, 'out', 'epoch-002', 'model.json'));
    assert.deepEqual(notes, []);
    assert.ok(model.getLayer('drop'), 'dropout kept for training');
    const data = await loadDataset('digits');
    const { accuracy } = evaluate(model, data, data.test, 64, 'unit');
    assert.ok(Math.abs(accuracy - printed) < 0.0005, `resumed accuracy ${accuracy} vs printed ${printed}`);
    model.dispose();
  });

  it('bad data gives one sentence and exit 1', async () => {
    const bad = await runCli(['train', arch, '--data', 'imagenet:/x']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^convscope: The data spec expects one of digits \| cifar10:<dir> \| mnist:<dir> \| folder:<dir>, but received 'imagenet:\/x'\.\n$/);
  });
});
