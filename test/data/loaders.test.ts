import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { batches, loadDataset, parseDataSpec } from '../../src/data/index.js';
import { loadFolder } from '../../src/data/folder.js';
import { decodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-data-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function npy(path: string): Uint8Array {
  return decodeNpy(new Uint8Array(readFileSync(path))).data as Uint8Array;
}

describe('data loaders read each official format exactly as NumPy does', () => {
  it('digits: the built-in 8x8 set, split into disjoint train/test parts with a seed', needsPython('numpy', 'sklearn'), async () => {
    const data = await loadDataset('digits', { testFraction: 0.25, seed: 7 });
    assert.deepEqual([data.height, data.width, data.channels, data.maxValue], [8, 8, 1, 16]);
    assert.equal(data.train.count + data.test.count, 1797);
    assert.equal(data.test.count, Math.round(1797 * 0.25));
    const rows = (set: typeof data.train) =>
      Array.from({ length: set.count }, (_, i) => `${set.labels[i]}:${set.images.subarray(i * 64, (i + 1) * 64).join(',')}`);
    const ours = [...rows(data.train), ...rows(data.test)].sort();
    const sklearn = runPython(
      `from sklearn.datasets import load_digits
d = load_digits()
for x, y in zip(d.data.astype(int), d.target): print(f"{y}:{','.join(map(str, x))}")`,
    )
      .trim()
      .split('\n')
      .sort();
    assert.deepEqual(ours, sklearn);
    const again = await loadDataset('digits', { testFraction: 0.25, seed: 7 });
    assert.deepEqual(again.test.labels, data.test.labels);
    const other = await loadDataset('digits', { testFraction: 0.25, seed: 8 });
    assert.notDeepEqual(other.test.labels, data.test.labels);
  });

  it('cifar10: binary batches (label byte + CHW pixels) become NHWC images', needsPython('numpy'), async () => {
    const root = join(dir, 'cifar');
    mkdirSync(root);
    runPython(
      `import numpy as np, sys
root = sys.argv[1]
rng = np.random.default_rng(0)
def batch(name, n):
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    np.concatenate([labels[:, None], pixels], axis=1).tofile(f"{root}/{name}")
    return labels, pixels.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)
parts = [batch(f"data_batch_{i}.bin", i + 1) for i in range(1, 6)]
np.save(f"{root}/train_x.npy", np.concatenate([p[1] for p in parts]))
np.save(f"{root}/train_y.npy", np.concatenate([p[0] for p in parts]))
y, x = batch("test_batch.bin", 4)
np.save(f"{root}/test_x.npy", x); np.save(f"{root}/test_y.npy", y)`,
      [root],
    );
    const data = await loadDataset(`cifar10:${root}`);
    assert.deepEqual([data.height, data.width, data.channels, data.train.count, data.test.count], [32, 32, 3, 20, 4]);
    assert.equal(data.classes[9], 'truck');
    assert.deepEqual(data.train.images, npy(join(root, 'train_x.npy')));
    assert.deepEqual(data.train.labels, npy(join(root, 'train_y.npy')));
    assert.deepEqual(data.test.images, npy(join(root, 'test_x.npy')));
    assert.deepEqual(data.test.labels, npy(join(root, 'test_y.npy')));
  });

  it('mnist: IDX files, gzipped or not', needsPython('numpy'), async () => {
    const root = join(dir, 'mnist');
    mkdirSync(root);
    runPython(
      `import numpy as np, gzip, struct, sys
root = sys.argv[1]
rng = np.random.default_rng(1)
def idx(arr):
    return bytes([0, 0, 8, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape) + arr.tobytes()
tx = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8); ty = rng.integers(0, 10, 6, dtype=np.uint8)
vx = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8); vy = rng.integers(0, 10, 3, dtype=np.uint8)
open(f"{root}/train-images-idx3-ubyte.gz", "wb").write(gzip.compress(idx(tx)))
open(f"{root}/train-labels-idx1-ubyte.gz", "wb").write(gzip.compress(idx(ty)))
open(f"{root}/t10k-images-idx3-ubyte", "wb").write(idx(vx))
open(f"{root}/t10k-labels-idx1-ubyte", "wb").write(idx(vy))
np.save(f"{root}/tx.npy", tx); np.save(f"{root}/ty.npy", ty); np.save(f"{root}/vx.npy", vx); np.save(f"{root}/vy.npy", vy)`,
      [root],
    );
    const data = await loadDataset(`mnist:${root}`);
    assert.deepEqual([data.height, data.width, data.channels, data.train.count, data.test.count], [28, 28, 1, 6, 3]);
    assert.deepEqual(data.train.images, npy(join(root, 'tx.npy')));
    assert.deepEqual(data.train.labels, npy(join(root, 'ty.npy')));
    assert.deepEqual(data.test.images, npy(join(root, 'vx.npy')));
    assert.deepEqual(data.test.labels, npy(join(root, 'vy.npy')));
  });

  it('folder: one sub-folder per class, images resized to the first one', async () => {
    const root = join(dir, 'folder');
    const grey = (h: number, w: number, seed: number) => Uint8Array.from({ length: h * w }, (_, i) => (i * 37 + seed * 11) % 256);
    const images = { cat: [grey(4, 5, 1), grey(4, 5, 2)], dog: [grey(4, 5, 3), grey(4, 5, 4), grey(4, 5, 5)] };
    for (const [name, list] of Object.entries(images)) {
      mkdirSync(join(root, name), { recursive: true });
      for (const [i, pixels] of list.entries()) {
        await sharp(pixels, { raw: { width: 5, height: 4, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, name, `${i}.png`));
      }
    }
    await sharp(grey(8, 10, 6), { raw: { width: 10, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'dog', 'big.png'));
    const data = await loadDataset(`folder:${root}`, { testFraction: 0.5, seed: 1 });
    assert.deepEqual([data.height, data.width, data.channels], [4, 5, 1]);
    assert.deepEqual(data.classes, ['cat', 'dog']);
    const all = [data.train, data.test].flatMap((set) => Array.from({ length: set.count }, (_, i) => ({ label: set.labels[i]!, pixels: set.images.subarray(i * 20, (i + 1) * 20) })));
    assert.equal(all.length, 6);
    for (const [label, list] of [images.cat, images.dog].entries()) {
      for (const pixels of list) assert.ok(all.some((a) => a.label === label && a.pixels.every((v, i) => v === pixels[i])), `class ${label} image found`);
    }
  });

  it('folder: a flat folder of images is one class named by the folder, pixels as written; an empty one is refused', async () => {
    const root = join(dir, 'photos');
    mkdirSync(root, { recursive: true });
    const pixels = [1, 2, 3].map((seed) => Uint8Array.from({ length: 4 * 5 }, (_, i) => (i * 41 + seed * 13) % 256));
    for (const [i, p] of pixels.entries()) await sharp(p, { raw: { width: 5, height: 4, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, `${i}.png`));
    const data = await loadFolder(root);
    assert.deepEqual([data.height, data.width, data.channels, data.train.count, data.classes], [4, 5, 1, 3, ['photos']]);
    for (const [i, p] of pixels.entries()) assert.deepEqual(data.train.images.subarray(i * 20, (i + 1) * 20), p);
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    await assert.rejects(loadFolder(empty), /expects images, or one sub-folder per class \(at least 2\), but has 0 sub-folders and no images/);
  });

  it('folder: a larger image is stretched to the first one, pixel values as resampling a linear ramp must give', async () => {
    // Any symmetric, normalised resampling filter maps a linear ramp to the same ramp sampled at the new
    // pixel centres: stretching v(x, y) = 2x + 2y + 1 from 48 x 20 to 24 x 20 gives
    // V(X, Y) = v(2X + 0.5, Y) = 4X + 2Y + 2 away from the left and right borders (a centre crop would
    // give 2X + 2Y + 25 instead).
    const root = join(dir, 'folder-resize');
    mkdirSync(join(root, 'a'), { recursive: true });
    await sharp(new Uint8Array(24 * 20).fill(9), { raw: { width: 24, height: 20, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'a', '0.png'));
    const ramp = Uint8Array.from({ length: 48 * 20 }, (_, i) => 2 * (i % 48) + 2 * Math.floor(i / 48) + 1);
    await sharp(ramp, { raw: { width: 48, height: 20, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'a', '1.png'));
    mkdirSync(join(root, 'b'), { recursive: true });
    await sharp(new Uint8Array(24 * 20).fill(9), { raw: { width: 24, height: 20, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'b', '0.png'));
    const data = await loadFolder(root);
    assert.deepEqual([data.height, data.width, data.channels, data.train.count], [20, 24, 1, 3]);
    const resized = data.train.images.subarray(20 * 24, 2 * 20 * 24);
    let worst = 0;
    for (let y = 0; y < 20; y++) for (let x = 4; x < 20; x++) worst = Math.max(worst, Math.abs(resized[y * 24 + x]! - (4 * x + 2 * y + 2)));
    assert.ok(worst <= 1, `interior pixels off the ramp by up to ${worst}`);
  });

  it('folder: colour images keep 3 channels, RGB order', async () => {
    const root = join(dir, 'folder-rgb');
    const rgb = (seed: number) => Uint8Array.from({ length: 3 * 3 * 3 }, (_, i) => (i * 53 + seed * 29) % 256);
    for (const [k, name] of ['a', 'b'].entries()) {
      mkdirSync(join(root, name), { recursive: true });
      await sharp(rgb(k), { raw: { width: 3, height: 3, channels: 3 } }).png().toFile(join(root, name, 'x.png'));
    }
    const data = await loadDataset(`folder:${root}`, { testFraction: 0.5 });
    assert.equal(data.channels, 3);
    for (const set of [data.train, data.test]) assert.deepEqual(set.images, rgb(set.labels[0]!));
  });
});

describe('batches', () => {
  it('scale raw maps stored values to 0..255 and unit to 0..1; the last batch is short', async () => {
    const data = await loadDataset('digits');
    const raw = [...batches(data, data.test, { batchSize: 100, scale: 'raw' })];
    assert.equal(raw.length, Math.ceil(data.test.count / 100));
    assert.equal(raw.at(-1)!.size, data.test.count % 100 || 100);
    assert.equal(raw[0]!.x.length, 100 * 64);
    assert.equal(Math.max(...raw[0]!.x), 255);
    assert.equal(raw[0]!.x[5], (data.test.images[5]! * 255) / 16);
    const unit = [...batches(data, data.test, { batchSize: 100, scale: 'unit' })];
    assert.equal(Math.max(...unit[0]!.x), 1);
    assert.ok(Math.abs(unit[0]!.x[5]! - data.test.images[5]! / 16) < 1e-7);
  });

  it('shuffles with a seed: the same seed gives the same order, every image once', async () => {
    const data = await loadDataset('digits');
    const labels = (seed: number) => [...batches(data, data.train, { batchSize: 64, scale: 'unit', shuffle: true, seed })].flatMap((b) => [...b.labels]);
    const a = labels(3);
    assert.deepEqual(labels(3), a);
    assert.notDeepEqual(labels(4), a);
    const count = (xs: number[]) => xs.reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<number, number>());
    assert.deepEqual(count(a), count([...data.train.labels]));
  });
});

describe('bad data gives one clear sentence', () => {
  it('rejects unknown specs', () => {
    assert.throws(() => parseDataSpec('imagenet:/x'), /expects one of digits \| cifar10:<dir> \| mnist:<dir> \| folder:<dir>, but received 'imagenet:\/x'/);
    assert.throws(() => parseDataSpec('cifar10'), /but received 'cifar10'/);
  });

  it('names a missing directory and a missing batch file', async () => {
    await assert.rejects(loadDataset(`cifar10:${join(dir, 'nope')}`), { name: 'DataError', message: /CIFAR-10 data directory '.*nope' does not exist/ });
    const root = join(dir, 'cifar-missing');
    mkdirSync(root);
    writeFileSync(join(root, 'test_batch.bin'), new Uint8Array(3073));
    writeFileSync(join(root, 'data_batch_2.bin'), new Uint8Array(3073));
    await assert.rejects(loadDataset(`cifar10:${root}`), {
      name: 'DataError',
      message: /The CIFAR-10 directory '.*cifar-missing' lacks data_batch_1\.bin, data_batch_3\.bin, data_batch_4\.bin, data_batch_5\.bin; it expects the binary version's/,
    });
  });

  it('rejects CIFAR files that are not whole records', async () => {
    const root = join(dir, 'cifar-short');
    mkdirSync(root);
    for (let i = 1; i <= 5; i++) writeFileSync(join(root, `data_batch_${i}.bin`), new Uint8Array(3073));
    writeFileSync(join(root, 'test_batch.bin'), new Uint8Array(3073 * 2 - 1));
    await assert.rejects(loadDataset(`cifar10:${root}`), {
      name: 'DataError',
      message: /test_batch\.bin expects CIFAR-10 records of 3073 bytes \(1 label \+ 3072 pixels\), but its 6145 bytes are not a whole number of records/,
    });
  });

  it('rejects IDX files whose declared size disagrees with their bytes', async () => {
    const root = join(dir, 'mnist-bad');
    mkdirSync(root);
    const header = (dims: number[]) => {
      const b = Buffer.alloc(4 + 4 * dims.length);
      b.set([0, 0, 8, dims.length]);
      dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
      return b;
    };
    writeFileSync(join(root, 'train-images-idx3-ubyte'), Buffer.concat([header([2, 28, 28]), Buffer.alloc(28 * 28)]));
    await assert.rejects(loadDataset(`mnist:${root}`), { name: 'DataError', message: /train-images-idx3-ubyte declares 2x28x28 = 1568 values, but holds 784 bytes of data/ });
    writeFileSync(join(root, 'train-images-idx3-ubyte'), Buffer.concat([header([1, 28, 28]), Buffer.alloc(28 * 28)]));
    await assert.rejects(loadDataset(`mnist:${root}`), { name: 'DataError', message: /has no 'train-labels-idx1-ubyte' \(or 'train-labels-idx1-ubyte\.gz'\)/ });
  });

  it('rejects an empty class folder', async () => {
    const root = join(dir, 'folder-empty');
    mkdirSync(join(root, 'a'), { recursive: true });
    mkdirSync(join(root, 'b'), { recursive: true });
    await sharp(new Uint8Array(4), { raw: { width: 2, height: 2, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, 'a', 'x.png'));
    await assert.rejects(loadDataset(`folder:${root}`), { name: 'DataError', message: /The class folder '.*b' holds no images/ });
  });
});
