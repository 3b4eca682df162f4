import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { findLayer, findWeight } from '../../src/model/lookup.js';
import type { Model } from '../../src/model/model.js';
import { openModel } from '../../src/formats/open.js';
import { filterFigure } from '../../src/render/filters.js';
import { weightTitle } from '../../src/model/format.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { assertGolden } from './golden.js';
import { decodePixels } from './png.js';

const H5_08 = fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');
const TFJS_08 = fixture('08_xfmt_keras2h5_tfjs', 'model', 'model.json');
const TFJS_11 = fixture('11_tfjs_teachable_machine', 'model.json');
const SEP_05 = fixture('05_dl4j_weight_layout', 'sepconv2d_tensorflow_2.h5');

/** Each fixture is opened once for the whole file (opening the h5 takes seconds). */
const opened = new Map<string, Promise<Model>>();
after(async () => {
  for (const m of opened.values()) (await m).close();
});

async function figureOf(path: string, layer: string, options = {}) {
  if (!opened.has(path)) opened.set(path, openModel(path));
  const m = await opened.get(path)!;
  const w = findWeight(findLayer(m, layer));
  return filterFigure(await w.read(), { title: weightTitle(w), layer, labels: true, ...options });
}

describe('fixture filters (real trained weights)', needsFixtures, () => {
  it('08: the Keras h5 and its TF.js copy render byte-identical PNGs for every kernel and mode', async () => {
    const cases: [string, object][] = [
      ['conv2d', {}],
      ['conv2d', { normalize: 'per-filter', colormap: 'gray' }],
      ['conv2d_1', {}],
      ['conv2d_1', { channels: 'mean' }],
      ['dense_2', {}],
    ];
    for (const [layer, options] of cases) {
      const a = (await figureOf(H5_08, layer, options)).png();
      const b = (await figureOf(TFJS_08, layer, options)).png();
      assert.ok(Buffer.from(a).equals(Buffer.from(b)), `${layer} ${JSON.stringify(options)}`);
    }
  });

  it('08: golden image of the trained 5x5x1x30 MNIST filters (shared scale)', async () => {
    const fig = await figureOf(H5_08, 'conv2d');
    assert.equal(fig.info.mode, 'each');
    assert.equal(fig.info.shown.length, 30);
    assert.deepEqual(fig.info.analysis.dead, []);
    assert.equal(fig.info.analysis.identical, false);
    assertGolden('08-conv2d-filters', fig.png());
  });

  it('11: golden image of the ImageNet-trained 3x3x3x16 RGB filters, five dead filters drawn flat', async () => {
    const fig = await figureOf(TFJS_11, 'Conv1', { cellPx: 12 });
    assert.equal(fig.info.mode, 'rgb');
    assert.deepEqual(fig.info.analysis.dead, [3, 5, 7, 11, 13]);
    assertGolden('11-conv1-rgb-filters', fig.png());
    const per = await figureOf(TFJS_11, 'Conv1', { cellPx: 12, normalize: 'per-filter' });
    assertGolden('11-conv1-rgb-per-filter', per.png());
    const px = decodePixels(per.png());
    for (const f of [3, 5, 7, 11, 13]) {
      const t = per.info.tiles.find((p) => p.filter === f)!;
      for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) assert.deepEqual(px.at(t.x + x * 12 + 6, t.y + y * 12 + 6), [128, 128, 128], `dead filter ${f}`);
    }
  });

  it('11: pixel colours and dead filters agree with NumPy reading weights.bin by itself', needsPython('numpy'), async () => {
    const out = runPython(
      `
import json, sys, numpy as np, os
m = json.load(open(sys.argv[1]))
group = m['weightsManifest'][0]
buf = open(os.path.join(os.path.dirname(sys.argv[1]), group['paths'][0]), 'rb').read()
off = 0
for w in group['weights']:
    n = int(np.prod(w['shape']))
    if w['name'] == 'Conv1/kernel':
        k = np.frombuffer(buf, dtype='<f4', count=n, offset=off).reshape(w['shape'])
        break
    off += 4 * n
s = float(np.abs(k).max())
dead = [j for j in range(k.shape[3]) if np.abs(k[..., j]).max() < 1e-12]
idx = np.clip(np.round((k.astype(np.float64) / s + 1) * 127.5), 0, 255).astype(int)
print(json.dumps({"scale": s, "dead": dead, "rgb": idx.transpose(3, 0, 1, 2).tolist()}))
`,
      [TFJS_11],
    );
    const want = JSON.parse(out) as { scale: number; dead: number[]; rgb: number[][][][] };
    const fig = await figureOf(TFJS_11, 'Conv1', { cellPx: 5 });
    assert.equal(fig.info.scale, want.scale);
    assert.deepEqual(fig.info.analysis.dead, want.dead);
    const px = decodePixels(fig.png());
    for (let f = 0; f < 16; f++) {
      const t = fig.info.tiles.find((p) => p.filter === f)!;
      for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) assert.deepEqual(px.at(t.x + x * 5 + 2, t.y + y * 5 + 2), want.rgb[f]![y]![x], `filter ${f} (${y}, ${x})`);
    }
  });

  it('05: SeparableConv2D with np.arange weights: depthwise filter c * mult + m and the pointwise matrix hold the known values', async () => {
    // depthwise (3, 3, 5, 2) = arange(90): value at (y, x, c, m) = ((y * 3 + x) * 5 + c) * 2 + m
    const dw = await figureOf(SEP_05, 'separable_conv2d_1', { colormap: 'gray', cellPx: 4, labels: false });
    assert.equal(dw.info.scale, 89);
    let px = decodePixels(dw.png());
    const at = (fig: typeof dw, f: number, y: number, x: number): number => {
      const t = fig.info.tiles.find((p) => p.filter === f)!;
      return px.at(t.x + x * 4 + 2, t.y + y * 4 + 2)[0];
    };
    const grey = (v: number, s: number): number => Math.round((v / s + 1) * 127.5);
    for (const [c, m, y, x] of [[0, 0, 0, 0], [4, 1, 2, 2], [2, 1, 1, 0], [3, 0, 0, 2]] as const) {
      assert.equal(at(dw, c * 2 + m, y, x), grey(((y * 3 + x) * 5 + c) * 2 + m, 89), `filter ${c * 2 + m} (${y}, ${x})`);
    }
    // pointwise (1, 1, 10, 6) = arange(60): value at (in, out) = in * 6 + out; rows = out, columns = in
    const model = await opened.get(SEP_05)!;
    const pw = filterFigure(await findWeight(findLayer(model, 'separable_conv2d_1'), 'pointwise_kernel').read(), { colormap: 'gray', cellPx: 4 });
    assert.equal(pw.info.mode, 'matrix');
    px = decodePixels(pw.png());
    for (const [i, o] of [[0, 0], [9, 5], [3, 2]] as const) {
      const row = pw.info.tiles.find((p) => p.filter === o)!;
      assert.equal(px.at(row.x + i * 4 + 2, row.y + 2)[0], grey(i * 6 + o, 59), `in ${i} out ${o}`);
    }
  });
});

