import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decode } from 'fast-png';
import { encodeSafetensors } from '../../src/formats/safetensors-write.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-diff-cli-'));

function checkpoint(path: string, kernel: Float32Array, dense: Float32Array): void {
  writeFileSync(
    path,
    encodeSafetensors([
      { name: 'features.0.weight', shape: [8, 3, 3, 3], data: kernel },
      { name: 'features.0.bias', shape: [8], data: new Float32Array(8) },
      { name: 'classifier.weight', shape: [10, 8], data: dense },
    ]),
  );
}

const kernel = Float32Array.from({ length: 8 * 27 }, (_, i) => Math.sin(i * 1.7) * 0.3);
const dense = Float32Array.from({ length: 80 }, (_, i) => Math.cos(i) * 0.1);
const moved = kernel.map((v, i) => (i < 27 ? v + 0.05 : v));
checkpoint(join(dir, 'before.safetensors'), kernel, dense);
checkpoint(join(dir, 'after.safetensors'), moved, dense);

describe('convscope diff', () => {
  it('--json reports the documented fields and verdicts', async () => {
    const r = await runCli(['diff', join(dir, 'before.safetensors'), join(dir, 'after.safetensors'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { layers: { name: string; weight: string; verdict: string; maxAbsChange: number; unchangedFraction: number }[]; summary: { verdict: string } };
    const kernelRow = json.layers.find((l) => l.name === 'features.0' && l.weight === 'kernel')!;
    assert.equal(kernelRow.verdict, 'changed');
    assert.ok(Math.abs(kernelRow.maxAbsChange - 0.05) < 1e-6);
    assert.equal(kernelRow.unchangedFraction, (8 * 27 - 27) / (8 * 27));
    assert.equal(json.layers.find((l) => l.name === 'classifier')!.verdict, 'unchanged');
    assert.equal(json.summary.verdict, 'changed');
  });

  it('--out dir writes before / after / delta grids on a shared scale and an index page', async () => {
    const out = join(dir, 'report');
    const r = await runCli(['diff', join(dir, 'before.safetensors'), join(dir, 'after.safetensors'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /features\.0\s+kernel\s+\(8, 3, 3, 3\)\s+changed/);
    assert.match(r.stdout, /verdict: changed/);
    for (const f of ['index.html', 'features.0-kernel-before.png', 'features.0-kernel-after.png', 'features.0-kernel-delta.png']) {
      assert.ok(existsSync(join(out, f)), f);
    }
    const before = decode(readFileSync(join(out, 'features.0-kernel-before.png')));
    const after = decode(readFileSync(join(out, 'features.0-kernel-after.png')));
    assert.equal(before.width, after.width);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    assert.match(html, /before and after on one shared scale \+-0\.3[0-9]*; the change on its own scale \+-0\.05/);
  });

  it('--out file.html is one self-contained file', async () => {
    const out = join(dir, 'diff.html');
    const r = await runCli(['diff', join(dir, 'before.safetensors'), join(dir, 'after.safetensors'), '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.equal((html.match(/src="data:image\/png;base64,/g) ?? []).length, 3);
    assert.doesNotMatch(html, /src="http/);
  });
});
