import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseChannels, parseRange } from '../../src/cli/filters.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { decodePixels } from '../render/png.js';

const H5_08 = fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');
const TFJS_08 = fixture('08_xfmt_keras2h5_tfjs', 'model', 'model.json');
const TFJS_11 = fixture('11_tfjs_teachable_machine', 'model.json');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-filters-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('convscope filters', needsFixtures, () => {
  it('draws the first conv layer by default and prints the scale and the output', async () => {
    const a = join(dir, 'tfjs.png');
    const r1 = await runCli(['filters', TFJS_08, '--out', a]);
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /^conv2d kernel \(5, 5, 1, 30\) \[kh, kw, in, out\]: 30 of 30 filters, each, colormap rdbu_r$/m);
    assert.match(r1.stdout, /^filter 0 is kernel\[:, :, :, 0\]/m);
    assert.match(r1.stdout, /^scale: shared, \+-0\.5291 \(zero = middle colour\)$/m);
    assert.match(r1.stdout, new RegExp(`^wrote ${a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.ok(decodePixels(readFileSync(a)).width > 200);
  });

  it('lists fixture 11’s dead filters and writes SVG with every filter index as text', async () => {
    const out = join(dir, 'c1.svg');
    const r = await runCli(['filters', TFJS_11, '--out', out, '--normalize', 'per-filter']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Conv1 kernel \(3, 3, 3, 16\) \[kh, kw, in, out\]: 16 of 16 filters, rgb/m);
    assert.match(r.stdout, /^dead filters \(\|w\| < 1e-12 everywhere, drawn flat\): 3, 5, 7, 11, 13$/m);
    assert.match(r.stdout, /^scale: per filter/m);
    const svg = readFileSync(out, 'utf8');
    for (let f = 0; f < 16; f++) assert.match(svg, new RegExp(`<text[^>]*>${f}</text>`));
  });

  it('--layer all writes one image per kernel and a self-contained index.html', async () => {
    const out = join(dir, 'all');
    const r = await runCli(['filters', TFJS_08, '--layer', 'all', '--out', out, '--cmap', 'coolwarm']);
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(out).sort();
    assert.deepEqual(files, ['000-conv2d-kernel.png', '001-conv2d_1-kernel.png', '002-dense-kernel.png', '003-dense_1-kernel.png', '004-dense_2-kernel.png', 'index.html']);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.equal(html.match(/<img [^>]*src="data:image\/png;base64,/g)?.length, 5);
    assert.match(html, /href="001-conv2d_1-kernel.png"/);
    assert.match(r.stdout, /showing input channels 0-15 of 30/);
    assert.match(r.stdout, /rows: units \(128\), columns: in \(375\)/);
  });

  it('bad options exit 1 with one clear sentence (no stack) and write nothing', async () => {
    const failures: [string[], RegExp][] = [
      [['--cmap', 'jet'], /^convscope: Unknown colormap 'jet'; valid colormaps are: rdbu_r, rdbu, coolwarm, .*gray, viridis, magma/],
      [['--channels', '1'], /^convscope: Channel 1 is out of range for layer 'conv2d': it has 1 input channel per filter \(valid: 0 to 0\)\.$/],
      [['--layer', 'max_pooling2d'], /^convscope: Layer 'max_pooling2d' \(MaxPooling2D\) has no kernel to draw; layers with kernels: conv2d, conv2d_1, dense/],
      [['--out', 'x.jpg'], /^convscope: --out expects a \.png or \.svg file or a directory, but received 'x\.jpg'\.$/],
    ];
    await Promise.all(
      failures.map(async ([args, message]) => {
        const cwd = mkdtempSync(join(dir, 'fail-'));
        const r = await runCli(['filters', TFJS_08, ...args], { cwd });
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
        assert.match(r.stderr.trim(), message);
        assert.ok(!r.stderr.includes('    at '), 'no stack');
        assert.deepEqual(readdirSync(cwd), [], `${args.join(' ')} wrote nothing`);
      }),
    );
  });
});

describe('filters option parsers', () => {
  it('--filters ranges and --channels values', () => {
    assert.deepEqual(parseRange('0-3,7, 9-10'), [0, 1, 2, 3, 7, 9, 10]);
    assert.throws(() => parseRange('5-2'), /Expects ranges written low-high, but received '5-2'/);
    assert.throws(() => parseRange('a'), /Expects filter indices like 0-15,20, but received 'a'/);
    assert.equal(parseChannels('2'), 2);
    assert.equal(parseChannels('mean'), 'mean');
    assert.throws(() => parseChannels('red'), /Expects auto, rgb, each, mean or an input channel index, but received 'red'/);
  });
});

describe('convscope filters on a model with a constant initializer', () => {
  it('warns that all filters are identical (kernel_initializer="ones", saved by TensorFlow.js)', async () => {
    await tf.setBackend('cpu');
    const model = tfl.sequential({
      layers: [tfl.layers.conv2d({ filters: 4, kernelSize: 3, inputShape: [8, 8, 1], kernelInitializer: 'ones', name: 'conv_1' })],
    });
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        writeFileSync(join(dir, 'ones.bin'), new Uint8Array(artifacts.weightData as ArrayBuffer));
        writeFileSync(
          join(dir, 'ones.json'),
          JSON.stringify({ format: 'layers-model', modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['ones.bin'], weights: artifacts.weightSpecs }] }),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const out = join(dir, 'ones.png');
    const r = await runCli(['filters', join(dir, 'ones.json'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^warning: All 4 filters of 'conv_1' are identical: a constant initializer \(such as 'ones'\) never breaks symmetry/m);
    assert.match(r.stdout, /^constant filters \(one value throughout\): 0, 1, 2, 3$/m);
    assert.ok(existsSync(out));
  });
});

describe('convscope histogram', needsFixtures, () => {
  it('plots every kernel with count, range, mean and std equal to NumPy’s (4 significant digits)', needsPython('numpy', 'h5py'), async () => {
    const out = join(dir, 'h.svg');
    const r = await runCli(['histogram', TFJS_08, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const want = JSON.parse(
      runPython(
        `
import h5py, json, sys, numpy as np
f = h5py.File(sys.argv[1], 'r')
out = {}
for name in ['conv2d', 'conv2d_1', 'dense', 'dense_1', 'dense_2']:
    k = f['model_weights'][name][name]['kernel:0'][()].astype(np.float64)
    out[name] = [k.size, k.min(), k.max(), k.mean(), k.std()]
print(json.dumps(out))
`,
        [H5_08],
      ),
    ) as Record<string, number[]>;
    const svg = readFileSync(out, 'utf8');
    const p4 = (x: number) => Number(x.toPrecision(4)).toString();
    for (const [name, [count, min, max, mean, std]] of Object.entries(want)) {
      const line = `count ${count}, range [${p4(min!)}, ${p4(max!)}], mean ${p4(mean!)}, std ${p4(std!)}`;
      assert.ok(r.stdout.includes(`${name} kernel`) && r.stdout.includes(line), `${name}: ${line}\n${r.stdout}`);
      assert.ok(svg.includes(line), `svg shows ${line}`);
    }
  });

  it('refuses a layer without a kernel and a bad output type', async () => {
    const [r, r2] = await Promise.all([
      runCli(['histogram', TFJS_08, '--layer', 'flatten', '--out', join(dir, 'x.svg')]),
      runCli(['histogram', TFJS_08, '--out', join(dir, 'x.txt')]),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Layer 'flatten' \(Flatten\) has no kernel to draw/);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /--out expects a \.svg or \.png file, but received/);
  });
});
