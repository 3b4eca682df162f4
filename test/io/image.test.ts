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

test('a photo turned by its EXIF orientation is fitted as it is shown: upright 20x40, the centre rows kept', async () => {
  const { default: sharp } = await import('sharp');
  // Stored 40x20, grey value 6x along the stored x; orientation 6 shows it turned a quarter clockwise, so
  // the shown row y holds the stored column y.
  const stored = Uint8Array.from({ length: 40 * 20 }, (_, i) => 6 * (i % 40));
  const path = join(mkdtempSync(join(tmpdir(), 'convscope-image-')), 'turned.jpg');
  writeFileSync(path, await sharp(stored, { raw: { width: 40, height: 20, channels: 1 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer());
  const crop = await loadImage(path, { width: 20, height: 20, channels: 1, resize: 'crop' });
  assert.deepEqual(crop.placement, { width: 20, height: 40, left: 0, top: -10 });
  // Shown rows 10..29 kept: output row 0 is stored column 10 (60), row 19 is column 29 (174).
  for (const [row, value] of [[0, 60], [19, 174]] as const) assert.ok(Math.abs(grey(crop, 10, row) - value) <= 4, `row ${row}: ${grey(crop, 10, row)} vs ${value}`);
});

test('a missing image file is said in one sentence, not as the decoder words it', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'convscope-image-')), 'nothere.png');
  await assert.rejects(loadImage(path, { width: 8, height: 8, channels: 1, resize: 'stretch' }), (e: Error) => e instanceof InputError && e.message === `The image ${path} does not exist.`);
});
