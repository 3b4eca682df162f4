import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { decode } from 'fast-png';
import { openModel } from '../../src/formats/open.js';
import { runCli, type CliResult } from '../helpers/cli.js';

// The demo runs once for this file (it trains two networks); both tests read what it printed and wrote.
const out = join(mkdtempSync(join(tmpdir(), 'convscope-demo-')), 'demo');
let r: CliResult;
let seconds: number;
before(async () => {
  const started = Date.now();
  r = await runCli(['demo', '--out', out], { timeoutMs: 180000 });
  seconds = (Date.now() - started) / 1000;
});

test('convscope demo builds, saves, inspects, slices filter 6 and draws filters and feature maps', async () => {
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no tfjs banner or warnings');
  assert.match(r.stdout, /conv_1\s+Conv2D\s+kernel\s+\(5, 5, 1, 96\)\s+\[kh, kw, in, out\]\s+float32\s+2,400/);
  assert.match(r.stdout, /filter 6 of conv_1: shape \(5, 5, 1\) \[kh, kw, in\] = kernel\[:, :, :, 6\] in Keras \/ TensorFlow\.js/);
  assert.match(r.stdout, /conv_1 output \(1, 64, 160, 96\)/);

  // The 5x5 values printed for filter 6 are kernel[:, :, 0, 6] of the saved file.
  const model = await openModel(join(out, 'model', 'model.json'));
  const kernel = await model.layers.find((l) => l.name === 'conv_1')!.weights.find((w) => w.role === 'kernel')!.read();
  model.close();
  const printed = r.stdout
    .split('\n')
    .slice(r.stdout.split('\n').findIndex((l) => l.includes('filter 6 of conv_1')) + 2)
    .slice(0, 5)
    .map((l) => l.trim().split(/\s+/).map(Number));
  for (let i = 0; i < 5; i++) {
    for (let j = 0; j < 5; j++) {
      const v = kernel.at({ kh: i, kw: j, in: 0, out: 6 });
      assert.ok(Math.abs(printed[i]![j]! - v) <= Math.abs(v) * 1e-3 + 1e-9, `[${i}, ${j}] printed ${printed[i]![j]} stored ${v}`);
    }
  }
  // Glorot normal with fan_in 25, fan_out 2400: std sqrt(2 / 2425) = 0.0287 (truncated at 2 std).
  const std = Math.sqrt(kernel.toArray().reduce((s, v) => s + v * v, 0) / kernel.size);
  assert.ok(std > 0.02 && std < 0.0287, `kernel std ${std}`);

  for (const name of ['conv_1-filters.png', 'conv_1-activations.png']) {
    const png = decode(readFileSync(join(out, name)));
    assert.ok(png.width > 100 && png.height > 100, name);
  }
  assert.ok(seconds < 120, `demo took ${seconds} s (the issue asks for under 2 minutes)`);
});

test('convscope demo tells the training story: barely-changed as in the question, changed when fixed, probe, index', async () => {
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /as in the question: learning rate 0\.000001, pixels 0\.\.255: held-out accuracy/);
  assert.match(r.stdout, /as in the question: verdict barely-changed \(relative change conv_1 [0-9.e-]+, conv_2 [0-9.e-]+, dense [0-9.e-]+\)/);
  assert.match(r.stdout, /Training barely moved the weights: .*with learning rate 1\.0e-6, input scale 'raw' and optimizer adam/);
  assert.match(r.stdout, /divide them by 255/);
  assert.match(r.stdout, /fixed: verdict changed/);
  const accuracy = (label: RegExp): number => Number(label.exec(r.stdout)?.[1]);
  const fixed = accuracy(/fixed: +learning rate 0\.01, pixels 0\.\.1: held-out accuracy ([0-9.]+)%/);
  assert.ok(fixed > 85, `fixed run held-out accuracy ${fixed}%`);
  const untrained = accuracy(/conv_2 untrained \(re-initialized\) +([0-9.]+)%/);
  const trained = accuracy(/conv_2 trained \(fixed run\) +([0-9.]+)%/);
  assert.ok(Number.isFinite(untrained) && Number.isFinite(trained), r.stdout);
  assert.ok(trained > untrained, `the README's claim: trained conv_2 features (${trained}%) beat untrained ones (${untrained}%)`);
  assert.match(r.stdout, /raw pixels \(64 values\) +[0-9.]+%/);
  const index = readFileSync(join(out, 'index.html'), 'utf8');
  for (const href of ['diff-as-in-question.html', 'diff-fixed.html', 'conv_1-filters.png', 'conv_1-activations.png']) assert.ok(index.includes(`"${href}"`), href);
  const question = readFileSync(join(out, 'diff-as-in-question.html'), 'utf8');
  assert.match(question, /verdict: <strong>barely-changed<\/strong>/);
  assert.equal((question.match(/src="data:image\/png;base64,/g) ?? []).length, 6, 'before, after and change grids of conv_1 and conv_2');
});
