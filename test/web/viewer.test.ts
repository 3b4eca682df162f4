import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import type { Browser, Page } from 'playwright-core';
import { memoryModel } from '../../src/formats/memory.js';
import type { Model } from '../../src/model/model.js';
import { openModel } from '../../src/formats/open.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { webActivations } from '../../src/web/activations.js';
import { projectModels, projectRuns } from '../../src/web/project.js';
import { numpyTimeline, writeWatchDir } from '../helpers/watch-dir.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { fixture, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { axeViolations, browserSkip, canvasPixels, changedCheckpoint, DIGITS_H5, exportTorchvisionOnnx, freshClient, launchChromium, type AxeFinding } from './browser-helpers.js';

const skip = browserSkip();
const TM = fixture('11_tfjs_teachable_machine', 'model.json');

/** Seeded values in [-1, 1): the test's own data, so it is the oracle for every value the page shows. */
function values(n: number, seed: string): Float32Array {
  const random = seedrandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

/**
 * A model with the shapes that broke the viewer: an RGB first convolution, a wide 3x3 layer with 512
 * input channels and 512 filters, and a Dense kernel too big to send to the page.
 */
function wideModel(): { model: Model; wide: Float32Array; dense: Float32Array } {
  const rgb = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 3, 8], values(3 * 3 * 3 * 8, 'rgb'));
  const wideData = values(3 * 3 * 512 * 512, 'wide');
  const wide = new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 512, 512], wideData);
  const denseData = values(4200 * 1024, 'dense');
  const dense = new NamedTensor(['in', 'units'], [4200, 1024], denseData);
  const model = memoryModel({
    source: 'wide_network_with_a_long_file_name_to_test_clipping.h5',
    format: 'keras-h5',
    framework: 'keras',
    layers: [
      { name: 'rgb_conv', className: 'Conv2D', kind: 'conv', weights: [{ role: 'kernel', tensor: rgb }] },
      { name: 'block5_conv3_with_a_rather_long_layer_name', className: 'Conv2D', kind: 'conv', weights: [{ role: 'kernel', tensor: wide }] },
      { name: 'fc1', className: 'Dense', kind: 'dense', weights: [{ role: 'kernel', tensor: dense }] },
    ],
  });
  return { model, wide: wideData, dense: denseData };
}

/** A weights-only h5 (what model.save_weights writes) of the digit recognizer, written with h5py. */
function weightsOnly(dir: string): string {
  const out = join(dir, 'weights-only.h5');
  runPython(
    'import sys, h5py\nsrc = h5py.File(sys.argv[1], "r")["model_weights"]\nwith h5py.File(sys.argv[2], "w") as f:\n' +
      '    for k in src: src.file.copy(src[k], f, name=k)\n    for k, v in src.attrs.items(): f.attrs[k] = v\n',
    [DIGITS_H5, out],
  );
  return out;
}

/** Keras's kernel[kh, kw, c, f] of a [3, 3, 512, 512] kernel stored row-major. */
function wideAt(data: Float32Array, kh: number, kw: number, c: number, f: number): number {
  return data[((kh * 3 + kw) * 512 + c) * 512 + f]!;
}

describe('viewer: honest colours, state in the URL, wide layers, keyboard, many models, accessibility', { skip }, () => {
  let browser: Browser;
  let server: RunningServer;
  let empty: RunningServer;
  let project: RunningServer;
  let projectDir: string;
  let page: Page;
  let shots: string;
  let wide: Float32Array;
  let dense: Float32Array;
  const models: Model[] = [];
  const opened: Model[] = [];
  const axe: Record<string, AxeFinding[]> = {};

  before(async () => {
    shots = mkdtempSync(join(tmpdir(), 'convscope-viewer-'));
    const assetDir = await freshClient();
    const w = wideModel();
    wide = w.wide;
    dense = w.dense;
    models.push(await openModel(DIGITS_H5), await openModel(changedCheckpoint(shots)), w.model, await openModel(TM));
    weightsOnly(shots);
    server = await startServer({ models, names: ['digits.h5', 'digits-changed.h5', 'wide.h5', 'teachable/model.json'], assetDir, port: 0, ...webActivations() });
    empty = await startServer({ models: [], assetDir, port: 0 });
    // A project folder as `serve DIR` sees it: a model file and a train --watch run of 7 snapshots.
    projectDir = join(shots, 'project');
    await writeWatchDir(join(projectDir, 'run1'));
    copyFileSync(DIGITS_H5, join(projectDir, 'digits.h5'));
    const entries = await projectModels(projectDir);
    for (const e of entries) opened.push(await openModel(e.path));
    project = await startServer({ models: opened, names: entries.map((e) => e.name), runs: await projectRuns(entries), assetDir, port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    console.log(`screenshots in ${shots}`);
  });

  after(async () => {
    console.log(`axe serious/critical violations per view: ${JSON.stringify(Object.fromEntries(Object.entries(axe).map(([k, v]) => [k, v.length])))}`);
    await browser?.close();
    await server?.close();
    await empty?.close();
    await project?.close();
    for (const m of [...models, ...opened]) m.close();
  });

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  }

  async function checkAxe(view: string): Promise<void> {
    axe[view] = await axeViolations(page);
    assert.deepEqual(axe[view], [], `${view}: ${JSON.stringify(axe[view], null, 1)}`);
  }

  it('keeps the view in the URL: a link opens it, reload keeps it, Back returns to the previous choice', async () => {
    await page.goto(`${server.url}?layer=conv2d&filter=7`);
    await page.waitForSelector('[data-testid=expression]');
    assert.equal(await page.textContent('[data-testid=expression]'), 'kernel[:, :, 0, 7]');
    assert.equal(await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer'), 'conv2d');
    await page.click('[data-testid=layer-list] tr[data-layer="conv2d_1"]');
    await page.waitForSelector('[data-testid=filter-grid] .tile[data-filter="14"]');
    assert.equal(new URL(page.url()).searchParams.get('layer'), 'conv2d_1');
    await page.goBack();
    await page.waitForFunction(() => document.querySelector('[data-testid=expression]')?.textContent === 'kernel[:, :, 0, 7]');
    assert.equal(await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer'), 'conv2d');
    await page.selectOption('[data-testid=control-colormap]', 'viridis');
    await page.reload();
    await page.waitForSelector('[data-testid=expression]');
    assert.equal(await page.inputValue('[data-testid=control-colormap]'), 'viridis');
    assert.equal(await page.textContent('[data-testid=expression]'), 'kernel[:, :, 0, 7]');
  });

  it('colours a filter the same in the grid and in its value table, on the scale both name', async () => {
    for (const [colormap, normalize] of [['rdbu', 'shared'], ['rdbu_r', 'per-filter'], ['viridis', 'shared']] as const) {
      await page.goto(`${server.url}?layer=conv2d&filter=7&colormap=${colormap}&normalize=${normalize}`);
      await page.waitForSelector('[data-testid=filter-matrix] td');
      const cells = await page.$$eval('[data-testid=filter-matrix] tr', (trs) => trs.map((tr) => Array.from(tr.children).map((td) => getComputedStyle(td).backgroundColor)));
      const [tile] = await canvasPixels(page, '[data-testid=filter-grid] .tile[data-filter="7"] canvas');
      const cols = cells[0]!.length;
      const cell = (tile!.width - 2) / cols;
      cells.forEach((row, r) =>
        row.forEach((css, c) => {
          const x = 1 + Math.floor(c * cell + cell / 2);
          const y = 1 + Math.floor(r * cell + cell / 2);
          const at = (y * tile!.width + x) * 3;
          assert.equal(css, `rgb(${tile!.data.slice(at, at + 3).join(', ')})`, `${colormap}/${normalize}: cell [${r}, ${c}] and its tile pixel differ`);
        }),
      );
      const panelText = (await page.textContent('[data-testid=panel-colours]'))!;
      assert.match(panelText, new RegExp(`^colours: ${colormap} on ${normalize === 'shared' ? "the layer's shared scale" : "this filter's own scale"}`));
      const notes = (await page.textContent('[data-testid=grid-notes]'))!;
      assert.match(notes, new RegExp(`${colormap} on ${normalize === 'shared' ? "the layer's shared symmetric scale" : 'each tile on its own scale'}`));
    }
    await shot('colours');
    await checkAxe('layers with a filter open');
  });

  it('a layer with more input channels than shown says how to see the others, naming the channels menu as it is labelled', async () => {
    // Fixture 08's conv2d_1 kernel is (3, 3, 30, 15) in the h5 file (h5py): 30 input channels, 16 drawn as columns.
    await page.goto(`${server.url}?layer=conv2d_1`);
    await page.waitForSelector('[data-testid=filter-grid] .tile');
    assert.match((await page.textContent('[data-testid=grid-notes]'))!, /showing input channels 0-15 of 30 as columns; pick one channel, or their mean, to see the others \(choose another entry in the channels menu\)/);
    assert.match((await page.$eval('[data-testid=control-channels]', (s) => s.closest('label')?.textContent ?? ''))!, /^channels/);
  });

  it('says the colormap does not apply to an RGB composite, and disables it', async () => {
    await page.goto(`${server.url}?model=2&layer=rgb_conv`);
    await page.waitForSelector('[data-testid=filter-grid] .tile');
    assert.equal(await page.isDisabled('[data-testid=control-colormap]'), true);
    assert.match((await page.textContent('[data-testid=colormap-note]'))!, /not used by the RGB composite/);
    assert.match((await page.textContent('[data-testid=grid-notes]'))!, /RGB composite: input channels 0, 1, 2 as red, green, blue/);
    await page.selectOption('[data-testid=control-channels]', '1');
    await page.waitForFunction(() => !(document.querySelector('[data-testid=control-colormap]') as HTMLSelectElement).disabled);
  });

  it('pages a wide layer and offers every input channel; values match the kernel', async () => {
    await page.goto(`${server.url}?model=2&layer=block5_conv3_with_a_rather_long_layer_name`);
    await page.waitForSelector('[data-testid=pager]');
    assert.equal(await page.$$eval('[data-testid=grid-page] option', (o) => o.length), 8);
    assert.equal(await page.$$eval('[data-testid=filter-grid] .tile', (t) => t.length), 64);
    assert.equal(await page.$$eval('[data-testid=control-channels] option[value="511"]', (o) => o.length), 1);
    await page.selectOption('[data-testid=control-channels]', '500');
    await page.selectOption('[data-testid=grid-page]', '1');
    await page.waitForSelector('[data-testid=filter-grid] .tile[data-filter="127"]');
    const [tile] = await canvasPixels(page, '[data-testid=filter-grid] .tile[data-filter="70"] canvas');
    assert.ok(tile!.width >= 3 * 8, `a 3x3 tile of a 64-filter page is drawn ${tile!.width} px wide, not a speck`);
    await page.click('[data-testid=filter-grid] .tile[data-filter="70"]');
    await page.waitForFunction(() => document.querySelector('[data-testid=expression]')?.textContent === 'kernel[:, :, 500, 70]');
    await page.hover('[data-testid=filter-matrix] tr:nth-child(3) td:nth-child(2)');
    const readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.equal(Number(readout.split(' = ')[1]), wideAt(wide, 2, 1, 500, 70), readout);
    await shot('wide-layer');
    await checkAxe('wide layer');
  });

  it('keeps the layer list and big pictures inside the page at 1400 px', async () => {
    await page.goto(`${server.url}?model=2&layer=fc1`);
    await page.waitForSelector('[data-testid=server-grid]');
    await page.$eval('[data-testid=server-grid]', (img) => (img as HTMLImageElement).decode());
    const sizes = await page.evaluate(() => {
      const table = document.querySelector('[data-testid=layer-list]')!.getBoundingClientRect();
      const aside = document.querySelector('.layer-aside')!.getBoundingClientRect();
      return { page: document.documentElement.scrollWidth, tableRight: table.right, asideRight: aside.right, view: innerWidth };
    });
    assert.ok(sizes.page <= sizes.view, `the page is ${sizes.page} px wide in a ${sizes.view} px window`);
    assert.ok(sizes.tableRight <= sizes.asideRight + 1, `the layer table (right edge ${sizes.tableRight}) is clipped by its column (${sizes.asideRight})`);
    await shot('layout');
  });

  it('opens a unit of a big Dense kernel by URL as pages of its values, every value reachable, before drawing the picture', async () => {
    await page.goto(`${server.url}?model=2&layer=fc1&filter=5`);
    await page.waitForFunction(() => document.querySelector('[data-testid=expression]')?.textContent === 'kernel[:, 5]');
    // 4200 inputs in rows of 16, 64 rows (1024 values) a page: 5 pages; Keras kernel[i, 5] is dense[i * 1024 + 5].
    assert.equal(await page.$$eval('[data-testid=matrix-page] option', (o) => o.length), 5);
    assert.equal(await page.$$eval('[data-testid=filter-matrix] td', (td) => td.length), 1024);
    await page.hover('[data-testid=filter-matrix] tr:nth-child(2) td:nth-child(3)');
    let readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.ok(readout.startsWith('[18] = '), readout);
    assert.equal(Number(readout.split(' = ')[1]), dense[18 * 1024 + 5], readout);
    await page.selectOption('[data-testid=matrix-page]', '4');
    assert.equal(await page.$$eval('[data-testid=filter-matrix] td', (td) => td.length), 4200 - 4096);
    await page.hover('[data-testid=filter-matrix] tr:last-child td:last-child');
    readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.ok(readout.startsWith('[4199] = '), readout);
    assert.equal(Number(readout.split(' = ')[1]), dense[4199 * 1024 + 5], readout);
    await page.waitForFunction(() => ((document.querySelector('[data-testid=server-grid]') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= innerWidth), 'the values stay inside the page');
    await shot('dense-unit');
    await checkAxe('dense unit');
  });

  it('is driven by the keyboard: the layer list and the tiles take focus, arrows move, Enter opens', async () => {
    await page.goto(server.url);
    await page.waitForSelector('[data-testid=layer-list] tbody tr');
    await page.focus('[data-testid=layer-list] tbody tr');
    await page.keyboard.press('ArrowDown');
    const chosen = await page.evaluate(() => document.activeElement?.getAttribute('data-layer'));
    await page.waitForFunction((name) => new URL(location.href).searchParams.get('layer') === name, chosen);
    while ((await page.evaluate(() => document.activeElement?.getAttribute('data-layer'))) !== 'conv2d') await page.keyboard.press('ArrowDown');
    await page.waitForSelector('[data-testid=filter-grid] .tile[tabindex="0"]');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused row shows where the focus is');
    await page.focus('[data-testid=filter-grid] .tile[tabindex="0"]');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('[data-testid=expression]')?.textContent === 'kernel[:, :, 0, 2]');
    assert.equal(await page.textContent('[data-testid=hover-label]'), 'filter 2');
    await shot('keyboard');
  });

  it('activations: runs when opened, the last chosen image is shown, a preprocessing change re-runs, choices are in the URL, outputs carry class names', async () => {
    await page.goto(`${server.url}?tab=activations`);
    // Opening the tab runs the network on the first sample photograph, without a click.
    await page.waitForSelector('[data-testid=feature-maps]', { timeout: 60_000 });
    assert.match((await page.textContent('[data-testid=activation-source]'))!, new RegExp(`^${await page.$eval('[data-testid=sample-select]', (s) => (s as HTMLSelectElement).value)}`));
    await page.setInputFiles('[data-testid=image-upload]', join(ROOT, '..', 'shared', 'images', 'camera.png'));
    await page.waitForFunction(() => /^the uploaded image/.test(document.querySelector('[data-testid=activation-source]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.selectOption('[data-testid=sample-select]', 'coffee.jpg');
    await page.waitForFunction(() => /^coffee\.jpg/.test(document.querySelector('[data-testid=activation-source]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    // Whether the old result is marked out of date while the new one runs (it may be quick, so watched as it happens).
    await page.evaluate(() => {
      const seen = new MutationObserver(() => {
        if (document.querySelector('.activation-result.stale')) Object.assign(window, { sawStale: true });
      });
      seen.observe(document.body, { subtree: true, attributes: true, attributeFilter: ['class'] });
    });
    await page.selectOption('[data-testid=preprocess]', 'symmetric');
    await page.waitForFunction(() => /x \/ 127\.5 - 1/.test(document.querySelector('[data-testid=activation-source]')?.textContent ?? '') && !document.querySelector('.stale'), undefined, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { sawStale?: boolean }).sawStale), true, 'the old result was marked out of date');
    await checkAxe('activations');
    // The sample and the preprocessing are in the URL: a reload shows the same result, without a click.
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('sample'), 'coffee.jpg');
    assert.equal(url.searchParams.get('preprocess'), 'symmetric');
    await page.reload();
    await page.waitForFunction(() => /^coffee\.jpg.*x \/ 127\.5 - 1/.test(document.querySelector('[data-testid=activation-source]')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const labels = (JSON.parse(readFileSync(fixture('11_tfjs_teachable_machine', 'metadata.json'), 'utf8')) as { labels: string[] }).labels;
    await page.goto(`${server.url}?tab=activations&model=3`);
    await page.waitForSelector('[data-testid=top-outputs] td', { timeout: 90_000 });
    const rows = await page.$$eval('[data-testid=top-outputs] tr', (trs) => trs.slice(1).map((tr) => Array.from(tr.children).map((td) => td.textContent)));
    assert.equal(rows.length, labels.length);
    for (const [index, label] of rows) assert.equal(label, labels[Number(index)]);
    // auto is the model's own preprocessing, with the reason: Teachable Machine scales pixels to -1..1.
    assert.match((await page.textContent('[data-testid=activation-source]'))!, /symmetric \(x \/ 127\.5 - 1\), the default for a Teachable Machine image model/);
    await shot('activations-tm');
  });

  it('diffs any two of many models; the diagnosis says each cause once, in the framework’s words; the change has its own scale', async () => {
    await page.goto(`${server.url}?tab=diff`);
    await page.waitForSelector('[data-testid=diff-delta] .tile', { timeout: 60_000 });
    assert.equal(await page.$$eval('[data-testid=diff-before] option', (o) => o.length), 4);
    const diagnosis = await page.$$eval('[data-testid=diagnosis] li', (lis) => lis.map((li) => li.textContent ?? ''));
    assert.equal(diagnosis.filter((d) => /did not change at all while others did/.test(d)).length, 1, diagnosis.join('\n'));
    assert.match(diagnosis.join('\n'), /^4 layers \(conv2d_1, dense, dense_1 and dense_2\) did not change at all/m);
    assert.match(diagnosis.join('\n'), /layer\.trainable = False/);
    assert.match((await page.textContent('[data-testid=diff-scales]'))!, /after − before on its own scale \+-/);
    // Filter 3 was scaled by 1.5, so its change is 0.5 w: on its own scale its largest |change| reaches the colormap's ends.
    const delta = await canvasPixels(page, '[data-testid=diff-delta] .tile[data-filter="3"] canvas');
    const reds = delta[0]!.data.filter((_, i) => i % 3 === 0);
    const blues = delta[0]!.data.filter((_, i) => i % 3 === 2);
    assert.ok(Math.max(...reds) - Math.min(...reds) > 150 || Math.max(...blues) - Math.min(...blues) > 150, 'the change spans the colormap');
    await shot('diff');
    await checkAxe('diff');
    await page.selectOption('[data-testid=diff-after]', '3');
    await page.waitForFunction(() => document.querySelector('.progress') === null || /./.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 60_000 });
  });

  it('pages the diff grids like the layers tab: every one of 130 filters reachable, the changed one where it is', async () => {
    // Two checkpoints of a 130-filter conv layer; only filter 100 moved (by +0.05 on every weight).
    const base = values(3 * 3 * 4 * 130, 'many');
    const moved = Float32Array.from(base, (v, i) => (i % 130 === 100 ? v + 0.05 : v));
    const ckpt = (source: string, data: Float32Array): Model =>
      memoryModel({ source, format: 'keras-h5', framework: 'keras', layers: [{ name: 'many', className: 'Conv2D', kind: 'conv', weights: [{ role: 'kernel', tensor: new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 4, 130], data) }] }] });
    const pair = await startServer({ models: [ckpt('before.h5', base), ckpt('after.h5', moved)], assetDir: await freshClient(), port: 0 });
    try {
      await page.goto(`${pair.url}?tab=diff`);
      await page.waitForSelector('[data-testid=diff-delta] .tile[data-filter="63"]', { timeout: 60_000 });
      assert.equal(await page.$$eval('[data-testid=grid-page] option', (o) => o.length), 3);
      assert.equal(await page.textContent('[data-testid=ranked-filters] tr:nth-child(2) td:first-child'), '100');
      await page.selectOption('[data-testid=grid-page]', '1');
      await page.waitForSelector('[data-testid=diff-delta] .tile[data-filter="100"]');
      assert.equal(new URL(page.url()).searchParams.get('page'), '1');
      assert.deepEqual(await page.$$eval('[data-testid=diff-before] .tile', (t) => [t[0]!.getAttribute('data-filter'), t.length]), ['64', 64]);
      await page.hover('[data-testid=diff-delta] .tile[data-filter="100"]');
      assert.match((await page.textContent('[data-testid=diff-hover]'))!, /^filter 100: changed/);
      await shot('diff-paged');
      await checkAxe('diff, second page');
      await page.click('[data-testid=pager] button[aria-label="next page"]');
      await page.waitForSelector('[data-testid=diff-delta] .tile[data-filter="129"]');
      assert.equal(await page.$$eval('[data-testid=diff-delta] .tile', (t) => t.length), 2);
    } finally {
      await pair.close();
    }
  });

  it('draws the layer graph: the edges of the file’s architecture, zoom, attributes, a click opens the layer', async () => {
    const config = JSON.parse(runPython('import sys, h5py\nprint(h5py.File(sys.argv[1], "r").attrs["model_config"])', [DIGITS_H5])) as { config: { layers: { config: { name: string } }[] } };
    const chain = config.config.layers.map((l) => l.config.name);
    await page.goto(`${server.url}?tab=graph`);
    await page.waitForSelector('[data-testid=graph] g.node');
    const nodes = await page.$$eval('[data-testid=graph] g.node', (gs) => gs.map((g) => g.getAttribute('data-layer')));
    assert.deepEqual(nodes.filter((n) => chain.includes(n!)), chain, 'every layer of the architecture, in order');
    assert.equal(await page.$$eval('[data-testid=graph] path.edge', (p) => p.length), nodes.length - 1, 'a Sequential model is one chain');
    const width = Number(await page.getAttribute('[data-testid=graph]', 'width'));
    await page.click('[data-testid=zoom-in]');
    assert.equal(Number(await page.getAttribute('[data-testid=graph]', 'width')), width * 1.25);
    await page.hover('g.node[data-layer="conv2d"]');
    assert.match((await page.textContent('[data-testid=graph-details]'))!, /Conv2D.*kernel \(5, 5, 1, 30\) \[kh, kw, in, out\].*filters30/s);
    await page.focus('g.node[data-layer="conv2d"]');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-layer')), chain[chain.indexOf('conv2d') + 1]);
    await shot('graph');
    await checkAxe('graph');
    await page.click('g.node[data-layer="conv2d"]');
    await page.waitForSelector('[data-testid=filter-grid] .tile');
    assert.equal(new URL(page.url()).searchParams.get('tab'), null);
    assert.equal(await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer'), 'conv2d');
    await page.goto(`${server.url}?tab=graph&model=3`);
    await page.waitForSelector('[data-testid=graph] g.node');
    // Every label inside its box (measured as drawn); a shortened one keeps the full name in the node's tooltip.
    const labels = await page.$$eval('[data-testid=graph] g.node', (gs) =>
      gs.map((g) => ({
        layer: g.getAttribute('data-layer')!,
        label: g.querySelector('title')!.textContent!,
        box: Number(g.querySelector('rect')!.getAttribute('width')),
        texts: Array.from(g.querySelectorAll('text'), (t) => ({ text: t.textContent!, width: (t as SVGTextElement).getBBox().width })),
      })),
    );
    for (const l of labels) {
      for (const t of l.texts) assert.ok(t.width <= l.box - 10, `'${t.text}' (${t.width.toFixed(0)} px) overflows its ${l.box} px box`);
      assert.ok(l.label.startsWith(`${l.layer} (`), l.label);
    }
    const shortened = labels.filter((l) => l.texts[0]!.text.includes('…'));
    assert.ok(shortened.some((l) => l.layer === 'expanded_conv_depthwise_relu'), 'the longest MobileNet names are shortened');
    for (const l of shortened) {
      const [head, tail] = l.texts[0]!.text.split('…') as [string, string];
      assert.ok(l.layer.startsWith(head) && l.layer.endsWith(tail) && tail.length > 0, `${l.texts[0]!.text} for ${l.layer}`);
    }
    assert.equal(new Set(labels.map((l) => l.texts[0]!.text)).size, labels.length, 'shortened labels still tell the layers apart');
    await shot('graph-mobilenet');
    await checkAxe('graph of a nested model');
  });

  it('draws every operator of an ONNX graph with its attributes and tensors; its edges are the ones onnx reads; a weighted one opens its layer', { skip: needsPython('torch', 'torchvision', 'onnx').skip }, async () => {
    const file = join(shots, 'resnet18.onnx');
    const oracle = exportTorchvisionOnnx(file);
    const onnxModel = await openModel(file);
    const graphServer = await startServer({ models: [onnxModel], assetDir: await freshClient(), port: 0 });
    try {
      await page.goto(`${graphServer.url}?tab=graph`);
      await page.waitForSelector('[data-testid=graph] g.node');
      const drawn = await page.$$eval('[data-testid=graph] g.node', (gs) => gs.map((g) => g.getAttribute('data-layer')!));
      assert.deepEqual([...drawn].sort(), oracle.nodes);
      const edges = await page.$$eval('[data-testid=graph] path.edge', (ps) => ps.map((p) => [p.getAttribute('data-from')!, p.getAttribute('data-to')!] as [string, string]));
      assert.deepEqual(edges.sort(), oracle.edges);
      const ops = new Set(Object.values(oracle.ops));
      for (const op of ['Conv', 'Relu', 'Add', 'MaxPool', 'Gemm']) assert.ok(ops.has(op), `the export has ${op}`);
      const add = Object.keys(oracle.ops).find((n) => oracle.ops[n] === 'Add')!;
      await page.focus(`g.node[data-layer="${add}"]`);
      const addText = (await page.textContent('[data-testid=graph-details]'))!;
      assert.match(addText, /Add/);
      assert.match(addText, /input 1/);
      assert.doesNotMatch(addText, /open this layer|open layer/);
      await page.keyboard.press('Enter');
      assert.equal(new URL(page.url()).searchParams.get('tab'), 'graph', 'an operator without weights opens nothing');
      const conv = Object.keys(oracle.ops).find((n) => oracle.ops[n] === 'Conv')!;
      await page.hover(`g.node[data-layer="${conv}"]`);
      const convText = (await page.textContent('[data-testid=graph-details]'))!;
      assert.match(convText, /kernel_shape\[7,7\]/);
      assert.match(convText, /\(64, 3, 7, 7\)/);
      await shot('graph-onnx');
      await checkAxe('ONNX graph');
      await page.click(`g.node[data-layer="${conv}"]`);
      await page.waitForSelector('[data-testid=filter-grid] .tile');
      const opened = await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer');
      const layer = onnxModel.layers.find((l) => l.name === opened)!;
      assert.ok(layer.weights.some((w) => w.shape.join() === '64,3,7,7'), `${opened} holds the 64x3x7x7 kernel`);
    } finally {
      await graphServer.close();
      onnxModel.close();
    }
  });

  it('serves a folder as a project; a training run gets a time slider over its snapshots, values per step as NumPy reads them', async () => {
    await page.goto(project.url);
    await page.waitForSelector('[data-testid=model-select]');
    const names = await page.$$eval('[data-testid=model-select] option', (o) => o.map((x) => x.textContent));
    assert.equal(names.length, 8);
    assert.equal(names[0], 'digits.h5');
    assert.match(names[1]!, /^run1\/step-\d{6}\.safetensors$/);
    const np = numpyTimeline(join(projectDir, 'run1'));
    await page.goto(`${project.url}?model=1&layer=conv1&filter=0`);
    await page.waitForSelector('[data-testid=run-slider]');
    assert.equal(await page.getAttribute('[data-testid=run-slider]', 'max'), '6');
    await page.$eval('[data-testid=run-slider]', (el) => {
      const input = el as HTMLInputElement;
      input.value = '6';
      input.dispatchEvent(new Event('input'));
      input.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => new URL(location.href).searchParams.get('model') === '7');
    assert.match((await page.textContent('[data-testid=run-step]'))!, new RegExp(`^step ${np.steps[6]} \\(7 of 7\\)`));
    await page.waitForSelector('[data-testid=filter-matrix]');
    assert.equal(new URL(page.url()).searchParams.get('layer'), 'conv1', 'the layer and filter stay as the step changes');
    await page.hover('[data-testid=filter-matrix] tr:nth-child(1) td:nth-child(1)');
    const readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.equal(Number(readout.split(' = ')[1]), np.conv1[6]![0]![0]![0]![0], readout);
    await page.click('.run-charts summary');
    await page.waitForFunction(() => ((document.querySelector('[data-testid=run-change-chart]') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0);
    // The relative-change chart marks the step shown.
    const chart = await page.evaluate(async () => (await fetch((document.querySelector('[data-testid=run-change-chart]') as HTMLImageElement).src)).text());
    assert.match(chart, new RegExp(`<line class="marker" data-step="${np.steps[6]}"`));
    // Histograms over the steps: conv1's kernel at every snapshot on 40 shared bins, as np.histogram counts them.
    await page.waitForSelector('[data-testid=run-histograms] path.ridge');
    const ridges = await page.$$eval('[data-testid=run-histograms] path.ridge', (ps) => ps.map((p) => ({ step: Number(p.getAttribute('data-step')), counts: p.getAttribute('data-counts')!.split(' ').map(Number), current: p.classList.contains('current') })));
    const expected = JSON.parse(
      runPython(
        'import json, sys, numpy as np\nks = [np.array(k, dtype=np.float64) for k in json.load(sys.stdin)]\n' +
          'lo = min(k.min() for k in ks); hi = max(k.max() for k in ks)\nprint(json.dumps([np.histogram(k, bins=40, range=(lo, hi))[0].tolist() for k in ks]))',
        [],
        JSON.stringify(np.conv1),
      ),
    ) as number[][];
    assert.deepEqual(ridges.map((r) => r.step), np.steps);
    assert.deepEqual(ridges.map((r) => r.counts), expected);
    assert.deepEqual(ridges.filter((r) => r.current).map((r) => r.step), [np.steps[6]]);
    await shot('run');
    await checkAxe('training run');
  });

  it('reads dropped files in the page, opens another without reloading, and says what to do in its own terms', async () => {
    await page.goto(empty.url);
    await checkAxe('drop zone');
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));
    await page.setInputFiles('[data-testid=model-file]', DIGITS_H5);
    await page.waitForSelector('[data-testid=layer-list] tr[data-layer="conv2d"]', { timeout: 60_000 });
    const tfjs = fixture('08_xfmt_keras2h5_tfjs', 'model');
    await page.setInputFiles('[data-testid=open-another]', [join(tfjs, 'model.json'), join(tfjs, 'group1-shard1of1.bin')]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=model-select] option').length === 2, undefined, { timeout: 60_000 });
    assert.equal(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded), true);
    assert.equal(await page.$$eval('button[data-tab=diff]', (b) => b.length), 1);
    await page.setInputFiles('[data-testid=open-another]', join(shots, 'weights-only.h5'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=model-select] option').length === 3, undefined, { timeout: 60_000 });
    const text = (await page.textContent('.layer-aside'))!;
    assert.doesNotMatch(text, /--config|--layout/, text);
    assert.match(text, /[Oo]pen it with its architecture: drop the model\.to_json\(\) file together with the weights file/);
    await shot('dropped');
  });
});
