import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { writeKeras2FullH5, type TensorSpec } from '../helpers/keras-writers.js';
import { needsPython, runPython } from '../helpers/python.js';

/** `convscope weights` on a Keras 2 full-model h5 the project writes itself (no shared fixtures needed). */
describe('convscope weights', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-weights-'));
  let model: string;
  let tensors: TensorSpec[];

  before(async () => {
    ({ path: model, tensors } = await writeKeras2FullH5(dir));
  });

  async function expectError(args: string[], message: RegExp): Promise<void> {
    const before = readdirSync(dir).sort();
    const r = await runCli(['weights', model, ...args], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written');
  }

  it('an unknown layer suggests close names', async () => {
    await expectError(['--layer', 'conv-a'], /^convscope: .* has no layer 'conv-a'\. Did you mean 'conv_a'\?/);
  });

  it('a filter index out of range states the valid range', async () => {
    await expectError(['--layer', 'conv_a', '--filter', '4'], /Filter 4 is out of range for layer 'conv_a': it has 4 filters along 'out' \(valid: 0 to 3\)\./);
  });

  it('a channel index out of range states the valid range', async () => {
    await expectError(['--layer', 'conv_a', '--filter', '1', '--channel', '2'], /Input channel 2 is out of range for layer 'conv_a': it has 2 input channels \(valid: 0 to 1\)\./);
  });

  it('--filter on a weight without filters says why', async () => {
    await expectError(['--layer', 'bn_a', '--weight', 'gamma', '--filter', '0'], /Weight 'gamma' of layer 'bn_a' has axes \[features\], which number no filters: filters are slices of kernels with axes \(kh, kw, in, out\)/);
  });

  it('exports kernel[:, :, c, j] as .npy that NumPy reads back equal', needsPython('numpy'), async () => {
    const out = join(dir, 'slice.npy');
    const r = await runCli(['weights', model, '--layer', 'conv_a', '--filter', '3', '--channel', '1', '--out', out], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^input channel 1 of filter 3 of conv_a: shape \(3, 3\) \[kh, kw\] = kernel\[:, :, 1, 3\] in Keras/);
    const kernel = tensors.find((t) => t.layer === 'conv_a' && t.role === 'kernel')!;
    const expected = Array.from({ length: 9 }, (_, p) => kernel.data[p * 8 + 1 * 4 + 3]!);
    const got = JSON.parse(runPython('import sys, json, numpy as np; a = np.load(sys.argv[1]); print(json.dumps([list(a.shape), a.ravel().tolist()]))', [out]));
    assert.deepEqual(got[0], [3, 3]);
    assert.deepEqual(got[1], expected);
  });

  it('--out naming a directory writes the default file name inside it', async () => {
    const sub = join(dir, 'slices');
    mkdirSync(sub);
    const r = await runCli(['weights', model, '--layer', 'conv_a', '--filter', '2', '--out', sub], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wrote .*slices\/conv_a-kernel-filter2\.npy\n$/);
    const j = await runCli(['weights', model, '--layer', 'conv_a', '--format', 'json', '--out', 'slices/'], { cwd: dir });
    assert.equal(j.code, 0, j.stderr);
    assert.deepEqual(readdirSync(sub).sort(), ['conv_a-kernel-filter2.npy', 'conv_a-kernel.json']);
    assert.deepEqual(JSON.parse(readFileSync(join(sub, 'conv_a-kernel.json'), 'utf8')).shape, [3, 3, 2, 4]);
  });
});
