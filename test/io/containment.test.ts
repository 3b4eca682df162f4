/**
 * The containment rule (src/io/containment.ts, the HDF5 file-system gate in src/io/hdf5.ts): a model
 * reads only files inside its own folder that its format names. Every case puts a "secret" file
 * outside the model's folder and a model that points at it by `../`, an absolute path, a URL, a
 * symbolic link (file or folder) or, for HDF5, an external link, external raw storage or a virtual
 * dataset; each must be refused with a ContainmentError naming what pointed out. A symbolic link that
 * stays inside the folder is still followed. At the end every refused model is opened again in a child
 * process under strace: not one of them may open a file in the outside folder or connect anywhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ContainmentError, openModel } from '../../src/index.js';
import { encodeSafetensors } from '../../src/formats/safetensors-write.js';
import { ROOT } from '../helpers/fixtures.js';
import { writeTfjsModel } from '../helpers/keras-writers.js';
import { needsPython, runPython } from '../helpers/python.js';
import { generated } from '../helpers/torch-files.js';

let root: string;
let outside: string;
const SECRET = new Float32Array(64).fill(1234.5);

before(() => {
  root = mkdtempSync(join(tmpdir(), 'convscope-contain-'));
  outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'secret.bin'), new Uint8Array(SECRET.buffer));
});
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
function modelDir(): string {
  const dir = join(root, `model${count++}`);
  mkdirSync(dir);
  return dir;
}

/** Opens and reads every weight; the refusal may come at open or at read. */
async function openAndReadAll(path: string): Promise<void> {
  const model = await openModel(path);
  try {
    for (const layer of model.layers) for (const w of layer.weights) await w.read();
  } finally {
    model.close();
  }
}

/** Every model refused below, opened again under strace at the end. */
const refused: string[] = [];

async function assertRefused(path: string, message: RegExp): Promise<void> {
  refused.push(path);
  await assert.rejects(openAndReadAll(path), (e: Error) => {
    assert.ok(e instanceof ContainmentError, `expected a ContainmentError, got ${e.name}: ${e.message}`);
    assert.match(e.message, message);
    assert.match(e.message, /a model may read only/);
    return true;
  });
}

describe('TF.js weight shards', () => {
  const variants: [string, (dir: string) => string, RegExp][] = [
    ['a ../ path', () => '../outside/secret.bin', /names '\.\.\/outside\/secret\.bin' as a weight shard, which climbs out with '\.\.'/],
    ['an absolute path', () => join(outside, 'secret.bin'), /which is an absolute path/],
    ['/etc/passwd', () => '/etc/passwd', /'\/etc\/passwd' as a weight shard, which is an absolute path/],
    ['a file URL', () => `file://${join(outside, 'secret.bin')}`, /which is a URL/],
    ['an http URL', () => 'http://127.0.0.1:1/secret.bin', /which is a URL/],
    ['a Windows drive path', () => 'C:\\secret.bin', /which is an absolute path/],
    ['a backslash ..', () => '..\\outside\\secret.bin', /climbs out/],
    ['a symbolic link to an outside file', (dir) => {
      symlinkSync(join(outside, 'secret.bin'), join(dir, 'link.bin'));
      return 'link.bin';
    }, /'link\.bin' as a weight shard, which resolves to '.*outside\/secret\.bin' outside the model's folder/],
    ['a file inside a symbolic link to an outside folder', (dir) => {
      symlinkSync(outside, join(dir, 'sub'));
      return 'sub/secret.bin';
    }, /'sub\/secret\.bin' as a weight shard, which resolves to .* outside the model's folder/],
  ];
  for (const [label, shard, message] of variants) {
    it(`refuses ${label}`, async () => {
      const dir = modelDir();
      const fixture = writeTfjsModel(dir);
      const json = JSON.parse(readFileSync(fixture.path, 'utf8'));
      json.weightsManifest[0].paths[0] = shard(dir);
      writeFileSync(fixture.path, JSON.stringify(json));
      await assertRefused(fixture.path, message);
    });
  }

  it('still follows a symbolic link that stays inside the folder', async () => {
    const dir = modelDir();
    const fixture = writeTfjsModel(dir);
    mkdirSync(join(dir, 'shards'));
    writeFileSync(join(dir, 'shards', 'real.bin'), readFileSync(join(dir, 'group1-shard1of2.bin')));
    symlinkSync(join(dir, 'shards', 'real.bin'), join(dir, 'inside.bin'));
    const json = JSON.parse(readFileSync(fixture.path, 'utf8'));
    json.weightsManifest[0].paths[0] = 'inside.bin';
    writeFileSync(fixture.path, JSON.stringify(json));
    await openAndReadAll(fixture.path);
  });
});

describe('safetensors index shards', () => {
  function writeIndex(dir: string, shard: string): string {
    writeFileSync(join(dir, 'real.safetensors'), encodeSafetensors([{ name: 'conv.weight', shape: [2, 1, 1, 1], data: Float32Array.from([1, 2]) }]));
    const path = join(dir, 'model.safetensors.index.json');
    writeFileSync(path, JSON.stringify({ metadata: {}, weight_map: { 'conv.weight': shard } }));
    return path;
  }
  it('reads a shard beside the index (control)', async () => {
    await openAndReadAll(writeIndex(modelDir(), 'real.safetensors'));
  });
  it('refuses a symbolic link out of the folder', async () => {
    const dir = modelDir();
    writeFileSync(join(outside, 'secret.safetensors'), encodeSafetensors([{ name: 'conv.weight', shape: [2, 1, 1, 1], data: Float32Array.from([7, 7]) }]));
    symlinkSync(join(outside, 'secret.safetensors'), join(dir, 'shard.safetensors'));
    await assertRefused(writeIndex(dir, 'shard.safetensors'), /'shard\.safetensors' as a safetensors shard, which resolves to .* outside the model's folder/);
  });
  it('refuses ../ and absolute shard names', async () => {
    await assertRefused(writeIndex(modelDir(), '../outside/secret.safetensors'), /climbs out/);
    await assertRefused(writeIndex(modelDir(), join(outside, 'secret.safetensors')), /absolute path/);
  });
});

describe('ONNX external data', needsPython('onnx', 'torch'), () => {
  /** external.onnx names 'external.weights' (16 characters): swapped in place for another 16-character name. */
  function withLocation(location: string): string {
    assert.equal(location.length, 16);
    const g = generated('onnx');
    const dir = modelDir();
    const bytes = Buffer.from(readFileSync(g.path('external.onnx')));
    let at = bytes.indexOf('external.weights');
    assert.ok(at >= 0);
    while (at >= 0) {
      bytes.write(location, at, 'latin1');
      at = bytes.indexOf('external.weights', at + 16);
    }
    writeFileSync(join(dir, 'external.onnx'), bytes);
    return dir;
  }
  it('refuses a symbolic link to a file outside', async () => {
    const dir = withLocation('external.weights');
    symlinkSync(join(outside, 'secret.bin'), join(dir, 'external.weights'));
    await assertRefused(join(dir, 'external.onnx'), /'external\.weights' as the external data of tensor '.*', which resolves to .* outside the model's folder/);
  });
  it('refuses ../ and absolute locations', async () => {
    await assertRefused(join(withLocation('../outside/s.bin'), 'external.onnx'), /climbs out with '\.\.'/);
    await assertRefused(join(withLocation('/etc/passwd_____'), 'external.onnx'), /absolute path/);
  });
});

describe('HDF5 external files', needsPython('h5py', 'numpy'), () => {
  let dir: string;
  before(() => {
    dir = modelDir();
    runPython(
      `
import h5py, numpy as np, os, sys
dir, outside = sys.argv[1], sys.argv[2]
with h5py.File(os.path.join(outside, 'other.h5'), 'w') as f: f['k'] = np.full((4, 4), 1234.5, '<f4')
def weights(name, make):
    # Keras weights-only layout: one layer 'dense' whose kernel is the hostile dataset.
    with h5py.File(os.path.join(dir, name), 'w', libver='latest') as f:
        f.attrs['layer_names'] = [b'dense']
        f.attrs['backend'] = b'tensorflow'
        f.attrs['keras_version'] = b'2.13.1'
        g = f.create_group('dense')
        g.attrs['weight_names'] = [b'dense/kernel:0']
        make(g.create_group('dense'))
weights('efl-absolute.h5', lambda g: g.create_dataset('kernel:0', shape=(4, 4), dtype='<f4', external=[(os.path.join(outside, 'secret.bin'), 0, 64)]))
weights('efl-relative.h5', lambda g: g.create_dataset('kernel:0', shape=(4, 4), dtype='<f4', external=[('../outside/secret.bin', 0, 64)]))
weights('external-link.h5', lambda g: g.__setitem__('kernel:0', h5py.ExternalLink(os.path.join(outside, 'other.h5'), '/k')))
def vds(g):
    layout = h5py.VirtualLayout(shape=(4, 4), dtype='<f4')
    layout[:] = h5py.VirtualSource(os.path.join(outside, 'other.h5'), 'k', shape=(4, 4))
    g.create_virtual_dataset('kernel:0', layout)
weights('virtual.h5', vds)
`,
      [dir, outside],
    );
  });
  for (const [file, message] of [
    ['efl-absolute.h5', /HDF5 object '.*kernel:0' refers to the file '.*outside\/secret\.bin' \(an external link, external storage or a virtual dataset\)/],
    ['efl-relative.h5', /HDF5 object '.*kernel:0' refers to the file '.*secret\.bin'/],
    ['external-link.h5', /HDF5 object '.*kernel:0' refers to the file '.*outside\/other\.h5'/],
    ['virtual.h5', /'.*kernel:0' is an HDF5 virtual dataset whose data lives in '.*outside\/other\.h5'/],
  ] as const) {
    it(`refuses ${file}`, async () => {
      await assertRefused(join(dir, file), message);
    });
  }
});

const STRACE = '/usr/bin/strace';

describe('not one byte from outside the folder', { skip: existsSync(STRACE) ? false : `${STRACE} is missing` }, () => {
  it('no refused model opens a file outside its folder or a network connection, as the kernel sees it (strace)', () => {
    assert.ok(refused.length >= 10, `${refused.length} cases`);
    const trace = join(root, 'trace.txt');
    const r = spawnSync(
      STRACE,
      ['-f', '-qq', '-e', 'trace=open,openat,openat2,creat,connect', '-o', trace, process.execPath, join(ROOT, 'test', 'helpers', 'read-all.mjs'), ...refused],
      { encoding: 'utf8', timeout: 120_000 },
    );
    const results = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as { error?: string });
    assert.deepEqual(results.map((x) => x.error), refused.map(() => 'ContainmentError'), r.stdout + r.stderr);
    const calls = readFileSync(trace, 'utf8').split('\n');
    assert.ok(calls.some((c) => c.includes('read-all.mjs')), 'the trace holds the child process');
    assert.deepEqual(calls.filter((c) => c.includes(outside) || /\bconnect\(/.test(c)), []);
  });
});
