import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { openModel } from '../../src/formats/open.js';
import { reportData, webActivations } from '../../src/web/activations.js';
import type { ActivationsView } from '../../src/web/activations-view.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { browserSkip, freshClient, launchChromium } from './browser-helpers.js';

/**
 * An ONNX model dropped on the viewer runs in the page on onnxruntime-web (served by convscope's own
 * server; nothing is uploaded). Oracle: PyTorch's logits for the same 64x64 picture (given at the
 * network's input size, so the page does not resample it) with torchvision's normalisation.
 */

const skip = browserSkip() || needsPython('torch', 'onnx', 'PIL').skip;

const EXPORT = `
import sys, json, torch, torch.nn as nn, numpy as np
from PIL import Image
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)).eval()
out = sys.argv[1]
torch.onnx.export(net, torch.zeros(1, 3, 64, 64), f'{out}/small.onnx', opset_version=13, input_names=['input'], output_names=['logits'])
image = Image.open(sys.argv[2]).convert('RGB').resize((64, 64), Image.BILINEAR)
image.save(f'{out}/photo64.png')
x = (np.asarray(image, dtype=np.float32) / 255 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
with torch.no_grad():
    logits = net(torch.from_numpy(x.astype(np.float32).transpose(2, 0, 1)[None]))[0]
print(json.dumps(logits.tolist()))
`;

describe('an ONNX model dropped on the viewer runs in the page on onnxruntime-web', { skip }, () => {
  let browser: Browser;
  let empty: RunningServer;
  let page: Page;
  let dir: string;
  let logits: number[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-onnx-web-'));
    logits = JSON.parse(runPython(EXPORT, [dir, join(ROOT, '..', 'shared', 'images', 'chelsea.png')])) as number[];
    empty = await startServer({ models: [], assetDir: await freshClient(), port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await empty?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the first convolution\'s feature maps and the top outputs PyTorch gives, without uploading anything', async () => {
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET') sent.push(r.url());
    });
    await page.goto(empty.url);
    await page.setInputFiles('[data-testid=model-file]', join(dir, 'small.onnx'));
    await page.waitForSelector('[data-testid=layer-list] tr[data-layer]', { timeout: 60_000 });
    await page.click('button[data-tab=activations]');
    await page.setInputFiles('[data-testid=image-upload]', join(dir, 'photo64.png'));
    await page.waitForSelector('[data-testid=feature-maps]', { timeout: 60_000 }).catch(async (e: Error) => {
      throw new Error(`${e.message.split('\n')[0]}; the page says: ${await page.textContent('[data-testid=activation-message]')} / ${await page.textContent('#status')}`);
    });
    assert.match((await page.textContent('.activation-maps h4'))!, /shape \(8, 64, 64\)/);
    const rows = await page.$$eval('[data-testid=top-outputs] tr', (trs) => trs.slice(1).map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent ?? '')));
    const expected = logits.map((v, i) => [i, v] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
    assert.deepEqual(rows.map((r) => Number(r[0])), expected.map((e) => e[0]));
    rows.forEach((r, i) => assert.ok(Math.abs(Number(r.at(-1)) - expected[i]![1]) <= 1e-3 * Math.max(1, Math.abs(expected[i]![1])), `${r.at(-1)} vs ${expected[i]![1]}`));
    assert.match((await page.textContent('[data-testid=activation-source]'))!, /torchvision/);
    assert.deepEqual(sent, []);
    await page.screenshot({ path: join(dir, 'onnx-in-page.png'), fullPage: true });
    assert.ok(readFileSync(join(dir, 'onnx-in-page.png')).length > 1000);
  });

  it('convscope serve / report with an ONNX model: the server hook runs it on onnxruntime-node, same top outputs as PyTorch', async () => {
    const model = await openModel(join(dir, 'small.onnx'));
    try {
      const image = readFileSync(join(dir, 'photo64.png'));
      const view = (await webActivations().activations(model, { preprocess: 'auto', resize: 'auto', image, imageName: 'photo64.png' }, () => {})) as ActivationsView;
      assert.deepEqual(view.shape, [8, 64, 64]);
      assert.match(view.preprocess, /torchvision/);
      const expected = logits.map((v, i) => [i, v] as const).sort((a, b) => b[1] - a[1]).slice(0, 5);
      assert.deepEqual(view.top.map((t) => t.index), expected.map((e) => e[0]));
      view.top.forEach((t, i) => assert.ok(Math.abs(t.score - expected[i]![1]) <= 1e-4 * Math.max(1, Math.abs(expected[i]![1]))));
      const report = await reportData([model], join(dir, 'photo64.png'));
      assert.deepEqual(report.activations.map((a) => a.shape), [[8, 64, 64], [16, 32, 32]]);
    } finally {
      model.close();
    }
  });
});
