/**
 * Decompression and allocation bombs: each is about 1 MB on disk and asks for 1 GiB. Each is opened
 * in a child process (every weight read) and its peak RSS measured from outside by /usr/bin/time
 * (the kernel's wait4 figure for that child alone): each must be refused with a typed error under
 * 256 MB. The limits are io/limits.ts; raising them lets a trusted file through.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openModel, ResourceLimitError } from '../../src/index.js';
import { ROOT } from '../helpers/fixtures.js';
import { torchPickle, torchZip, writeZip, zeroBomb } from '../helpers/hostile.js';
import { keras3Sequential } from '../helpers/keras-writers.js';

const TIME = '/usr/bin/time';
const GIB = 1024;
let dir: string;
const bombs: Record<string, string> = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-bombs-'));
  const bomb = { deflated: zeroBomb(GIB), size: GIB * 2 ** 20 };
  const write = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    bombs[name] = join(dir, name);
  };
  write('pickle-bomb.pt', writeZip([{ name: 'archive/data.pkl', data: bomb }, { name: 'archive/data/0', data: new Uint8Array(16) }]));
  write('storage-bomb.pt', torchZip(torchPickle(4, [4], [1]), bomb));
  write('stride-bomb.pt', torchZip(torchPickle(1, [2 ** 28], [0]), new Uint8Array(4)));
  const config = Buffer.from(JSON.stringify(keras3Sequential()));
  write('weights-bomb.keras', writeZip([{ name: 'config.json', data: config }, { name: 'model.weights.h5', data: bomb }]));
  write('config-bomb.keras', writeZip([{ name: 'config.json', data: bomb }, { name: 'model.weights.h5', data: new Uint8Array(8) }]));
  const h5wasm = (await import('h5wasm/node')) as typeof import('h5wasm');
  await h5wasm.ready;
  const { File } = h5wasm;
  const h5 = join(dir, 'gzip-dataset.h5');
  const f = new File(h5, 'w');
  f.create_attribute('layer_names', ['dense']);
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('keras_version', '2.13.1');
  const g = f.create_group('dense');
  g.create_attribute('weight_names', ['dense/kernel:0']);
  const ds = g.create_group('dense').create_dataset({
    name: 'kernel:0', data: new Float32Array(256 * 1024), shape: [256, 1024], maxshape: [null, 1024], chunks: [256, 1024], dtype: '<f4', compression: 'gzip',
  });
  ds.resize([GIB * 256, 1024]);
  f.close();
  bombs['gzip-dataset.h5'] = h5;
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('bombs are refused under 256 MB peak RSS', { skip: existsSync(TIME) ? false : `${TIME} is missing` }, () => {
  for (const name of ['pickle-bomb.pt', 'storage-bomb.pt', 'stride-bomb.pt', 'weights-bomb.keras', 'config-bomb.keras', 'gzip-dataset.h5']) {
    it(name, () => {
      const r = spawnSync(TIME, ['-f', 'peak-kb %M', process.execPath, join(ROOT, 'test', 'helpers', 'read-all.mjs'), bombs[name]!], { encoding: 'utf8', timeout: 60_000 });
      const peak = Number(/peak-kb (\d+)/.exec(r.stderr)?.[1]);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok?: boolean; error?: string; message?: string };
      if (name === 'stride-bomb.pt') {
        assert.equal(result.error, 'ModelFormatError', `${name}: ${r.stdout}`);
        assert.match(result.message!, /repeats the 1 elements of storage '0' into 268435456, more than convscope materialises/);
      } else {
        assert.equal(result.error, 'ResourceLimitError', `${name}: ${r.stdout}`);
        assert.match(result.message!, /over the limit of .*; if you trust the file, raise the (decompression ratio|tensor size) limit\.$/);
      }
      assert.ok(peak > 0 && peak < 256 * 1024, `${name}: peak RSS ${peak} KB`);
    });
  }
});

describe('the limits can be raised for a trusted file', () => {
  it('a 64 MiB storage of zeros deflated 1000:1 is refused by default and read with a higher ratio', async () => {
    const path = join(dir, 'zeros.pt');
    writeFileSync(path, torchZip(torchPickle(16 * 2 ** 20, [16 * 2 ** 20], [1]), { deflated: zeroBomb(64), size: 64 * 2 ** 20 }));
    await assert.rejects(async () => {
      const m = await openModel(path);
      await m.layers[0]!.weights[0]!.read();
    }, ResourceLimitError);
    const m = await openModel(path, { limits: { maxInflateRatio: 2000 } });
    const t = await m.layers[0]!.weights[0]!.read();
    assert.equal(t.data.length, 16 * 2 ** 20);
    assert.ok((t.data as Float32Array).every((v) => v === 0));
  });
});
