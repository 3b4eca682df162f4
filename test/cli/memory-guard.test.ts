/**
 * Commands that go through every layer hold one layer at a time: a Keras h5 with one 128 MiB Dense
 * kernel among small convolutions is drawn, plotted and summarised by the CLI in a child process whose
 * peak RSS /usr/bin/time measures from outside (the kernel's wait4 figure for that child alone). Each
 * must stay within 1.2x the largest layer + 150 MiB (node and the HDF5 engine's thread take ~90 MiB);
 * holding two copies of the large layer, or the large layer and everything before it, goes over.
 * `filters` draws a large matrix as its overview, read a slab of rows at a time, so it must not hold
 * even half of that layer (measured: 113 MiB; 256 MiB when the whole kernel was read to be drawn).
 * `activations` of a 127 MiB ONNX model holds its weights once, in ONNX Runtime (measured: 270 MiB;
 * 489 MiB when convscope held the file, ONNX Runtime decoded it and repacked the Gemm weights).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeOnnxModel } from '../../src/formats/onnx-write.js';
import { ROOT } from '../helpers/fixtures.js';
import { values, writeKerasChainH5, type ChainLayer } from '../helpers/keras-writers.js';

const TIME = '/usr/bin/time';
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const MIB = 2 ** 20;
/** The large layer: fc1's kernel, [in, units] float32. */
const LARGE: [number, number] = [16384, 2048];
const LARGE_BYTES = LARGE[0] * LARGE[1] * 4;
const BOUND_MIB = (1.2 * LARGE_BYTES) / MIB + 150;
const STREAMED_MIB = (0.5 * LARGE_BYTES) / MIB + 150;

let dir: string;
let model: string;

/** A Functional Keras 2 model as `model.save('x.h5')` writes it: three small convolutions, then fc1 (128 MiB) and fc2. */
async function writeModel(path: string): Promise<void> {
  const layers: ChainLayer[] = [
    { name: 'img', className: 'InputLayer', config: { batch_input_shape: [null, 32, 32, 3] }, weights: [] },
    { name: 'conv1', className: 'Conv2D', config: { filters: 32, kernel_size: [3, 3] }, weights: [['kernel', [3, 3, 3, 32]], ['bias', [32]]] },
    { name: 'conv2', className: 'Conv2D', config: { filters: 64, kernel_size: [3, 3] }, weights: [['kernel', [3, 3, 32, 64]], ['bias', [64]]] },
    { name: 'conv3', className: 'Conv2D', config: { filters: 256, kernel_size: [3, 3] }, weights: [['kernel', [3, 3, 64, 256]], ['bias', [256]]] },
    { name: 'flat', className: 'Flatten', config: {}, weights: [] },
    { name: 'fc1', className: 'Dense', config: { units: LARGE[1] }, weights: [['kernel', LARGE], ['bias', [LARGE[1]]]] },
    { name: 'fc2', className: 'Dense', config: { units: 10 }, weights: [['kernel', [LARGE[1], 10]], ['bias', [10]]] },
  ];
  let seed = 1;
  await writeKerasChainH5(path, 'one_large_layer', layers, (count) => values(count, seed++));
}

/** Runs the built CLI under /usr/bin/time in folder `cwd`; its peak RSS in MiB. */
function peakMiB(args: string[], cwd = dir): number {
  const rss = join(cwd, 'rss');
  const r = spawnSync(TIME, ['-f', '%M', '-o', rss, process.execPath, MAIN, ...args], { encoding: 'utf8', cwd, timeout: 60_000 });
  assert.equal(r.status, 0, `convscope ${args.join(' ')} failed: ${r.stderr.slice(-800)}`);
  return Number(readFileSync(rss, 'utf8').trim().split('\n').pop()) / 1024;
}

const skip = !existsSync(TIME) ? `${TIME} is missing: peak RSS cannot be measured from outside the child` : false;

describe('multi-layer commands hold one layer at a time', { skip }, () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-memory-'));
    model = join(dir, 'one-large-layer.h5');
    await writeModel(model);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(`filters --layer all streams the large kernel: under half the largest layer + 150 MiB (${STREAMED_MIB.toFixed(0)} MiB)`, (t) => {
    const out = join(dir, 'filters');
    const peak = peakMiB(['filters', model, '--layer', 'all', '--out', out]);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB; largest layer ${(LARGE_BYTES / MIB).toFixed(0)} MiB`);
    assert.equal(readdirSync(out).filter((f) => f.endsWith('.png')).length, 5, 'one image per kernel');
    assert.ok(peak <= STREAMED_MIB, `peak RSS ${peak.toFixed(0)} MiB is over ${STREAMED_MIB.toFixed(0)} MiB`);
  });

  it(`histogram --layer all stays under 1.2x the largest layer + 150 MiB (${BOUND_MIB.toFixed(0)} MiB)`, (t) => {
    const peak = peakMiB(['histogram', model, '--layer', 'all', '--out', join(dir, 'h.svg')]);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
    assert.ok(peak <= BOUND_MIB, `peak RSS ${peak.toFixed(0)} MiB is over ${BOUND_MIB.toFixed(0)} MiB`);
  });

  it('inspect --stats (every weight read) stays under the same bound', (t) => {
    const peak = peakMiB(['inspect', model, '--stats']);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB`);
    assert.ok(peak <= BOUND_MIB, `peak RSS ${peak.toFixed(0)} MiB is over ${BOUND_MIB.toFixed(0)} MiB`);
  });
});

/** A 127 MiB ONNX model: Conv -> Relu -> Flatten -> Gemm over 14400 x 2304 float32 weights. */
function onnxModel(): Uint8Array {
  return encodeOnnxModel({
    name: 'one_large_gemm',
    nodes: [
      { op: 'Conv', inputs: ['x', 'conv.weight', 'conv.bias'], outputs: ['c'], name: 'conv', attributes: { kernel_shape: [3, 3] } },
      { op: 'Relu', inputs: ['c'], outputs: ['r'], name: 'relu' },
      { op: 'Flatten', inputs: ['r'], outputs: ['f'], name: 'flatten' },
      { op: 'Gemm', inputs: ['f', 'fc.weight', 'fc.bias'], outputs: ['y'], name: 'fc' },
    ],
    initializers: [
      { name: 'conv.weight', dims: [16, 3, 3, 3], data: values(16 * 27, 1) },
      { name: 'conv.bias', dims: [16], data: values(16, 2) },
      { name: 'fc.weight', dims: [14400, 2304], data: values(14400 * 2304, 3) },
      { name: 'fc.bias', dims: [2304], data: values(2304, 4) },
    ],
    inputs: [{ name: 'x', shape: [1, 3, 32, 32] }],
    outputs: [{ name: 'y', shape: [1, 2304] }],
  });
}

describe('activations of an ONNX model hold its weights once', { skip }, () => {
  let onnxDir: string;
  before(() => {
    onnxDir = mkdtempSync(join(tmpdir(), 'convscope-memory-onnx-'));
  });
  after(() => rmSync(onnxDir, { recursive: true, force: true }));

  it('peaks under 1.2x the file + 175 MiB (ONNX Runtime maps the weights from the file; no whole-file copy, no repacking)', (t) => {
    const path = join(onnxDir, 'large.onnx');
    writeFileSync(path, onnxModel());
    const bytes = statSync(path).size;
    // node, ONNX Runtime and the image take ~140 MiB of their own.
    const bound = (1.2 * bytes) / MIB + 175;
    const peak = peakMiB(['activations', path, '--image', join(ROOT, 'assets', 'images', 'rocket.jpg'), '--layer', 'fc', '--out', join(onnxDir, 'out')], onnxDir);
    t.diagnostic(`peak RSS ${peak.toFixed(0)} MiB; file ${(bytes / MIB).toFixed(0)} MiB`);
    assert.ok(peak <= bound, `peak RSS ${peak.toFixed(0)} MiB is over ${bound.toFixed(0)} MiB`);
  });
});
