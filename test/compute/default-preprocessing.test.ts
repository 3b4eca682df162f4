import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { chooseResize, defaultPreprocessing, defaultResize } from '../../src/compute/default-preprocessing.js';
import { ConvscopeError } from '../../src/model/errors.js';
import type { GraphNode, LayerGraph, LeafLayer } from '../../src/model/graph.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';

/** A Keras chain input -> ...classes, as the call graph a reader builds (model/graph.ts). */
function chain(...classes: string[]): Model {
  const nodes: GraphNode[] = ['InputLayer', ...classes].map((className, id) => {
    const layer: LeafLayer = { name: `${className.toLowerCase()}_${id}`, className, config: {}, parents: [] };
    return { id, layer, call: 0, inputs: id === 0 ? [] : [{ node: id - 1, output: 0 }] };
  });
  const graph: LayerGraph = { name: 'm', layers: nodes.map((n) => n.layer), nodes, inputs: [0], inputShapes: [[null, 8, 8, 3]], outputs: [{ node: nodes.length - 1, output: 0 }] };
  return { format: 'keras-h5', framework: 'keras', source: 'm.h5', layers: [], callGraph: () => graph, close() {} };
}

describe("a model's default preprocessing is decided once, from what the file says", () => {
  it('Teachable Machine metadata: symmetric; ONNX: torchvision; a Rescaling or Normalization layer at the input: raw; else unit', () => {
    const tm: Model = { ...chain('Conv2D'), format: 'tfjs-layers', framework: 'tfjs', metadata: { packageName: '@teachablemachine/image' } };
    assert.equal(defaultPreprocessing(tm).preset, 'symmetric');
    assert.match(defaultPreprocessing(tm).reason, /Teachable Machine image model .*@teachablemachine\/image/);
    const onnx: Model = { format: 'onnx', framework: 'onnx', source: 'r.onnx', layers: [], metadata: { producer: 'pytorch 2.1.0' }, close() {} };
    assert.deepEqual(defaultPreprocessing(onnx), { preset: 'torchvision', reason: 'an ONNX model (made by pytorch 2.1.0), as image classifiers exported from PyTorch expect' });
    assert.equal(defaultPreprocessing(chain('Rescaling', 'Conv2D')).preset, 'raw');
    assert.match(defaultPreprocessing(chain('Resizing', 'Normalization', 'Conv2D')).reason, /Normalization layer 'normalization_2'/);
    assert.equal(defaultPreprocessing(chain('Conv2D', 'Rescaling')).preset, 'unit', 'a Rescaling deep in the network does not take raw pixels');
    assert.equal(defaultPreprocessing(chain('Conv2D', 'Dense')).preset, 'unit');
  });

  it('a checkpoint whose metadata records the pixel scale its training fed it: that scale (convscope train writes input_scale)', () => {
    const trained = (input_scale: string): Model => ({ ...chain('Rescaling', 'Conv2D'), format: 'tfjs-layers', framework: 'tfjs', metadata: { input_scale } });
    assert.deepEqual(defaultPreprocessing(trained('raw')), { preset: 'raw', reason: 'a model trained on pixels 0..255 (its metadata records input_scale raw)' });
    assert.equal(defaultPreprocessing(trained('unit')).preset, 'unit', 'the recorded scale wins over the Rescaling layer the graph starts with');
    assert.equal(defaultPreprocessing(trained('0..255')).preset, 'raw', 'an unknown value is not a scale: the graph decides');
  });

  it("a checkpoint's metadata is in both of its files, and TensorFlow.js's own loader reads model.json's", async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const { initBackend } = await import('../../src/compute/backend.js');
    const { saveCheckpoint, CHECKPOINT_FILES } = await import('../../src/compute/checkpoint.js');
    const { openModel } = await import('../../src/formats/open.js');
    await initBackend();
    const net = tfl.sequential({ layers: [tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], name: 'conv' })] });
    const checkpoint = join(dir, 'trained');
    await saveCheckpoint(net, checkpoint, { input_scale: 'raw', epoch: '3' });
    net.dispose();
    // TF.js reads model.json as its file and HTTP loaders do (getModelArtifactsForJSON), then builds the model.
    const { io } = await import('@tensorflow/tfjs-core');
    const json = JSON.parse(readFileSync(join(checkpoint, CHECKPOINT_FILES.modelJson), 'utf8')) as Parameters<typeof io.getModelArtifactsForJSON>[0];
    const weights = readFileSync(join(checkpoint, CHECKPOINT_FILES.weights));
    const artifacts = await io.getModelArtifactsForJSON(json, async (manifest) => [manifest.flatMap((g) => g.weights), weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength)]);
    const loaded = await tfl.loadLayersModel(io.fromMemory(artifacts));
    assert.deepEqual(loaded.getUserDefinedMetadata(), { input_scale: 'raw', epoch: '3' });
    loaded.dispose();
    for (const file of [CHECKPOINT_FILES.modelJson, CHECKPOINT_FILES.safetensors]) {
      const model = await openModel(join(checkpoint, file));
      try {
        assert.equal(model.metadata?.input_scale, 'raw', file);
        assert.equal(defaultPreprocessing(model).preset, 'raw', file);
      } finally {
        model.close();
      }
    }
  });

  it("how a photo meets the input size follows the model's own tooling: Teachable Machine, PyTorch and ONNX crop the centre, Keras stretches", () => {
    const tm: Model = { ...chain('Conv2D'), format: 'tfjs-layers', framework: 'tfjs', metadata: { packageName: '@teachablemachine/image' } };
    assert.deepEqual(defaultResize(tm), { mode: 'crop', reason: 'a Teachable Machine image model, whose library crops the centre square' });
    const onnx: Model = { format: 'onnx', framework: 'onnx', source: 'r.onnx', layers: [], close() {} };
    assert.deepEqual(defaultResize(onnx), { mode: 'crop', reason: "an ONNX model, as torchvision's evaluation transforms resize the shorter side and keep the centre" });
    assert.equal(defaultResize({ ...onnx, format: 'pytorch', framework: 'pytorch' }).mode, 'crop');
    assert.equal(defaultResize({ ...onnx, format: 'safetensors', framework: 'safetensors' }).mode, 'crop');
    assert.match(defaultResize(chain('Conv2D')).reason, /^a Keras, TF\.js or TensorFlow model, as Keras's image loading .* stretches$/);
    assert.equal(defaultResize({ ...chain('Conv2D'), format: 'tfjs-layers', framework: 'tfjs' }).mode, 'stretch');
    assert.deepEqual(chooseResize(tm, 'pad'), { mode: 'pad' }, "the user's choice carries no reason");
    assert.deepEqual(chooseResize(tm, 'auto'), defaultResize(tm));
    assert.deepEqual(chooseResize(tm, undefined), defaultResize(tm));
    assert.throws(() => chooseResize(tm, 'squash'), (e: Error) => e instanceof ConvscopeError && e.concept === 'resize' && /Resize 'squash' is unknown; choose auto or one of stretch, crop, torchvision, pad\./.test(e.message));
  });

  // Teachable Machine's library feeds x / 127.5 - 1; with unit pixels the fixture's top class changes.
  const dir = mkdtempSync(join(tmpdir(), 'convscope-default-pre-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const scores = async (extra: string[], name: string): Promise<{ probabilities: number[]; stdout: string }> => {
    const out = join(dir, `${name}.npy`);
    const args = ['activations', fixture('11_tfjs_teachable_machine', 'model.json'), '--image', join(process.cwd(), '..', 'shared', 'images', 'coffee.png'), '--layer', 'dense_Dense2', '--format', 'npy', '--out', out, ...extra];
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    return { probabilities: Array.from(decodeNpy(readFileSync(out)).data as Float32Array), stdout: r.stdout };
  };

  it('fixture 11 (Teachable Machine): auto gives exactly the probabilities of --preprocess symmetric, not those of unit, and says why', needsFixtures, async () => {
    const [auto, symmetric, unit] = await Promise.all([scores([], 'auto'), scores(['--preprocess', 'symmetric'], 'symmetric'), scores(['--preprocess', 'unit'], 'unit')]);
    assert.match(auto.stdout, /^input: .*coffee\.png .*; symmetric \(x \/ 127\.5 - 1\), the default for a Teachable Machine image model \(its metadata\.json names @teachablemachine\/image\)/m);
    assert.doesNotMatch(symmetric.stdout, /symmetric \(x \/ 127\.5 - 1\), the default for/, 'an explicit preset needs no reason');
    assert.deepEqual(auto.probabilities, symmetric.probabilities);
    const argmax = (p: number[]) => p.indexOf(Math.max(...p));
    assert.equal(argmax(auto.probabilities), 2, "symmetric input: 'Poes' (the metadata's labels[2])");
    assert.notEqual(argmax(unit.probabilities), argmax(auto.probabilities), 'unit pixels change the top class');
    assert.ok(Math.max(...auto.probabilities.map((p, i) => Math.abs(p - unit.probabilities[i]!))) > 0.1);
  });
});
