import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython } from '../helpers/python.js';
import { axeViolations, browserSkip, canvasPixels, changedCheckpoint, DIGITS_H5, edgeGeometry, exportTorchvisionOnnx, h5pyKernelValue, launchChromium, type AxeFinding } from './browser-helpers.js';

const skip = browserSkip();

describe('convscope report: one self-contained HTML file, every view offline', { skip }, () => {
  let browser: Browser;
  let page: Page;
  let dir: string;
  let html: string;
  const blocked: string[] = [];
  /** The report files the page may load; every other request is recorded and aborted. */
  const reports = new Set<string>();
  const axe: Record<string, AxeFinding[]> = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-report-'));
    const out = join(dir, 'report.html');
    const photo = join(ROOT, '..', 'shared', 'images', 'camera.png');
    const result = await runCli(['report', DIGITS_H5, '--image', photo, '--compare', changedCheckpoint(dir), '--out', out], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^wrote .*report\.html \([\d.]+ [KM]iB in [\d.]+ s; the models' weights are [\d.]+ KiB\)/);
    html = readFileSync(out, 'utf8');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    // The network is off: every request that is not one of the report files is recorded and aborted.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (reports.has(url)) return route.continue();
      blocked.push(url);
      return route.abort();
    });
    reports.add(pathToFileURL(out).href);
    await page.goto(pathToFileURL(out).href);
    console.log(`report and screenshots in ${dir}`);
  });

  after(async () => {
    console.log(`axe serious/critical violations per report view: ${JSON.stringify(Object.fromEntries(Object.entries(axe).map(([k, v]) => [k, v.length])))}`);
    await browser?.close();
  });

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true });
  }

  /** axe-core on the report as it is now: no serious or critical violation. */
  async function checkAxe(view: string): Promise<void> {
    axe[view] = await axeViolations(page);
    assert.deepEqual(axe[view], [], `${view}: ${JSON.stringify(axe[view], null, 1)}`);
  }

  it('refers to nothing outside itself', () => {
    const outward: [RegExp, string][] = [
      [/<script[^>]+src=/i, 'an external script'],
      [/<link[^>]+href=(?!["']?data:)/i, 'a linked file'],
      [/(src|href)\s*=\s*["']?(https?:)?\/\//i, 'a network URL'],
      [/url\(\s*["']?(https?:)?\/\//i, 'a CSS url() to the network'],
      [/@import/i, 'a CSS @import'],
    ];
    for (const [pattern, what] of outward) {
      const hit = pattern.exec(html);
      assert.equal(hit, null, `the report has ${what}: ...${hit ? html.slice(Math.max(0, hit.index - 40), hit.index + 80) : ''}...`);
    }
  });

  it('renders the layer list, a conv layer grid, a filter with h5py values and the histograms', async () => {
    await page.waitForSelector('[data-testid=layer-list] tr[data-layer="conv2d"]');
    const rows = await page.$$eval('[data-testid=layer-list] tr[data-layer]', (trs) => trs.map((tr) => Array.from(tr.children, (td) => td.textContent)));
    assert.equal(rows.length, 10);
    assert.deepEqual(rows[1], ['●', 'conv2d', 'Conv2D', '(24, 24, 30)', '780']);
    await page.click('[data-testid=layer-list] tr[data-layer="conv2d"]');
    await page.waitForSelector('[data-testid=filter-grid] .tile[data-filter="29"]');
    const tiles = await canvasPixels(page, '[data-testid=filter-grid] .tile canvas');
    assert.equal(tiles.length, 30);
    await page.click('[data-testid=filter-grid] .tile[data-filter="7"]');
    await page.hover('[data-testid=filter-matrix] tr:nth-child(4) td:nth-child(5)');
    const readout = (await page.textContent('[data-testid=value-readout]'))!;
    assert.ok(readout.startsWith('[3, 4] = '), readout);
    assert.ok(Math.abs(Number(readout.split('= ')[1]) - h5pyKernelValue([3, 4, 0, 7])) <= 1e-9, readout);
    await page.waitForSelector('[data-testid=histograms] svg rect');
    await shot('report-layers');
    await checkAxe('layers');
  });

  it('opens the activations tab showing the precomputed feature maps of the image, without a click', async () => {
    await page.click('button[data-tab=activations]');
    await page.waitForSelector('[data-testid=feature-maps]');
    const width = await page.$eval('[data-testid=feature-maps]', (img) => (img as HTMLImageElement).decode().then(() => (img as HTMLImageElement).naturalWidth));
    assert.ok(width > 200);
    await page.selectOption('[data-testid=activation-layer]', 'conv2d_1');
    await page.waitForFunction(() => /shape \(10, 10, 15\)/.test(document.querySelector('.activation-maps h4')?.textContent ?? ''));
    await shot('report-activations');
    await checkAxe('activations');
  });

  it('renders the diff of the two checkpoints', async () => {
    await page.click('button[data-tab=diff]');
    await page.waitForSelector('[data-testid=diff-delta] .tile');
    const first = await page.$eval('[data-testid=ranked-layers] tr[data-layer]', (tr) => [tr.getAttribute('data-layer'), tr.children[2]!.textContent]);
    assert.deepEqual(first, ['conv2d', 'changed']);
    // The activations tab chose conv2d_1, the layer every tab shares: the most changed layer is a click away.
    await page.click('[data-testid=ranked-layers] tr[data-layer=conv2d]');
    assert.equal(await page.textContent('[data-testid=ranked-filters] tr:nth-child(2) td:first-child'), '3');
    await shot('report-diff');
    await checkAxe('diff');
  });

  it('draws the layer graph offline', async () => {
    await page.click('button[data-tab=graph]');
    await page.waitForSelector('[data-testid=graph] g.node[data-layer="conv2d"]');
    await shot('report-graph');
    await checkAxe('graph');
  });

  it("draws an ONNX model's operator graph offline: the nodes and edges onnx reads, within the size budget", { skip: needsPython('torch', 'torchvision', 'onnx').skip }, async () => {
    const file = join(dir, 'resnet18.onnx');
    const oracle = exportTorchvisionOnnx(file);
    const out = join(dir, 'resnet18-report.html');
    // The graph is what this test reads: the "what it detects" section (maximize on ResNet18, most of a minute) is left out.
    const result = await runCli(['report', file, '--detects-layer', 'none', '--out', out], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const budget = statSync(file).size + 5 * 1024 * 1024;
    assert.ok(statSync(out).size <= budget, `report ${statSync(out).size} bytes > model + 5 MiB (${budget})`);
    reports.add(pathToFileURL(out).href);
    await page.goto(pathToFileURL(out).href);
    await page.click('button[data-tab=graph]');
    await page.waitForSelector('[data-testid=graph] g.node');
    const drawn = await page.$$eval('[data-testid=graph] g.node', (gs) => gs.map((g) => g.getAttribute('data-layer')!));
    assert.deepEqual([...drawn].sort(), oracle.nodes);
    const edges = await page.$$eval('[data-testid=graph] path.edge', (ps) => ps.map((p) => [p.getAttribute('data-from')!, p.getAttribute('data-to')!] as [string, string]));
    assert.deepEqual(edges.sort(), oracle.edges);
    // Every edge stays out of every box but its two ends', and no two edges are drawn on one lane.
    assert.deepEqual(await edgeGeometry(page), { crossings: [], sharedLanes: [] });
    const conv = Object.keys(oracle.ops).find((n) => oracle.ops[n] === 'Conv')!;
    await page.hover(`g.node[data-layer="${conv}"]`);
    const convText = (await page.textContent('[data-testid=graph-details]'))!;
    assert.match(convText, /kernel_shape\[7,7\]/);
    assert.match(convText, /\(64, 3, 7, 7\)/);
    await page.screenshot({ path: join(dir, 'report-graph-onnx.png') });
    await checkAxe('ONNX graph');
  });

  it("draws a DenseNet's overlapping dense connections in separate lanes, none through a box", { skip: needsPython('torch', 'torchvision', 'onnx').skip }, async () => {
    // Two dense blocks of three layers: each layer's Concat reads the block input and every earlier layer.
    const file = join(dir, 'densenet.onnx');
    const oracle = exportTorchvisionOnnx(file, 'torchvision.models.DenseNet(growth_rate=4, block_config=(3, 3), num_init_features=8, bn_size=2, num_classes=10)', 32);
    const out = join(dir, 'densenet-report.html');
    // A small ONNX model also takes the report's "what it detects" section through ONNX Runtime's gradients (short maximize).
    const result = await runCli(['report', file, '--detects-steps', '8', '--out', out], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /No activation maximization/);
    reports.add(pathToFileURL(out).href);
    await page.goto(pathToFileURL(out).href);
    await page.click('button[data-tab=graph]');
    await page.waitForSelector('[data-testid=graph] g.node');
    const edges = await page.$$eval('[data-testid=graph] path.edge', (ps) => ps.map((p) => [p.getAttribute('data-from')!, p.getAttribute('data-to')!] as [string, string]));
    assert.deepEqual(edges.sort(), oracle.edges);
    assert.deepEqual(await edgeGeometry(page), { crossings: [], sharedLanes: [] });
    await page.screenshot({ path: join(dir, 'report-graph-densenet.png') });
  });

  it('made no network request', () => {
    assert.deepEqual(blocked, []);
  });
});
