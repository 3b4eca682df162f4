import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { runCli } from '../helpers/cli.js';
import { writeKeras2FullH5, writeTfjsModel } from '../helpers/keras-writers.js';

/** Damaged Keras / TF.js files: one sentence naming the file and the problem, exit 1, no stack, nothing written. */

let dir: string;
let good: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-bad-keras-'));
  good = (await writeKeras2FullH5(dir)).path;
});
after(() => rmSync(dir, { recursive: true, force: true }));

function listing(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

async function expectFailure(file: string, fragments: (string | RegExp)[]): Promise<void> {
  const before = listing(dir);
  const r = await runCli(['inspect', file]);
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.ok(!r.stderr.includes('    at '), `no stack trace: ${r.stderr}`);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  assert.ok(r.stderr.includes(file), `names the file: ${r.stderr}`);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(r.stderr.includes(f), `expected '${f}' in: ${r.stderr}`);
    else assert.match(r.stderr, f);
  }
  assert.deepEqual(listing(dir), before, 'nothing written');
}

function mutate(name: string, edit: (bytes: Uint8Array) => Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, edit(new Uint8Array(readFileSync(good))));
  return path;
}

describe('bad Keras HDF5 input', () => {
  it('truncated .h5', async () => {
    const size = statSync(good).size;
    const path = mutate('truncated.h5', (b) => b.subarray(0, Math.floor(size / 2)));
    await expectFailure(path, [`is truncated: the HDF5 file says it has ${size} bytes, but only ${Math.floor(size / 2)} are there.`]);
  });

  it('garbage bytes in the middle', async () => {
    const path = mutate('garbage-middle.h5', (b) => {
      const at = Math.floor(b.length / 4);
      for (let i = at; i < at + 2000; i++) b[i] = (i * 7919) % 256;
      return b;
    });
    await expectFailure(path, ['is a damaged HDF5 file:']);
  });

  it('wrong signature', async () => {
    const path = mutate('signature.h5', (b) => {
      b.set(new TextEncoder().encode('GARBAGE!'), 0);
      return b;
    });
    await expectFailure(path, ['is not a model file convscope can read (it starts with bytes 47 41 52 42 41 47 45 21)', 'Keras HDF5']);
  });
});

describe('bad .keras and TF.js input', () => {
  it('zip without config.json', async () => {
    const path = join(dir, 'no-config.keras');
    writeFileSync(path, zipSync({ 'metadata.json': new TextEncoder().encode('{}'), 'model.weights.h5': readFileSync(good) }));
    await expectFailure(path, ['is a zip archive but not a Keras .keras file: it has no config.json.']);
  });

  it('model.json whose shard is missing', async () => {
    const sub = join(dir, 'missing-shard');
    mkdirSync(sub);
    const { path } = writeTfjsModel(sub);
    rmSync(join(sub, 'group1-shard2of2.bin'));
    await expectFailure(path, [`needs weight shard 'group1-shard2of2.bin', which is missing`]);
  });

  it('model.json whose shard is shorter than its manifest says', async () => {
    const sub = join(dir, 'short-shard');
    mkdirSync(sub);
    const { path } = writeTfjsModel(sub);
    const shard = join(sub, 'group2-shard1of1.bin');
    const size = statSync(shard).size;
    writeFileSync(shard, readFileSync(shard).subarray(0, 50));
    await expectFailure(path, [`weight shard 'group2-shard1of1.bin' is too short: the manifest needs ${size} bytes`, `but it has 50 (${size - 50} missing)`]);
  });
});
