import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { histogram, histogramFigure } from '../../src/render/histogram.js';
import { decodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';
import { decodePixels } from './png.js';

describe('weight histograms', () => {
  it('bin counts and edges equal numpy.histogram; mean and std equal numpy', needsPython('numpy'), () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-hist-'));
    const out = runPython(
      `
import numpy as np, sys, json
rng = np.random.default_rng(7)
x = np.concatenate([rng.normal(0.01, 0.05, 4000), rng.uniform(-0.3, 0.2, 999), [0.0, 0.0]]).astype(np.float64)
np.save(sys.argv[1], x)
c, e = np.histogram(x, bins=37)
print(json.dumps({"counts": c.tolist(), "edges": e.tolist(), "mean": float(x.mean()), "std": float(x.std())}))
`,
      [join(dir, 'x.npy')],
    );
    const want = JSON.parse(out) as { counts: number[]; edges: number[]; mean: number; std: number };
    const x = decodeNpy(readFileSync(join(dir, 'x.npy'))).data;
    const h = histogram(x, 37);
    assert.deepEqual(h.counts, want.counts);
    h.edges.forEach((e, i) => assert.ok(Math.abs(e - want.edges[i]!) <= 1e-15, `edge ${i}`));
    assert.ok(Math.abs(h.stats.mean - want.mean) <= 1e-12);
    assert.ok(Math.abs(h.stats.std - want.std) <= 1e-12);
    assert.equal(h.stats.zeros, 2);
  });

  it('a constant tensor spreads over [v - 0.5, v + 0.5] as numpy does, all values in the middle bin', () => {
    const h = histogram(new Float32Array([1, 1, 1]), 4);
    assert.deepEqual(h.edges, [0.5, 0.75, 1, 1.25, 1.5]);
    assert.deepEqual(h.counts, [0, 0, 3, 0]);
  });

  it('NaN and Inf are not counted and are reported', () => {
    const h = histogram(new Float32Array([NaN, Infinity, -1, 1]), 2);
    assert.deepEqual(h.counts, [1, 1]);
    assert.equal(h.stats.nan, 1);
    assert.equal(h.stats.inf, 1);
  });

  it('the SVG shows counts, range, mean and std; the PNG draws the bars', () => {
    const data = new Float32Array([-0.5, -0.25, 0, 0, 0.25, 0.5, 0.5, 0.5]);
    const h = histogram(data, 4);
    assert.deepEqual(h.counts, [1, 1, 2, 4]);
    const fig = histogramFigure([{ title: 'conv2d kernel', histogram: h }]);
    const svg = fig.svg();
    assert.match(svg, /<text[^>]*>conv2d kernel<\/text>/);
    assert.match(svg, /count 8, range \[-0\.5, 0\.5\], mean 0\.125, std 0\.3536, zeros 2/);
    const px = decodePixels(fig.png());
    let bar = 0;
    for (let y = 0; y < px.height; y++) for (let x = 0; x < px.width; x++) if (px.at(x, y).join() === '70,130,180') bar++;
    assert.ok(bar > 1000, `bar pixels ${bar}`);
  });
});
