import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { initBackend } from '../../src/compute/backend.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { digitsNetwork } from '../../src/compute/demo-model.js';
import { memoryModel } from '../../src/formats/memory.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { webActivations } from '../../src/web/activations.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { runCli } from '../helpers/cli.js';
import { fixture, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';
import { axeViolations, browserSkip, freshClient, launchChromium, pngPixels, type AxeFinding } from './browser-helpers.js';

const skip = browserSkip();
const TM = fixture('11_tfjs_teachable_machine', 'model.json');
const PHOTO = join(ROOT, '..', 'shared', 'images', 'chelsea.png');
const PHOTOS = join(ROOT, '..', 'shared', 'images');
/** Teachable Machine's metadata.json: the class names the page must show (the outside oracle for the labels). */
const tmLabels = (): string[] => (JSON.parse(readFileSync(fixture('11_tfjs_teachable_machine', 'metadata.json'), 'utf8')) as { labels: string[] }).labels;

/**
 * The viewer's "what it detects" tab and the report's section, driven in Chromium at 1400x900: the
 * demo's digits CNN (seeded as the demo builds it) for maximize and dataset examples over the 1,797
 * digits, the Teachable Machine MobileNet (fixture 11) for Grad-CAM of a photograph with its class
 * names, a model without an architecture for the sentence saying why nothing runs. The ranking and
 * attribution maths have their own oracles (test/analyze); here the page must show them, in the URL,
 * cancellable, cached, by keyboard, with no serious accessibility violation.
 */
describe('"what it detects": the viewer tab and the report section', { skip }, () => {
  let browser: Browser;
  let server: RunningServer;
  let page: Page;
  let dir: string;
  let digitsPath: string;
  const models: Model[] = [];
  const axe: Record<string, AxeFinding[]> = {};
  /** Parts the page asked the server to compute (POSTs to .../detects), and the jobs they started. */
  const started: string[] = [];
  const jobs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-detects-'));
    await initBackend();
    const net = await digitsNetwork();
    await saveCheckpoint(net, join(dir, 'digits'));
    net.dispose();
    digitsPath = join(dir, 'digits', 'model.json');
    const bare = memoryModel({
      source: 'weights-without-architecture.weights.h5',
      format: 'keras-weights-h5',
      framework: 'keras',
      layers: [{ name: 'conv1', className: 'Conv2D', kind: 'conv', weights: [{ role: 'kernel', tensor: new NamedTensor(['kh', 'kw', 'in', 'out'], [3, 3, 1, 4], new Float32Array(36).fill(0.1)) }] }],
    });
    models.push(await openModel(digitsPath), await openModel(TM), bare);
    const names = ['digits', 'teachable', 'bare'];
    if (!needsPython('torch').skip) {
      // A small classifier exported by torch itself: the tab on ONNX Runtime.
      runPython(
        'import sys, torch, torch.nn as nn\ntorch.manual_seed(0)\n' +
          'm = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4)).eval()\n' +
          'torch.onnx.export(m, torch.randn(1, 3, 32, 32), sys.argv[1], input_names=["x"], output_names=["y"])\n',
        [join(dir, 'tiny.onnx')],
      );
      models.push(await openModel(join(dir, 'tiny.onnx')));
      names.push('tiny.onnx');
    }
    server = await startServer({ models, names, assetDir: await freshClient(), port: 0, ...webActivations(['digits', `folder:${PHOTOS}`]) });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().includes('/detects?')) started.push(new URL(r.url()).searchParams.get('part')!);
    });
    page.on('response', (r) => {
      if (r.request().method() === 'POST' && r.url().includes('/detects?')) void r.json().then((b: { job: string }) => jobs.push(b.job), () => undefined);
    });
    console.log(`screenshots in ${dir}`);
  });

  after(async () => {
    console.log(`axe serious/critical violations per view: ${JSON.stringify(Object.fromEntries(Object.entries(axe).map(([k, v]) => [k, v.length])))}`);
    await browser?.close();
    await server?.close();
    for (const m of models) m.close();
  });

  async function result(part: string): Promise<{ lines: string[]; picture: Uint8Array; alt: string }> {
    await page.waitForSelector(`[data-testid=detects-result][data-part=${part}]:not(.stale)`, { timeout: 120_000 });
    const shown = await page.$eval('[data-testid=detects-result]', (el) => ({
      lines: Array.from(el.querySelectorAll('.detects-text p')).map((p) => p.textContent ?? ''),
      src: el.querySelector('img')!.getAttribute('src')!,
      alt: el.querySelector('img')!.getAttribute('alt')!,
    }));
    assert.match(shown.src, /^data:image\/png;base64,/);
    return { lines: shown.lines, picture: Buffer.from(shown.src.split(',')[1]!, 'base64'), alt: shown.alt };
  }

  async function checkAxe(view: string): Promise<void> {
    axe[view] = await axeViolations(page);
    assert.deepEqual(axe[view], [], `${view}: ${JSON.stringify(axe[view], null, 1)}`);
  }

  it('ranks the digits for the chosen layer and filter window, keeps the choice in the URL, and answers Back from its cache', async () => {
    await page.goto(`${server.url}?tab=detects&part=examples&layer=conv_2`);
    const first = await result('examples');
    assert.match(first.lines[0]!, /^All 1797 images of digits ranked for each of the 32 filters by the max of its output over the 4x4 positions; pixels fed as unit/);
    assert.match(first.alt, /^top 6 digits images per filter of conv_2/);
    const grid = pngPixels(first.picture);
    assert.ok(grid.width > 300 && grid.height > 8 * 40, `an 8-row grid, drawn ${grid.width}x${grid.height}`);
    assert.equal(await page.inputValue('[data-testid=detects-filters]'), '0');
    await page.selectOption('[data-testid=detects-filters]', '8');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('filter') === '8');
    const second = await result('examples');
    assert.notDeepEqual(second.picture, first.picture);
    const asked = started.length;
    await page.goBack();
    await page.waitForFunction(() => new URL(location.href).searchParams.get('filter') === null);
    const back = await result('examples');
    assert.deepEqual(back.picture, first.picture);
    assert.equal(started.length, asked, 'Back to a result already computed asks the server again');
    await page.screenshot({ path: join(dir, 'digits-examples.png'), fullPage: true });
    await checkAxe('dataset examples');
  });

  it('optimises images on request with progress, and the objective rises', async () => {
    await page.goto(`${server.url}?tab=detects&part=maximize&layer=conv_2`);
    await page.waitForSelector('[data-testid=detects-press-run]');
    await page.selectOption('[data-testid=detects-steps]', '32');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('steps') === '32');
    await page.click('[data-testid=detects-run]');
    const shown = await result('maximize');
    assert.match(shown.lines[0]!, /^8 images of 8x8, one per filter, each optimised 32 steps/);
    const [, early, final] = /Mean channel objective: ([-\d.e]+) over the first tenth of the steps, ([-\d.e]+) on the final images/.exec(shown.lines[1]!)!;
    assert.ok(Number(final) > Number(early), `the objective rose: ${early} -> ${final}`);
    await page.screenshot({ path: join(dir, 'digits-maximize.png'), fullPage: true });
    await checkAxe('maximize');
  });

  it('cancels a run (SmoothGrad on the MobileNet, 25 passes) at its next pass, says so, and cancels it too when the tab is left', async () => {
    const cancel = (): Promise<void> => page.$eval('[data-testid=detects-cancel]', (b) => (b as HTMLButtonElement).click());
    const jobState = async (job: string): Promise<string> => ((await (await fetch(`${server.url}api/jobs/${job}`)).json()) as { state: string }).state;
    const first = jobs.length;
    await page.goto(`${server.url}?model=1&tab=detects&part=attribution&sample=cat.jpg&method=smoothgrad`);
    await page.waitForSelector('[data-testid=detects-cancel]:not([hidden])');
    while (jobs.length === first) await new Promise((r) => setTimeout(r, 20));
    await cancel();
    await page.waitForFunction(() => document.querySelector('[data-testid=detects-message]')?.textContent?.startsWith('cancelled'));
    assert.equal(await page.$('[data-testid=detects-result]'), null);
    assert.equal(await page.isHidden('[data-testid=detects-cancel]'), true);
    assert.equal(await jobState(jobs.at(-1)!), 'cancelled');
    // Leaving the tab cancels a run in progress too.
    const before = jobs.length;
    await page.click('[data-testid=detects-run]');
    while (jobs.length === before) await new Promise((r) => setTimeout(r, 20));
    await page.$eval('[data-tab=layers]', (b) => (b as HTMLButtonElement).click());
    let state = '';
    for (let i = 0; i < 50 && state !== 'cancelled'; i++) {
      state = await jobState(jobs.at(-1)!);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state, 'cancelled');
  });

  it("explains a photograph with Grad-CAM on the Teachable Machine model, naming its classes from metadata.json; the class picker re-runs", async () => {
    await page.goto(`${server.url}?model=1&tab=detects&part=attribution&sample=cat.jpg`);
    const shown = await result('attribution');
    assert.match(shown.alt, /^Grad-CAM of class 2 'Poes' at layer out_relu; score = /);
    assert.match(shown.lines[0]!, /cat\.jpg centre crop \(resized to \d+x\d+, the centre 224x224 kept\), the default for a Teachable Machine image model, [^;]+; pixels fed as symmetric/);
    const options = await page.$$eval('[data-testid=detects-class] option', (o) => o.map((x) => x.textContent));
    assert.deepEqual(options, ['the top class', ...tmLabels().map((l, i) => `${i}: ${l}`)]);
    assert.equal(await page.textContent('[data-testid=detects-top] tr.selected td:nth-child(2)'), tmLabels()[2]);
    const overlay = pngPixels(shown.picture);
    assert.ok(overlay.width >= 3 * 224, `three panels of the 224 px input, drawn ${overlay.width} px wide`);
    await page.screenshot({ path: join(dir, 'tm-gradcam.png'), fullPage: true });
    await checkAxe('attribution');
    await page.selectOption('[data-testid=detects-class]', '0');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('class') === '0');
    const other = await result('attribution');
    assert.match(other.alt, new RegExp(`^Grad-CAM of class 0 '${tmLabels()[0]}'`));
  });

  it('is reached and driven by the keyboard', async () => {
    await page.goto(`${server.url}?tab=layers`);
    await page.waitForSelector('[data-tab=detects]');
    await page.focus('[data-tab=detects]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.part-buttons button[data-part=examples]');
    await page.focus('.part-buttons button[data-part=examples]');
    await page.keyboard.press('Enter');
    await result('examples');
    assert.equal(new URL(page.url()).searchParams.get('part'), 'examples');
  });

  it('says in a sentence, in the page’s own words, why a model without an architecture can show none of it', async () => {
    await page.goto(`${server.url}?model=2&tab=detects&part=examples`);
    await page.waitForSelector('[data-testid=detects-why]:not([hidden])');
    const why = (await page.textContent('[data-testid=detects-why]'))!;
    assert.match(why, /holds weights but no architecture, so convscope cannot run it/);
    assert.match(why, /\(open it with its architecture: start the viewer as `convscope serve <weights> --config arch\.json`/, 'the served page says how to give the architecture here');
    assert.equal(await page.isDisabled('[data-testid=detects-run]'), true);
  });

  it('a data set of the wrong size is said once, in the panel, naming the model by its file name', async () => {
    await page.goto(`${server.url}?model=1&tab=detects&part=examples`);
    await page.waitForSelector('[data-testid=detects-message].error');
    const said = (await page.textContent('[data-testid=detects-message]'))!;
    // digits are 8x8 grey (sklearn's load_digits); fixture 11's model.json declares a [null, 224, 224, 3] input.
    assert.match(said, /^The data set digits holds 8x8 grey images, but model\.json takes 224x224 RGB images; .*\(to rank another, start the viewer as `convscope serve <file> --examples-data folder:<dir>`\)$/);
    assert.ok(!said.includes(TM) && !said.includes('/'), said);
    assert.doesNotMatch((await page.textContent('#status')) ?? '', /data set digits/, 'the header repeats the panel');
  });

  it("report: the section's notes name their setting, on the command line and on the page, and no absolute path is written", async () => {
    const out = join(dir, 'tm-report.html');
    const r = await runCli(['report', TM, '--detects-steps', '1', '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^note: No dataset examples in this report: The data set digits holds 8x8 grey images, but model\.json takes 224x224 RGB images; .* \(--detects-data <spec>\)$/m);
    assert.match(r.stdout, /^note: No attribution in this report: the report was made without a photograph to explain\. \(--image <file>\)$/m);
    const html = readFileSync(out, 'utf8');
    assert.ok(!html.includes(dirname(TM)), 'the report names the model by its file name');
    const offline = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await offline.goto(`${pathToFileURL(out).href}#tab=detects&part=examples`);
      await offline.waitForSelector('[data-testid=detects-notes] li');
      const notes = await offline.$$eval('[data-testid=detects-notes] li', (li) => li.map((l) => l.textContent ?? ''));
      assert.ok(
        notes.some((n) => /^No dataset examples in this report: The data set digits holds .* \(make the report with `convscope report <file> --detects-data folder:<dir>`\)$/.test(n)),
        notes.join('\n'),
      );
    } finally {
      await offline.close();
    }
  });

  it('an ONNX model gets attribution and maximize on ONNX Runtime, its layers named as the activations view names them, and dataset examples over a folder of photographs (an export with a fixed batch of 1)', needsPython('torch'), async () => {
    await page.goto(`${server.url}?model=3&tab=detects&part=attribution&sample=cat.jpg`);
    const shown = await result('attribution');
    assert.match(shown.alt, /^Grad-CAM of class \d at layer \/4\/Relu; score = /);
    assert.match(shown.lines[0]!, /cat\.jpg centre crop \(resized to \d+x\d+, the centre 32x32 kept\), the default for an ONNX model, [^;]+; pixels fed as torchvision .*; ran on ONNX Runtime\.$/);
    // torch names the two ReLUs /1/Relu and /4/Relu (their places in the Sequential); the last one is Grad-CAM's default
    assert.deepEqual(await page.$$eval('[data-testid=detects-layer] option', (o) => o.map((x) => x.textContent)), ['/0/Conv', '/1/Relu', '/2/MaxPool', '/3/Conv', '/4/Relu']);
    await page.click('.part-buttons button[data-part=maximize]');
    await page.waitForSelector('[data-testid=detects-press-run]');
    assert.equal(await page.isHidden('[data-testid=detects-why]'), true);
    await page.selectOption('[data-testid=detects-steps]', '32');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('steps') === '32');
    await page.click('[data-testid=detects-run]');
    const max = await result('maximize');
    assert.equal(max.alt, 'images that maximise each filter of /4/Relu (channel objective)');
    assert.match(max.lines[0]!, /^8 images of 32x32, one per filter, each optimised 32 steps .* pixels fed as torchvision .*; the network's gradient ran on ONNX Runtime\.$/);
    const [, early, final] = /Mean channel objective: ([-\d.e]+) over the first tenth of the steps, ([-\d.e]+) on the final images/.exec(max.lines[1]!)!;
    assert.ok(Number(final) > Number(early), `the objective rose: ${early} -> ${final}`);
    await page.screenshot({ path: join(dir, 'onnx-maximize.png'), fullPage: true });
    // a link naming the layer by its PyTorch module path, as the CLI takes it, opens that node ('1' is /1/Relu); it was
    // said to have no spatial output and the default layer was shown instead
    await page.goto(`${server.url}?model=3&tab=detects&part=maximize&layer=1&steps=8`);
    await page.waitForSelector('[data-testid=detects-layer]');
    assert.equal(await page.inputValue('[data-testid=detects-layer]'), '/1/Relu');
    assert.equal(await page.inputValue('[data-testid=detects-steps]'), '8', 'the steps menu says the count the link runs (it showed 32)');
    assert.equal(await page.$('[data-testid=detects-layer-note]'), null);
    await page.goto(`${server.url}?model=3&tab=detects&part=examples&layer=/1/Relu&data=1`);
    const examples = await result('examples');
    assert.equal(examples.alt, `top 5 folder:${PHOTOS} images per filter of /1/Relu (max over positions)`, "a folder of 5 photographs ranks 5 per filter, not the 6 asked for");
    assert.match(examples.lines[0]!, /^All 5 images of folder:.* ranked for each of the 8 filters by the max of its output over the 32x32 positions; pixels fed as torchvision/);
    assert.match(examples.lines[1]!, /each crop is the receptive field \(3x3 px\) of the strongest position in that image, and the number is the score; the network ran on ONNX Runtime\.$/);
    // the report takes the layer as maximize and activations do (torch's module path '4' is the node /4/Relu)
    const out = join(dir, 'tiny-report.html');
    const r = await runCli(['report', join(dir, 'tiny.onnx'), '--detects-layer', '4', '--detects-steps', '2', '--detects-data', `folder:${PHOTOS}`, '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /images that maximise each filter of \/4\/Relu \(channel objective\)/);
    assert.ok(html.includes(`top 3 folder:${PHOTOS} images per filter of /4/Relu (max over positions)`), 'the report ranks the ONNX layer over the photographs');
  });

  it('report: the section (maximize, examples, Grad-CAM of its photograph) opens offline within the size budget', async () => {
    const out = join(dir, 'report.html');
    const r = await runCli(['report', digitsPath, '--image', PHOTO, '--out', out], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const modelBytes = statSync(join(dir, 'digits', 'weights.bin')).size + statSync(digitsPath).size;
    assert.ok(statSync(out).size <= modelBytes + 5 * 1024 * 1024, `report ${statSync(out).size} bytes, model ${modelBytes}`);
    const blocked: string[] = [];
    const offline = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await offline.route('**/*', (route) => {
      if (route.request().url() === pathToFileURL(out).href) return route.continue();
      blocked.push(route.request().url());
      return route.abort();
    });
    try {
      for (const [part, pattern] of [
        ['maximize', /^4 images of 8x8, one per filter, each optimised 32 steps/],
        ['examples', /^All 1797 images of digits ranked for each of the 32 filters/],
        ['attribution', /^chelsea\.png stretched to 8x8 \(aspect ratio not kept\), the default for a Keras, TF\.js or TensorFlow model/],
      ] as const) {
        await offline.goto(`${pathToFileURL(out).href}#tab=detects&part=${part}`);
        await offline.waitForSelector(`[data-testid=detects-result][data-part=${part}]`);
        assert.match((await offline.textContent('.detects-text p'))!, pattern);
        await offline.screenshot({ path: join(dir, `report-${part}.png`), fullPage: true });
      }
      axe['report section'] = await axeViolations(offline);
      assert.deepEqual(axe['report section'], []);
      assert.deepEqual(blocked, []);
    } finally {
      await offline.close();
    }
  });
});
