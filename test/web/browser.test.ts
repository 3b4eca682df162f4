import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { findLayer, findWeight } from '../../src/model/lookup.js';
import type { Model } from '../../src/model/model.js';
import type { ChannelMode, Normalization } from '../../src/render/display.js';
import { filterFigure } from '../../src/render/filters.js';
import { openModel } from '../../src/formats/open.js';
import { webActivations } from '../../src/web/activations.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { fixture, ROOT } from '../helpers/fixtures.js';
import {
  browserSkip,
  canvasPixels,
  changedCheckpoint,
  DIGITS_H5,
  differingPixels,
  freshClient,
  h5pyKernelValue,
  sliceEqualsH5py,
  launchChromium,
  pngPixels,
} from './browser-helpers.js';

const skip = browserSkip();

describe('viewer end to end in chromium', { skip }, () => {
  let browser: Browser;
  let server: RunningServer;
  let empty: RunningServer;
  let page: Page;
  let shots: string;
  const models: Model[] = [];

  before(async () => {
    shots = mkdtempSync(join(tmpdir(), 'convscope-shots-'));
    const assetDir = await freshClient();
    models.push(await openModel(DIGITS_H5), await openModel(changedCheckpoint(shots)));
    server = await startServer({ models, assetDir, port: 0, ...webActivations() });
    empty = await startServer({ models: [], assetDir, port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    console.log(`screenshots in ${shots}`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await empty?.close();
    for (const m of models) m.close();
  });

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  it('draws conv layer grids with exactly the renderer PNG pixels, for several sets of options', async () => {
    await page.goto(server.url);
    const cases: [string, number, Record<string, string>][] = [
      ['conv2d', 30, {}],
      ['conv2d', 30, { colormap: 'viridis', normalize: 'per-filter', zoom: '4' }],
      ['conv2d_1', 15, {}],
      ['conv2d_1', 15, { channels: 'mean', colormap: 'coolwarm' }],
    ];
    for (const [layer, count, options] of cases) {
      if ((await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer').catch(() => null)) !== layer) {
        await page.click(`[data-testid=layer-list] tr[data-layer="${layer}"]`);
      }
      await page.waitForSelector(`[data-testid=filter-grid] .tile[data-filter="${count - 1}"]`);
      for (const [control, value] of Object.entries(options)) await page.selectOption(`[data-testid=control-${control}]`, value);
      await page.waitForSelector(`[data-testid=filter-grid] .tile[data-filter="${count - 1}"]`);
      const tiles = await canvasPixels(page, '[data-testid=filter-grid] .tile canvas');
      assert.equal(tiles.length, count);
      // The oracle: the server's grid.png (the renderer's PNG for the page's options), at the tile positions the renderer reports.
      const href = new URL((await page.getAttribute('[data-testid=grid-png]', 'href'))!, server.url);
      const figure = pngPixels(new Uint8Array(await (await fetch(href)).arrayBuffer()));
      const q = href.searchParams;
      const placements = filterFigure(await findWeight(findLayer(models[0]!, layer)).read(), {
        normalize: q.get('normalize') as Normalization,
        colormap: q.get('colormap')!,
        channels: (/^\d+$/.test(q.get('channels')!) ? Number(q.get('channels')) : q.get('channels')) as ChannelMode,
        cellPx: q.get('cell') ? Number(q.get('cell')) : undefined,
      }).info.tiles;
      tiles.forEach((tile, f) => {
        const first = placements.find((p) => p.filter === f)!;
        const mismatch = differingPixels(figure, tile, first.x - 1, first.y - 1);
        assert.equal(mismatch, 0, `${layer} filter ${f} (${JSON.stringify(options)}): ${mismatch} pixels differ from the renderer's PNG`);
      });
    }
    await page.waitForFunction(() => document.querySelector('tr[data-layer="conv2d"] td[data-col=output]')?.textContent === '(24, 24, 30)');
    await shot('grid');
    await page.click('[data-testid=layer-list] tr[data-layer="conv2d"]');
    await page.hover('[data-testid=filter-grid] .tile[data-filter="12"]');
    assert.equal(await page.textContent('[data-testid=hover-label]'), 'filter 12');
  });

  it('opens a filter and reads a value equal to h5py', async () => {
    await page.selectOption('[data-testid=control-colormap]', 'rdbu_r');
    await page.click('[data-testid=filter-grid] .tile[data-filter="7"]');
    await page.waitForSelector('[data-testid=filter-matrix]');
    assert.equal(await page.textContent('[data-testid=expression]'), 'kernel[:, :, 0, 7]');
    await page.hover('[data-testid=filter-matrix] tr:nth-child(2) td:nth-child(3)');
    const readout = (await page.textContent('[data-testid=value-readout]'))!;
    const match = /^\[1, 2\] = (.+)$/.exec(readout);
    assert.ok(match, readout);
    const oracle = h5pyKernelValue([1, 2, 0, 7]);
    assert.ok(Math.abs(Number(match[1]) - oracle) <= 1e-9, `page shows ${match[1]}, h5py reads ${oracle}`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-npy]')]);
    assert.equal(download.suggestedFilename(), 'conv2d_filter7_in0.npy');
    const saved = join(shots, 'slice.npy');
    await download.saveAs(saved);
    assert.equal(sliceEqualsH5py(saved, '[:, :, 0, 7]'), true, 'the downloaded .npy equals h5py kernel[:, :, 0, 7]');
    await page.waitForSelector('[data-testid=histograms] svg rect');
    await shot('filter');
  });

  it('uploads a photograph and shows feature maps and top outputs', async () => {
    await page.click('button[data-tab=activations]');
    await page.setInputFiles('[data-testid=image-upload]', join(ROOT, '..', 'shared', 'images', 'camera.png'));
    await page.waitForSelector('[data-testid=feature-maps]', { timeout: 60_000 });
    const size = await page.$eval('[data-testid=feature-maps]', (img) => (img as HTMLImageElement).decode().then(() => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]));
    assert.ok(size[0]! > 200 && size[1]! > 200, `feature-map grid is ${size.join(' x ')}`);
    assert.match((await page.textContent('.activation-maps h4'))!, /shape \(24, 24, 30\)/);
    assert.equal(await page.$$eval('[data-testid=top-outputs] tr', (rows) => rows.length), 6);
    await page.selectOption('[data-testid=activation-layer]', 'conv2d_1');
    await page.waitForFunction(() => /shape \(10, 10, 15\)/.test(document.querySelector('.activation-maps h4')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await shot('activations');
  });

  it('shows the diff of two checkpoints: verdicts, ranked layers and filters, before/after/delta on one scale', async () => {
    await page.click('button[data-tab=diff]');
    await page.waitForSelector('[data-testid=diff-delta] .tile', { timeout: 60_000 });
    const ranked = await page.$$eval('[data-testid=ranked-layers] tr[data-layer]', (rows) => rows.map((r) => [r.getAttribute('data-layer'), r.children[2]!.textContent]));
    assert.deepEqual(ranked[0], ['conv2d', 'changed']);
    assert.ok(ranked.slice(1).every(([, v]) => v === 'unchanged'), JSON.stringify(ranked));
    // The activations tab chose conv2d_1, the layer every tab shares: the most changed layer is a click away.
    await page.click('[data-testid=ranked-layers] tr[data-layer=conv2d]');
    const firstFilter = await page.textContent('[data-testid=ranked-filters] tr:nth-child(2) td:first-child');
    assert.equal(firstFilter, '3');
    const delta = await canvasPixels(page, '[data-testid=diff-delta] .tile canvas');
    const distinct = (p: (typeof delta)[number]): number => new Set(Array.from({ length: p.data.length / 3 }, (_, i) => p.data.slice(i * 3, i * 3 + 3).join())).size;
    // Unchanged filters are flat (frame + one neutral colour); filter 3's delta has structure.
    assert.equal(distinct(delta[0]!), 2);
    assert.ok(distinct(delta[3]!) > 5);
    await shot('diff');
  });

  it('with no model, reads a dropped file in the browser (nothing uploaded)', async () => {
    const uploads: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET') uploads.push(r.url());
    });
    await page.goto(empty.url);
    await page.setInputFiles('[data-testid=model-file]', DIGITS_H5);
    await page.waitForSelector('[data-testid=layer-list] tr[data-layer="conv2d"]', { timeout: 60_000 });
    await page.click('[data-testid=layer-list] tr[data-layer="conv2d"]');
    await page.click('[data-testid=filter-grid] .tile[data-filter="7"]');
    await page.hover('[data-testid=filter-matrix] tr:nth-child(2) td:nth-child(3)');
    const readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.ok(Math.abs(Number(readout.split('= ')[1]) - h5pyKernelValue([1, 2, 0, 7])) <= 1e-9, readout);
    await shot('dropped');
    await page.goto(empty.url);
    const tfjs = fixture('08_xfmt_keras2h5_tfjs', 'model');
    await page.setInputFiles('[data-testid=model-file]', [join(tfjs, 'model.json'), join(tfjs, 'group1-shard1of1.bin')]);
    await page.waitForSelector('[data-testid=layer-list] tr[data-layer="conv2d_1"]', { timeout: 60_000 });
    assert.match((await page.textContent('.layer-aside .facts'))!, /^model\.json: tfjs-layers \(tfjs 3\.7\.0\), 59,933 parameters/);
    await page.goto(empty.url);
    await page.setInputFiles('[data-testid=model-file]', { name: 'notes.h5', mimeType: 'application/octet-stream', buffer: Buffer.from('not a model at all') });
    await page.waitForFunction(() => document.getElementById('status')?.className === 'error');
    assert.match((await page.textContent('#status'))!, /^notes\.h5 is not a model file convscope can read/);
    assert.deepEqual(uploads, []);
  });
});
