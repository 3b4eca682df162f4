import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AxisName } from '../../src/model/axes.js';
import { UnsupportedError, UsageError } from '../../src/model/errors.js';
import { filterFigure, type FilterFigure } from '../../src/render/filters.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { decodePixels, type Pixels } from './png.js';

/**
 * Builds a tensor in any layout from a function of named indices, by explicit loops (not through
 * NamedTensor.toAxes), so two layouts of the same weights are made independently.
 */
function build(axes: AxisName[], shape: number[], value: (ix: Record<string, number>) => number): NamedTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  const ix = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    data[i] = value(Object.fromEntries(axes.map((a, k) => [a, ix[k]!])));
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++ix[k]! < shape[k]!) break;
      ix[k] = 0;
    }
  }
  return new NamedTensor(axes, shape, data);
}

/** The colour of kernel cell (y, x) of the tile of filter f (channel c in `each` mode), read from the PNG. */
function cellColour(fig: FilterFigure, px: Pixels, f: number, y: number, x: number, c = -1): [number, number, number] {
  const tile = fig.info.tiles.find((t) => t.filter === f && t.channel === c);
  assert.ok(tile, `no tile for filter ${f} channel ${c}`);
  const cell = fig.info.cellPx;
  return px.at(tile.x + x * cell + Math.floor(cell / 2), tile.y + y * cell + Math.floor(cell / 2));
}

const grey = (v: number): [number, number, number] => [v, v, v];

// Filters of a 2x2 single-channel kernel with exactly representable values.
// Filter 2 is dead (|w| <= 1e-20), filter 3 small: shared vs per-filter scaling differ there.
const FILTERS = [
  [
    [-1, -0.5],
    [0, 0.5],
  ],
  [
    [1, 0],
    [0, 0],
  ],
  [
    [1e-20, -1e-20],
    [0, 0],
  ],
  [
    [0.25, -0.125],
    [0, 0],
  ],
];
const keras2x2 = build(['kh', 'kw', 'in', 'out'], [2, 2, 1, 4], (i) => FILTERS[i.out!]![i.kh!]![i.kw!]!);
const torch2x2 = build(['out', 'in', 'kh', 'kw'], [4, 1, 2, 2], (i) => FILTERS[i.out!]![i.kh!]![i.kw!]!);

describe('filter grid: known values to known pixel colours (gray colormap: -s -> 0, 0 -> 128, +s -> 255)', () => {
  it('shared symmetric scale: one scale (max |w| = 1) for all filters; the dead filter is flat and listed', () => {
    const fig = filterFigure(keras2x2, { colormap: 'gray', cellPx: 3 });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.scale, 1);
    // round((v / s + 1) * 127.5): -1 -> 0, -0.5 -> 64, 0 -> 128, 0.5 -> 191, 1 -> 255, 0.25 -> 159, -0.125 -> 112
    assert.deepEqual(cellColour(fig, px, 0, 0, 0), grey(0));
    assert.deepEqual(cellColour(fig, px, 0, 0, 1), grey(64));
    assert.deepEqual(cellColour(fig, px, 0, 1, 0), grey(128));
    assert.deepEqual(cellColour(fig, px, 0, 1, 1), grey(191));
    assert.deepEqual(cellColour(fig, px, 1, 0, 0), grey(255));
    assert.deepEqual(cellColour(fig, px, 2, 0, 0), grey(128));
    assert.deepEqual(cellColour(fig, px, 2, 0, 1), grey(128));
    assert.deepEqual(cellColour(fig, px, 3, 0, 0), grey(159));
    assert.deepEqual(cellColour(fig, px, 3, 0, 1), grey(112));
    assert.deepEqual(fig.info.analysis.dead, [2]);
    assert.ok(fig.info.notes.some(({ text: n }) => n.includes('dead filters') && n.endsWith(': 2')), JSON.stringify(fig.info.notes));
  });

  it('per-filter scale: each tile on its own max |w|; the dead filter stays flat instead of being stretched', () => {
    const fig = filterFigure(keras2x2, { colormap: 'gray', cellPx: 3, normalize: 'per-filter' });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.scale, undefined);
    assert.deepEqual(cellColour(fig, px, 0, 0, 1), grey(64));
    assert.deepEqual(cellColour(fig, px, 3, 0, 0), grey(255)); // 0.25 / 0.25
    assert.deepEqual(cellColour(fig, px, 3, 0, 1), grey(64)); // -0.125 / 0.25
    assert.deepEqual(cellColour(fig, px, 2, 0, 0), grey(128));
    assert.deepEqual(cellColour(fig, px, 2, 0, 1), grey(128));
  });

  it('Keras [kh, kw, in, out] and PyTorch [out, in, kh, kw] layouts give byte-identical PNG and SVG', () => {
    const opts = { colormap: 'gray', cellPx: 3, title: 'same' };
    assert.deepEqual(filterFigure(keras2x2, opts).png(), filterFigure(torch2x2, opts).png());
    assert.equal(filterFigure(keras2x2, opts).svg(), filterFigure(torch2x2, opts).svg());
    const per = { ...opts, normalize: 'per-filter' as const };
    assert.deepEqual(filterFigure(keras2x2, per).png(), filterFigure(torch2x2, per).png());
  });

  it('default diverging colormap: +max is dark red, -max dark blue (d3 RdBu ends), zero the map middle', () => {
    const fig = filterFigure(keras2x2, { cellPx: 3 });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.colormap, 'rdbu_r');
    assert.deepEqual(cellColour(fig, px, 1, 0, 0), [103, 0, 31]);
    assert.deepEqual(cellColour(fig, px, 0, 0, 0), [5, 48, 97]);
    assert.deepEqual(cellColour(fig, px, 2, 0, 0), cellColour(fig, px, 0, 1, 0));
  });
});

// A 1x2 kernel with 3 input channels and 2 filters: value = (out + 1) * (c - 1) * 0.25 + x * 0.125.
const rgbValue = (i: Record<string, number>): number => (i.out! + 1) * (i.in! - 1) * 0.25 + i.kw! * 0.125;
const kerasRgb = build(['kh', 'kw', 'in', 'out'], [1, 2, 3, 2], rgbValue);
const torchRgb = build(['out', 'in', 'kh', 'kw'], [2, 3, 1, 2], rgbValue);
const idx = (v: number, s: number): number => Math.round((v / s + 1) * 127.5);

describe('channel modes (3 input channels)', () => {
  // absMax = |(2)(1)(0.25) + 0.125| = 0.625
  const s = 0.625;
  it('auto picks rgb for 3 input channels: R, G, B = channels 0, 1, 2 on the shared scale', () => {
    const fig = filterFigure(kerasRgb, { cellPx: 2 });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.mode, 'rgb');
    assert.equal(fig.info.scale, s);
    for (const out of [0, 1]) {
      for (const x of [0, 1]) {
        const want = [0, 1, 2].map((c) => idx(rgbValue({ out, in: c, kw: x }), s));
        assert.deepEqual(cellColour(fig, px, out, 0, x), want, `filter ${out} x ${x}`);
      }
    }
    assert.deepEqual(cellColour(fig, px, 1, 0, 1), [51, 153, 255]); // -0.375, 0.125, 0.625 on 0.625
  });

  it('each: input channels as columns, filters as rows; gray values per channel', () => {
    const fig = filterFigure(kerasRgb, { cellPx: 2, channels: 'each', colormap: 'gray' });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.mode, 'each');
    for (const out of [0, 1]) {
      for (const c of [0, 1, 2]) {
        for (const x of [0, 1]) assert.deepEqual(cellColour(fig, px, out, 0, x, c), grey(idx(rgbValue({ out, in: c, kw: x }), s)));
      }
    }
    const tiles = fig.info.tiles;
    const t = (f: number, c: number) => tiles.find((p) => p.filter === f && p.channel === c)!;
    assert.ok(t(0, 1).x > t(0, 0).x && t(0, 1).y === t(0, 0).y, 'channels run along a row');
    assert.ok(t(1, 0).y > t(0, 0).y && t(1, 0).x === t(0, 0).x, 'filters run down a column');
  });

  it('mean: the average over input channels, on the scale of the means', () => {
    const fig = filterFigure(kerasRgb, { cellPx: 2, channels: 'mean', colormap: 'gray' });
    const px = decodePixels(fig.png());
    // mean over c of (out+1)(c-1)/4 is 0, so the tile is x * 0.125: scale 0.125
    assert.equal(fig.info.scale, 0.125);
    assert.deepEqual(cellColour(fig, px, 0, 0, 0), grey(128));
    assert.deepEqual(cellColour(fig, px, 1, 0, 1), grey(255));
  });

  it('<c>: one input channel on the layer scale', () => {
    const fig = filterFigure(kerasRgb, { cellPx: 2, channels: 2, colormap: 'gray' });
    const px = decodePixels(fig.png());
    assert.equal(fig.info.mode, 'channel');
    assert.deepEqual(cellColour(fig, px, 1, 0, 1, 2), grey(255));
    assert.deepEqual(cellColour(fig, px, 0, 0, 0, 2), grey(idx(0.25, s)));
  });

  it('every channel mode gives byte-identical PNGs for the Keras and PyTorch layouts', () => {
    for (const channels of ['auto', 'rgb', 'each', 'mean', 0, 2] as const) {
      for (const normalize of ['shared', 'per-filter'] as const) {
        const opts = { channels, normalize, title: 't', labels: true };
        assert.deepEqual(filterFigure(kerasRgb, opts).png(), filterFigure(torchRgb, opts).png(), `${channels} ${normalize}`);
      }
    }
  });

  it('each caps wide layers at maxColumns with a note saying what is cut', () => {
    const wide = build(['kh', 'kw', 'in', 'out'], [1, 1, 40, 2], (i) => i.in! - 20);
    const k3 = build(['kh', 'kw', 'in', 'out'], [3, 3, 40, 2], (i) => i.in! - 20 + i.kh!);
    const fig = filterFigure(k3, { maxColumns: 8 });
    assert.equal(new Set(fig.info.tiles.map((t) => t.channel)).size, 8);
    assert.ok(fig.info.notes.some((n) => n.text.includes('showing input channels 0-7 of 40') && n.concept === 'channels'), JSON.stringify(fig.info.notes));
    assert.equal(filterFigure(wide).info.mode, 'matrix');
  });
});

describe('other kernel kinds, by axis name', () => {
  it('depthwise [kh, kw, in, mult]: filters in output-channel order c * mult + m, same as PyTorch groups [out, 1, kh, kw]', () => {
    const v = (c: number, m: number, y: number, x: number): number => c * 10 + m * 3 + y - x;
    const keras = build(['kh', 'kw', 'in', 'mult'], [2, 2, 3, 2], (i) => v(i.in!, i.mult!, i.kh!, i.kw!));
    const torch = build(['out', 'in', 'kh', 'kw'], [6, 1, 2, 2], (i) => v(Math.floor(i.out! / 2), i.out! % 2, i.kh!, i.kw!));
    const opts = { title: 'dw', colormap: 'gray', cellPx: 2 };
    const fig = filterFigure(keras, opts);
    assert.equal(fig.info.filterCount, 6);
    assert.deepEqual(fig.png(), filterFigure(torch, opts).png());
    const px = decodePixels(fig.png());
    const s = fig.info.scale!;
    assert.equal(s, 24); // c=2, m=1, y=1, x=0
    assert.deepEqual(cellColour(fig, px, 5, 1, 0), grey(255));
    assert.deepEqual(cellColour(fig, px, 3, 0, 1), grey(idx(1 * 10 + 3 - 1, s)));
  });

  it('Conv1D [kw, in, out]: each filter is a one-cell-high strip', () => {
    const t = build(['kw', 'in', 'out'], [4, 1, 2], (i) => (i.kw! - 1.5) * (i.out! ? 1 : -1));
    const fig = filterFigure(t, { colormap: 'gray', cellPx: 3 });
    const px = decodePixels(fig.png());
    assert.deepEqual([0, 1, 2, 3].map((x) => cellColour(fig, px, 0, 0, x)[0]), [255, 170, 85, 0]);
    const below = fig.info.tiles[0]!;
    assert.deepEqual(px.at(below.x, below.y + 3), [150, 150, 150], 'frame right below the one-cell strip');
  });

  it('Conv3D [kd, kh, kw, in, out]: depth slices side by side with one empty cell between', () => {
    const t = build(['kd', 'kh', 'kw', 'in', 'out'], [2, 2, 2, 1, 1], (i) => (i.kd! ? 1 : -1) * (i.kh! + 1) * 0.5);
    const fig = filterFigure(t, { colormap: 'gray', cellPx: 2 });
    const px = decodePixels(fig.png());
    assert.deepEqual(cellColour(fig, px, 0, 1, 0), grey(0)); // depth 0: -1
    assert.deepEqual(cellColour(fig, px, 0, 1, 2), grey(255), 'gap cell is white background');
    assert.deepEqual(cellColour(fig, px, 0, 1, 3), grey(255)); // depth 1, x 0: +1
    assert.deepEqual(cellColour(fig, px, 0, 0, 4), grey(191)); // depth 1, y 0: +0.5
  });

  it('Conv2DTranspose Keras [kh, kw, out, in] and PyTorch [in, out, kh, kw] give the same picture', () => {
    const v = (i: Record<string, number>): number => i.out! - i.in! * 0.5 + i.kh! * 0.25 - i.kw!;
    const opts = { title: 'tr', channels: 'each' as const };
    const a = filterFigure(build(['kh', 'kw', 'out', 'in'], [2, 3, 3, 2], v), opts).png();
    const b = filterFigure(build(['in', 'out', 'kh', 'kw'], [2, 3, 2, 3], v), opts).png();
    assert.deepEqual(a, b);
  });

  it('Dense [in, units] and PyTorch Linear [units, in]: one matrix, rows = units, columns = in', () => {
    const v = (i: Record<string, number>): number => (i.units! - 1) * 0.5 + (i.in! === 3 ? 0.5 : 0);
    const dense = build(['in', 'units'], [4, 3], v);
    const opts = { title: 'dense', colormap: 'gray', cellPx: 4 };
    const fig = filterFigure(dense, opts);
    assert.equal(fig.info.mode, 'matrix');
    assert.deepEqual(fig.png(), filterFigure(build(['units', 'in'], [3, 4], v), opts).png());
    const px = decodePixels(fig.png());
    const row = (u: number) => fig.info.tiles.find((t) => t.filter === u)!;
    assert.deepEqual(px.at(row(0).x + 1, row(0).y + 1), grey(64)); // -0.5 / 1
    assert.deepEqual(px.at(row(2).x + 3 * 4 + 1, row(2).y + 1), grey(255)); // 1.0
    assert.deepEqual(px.at(row(1).x + 1, row(1).y + 1), grey(128));
    assert.ok(fig.info.notes.some((n) => n.text === 'rows: units (3), columns: in (4)'));
  });

  it('SeparableConv2D: the depthwise part draws as depthwise filters, the pointwise [1, 1, in*mult, out] part as a matrix', () => {
    const dw = filterFigure(build(['kh', 'kw', 'in', 'mult'], [3, 3, 5, 2], (i) => i.in! - i.mult! + i.kh!));
    assert.equal(dw.info.filterCount, 10);
    assert.equal(dw.info.mode, 'each');
    const pw = filterFigure(build(['kh', 'kw', 'in', 'out'], [1, 1, 10, 6], (i) => i.in! - i.out!));
    assert.equal(pw.info.mode, 'matrix');
    assert.ok(pw.info.notes.some((n) => n.text === 'rows: out (6), columns: in (10)'));
  });
});

describe('analysis and bad options', () => {
  it('flags a layer whose filters are all identical (constant initializer such as ones)', () => {
    const ones = build(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], () => 1);
    const fig = filterFigure(ones, { layer: 'conv_1' });
    assert.equal(fig.info.analysis.identical, true);
    assert.deepEqual(fig.info.analysis.constant, [0, 1, 2, 3]);
    assert.match(fig.info.warnings.join('\n'), /All 4 filters of 'conv_1' are identical/);
    assert.equal(filterFigure(keras2x2).info.analysis.identical, false);
    const nearly = build(['kh', 'kw', 'in', 'out'], [3, 3, 2, 4], (i) => 1 + (i.out === 3 && i.kh === 2 ? 1e-3 : 0));
    assert.equal(filterFigure(nearly).info.analysis.identical, false);
  });

  it('unknown colormap lists the valid ones', () => {
    assert.throws(() => filterFigure(keras2x2, { colormap: 'jet' }), (e: Error) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, /^Unknown colormap 'jet'; valid colormaps are: /);
      for (const name of ['gray', 'viridis', 'magma', 'rdbu', 'coolwarm']) assert.ok(e.message.includes(name), name);
      return true;
    });
  });

  it('channel index out of range states the valid range', () => {
    assert.throws(
      () => filterFigure(kerasRgb, { channels: 3, layer: 'conv1' }),
      (e: Error) => e instanceof UsageError && e.message === "Channel 3 is out of range for layer 'conv1': it has 3 input channels per filter (valid: 0 to 2).",
    );
    assert.throws(() => filterFigure(keras2x2, { channels: 'rgb', layer: 'c' }), /Channel mode 'rgb' needs filters with 3 input channels, but layer 'c' has 1/);
    assert.throws(() => filterFigure(keras2x2, { filters: [4], layer: 'c' }), /Filter 4 is out of range for layer 'c': it has 4 filters along 'out' \(valid: 0 to 3\)/);
  });

  it('an explicit cell size that would need a giant image is refused before allocating it', () => {
    const big = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 64, 512], new Float32Array(3 * 3 * 64 * 512));
    assert.throws(() => filterFigure(big, { cellPx: 64, layer: 'b' }), /needs a \d+ x \d+ px image, over the 50 megapixel limit; choose a smaller tile size or fewer filters/);
  });

  it('a tensor without filter axes (a bias) is refused with its axes named', () => {
    const bias = new NamedTensor(['features'], [4], new Float32Array(4));
    assert.throws(() => filterFigure(bias, { layer: 'conv1' }), (e: Error) => e instanceof UnsupportedError && /axes \[features\]/.test(e.message));
  });

  it('--filters draws only the chosen filters, in the given order', () => {
    const fig = filterFigure(keras2x2, { filters: [3, 0] });
    assert.deepEqual(fig.info.tiles.map((t) => t.filter), [3, 0]);
  });

  it('SVG carries every filter index as <text> even when the PNG has no labels', () => {
    const svg = filterFigure(keras2x2, { labels: false }).svg();
    for (const f of [0, 1, 2, 3]) assert.match(svg, new RegExp(`<text[^>]*>${f}</text>`));
    assert.match(svg, /shared scale: \+-1 /);
  });
});
