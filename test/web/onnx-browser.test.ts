import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { openModel } from '../../src/formats/open.js';
import { reportData, webActivations } from '../../src/web/activations.js';
import type { ActivationsView } from '../../src/web/activations-view.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';
import { browserSkip, freshClient, launchChromium, pngPixels } from './browser-helpers.js';

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

  it('fits a photo of another shape exactly as the server does: an ONNX model keeps the centre (io/image-fit.ts places both)', async () => {
    // 128x64 seeded noise: the crop keeps columns 32..95 at scale 1, so no resampler touches a pixel and any offset shows.
    const random = prng(64);
    const noise = Uint8Array.from({ length: 128 * 64 * 3 }, () => Math.floor(random() * 256));
    writeFileSync(join(dir, 'wide.png'), encode({ width: 128, height: 64, channels: 3, data: noise }));
    await page.setInputFiles('[data-testid=image-upload]', join(dir, 'wide.png'));
    await page.waitForFunction(() => document.querySelector('[data-testid=activation-source]')?.textContent?.startsWith('wide.png'), undefined, { timeout: 60_000 });
    assert.match((await page.textContent('[data-testid=activation-source]'))!, /^wide\.png; centre crop \(resized to 128x64, the centre 64x64 kept\), the default for an ONNX model/);
    const inPage = pngPixels(Buffer.from((await page.getAttribute('[data-testid=activation-input]', 'src'))!.split(',')[1]!, 'base64'));
    const model = await openModel(join(dir, 'small.onnx'));
    try {
      const view = (await webActivations().activations(model, { preprocess: 'auto', resize: 'auto', image: readFileSync(join(dir, 'wide.png')), imageName: 'wide.png' }, () => {})) as ActivationsView;
      const onServer = pngPixels(Buffer.from(view.input.split(',')[1]!, 'base64'));
      const centre = Array.from({ length: 64 * 64 * 3 }, (_, i) => noise[(Math.floor(i / 192) * 128 + 32) * 3 + (i % 192)]!);
      assert.deepEqual(onServer.data, centre, 'the server keeps columns 32..95');
      assert.deepEqual(inPage.data, centre, 'the page keeps the same columns');
    } finally {
      model.close();
    }
  });

  it('a link naming a PyTorch module path opens the activations tab on that module, its menu showing the node, and keeps it when the preprocessing changes; the layers tab opens a module\'s layer', async () => {
    // torch's module '1' (the first ReLU) is the node /1/Relu; the menu said /0/Conv (its first entry) over the ReLU's maps,
    // and a change of preprocessing dropped the layer the link named.
    const model = await openModel(join(dir, 'small.onnx'));
    const served = await startServer({ models: [model], assetDir: await freshClient(), port: 0, ...webActivations() });
    try {
      await page.goto(`${served.url}?tab=activations&layer=1`);
      await page.waitForSelector('[data-testid=feature-maps]', { timeout: 60_000 });
      assert.equal(await page.inputValue('[data-testid=activation-layer]'), '/1/Relu');
      assert.equal(new URL(page.url()).searchParams.get('layer'), '1');
      await page.selectOption('[data-testid=preprocess]', 'unit');
      await page.waitForFunction(() => /unit/.test(document.querySelector('[data-testid=activation-source]')?.textContent ?? '') && !document.querySelector('.activation-result.stale'), undefined, { timeout: 60_000 });
      assert.equal(await page.inputValue('[data-testid=activation-layer]'), '/1/Relu');
      // the layers tab takes the module of a layer with weights ('3' is /3/Conv); it said there was no layer '3'
      await page.goto(`${served.url}?tab=layers&layer=3`);
      await page.waitForSelector('[data-testid=layer-list] tr.selected', { timeout: 60_000 });
      assert.equal(await page.getAttribute('[data-testid=layer-list] tr.selected', 'data-layer'), '/3/Conv');
    } finally {
      await served.close();
      model.close();
    }
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
