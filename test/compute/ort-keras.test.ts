import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runLayers, type Activation, type InputBatch } from '../../src/compute/activations.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { kerasOnOrt, runLayersOrt } from '../../src/compute/keras-ort.js';
import { openModel } from '../../src/formats/open.js';
import { catalogueEntry } from '../../src/model/keras-catalogue.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { memoryModel, type MemoryWeight } from './memory-model.js';

/**
 * Keras and TF.js networks converted in memory to ONNX and run on ONNX Runtime give what
 * TensorFlow.js gives, layer by layer, within 1e-5 relative, and what Keras gave (the fixtures'
 * stored outputs) within the tolerances their TensorFlow.js tests use.
 */

const RELATIVE = 1e-5;

/** max |a - b| / max(max |b|, 1e-6). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-6);
}

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

interface BothRuns {
  engine: 'ort' | 'tfjs';
  reason?: string;
  tfjs: { layers: Activation[]; outputs: Activation[] };
  ort?: { layers: Activation[]; outputs: Activation[] };
}

/** Runs every layer of a built net on TensorFlow.js and on ONNX Runtime, and checks they agree. */
async function bothEngines(net: RunnableModel, inputs: InputBatch[], what: string): Promise<BothRuns> {
  const tfjs = { layers: [] as Activation[], outputs: [] as Activation[] };
  tfjs.outputs = await runLayers(net, inputs, { want: () => true, onActivation: (a) => void tfjs.layers.push(a) });
  const ort = await kerasOnOrt(net, { threads: 1 });
  if ('reason' in ort) return { engine: 'tfjs', reason: ort.reason, tfjs };
  try {
    const got = { layers: [] as Activation[], outputs: [] as Activation[] };
    got.outputs = await runLayersOrt(ort, inputs, { want: () => true, onActivation: (a) => void got.layers.push(a) });
    assert.deepEqual(got.layers.map((l) => l.name), tfjs.layers.filter((l) => !net.graph.inputs.includes(l.node.id)).map((l) => l.name), what);
    for (const a of got.layers) {
      const t = tfjs.layers.find((l) => l.name === a.name)!;
      assert.deepEqual(a.shape, t.shape, `${what}/${a.name} shape`);
      const err = relativeError(a.data, t.data);
      assert.ok(err <= RELATIVE, `${what}/${a.name} (${a.className}): ONNX Runtime and TensorFlow.js differ by ${err.toExponential(2)} relative`);
    }
    got.outputs.forEach((o, i) => assert.ok(relativeError(o.data, tfjs.outputs[i]!.data) <= RELATIVE, `${what} output ${i}`));
    return { engine: 'ort', tfjs, ort: got };
  } finally {
    await ort.onnx.release();
  }
}

async function withNet<T>(model: Model, work: (net: RunnableModel) => Promise<T>): Promise<T> {
  try {
    const net = await buildModel(model);
    try {
      return await work(net);
    } finally {
      net.dispose();
    }
  } finally {
    model.close();
  }
}

function npyBatch(path: string): InputBatch {
  const a = decodeNpy(readFileSync(path), path);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
}

function randomInput(shape: readonly (number | null)[], batch = 2): InputBatch {
  const dims = [batch, ...shape.slice(1).map((d) => d ?? 1)];
  let seed = 7;
  return { shape: dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) };
}

interface KerasJsCase {
  layer: string;
  kerasjs_params: { attrs: Record<string, unknown> };
  input: { data: number[]; shape: number[] };
  weights?: { data: number[]; shape: number[] }[];
  expected: { data: number[]; shape: number[] };
}

function roles(c: KerasJsCase): string[] {
  const bias = c.kerasjs_params.attrs.use_bias !== false ? ['bias'] : [];
  if (c.layer === 'SeparableConv2D') return ['depthwise_kernel', 'pointwise_kernel', ...bias];
  if (c.layer === 'BatchNormalization') {
    const a = c.kerasjs_params.attrs;
    return [...(a.scale !== false ? ['gamma'] : []), ...(a.center !== false ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  }
  if (c.layer === 'PReLU') return ['alpha'];
  return (c.weights ?? []).length > 0 ? ['kernel', ...bias] : [];
}

test('fixture 01: every keras-js layer case whose class the catalogue gives to ONNX Runtime runs there, equal to TF.js (1e-5 rel) and Keras (1e-4)', needsFixtures, async () => {
  const cases = JSON.parse(readFileSync(fixture('01_kerasjs', 'kerasjs_layer_cases.json'), 'utf8')) as Record<string, KerasJsCase>;
  const onOrt = new Set<string>();
  for (const [id, c] of Object.entries(cases)) {
    const config = {
      class_name: 'Sequential',
      config: { name: 'case', layers: [{ class_name: c.layer, config: { ...c.kerasjs_params.attrs, name: 'layer', batch_input_shape: [null, ...c.input.shape] } }] },
    };
    const names = roles(c);
    const weights: MemoryWeight[] = (c.weights ?? []).map((w, i) => ({ role: names[i]!, shape: w.shape, data: w.data }));
    const run = await withNet(memoryModel(config, { layer: { className: c.layer, weights } }), (net) =>
      bothEngines(net, [{ shape: [1, ...c.input.shape], data: Float32Array.from(c.input.data) }], id),
    );
    const expectOrt = catalogueEntry(c.layer)!.engines.includes('ort');
    assert.equal(run.engine, expectOrt ? 'ort' : 'tfjs', `${id} (${c.layer}) ran on ${run.engine}${run.reason ? `: ${run.reason}` : ''}`);
    if (run.ort) {
      onOrt.add(c.layer);
      assert.ok(maxError(run.ort.outputs[0]!.data, c.expected.data) <= 1e-4, `${id}: ONNX Runtime differs from Keras`);
    }
  }
  assert.ok(onOrt.size >= 11, [...onOrt].join(', '));
});

test('fixture 02: all 28 Keras Conv2DTranspose cases on ONNX Runtime equal Keras (1e-4) and TF.js (1e-5 rel)', needsFixtures, async () => {
  const dir = fixture('02_dl4j_conv2dtranspose');
  const names = readdirSync(dir).filter((f) => f.endsWith('_W.npy')).map((f) => f.slice(0, -'_W.npy'.length));
  assert.equal(names.length, 28);
  for (const name of names) {
    const m = /_k(\d+)_sz(\d+)_s(\d+)_(same|valid)_d(\d+)_(nchw|nhwc)$/.exec(name)!;
    const [k, stride, padding, dilation, layout] = [Number(m[1]), Number(m[3]), m[4]!, Number(m[5]), m[6]!];
    const [W, b, input, expected] = ['W', 'b', 'in', 'out'].map((p) => npyBatch(`${dir}/${name}_${p}.npy`)) as [InputBatch, InputBatch, InputBatch, InputBatch];
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'deconv',
        layers: [{
          class_name: 'Conv2DTranspose',
          config: { name: 'deconv', filters: W.shape[2], kernel_size: [k, k], strides: [stride, stride], padding, dilation_rate: [dilation, dilation], data_format: layout === 'nchw' ? 'channels_first' : 'channels_last', activation: 'linear', use_bias: true, batch_input_shape: [null, ...input.shape.slice(1)] },
        }],
      },
    };
    const model = memoryModel(config, { deconv: { className: 'Conv2DTranspose', weights: [{ role: 'kernel', shape: [...W.shape], data: W.data }, { role: 'bias', shape: [...b.shape], data: b.data }] } });
    const run = await withNet(model, (net) => bothEngines(net, [input], name));
    assert.equal(run.engine, 'ort', `${name}: ${run.reason}`);
    assert.ok(maxError(run.ort!.outputs[0]!.data, expected.data) <= 1e-4, `${name}: ONNX Runtime differs from Keras`);
  }
});

test('fixtures 03-09, 11: every model file runs on ONNX Runtime, every layer equal to TF.js within 1e-5 relative; stored Keras outputs still match', needsFixtures, async () => {
  const f = (dir: string, ...file: string[]) => fixture(dir, ...file);
  const files = [
    f('03_dl4j_cnn_batchnorm', 'cnn_batch_norm.h5'),
    f('04_dl4j_keras1_cnn', 'cnn_tf_model.h5'),
    f('05_dl4j_weight_layout', 'conv2d_tensorflow_2.h5'),
    f('05_dl4j_weight_layout', 'conv2d_theano_2.h5'),
    f('05_dl4j_weight_layout', 'sepconv2d_tensorflow_2.h5'),
    ...['cnn2d_40', 'cnn2d_52', 'cnn2d_64', 'cnn2d_76'].map((n) => f('06_dl4j_tfkeras_structure', `${n}.h5`)),
    f('07_dl4j_conv1d_io', 'conv1d_k2_s1_d2_cl_valid_model.h5'),
    f('07_dl4j_conv1d_io', 'conv1d_k3_s2_d1_cf_same_model.h5'),
    f('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'),
    f('08_xfmt_keras2h5_tfjs', 'model', 'model.json'),
    f('09_xfmt_keras3_h5_keras', 'mnist_cnn.h5'),
    f('09_xfmt_keras3_h5_keras', 'mnist_cnn.keras'),
    f('11_tfjs_teachable_machine', 'model.json'),
  ];
  const engines: string[] = [];
  for (const file of files) {
    const run = await withNet(await openModel(file), (net) => {
      const input = file.includes('03_') ? npyBatch(f('03_dl4j_cnn_batchnorm', 'input.npy')) : randomInput(net.inputShapes[0]!);
      return bothEngines(net, [input], file.split('/').slice(-2).join('/'));
    });
    engines.push(`${file.split('/').at(-1)}: ${run.engine}${run.reason ? ` (${run.reason})` : ''}`);
    if (file.includes('03_')) {
      const expected = npyBatch(f('03_dl4j_cnn_batchnorm', 'predictions.npy'));
      assert.ok(maxError(run.ort?.outputs[0]!.data ?? [], expected.data) <= 1e-4, 'fixture 03 predictions on ONNX Runtime');
    }
  }
  const fellBack = engines.filter((e) => !e.includes(': ort'));
  assert.deepEqual(fellBack, [], 'models that fell back to TF.js');
});

test('CLI: --engine ort (default) and --engine tfjs print the same top classes and say which engine ran', needsFixtures, async () => {
  const { runCli } = await import('../helpers/cli.js');
  const { encodeNpy } = await import('../../src/model/npy.js');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'convscope-engines-'));
  try {
    const input = join(dir, 'x.npy');
    const x = randomInput([null, 28, 28, 1], 1);
    writeFileSync(input, encodeNpy(x.data, x.shape));
    const model = fixture('08_xfmt_keras2h5_tfjs', 'model', 'model.json');
    const [ort, tfjs] = await Promise.all(['ort', 'tfjs'].map((engine) => runCli(['activations', model, '--input', input, '--top', '3', '--out', dir, '--engine', engine])));
    assert.equal(ort!.code, 0, ort!.stderr);
    assert.equal(tfjs!.code, 0, tfjs!.stderr);
    assert.match(ort!.stdout, /note: ran on ONNX Runtime \(the Keras layers converted to ONNX in memory\)/);
    assert.doesNotMatch(tfjs!.stdout, /ONNX Runtime/);
    const top = (s: string) => /top 3 of .*: (#\d+) [\d.e-]+, (#\d+) [\d.e-]+, (#\d+)/.exec(s)!.slice(1);
    assert.deepEqual(top(ort!.stdout), top(tfjs!.stdout));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
