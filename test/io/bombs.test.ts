/**
 * Decompression and allocation bombs: each is about 1 MB on disk and asks for 1 GiB. Each is opened
 * in a child process (every weight read) and its peak RSS measured from outside by /usr/bin/time
 * (the kernel's wait4 figure for that child alone): each must be refused with a typed error under
 * 256 MB. The limits are io/limits.ts; raising them lets a trusted file through. What the HDF5 library
 * allocates by itself is bounded in io/hdf5.ts by what the file can need.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openModel, ResourceLimitError } from '../../src/index.js';
import { openHdf5Library } from '../../src/io/hdf5.js';
import { fileSource } from '../../src/io/node-source.js';
import { ROOT } from '../helpers/fixtures.js';
import { torchPickle, torchZip, writeZip, zeroBomb } from '../helpers/hostile.js';
import { keras3Sequential } from '../helpers/keras-writers.js';
import { prng } from '../helpers/random.js';

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
  Object.assign(bombs, damagedHdf5(h5wasm, dir));
});

/**
 * Two HDF5 files whose damage makes the HDF5 library allocate 1 GiB by itself, each written small and
 * valid, then patched: `heap-length.h5` declares its 'keras_version' string 1 GiB long (the global heap
 * ID keeps pointing at the real 6-byte string; the fuzzer found it), and `gzip-chunk.h5` keeps its
 * declared 2 MiB shape and chunk but its compressed chunk inflates to 1 GiB of zeros (HDF5 doubles its
 * buffer until the stream ends and never compares with the chunk's size). Each is opened as a model
 * (convscope's own HDF5 reader first) and by the HDF5 library alone, whose allocations io/hdf5.ts bounds.
 */
function damagedHdf5(h5wasm: typeof import('h5wasm'), into: string): Record<string, string> {
  const random = prng(12);
  const values = Uint8Array.from({ length: 512 * 1024 * 4 }, () => Math.floor(random() * 256));
  const plain = join(into, 'plain.h5');
  const f = new h5wasm.File(plain, 'w', { libver: ['earliest', 'latest'] });
  f.create_attribute('layer_names', ['dense']);
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('keras_version', '2.13.1');
  const g = f.create_group('dense');
  g.create_attribute('weight_names', ['dense/kernel:0']);
  g.create_group('dense').create_dataset({
    name: 'kernel:0', data: new Float32Array(values.buffer), shape: [512, 1024], chunks: [512, 1024], dtype: '<f4', compression: 'gzip',
  });
  f.close();
  const bytes = readFileSync(plain);
  // A variable-length string is stored as its length (4 bytes) then its global heap ID, which starts with
  // the address of the heap collection ('GCOL').
  const heapId = Buffer.alloc(8);
  heapId.writeBigUInt64LE(BigInt(bytes.indexOf('GCOL')));
  const heapLength = Buffer.from(bytes);
  let at = -1;
  do at = heapLength.indexOf(heapId, at + 1);
  while (at >= 4 && heapLength.readUInt32LE(at - 4) !== '2.13.1'.length);
  heapLength.writeUInt32LE(2 ** 30 + 6, at - 4);
  // Random values do not compress: zlib stores them verbatim after its 2-byte header and a 5-byte block header.
  const start = bytes.indexOf(values.subarray(0, 1024)) - 7;
  const end = bytes.indexOf(values.subarray(values.length - 1024)) + 1024 + 4;
  assert.equal(bytes[start], 0x78, 'the compressed chunk is found');
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE((((GIB * 2 ** 20) % 65521) * 65536 + 1) >>> 0);
  const chunkBomb = Buffer.from(bytes).fill(0, start, end);
  Buffer.concat([Buffer.from([0x78, 0x9c]), zeroBomb(GIB), adler]).copy(chunkBomb, start);
  writeFileSync(join(into, 'heap-length.h5'), heapLength);
  writeFileSync(join(into, 'gzip-chunk.h5'), chunkBomb);
  return { 'plain.h5': plain, 'heap-length.h5': join(into, 'heap-length.h5'), 'gzip-chunk.h5': join(into, 'gzip-chunk.h5') };
}
after(() => rmSync(dir, { recursive: true, force: true }));

/** Suffix of the cases opened by the HDF5 library alone (h5wasm), not by convscope's own HDF5 reader first. */
const LIBRARY = ' by the HDF5 library';

describe('bombs are refused under 256 MB peak RSS', { skip: existsSync(TIME) ? false : `${TIME} is missing` }, () => {
  const names = ['pickle-bomb.pt', 'storage-bomb.pt', 'stride-bomb.pt', 'weights-bomb.keras', 'config-bomb.keras', 'gzip-dataset.h5', 'heap-length.h5', 'gzip-chunk.h5'];
  for (const name of [...names, `heap-length.h5${LIBRARY}`, `gzip-chunk.h5${LIBRARY}`]) {
    it(name, (t) => {
      const library = name.endsWith(LIBRARY);
      const path = bombs[library ? name.slice(0, -LIBRARY.length) : name]!;
      const helper = join(ROOT, 'test', 'helpers', library ? 'read-hdf5-library.mjs' : 'read-all.mjs');
      const r = spawnSync(TIME, ['-f', 'peak-kb %M', process.execPath, helper, path], { encoding: 'utf8', timeout: 60_000 });
      const peak = Number(/peak-kb (\d+)/.exec(r.stderr)?.[1]);
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok?: boolean; error?: string; message?: string };
      if (name === 'stride-bomb.pt') {
        assert.equal(result.error, 'ModelFormatError', `${name}: ${r.stdout}`);
        assert.match(result.message!, /repeats the 1 elements of storage '0' into 268435456, more than convscope materialises/);
      } else if (library) {
        assert.equal(result.error, 'ModelFormatError', `${name}: ${r.stdout}`);
        const doing = name.startsWith('heap-length.h5') ? "reading attribute 'keras_version' of '/'" : "reading 'dense/dense/kernel:0'";
        assert.ok(result.message!.startsWith(`${path} is a damaged HDF5 file: ${doing} made the HDF5 library ask for `), result.message);
        assert.match(result.message!, /more memory, over the [\d.]+ MiB it may use \(the file's [\d.]+ [KM]iB, .*32\.0 MiB of room\)\.$/);
      } else if (name === 'heap-length.h5' || name === 'gzip-chunk.h5') {
        assert.equal(result.error, 'ModelFormatError', `${name}: ${r.stdout}`);
        assert.ok(result.message!.startsWith(`${path} is a damaged HDF5 file: `), result.message);
      } else {
        assert.equal(result.error, 'ResourceLimitError', `${name}: ${r.stdout}`);
        assert.match(result.message!, /declares [\d.]+ [KMG]iB.*, over the (tensor size limit of [\d.]+ [KMG]iB|decompression ratio limit of 100:1); if you trust the file, raise the (tensor size|decompression ratio) limit\.$/);
      }
      t.diagnostic(`peak RSS ${(peak / 1024).toFixed(0)} MB`);
      assert.ok(peak > 0 && peak < 256 * 1024, `${name}: peak RSS ${peak} KB`);
    });
  }
});

describe('the HDF5 memory bound', () => {
  it('lets the HDF5 library read the unpatched file of the two HDF5 bombs, its 2 MiB compressed kernel exactly', async () => {
    const file = await openHdf5Library(await fileSource(bombs['plain.h5']!));
    try {
      const data = await file.read(file.dataset('dense/dense/kernel:0', 'the kernel'));
      const random = prng(12);
      assert.deepEqual(new Uint8Array((data as Float32Array).buffer), Uint8Array.from({ length: 512 * 1024 * 4 }, () => Math.floor(random() * 256)));
    } finally {
      file.close();
    }
  });
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
