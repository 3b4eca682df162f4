import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runGraphNodes } from '../../src/compute/tfjs-graph.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy, encodeNpy } from '../../src/model/npy.js';
import { filterFigure } from '../../src/render/filters.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * A TF.js graph model written by test/helpers/tfjs_graph.py (the documented graph-model JSON: a
 * GraphDef of the ops the converter emits for a Keras CNN, weights in a shard), with NumPy's float64
 * outputs as the oracle for the values, the axes and the graph executor's results.
 */

const dir = mkdtempSync(join(tmpdir(), 'convscope-tfjs-graph-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const python = needsPython('numpy');
let expected: { input: number[]; input_shape: number[]; weights: Record<string, number[]>; outputs: Record<string, number[]> } | undefined;

function oracle(): NonNullable<typeof expected> {
  if (!expected) {
    const script = join(ROOT, 'test', 'helpers', 'tfjs_graph.py');
    runPython(`import runpy; runpy.run_path(${JSON.stringify(script)}, run_name='__main__')`, [dir]);
    expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as NonNullable<typeof expected>;
  }
  return expected;
}

test('graph model weights get axes from the op that consumes them and read back exactly', python, async () => {
  const e = oracle();
  const model = await openModel(join(dir, 'model.json'));
  assert.equal(model.format, 'tfjs-graph');
  const layer = (name: string) => model.layers.find((l) => l.name === name)!;
  const axes = (l: string) => layer(l).weights.map((w) => `${w.name}:${w.role}[${w.axes.join(',')}]`);
  assert.equal(layer('conv/Relu').className, '_FusedConv2D');
  assert.deepEqual(axes('conv/Relu'), ['conv/kernel:kernel[kh,kw,in,out]', 'conv/bias:bias[features]']);
  assert.deepEqual(axes('dw/depthwise'), ['dw/depthwise_kernel:depthwise_kernel[kh,kw,in,mult]', 'dw/bias:bias[features]']);
  assert.deepEqual(axes('fc/MatMul'), ['fc/kernel:kernel[in,units]', 'fc/bias:bias[units]']);
  assert.deepEqual(axes('pool/axes'), ['pool/axes:value[d0]']);
  for (const l of model.layers) {
    for (const w of l.weights) assert.deepEqual(Array.from((await w.read()).data as ArrayLike<number>), e.weights[w.name], w.name);
  }
  const fig = filterFigure(await layer('conv/Relu').weights[0]!.read(), {});
  assert.equal(fig.info.filterCount, 4, 'the kernel draws as 4 filters');
});

test('the graph executor runs named nodes; outputs match NumPy float64 within 1e-5', python, async () => {
  const e = oracle();
  const model = await openModel(join(dir, 'model.json'));
  const outputs = await runGraphNodes(model, { shape: e.input_shape, data: Float32Array.from(e.input) }, ['conv/Relu', 'dw/Relu', 'Identity']);
  assert.deepEqual(outputs.map((o) => [o.name, o.shape.join('x')]), [['conv/Relu', '2x6x6x4'], ['dw/Relu', '2x4x4x8'], ['Identity', '2x5']]);
  for (const o of outputs) {
    const want = e.outputs[o.name]!;
    assert.equal(o.data.length, want.length);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(o.data[i]! - want[i]!));
    assert.ok(worst <= 1e-5, `${o.name}: max |convscope - numpy| = ${worst}`);
  }
  await assert.rejects(runGraphNodes(model, { shape: e.input_shape, data: Float32Array.from(e.input) }, ['nope']), /has no node 'nope'; its graph has 16 nodes\./);
});

test('`activations` runs a graph model by node name and writes the NumPy-equal output as .npy', python, async () => {
  const e = oracle();
  const inputPath = join(dir, 'input.npy');
  writeFileSync(inputPath, encodeNpy(Float32Array.from(e.input), e.input_shape));
  const out = join(dir, 'dw.npy');
  const r = await runCli(['activations', join(dir, 'model.json'), '--input', inputPath, '--layer', 'dw/Relu', '--format', 'npy', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^dw\/Relu\s+Relu\s+\(2, 4, 4, 8\)/m);
  assert.match(r.stdout, /note: ran with TensorFlow\.js' graph-model executor/);
  const got = decodeNpy(readFileSync(out), out);
  const want = e.outputs['dw/Relu']!;
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs((got.data as Float32Array)[i]! - want[i]!));
  assert.ok(worst <= 1e-5, `max |convscope - numpy| = ${worst}`);
});
