import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rgb } from 'd3-color';
import { interpolateMagma, interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';
import { COLORMAP_NAMES } from '../../src/render/choices.js';
import { getColormap, lutIndex, ZERO_INDEX } from '../../src/render/colormap.js';

function entry(name: string, i: number): number[] {
  const lut = getColormap(name).lut;
  return [lut[i * 3]!, lut[i * 3 + 1]!, lut[i * 3 + 2]!];
}

function d3At(f: (t: number) => string, t: number): number[] {
  const c = rgb(f(t));
  return [c.r, c.g, c.b];
}

// Moreland (2009), "Diverging Color Maps for Scientific Visualization", table of the cool-warm map (33 entries).
const MORELAND: [number, number, number, number][] = [
  [0, 59, 76, 192], [0.03125, 68, 90, 204], [0.0625, 77, 104, 215], [0.09375, 87, 117, 225], [0.125, 98, 130, 234],
  [0.15625, 108, 142, 241], [0.1875, 119, 154, 247], [0.21875, 130, 165, 251], [0.25, 141, 176, 254],
  [0.28125, 152, 185, 255], [0.3125, 163, 194, 255], [0.34375, 174, 201, 253], [0.375, 184, 208, 249],
  [0.40625, 194, 213, 244], [0.4375, 204, 217, 238], [0.46875, 213, 219, 230], [0.5, 221, 221, 221],
  [0.53125, 229, 216, 209], [0.5625, 236, 211, 197], [0.59375, 241, 204, 185], [0.625, 245, 196, 173],
  [0.65625, 247, 187, 160], [0.6875, 247, 177, 148], [0.71875, 247, 166, 135], [0.75, 244, 154, 123],
  [0.78125, 241, 141, 111], [0.8125, 236, 127, 99], [0.84375, 229, 112, 88], [0.875, 222, 96, 77],
  [0.90625, 213, 80, 66], [0.9375, 203, 62, 56], [0.96875, 192, 40, 47], [1, 180, 4, 38],
];

describe('colormaps', () => {
  it('d3-scale-chromatic maps are sampled at t = i / 255', () => {
    for (const i of [0, 1, 77, 128, 200, 255]) {
      assert.deepEqual(entry('viridis', i), d3At(interpolateViridis, i / 255), `viridis ${i}`);
      assert.deepEqual(entry('magma', i), d3At(interpolateMagma, i / 255), `magma ${i}`);
      assert.deepEqual(entry('rdbu', i), d3At(interpolateRdBu, i / 255), `rdbu ${i}`);
      assert.deepEqual(entry('rdbu_r', i), d3At(interpolateRdBu, 1 - i / 255), `rdbu_r ${i}`);
    }
    assert.deepEqual(entry('viridis', 0), [68, 1, 84]); // #440154, viridis' published first colour
  });

  it('gray is the identity ramp', () => {
    for (let i = 0; i < 256; i++) assert.deepEqual(entry('gray', i), [i, i, i]);
  });

  it('coolwarm matches Moreland’s published table within 4 levels per channel', () => {
    let worst = 0;
    for (const [t, r, g, b] of MORELAND) {
      const got = entry('coolwarm', Math.round(t * 255));
      worst = Math.max(worst, Math.abs(got[0]! - r), Math.abs(got[1]! - g), Math.abs(got[2]! - b));
    }
    assert.ok(worst <= 4, `worst channel difference ${worst}`);
    assert.deepEqual(entry('coolwarm', 0), [59, 76, 192]);
    assert.deepEqual(entry('coolwarm', 255), [180, 4, 38]);
  });

  it('symmetric quantization: -s -> 0, 0 -> the middle entry 128, +s -> 255, clamped outside', () => {
    assert.equal(lutIndex(-2, 2), 0);
    assert.equal(lutIndex(0, 2), 128);
    assert.equal(ZERO_INDEX, 128);
    assert.equal(lutIndex(2, 2), 255);
    assert.equal(lutIndex(5, 2), 255);
    assert.equal(lutIndex(-5, 2), 0);
  });

  it('names are case-insensitive and include at least gray, viridis, magma, rdbu, coolwarm', () => {
    for (const n of ['gray', 'viridis', 'magma', 'rdbu', 'coolwarm']) assert.ok((COLORMAP_NAMES as readonly string[]).includes(n));
    assert.equal(getColormap('CoolWarm').name, 'coolwarm');
  });
});
