import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barFigure, topValues } from '../../src/render/bars.js';
import { getColormap } from '../../src/render/colormap.js';
import { featureMapFigure } from '../../src/render/feature-maps.js';
import type { ImageItem } from '../../src/render/scene.js';

/** [H=2, W=2, C=3]: channel 0 = 0, 1, 2, 3; channel 1 = 10 * channel 0; channel 2 = 1e-30 everywhere but one 2e-30. */
const maps = {
  height: 2,
  width: 2,
  channels: 3,
  data: Float32Array.from([0, 0, 1e-30, 1, 10, 1e-30, 2, 20, 1e-30, 3, 30, 2e-30]),
};

function tiles(items: readonly { kind: string }[]): ImageItem[] {
  return items.filter((i): i is ImageItem => i.kind === 'image' && (i as ImageItem).width === 48);
}

function pixel(tile: ImageItem, x: number, y: number): number[] {
  const o = (y * tile.width + x) * 3;
  return Array.from(tile.pixels.subarray(o, o + 3));
}

test('per-channel tiles run min -> first LUT colour, max -> last; near-constant channels are flat', () => {
  const lut = getColormap('viridis').lut;
  const fig = featureMapFigure(maps, { title: 't' });
  assert.deepEqual(fig.flat, [2]);
  const [c0, c1, c2] = tiles(fig.scene.items);
  assert.ok(c0 && c1 && c2, 'three 48 px tiles (2x2 maps upscaled by 24)');
  const first = Array.from(lut.subarray(0, 3));
  const last = Array.from(lut.subarray(255 * 3, 256 * 3));
  for (const tile of [c0, c1]) {
    assert.deepEqual(pixel(tile, 0, 0), first, 'value 0 is the minimum');
    assert.deepEqual(pixel(tile, 47, 47), last, 'value 3 (30) is the maximum');
    assert.deepEqual(pixel(tile, 24, 0), Array.from(lut.subarray(85 * 3, 86 * 3)), 'value 1 of 0..3 is LUT entry 85');
  }
  assert.deepEqual(pixel(c2, 47, 47), first, 'a 1e-30 spread is not stretched into a picture');
});

test('shared scale draws every tile on the layer range', () => {
  const lut = getColormap('viridis').lut;
  const [c0, c1] = tiles(featureMapFigure(maps, { title: 't', normalize: 'shared' }).scene.items);
  assert.deepEqual(pixel(c0!, 47, 47), Array.from(lut.subarray(26 * 3, 27 * 3)), '3 of 0..30 is LUT entry round(25.5) = 26');
  assert.deepEqual(pixel(c1!, 47, 47), Array.from(lut.subarray(255 * 3, 256 * 3)));
});

test('bars list the k largest values, largest first, ties by index', () => {
  assert.deepEqual(topValues([0.1, 0.7, 0.1, 0.05, 0.05], 3), [
    { index: 1, value: 0.7 },
    { index: 0, value: 0.1 },
    { index: 2, value: 0.1 },
  ]);
  const scene = barFigure([0.1, 0.7, -0.2], { title: 'probabilities', top: 3 });
  const bars = scene.items.filter((i) => i.kind === 'rect' && i.height > 5 && i.width > 1);
  assert.equal(bars.length, 3);
  const texts = scene.items.filter((i) => i.kind === 'text').map((i) => (i as { text: string }).text);
  assert.deepEqual(texts.slice(1), ['1', '0.7', '0', '0.1', '2', '-0.2']);
});
