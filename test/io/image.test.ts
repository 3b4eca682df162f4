import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { encode } from 'fast-png';
import { loadImage } from '../../src/io/image.js';
import { InputError } from '../../src/model/errors.js';

/** 40x20 RGB: left half white, right half black. */
function halves(): string {
  const data = new Uint8Array(40 * 20 * 3);
  for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) data.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
  const path = join(mkdtempSync(join(tmpdir(), 'convscope-image-')), 'halves.png');
  writeFileSync(path, encode({ width: 40, height: 20, channels: 3, data }));
  return path;
}

const grey = (img: { data: Uint8Array; width: number }, x: number, y: number): number => img.data[y * img.width + x]!;

test('resize modes: stretch squeezes, crop keeps the centre, pad letterboxes with black', async () => {
  const path = halves();
  const stretch = await loadImage(path, { width: 20, height: 20, channels: 1, resize: 'stretch' });
  assert.deepEqual([stretch.width, stretch.height, stretch.channels, stretch.data.length], [20, 20, 1, 400]);
  assert.equal(grey(stretch, 2, 10), 255);
  assert.equal(grey(stretch, 17, 10), 0);
  const crop = await loadImage(path, { width: 20, height: 20, channels: 1, resize: 'crop' });
  // Centre columns 10..29 of the original: white up to 19, black from 20.
  assert.equal(grey(crop, 5, 10), 255);
  assert.equal(grey(crop, 14, 10), 0);
  const pad = await loadImage(path, { width: 20, height: 20, channels: 3, resize: 'pad' });
  // Scaled to 20x10 and centred: rows 0..4 and 15..19 are padding (black).
  assert.deepEqual(Array.from(pad.data.subarray(0, 3)), [0, 0, 0]);
  assert.deepEqual(Array.from(pad.data.subarray((10 * 20 + 2) * 3, (10 * 20 + 2) * 3 + 3)), [255, 255, 255]);
  assert.deepEqual(Array.from(pad.data.subarray((18 * 20 + 2) * 3, (18 * 20 + 2) * 3 + 3)), [0, 0, 0]);
  assert.deepEqual(pad.source, { width: 40, height: 20, format: 'png' });
});

test('a file that is no image is an InputError naming it', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'convscope-image-')), 'notes.jpg');
  writeFileSync(path, 'not a picture');
  await assert.rejects(loadImage(path, { channels: 3, resize: 'stretch' }), (e: Error) => e instanceof InputError && e.message.includes('notes.jpg'));
});

test('bytes decode like the file they came from, and errors name what the caller called them', async () => {
  const path = halves();
  const request = { width: 20, height: 20, channels: 3, resize: 'crop' } as const;
  const fromPath = await loadImage(path, request);
  const fromBytes = await loadImage({ name: 'the uploaded image', bytes: readFileSync(path) }, request);
  assert.deepEqual(fromBytes.data, fromPath.data);
  assert.equal(fromBytes.path, 'the uploaded image');
  await assert.rejects(loadImage({ name: 'upload.png', bytes: new Uint8Array([1, 2, 3]) }, request), (e: Error) => e instanceof InputError && /upload\.png/.test(e.message));
});
