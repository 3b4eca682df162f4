import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOnnxNet, onnxLayers, runOnnxLayers, selectOnnxLayers } from '../../src/compute/onnx-activations.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { modulePath } from '../../src/model/module-path.js';
import { openModel, readOnnxTensor, fileSource } from '../../src/index.js';
import { ConvscopeError } from '../../src/model/errors.js';
import { runCli } from '../helpers/cli.js';
import { needsPython, runPython } from '../helpers/python.js';
import { ROOT } from '../helpers/fixtures.js';

/**
 * ONNX Runtime as the forward engine, against outside oracles: PyTorch's forward hooks on torchvision
 * resnet18 / mobilenet_v2 and a VGG-style net exported by torch.onnx.export (random weights, fixed
 * seed), and libonnx-testdata's node tests.
 */

interface Record_ {
  module: string;
  call: number;
  class: string;
  shape: number[];
  file: string;
}
type Manifest = Record<string, { input: number[]; modules: Record_[]; logits: number[] }> & { photo?: number[] };

let exported: { dir: string; manifest: Manifest } | undefined;
function exports(): { dir: string; manifest: Manifest } {
  if (!exported) {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-onnx-exports-'));
    runPython(readFileSync(join(ROOT, 'test', 'helpers', 'onnx_exports.py'), 'utf8'), [dir, join(ROOT, 'assets', 'images', 'rocket.jpg')]);
    exported = { dir, manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest };
  }
  return exported;
}
after(() => exported && rmSync(exported.dir, { recursive: true, force: true }));

function floats(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** max |a - b| / max |b|: the relative error of a whole tensor. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

/** Modules without a node of their own in an eval-mode export. */
const NO_NODE = new Set(['Dropout', 'Identity']);

describe('ONNX exports of torchvision nets run on ONNX Runtime', needsPython('torch', 'torchvision', 'onnx'), () => {
  for (const [net, minimum] of [['resnet18', 60], ['mobilenet_v2', 140], ['vgg_style', 14]] as const) {
    it(`${net}: every module's output, found by its module path, equals PyTorch's forward hook within 1e-4 relative`, async () => {
      const { dir, manifest } = exports();
      const entry = manifest[net]!;
      const path = join(dir, `${net}.onnx`);
      const model = await openModel(path);
      const graph = onnxGraph(model)!;
      const onnx = await loadOnnxNet(path, graph, { threads: 2 });
      try {
        const resolved: { record: Record_; output: string }[] = [];
        const missing: Record_[] = [];
        for (const record of entry.modules) {
          const name = record.call === 0 ? record.module : `${record.module}_${record.call}`;
          try {
            const [layer] = selectOnnxLayers(graph, path, name);
            resolved.push({ record, output: layer!.output });
          } catch (e) {
            assert.ok(e instanceof ConvscopeError, String(e));
            missing.push(record);
          }
        }
        assert.deepEqual(missing.filter((r) => !NO_NODE.has(r.class)).map((r) => r.module), [], 'only Dropout / Identity have no node');
        assert.ok(resolved.length >= minimum, `${resolved.length} modules compared`);
        const input = { shape: entry.input, data: floats(join(dir, `${net}.input.bin`)) };
        const values = await onnx.run([input], [...resolved.map((r) => r.output), 'logits']);
        for (const { record, output } of resolved) {
          const v = values.get(output)!;
          assert.deepEqual(v.shape, record.shape, `${record.module} shape`);
          const err = relativeError(v.data!, floats(join(dir, record.file)));
          assert.ok(err <= 1e-4, `${record.module} (${record.class}, call ${record.call}) differs by ${err.toExponential(2)} relative`);
        }
        assert.ok(relativeError(values.get('logits')!.data!, floats(join(dir, `${net}.logits.bin`))) <= 1e-4, 'logits');
      } finally {
        await onnx.release();
        model.close();
      }
    });
  }

  it('runOnnxLayers reports NCHW float outputs named by node and module; --layer all covers every computing node once', async () => {
    const { dir } = exports();
    const path = join(dir, 'resnet18.onnx');
    const model = await openModel(path);
    const graph = onnxGraph(model)!;
    const layers = onnxLayers(graph);
    assert.ok(layers.every((l) => l.node.opType !== 'Identity' && l.node.opType !== 'Constant'), 'weight plumbing is not a layer');
    assert.equal(new Set(layers.map((l) => l.name)).size, layers.length);
    const conv = selectOnnxLayers(graph, path, 'layer1.0.conv1')[0]!;
    assert.equal(conv.name, 'layer1.0.conv1');
    assert.equal(conv.node.name, '/layer1/layer1.0/conv1/Conv');
    assert.equal(selectOnnxLayers(graph, path, undefined)[0]!.node.name, '/conv1/Conv');
    assert.throws(() => selectOnnxLayers(graph, path, 'layer1.0.conv'), /has no node or module 'layer1.0.conv'\. Did you mean 'layer1.0.conv1'/);
    assert.throws(() => selectOnnxLayers(graph, path, 'zzzzzzzzzz'), /has no node or module 'zzzzzzzzzz'\. Its modules are: conv1, .* and \d+ more\.$/);
    const net = await loadOnnxNet(path, graph, { threads: 2 });
    try {
      const { manifest } = exports();
      const run = await runOnnxLayers(net, { shape: manifest.resnet18!.input, data: floats(join(dir, 'resnet18.input.bin')) }, [conv]);
      assert.deepEqual(run.layers[0]!.shape, [1, 64, 56, 56]);
      assert.equal(run.layers[0]!.channelsFirst, true);
      assert.equal(run.layers[0]!.module, 'layer1.0.conv1');
      assert.deepEqual(run.outputs.map((o) => [o.name, o.shape]), [['logits', [1, 1000]]]);
      // A viewer switching layers: each fetch set has its own session, older ones are released.
      const input = { shape: manifest.resnet18!.input, data: floats(join(dir, 'resnet18.input.bin')) };
      const picks = ['layer2', 'layer3.1.conv2', 'layer1.0.conv1', 'layer2'].map((m) => selectOnnxLayers(graph, path, m)[0]!);
      const together = await runOnnxLayers(net, input, picks.slice(0, 3));
      for (const pick of picks) {
        const alone = await runOnnxLayers(net, input, [pick]);
        // Sessions fetching different values fuse different operators: equal within float32 rounding.
        assert.ok(relativeError(alone.layers[0]!.data, together.layers.find((l) => l.name === pick.name)!.data) <= 1e-5, pick.name);
      }
    } finally {
      await net.release();
      model.close();
    }
  });

  it('CLI: activations of a module as .npy equal the hook; --top names classes from --labels; a bad layer exits 1', async () => {
    const { dir, manifest } = exports();
    const out = mkdtempSync(join(tmpdir(), 'convscope-onnx-cli-'));
    try {
      const labels = join(out, 'labels.txt');
      (await import('node:fs')).writeFileSync(labels, Array.from({ length: 1000 }, (_, i) => `class ${i}`).join('\n'));
      const r = await runCli(['activations', join(dir, 'resnet18.onnx'), '--input', join(dir, 'photo.npy'), '--layer', 'layer2', '--format', 'npy', '--out', out, '--top', '3', '--labels', labels]);
      assert.equal(r.code, 0, r.stderr);
      const logits = manifest.photo!;
      const best = logits.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
      const line = r.stdout.split('\n').find((l) => l.startsWith("top 3 of 'logits'"))!;
      const shown = [...line.matchAll(/#(\d+) class (\d+) (-?[\d.e-]+)/g)].map((m) => [Number(m[3]), Number(m[1])]);
      assert.deepEqual(shown.map((s) => s[1]), best.map((b) => b[1]));
      shown.forEach(([v], i) => assert.ok(Math.abs(v! - best[i]![0]) <= 1e-3 * Math.abs(best[i]![0]) + 1e-3, `${v} vs ${best[i]![0]}`));
      assert.ok(existsSync(join(out, 'layer2.npy')), readdirSync(out).join(', '));
      const bad = await runCli(['activations', join(dir, 'resnet18.onnx'), '--input', join(dir, 'photo.npy'), '--layer', 'layer9']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /has no node or module 'layer9'/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('module paths from torch.onnx.export node names', () => {
  it('joins scopes that repeat their ancestors only once', () => {
    assert.equal(modulePath('/layer1/layer1.0/conv1/Conv'), 'layer1.0.conv1');
    assert.equal(modulePath('/layer4/layer4.0/downsample/downsample.0/Conv'), 'layer4.0.downsample.0');
    assert.equal(modulePath('/features/features.17/conv/conv.1/conv.1.0/Conv'), 'features.17.conv.1.0');
    assert.equal(modulePath('/fc/Gemm'), 'fc');
    assert.equal(modulePath('/Flatten'), undefined);
    assert.equal(modulePath('Conv_0'), undefined);
  });
});

const NODE_TESTS = '/usr/share/libonnx-testdata/data/node';
/** The operators CNNs are made of. */
const CNN_OPS = /^test_(conv_|convtranspose|maxpool_|averagepool_|globalaveragepool|globalmaxpool|batchnorm_(example|epsilon)$|relu$|leakyrelu|prelu|sigmoid|tanh$|elu|selu|hardsigmoid|hardswish|softmax_|gemm_|matmul_2d|add$|add_bcast|sub$|mul$|concat_|flatten_|clip|lrn|instancenorm|dropout_default$|identity$)/;

describe("libonnx-testdata node tests of CNN operators through the engine", { skip: existsSync(NODE_TESTS) ? false : `${NODE_TESTS} not found (Debian package libonnx-testdata)` }, () => {
  it('every float test equals its expected outputs within 1e-4 relative', async () => {
    const dirs = readdirSync(NODE_TESTS).filter((d) => CNN_OPS.test(d)).sort();
    let ran = 0;
    const failures: string[] = [];
    for (const d of dirs) {
      const path = join(NODE_TESTS, d, 'model.onnx');
      const model = await openModel(path);
      const graph = onnxGraph(model)!;
      if (!graph.inputs.every((i) => i.elemType === 1) || !graph.outputs.every((o) => o.elemType === 1)) {
        model.close();
        continue;
      }
      const set = join(NODE_TESTS, d, 'test_data_set_0');
      const inputs = await Promise.all(graph.inputs.map(async (_, i) => {
        const t = await readOnnxTensor(await fileSource(join(set, `input_${i}.pb`)));
        return { shape: [...t.shape], data: Float32Array.from(t.toFloat32()) };
      }));
      const net = await loadOnnxNet(path, graph, { threads: 1 });
      try {
        const values = await net.run(inputs, graph.outputs.map((o) => o.name));
        for (const [k, o] of graph.outputs.entries()) {
          const expected = await readOnnxTensor(await fileSource(join(set, `output_${k}.pb`)));
          const v = values.get(o.name)!;
          assert.deepEqual(v.shape, [...expected.shape], `${d} shape`);
          const err = relativeError(v.data!, Float32Array.from(expected.toFloat32()));
          if (!(err <= 1e-4)) failures.push(`${d}: ${err}`);
        }
        ran++;
      } finally {
        await net.release();
        model.close();
      }
    }
    assert.deepEqual(failures, []);
    assert.ok(ran >= 80, `${ran} node tests ran`);
  });
});
