import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decode } from 'fast-png';
import { initBackend } from '../../src/compute/backend.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import type { ExamplesResult } from '../../src/analyze/examples.js';
import { decodeNpy } from '../../src/model/npy.js';
import { reportData, webActivations } from '../../src/web/activations.js';
import type { ActivationsView } from '../../src/web/activations-view.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures, SHARED } from '../helpers/fixtures.js';

const TM = fixture('11_tfjs_teachable_machine', 'model.json');
const PHOTO = join(SHARED, 'images', 'chelsea.png');

/** The symmetric input (x / 127.5 - 1) of a surface's "network input" picture, as the network saw it. */
function inputOf(view: ActivationsView): Float32Array {
  const png = decode(Buffer.from(view.input.replace(/^data:image\/png;base64,/, ''), 'base64'));
  assert.deepEqual([png.width, png.height], [224, 224]);
  const out = new Float32Array(224 * 224 * 3);
  for (let p = 0; p < 224 * 224; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = png.data[p * png.channels + c]! / 127.5 - 1;
  return out;
}

function largestDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/**
 * One photo, one model, one answer: the CLI, the viewer's server and the report fit chelsea.png
 * (451x300) to the Teachable Machine MobileNet's 224x224 input the same way (the model's default,
 * decided in compute/default-preprocessing.ts: a centre crop) and so feed it the same tensor and get
 * the same probabilities. Before one owner decided the resize, the CLI stretched (Poes 0.974) while
 * the viewer and report cropped (0.965).
 */
describe('fitting a photo to the input: CLI, viewer and report agree (fixture 11 + chelsea.png)', needsFixtures, () => {
  let model: Model;
  let cli: { input: Float32Array; probabilities: Float32Array; stdout: string };

  before(async () => {
    await initBackend();
    model = await openModel(TM);
    const dir = mkdtempSync(join(tmpdir(), 'convscope-image-fit-'));
    const r = await runCli(['activations', TM, '--image', PHOTO, '--layer', 'Conv1_pad,dense_Dense2', '--format', 'npy', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    // Conv1_pad pads the input with one zero row and column at the bottom and right: its top-left 224x224 is the input itself.
    const padded = decodeNpy(readFileSync(join(dir, 'Conv1_pad.npy')));
    assert.deepEqual(padded.shape, [1, 225, 225, 3]);
    const input = new Float32Array(224 * 224 * 3);
    for (let y = 0; y < 224; y++) input.set((padded.data as Float32Array).subarray(y * 225 * 3, (y * 225 + 224) * 3), y * 224 * 3);
    cli = { input, probabilities: decodeNpy(readFileSync(join(dir, 'dense_Dense2.npy'))).data as Float32Array, stdout: r.stdout };
  });

  after(() => model?.close());

  it('the CLI says what it did and why: a centre crop, the default for a Teachable Machine model', () => {
    assert.match(cli.stdout, /chelsea\.png 451x300 png -> 224x224 RGB, centre crop \(resized to 336x224, the centre 224x224 kept\), the default for a Teachable Machine image model/);
    assert.equal(cli.probabilities.indexOf(Math.max(...cli.probabilities)), 2, 'Poes');
  });

  it('the viewer (server) and the report feed the same tensor and give the same probabilities, within 1e-6', async () => {
    const image = readFileSync(PHOTO);
    const viewer = (await webActivations().activations(model, { preprocess: 'auto', resize: 'auto', image, imageName: 'chelsea.png' }, () => {})) as ActivationsView;
    const report = (await reportData([model], PHOTO)).activations[0]!;
    for (const [surface, view] of [['viewer', viewer], ['report', report]] as const) {
      assert.ok(largestDifference(inputOf(view), cli.input) <= 1e-6, `${surface}'s input differs from the CLI's by ${largestDifference(inputOf(view), cli.input)}`);
      const top = view.top[0]!;
      assert.equal(top.index, 2, `${surface}: ${JSON.stringify(view.top)}`);
      assert.ok(Math.abs(top.score - cli.probabilities[2]!) <= 1e-6, `${surface}: Poes ${top.score} vs the CLI's ${cli.probabilities[2]}`);
      assert.match(view.preprocess, /^centre crop \(resized to 336x224, the centre 224x224 kept\), the default for a Teachable Machine image model/, surface);
    }
  });

  it("the viewer's and report's Grad-CAM explain the same input: same class probabilities, within 1e-6", async () => {
    const { detects } = webActivations();
    const request = {
      part: 'attribution' as const, filters: [0], objective: 'channel' as const, steps: 1, seed: 0, data: 0, top: 1, statistic: 'max' as const,
      method: 'gradcam' as const, preprocess: 'auto', resize: 'auto', image: readFileSync(PHOTO), imageName: 'chelsea.png',
    };
    const view = await detects.run(model, request, () => {});
    assert.equal(view.top?.[0]?.index, 2);
    assert.ok(Math.abs(view.top![0]!.score - cli.probabilities[2]!) <= 1e-6, `Poes ${view.top![0]!.score} vs the CLI's ${cli.probabilities[2]}`);
    assert.match(view.lines[0]!, /^chelsea\.png centre crop \(resized to 336x224, the centre 224x224 kept\), the default for a Teachable Machine/);
  });

  it('examples over a folder of photographs fit them the same way: each score is the maximum the CLI activations give for that photo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-image-fit-'));
    mkdirSync(join(dir, 'photos'));
    for (const name of ['chelsea.png', 'rocket.jpg']) copyFileSync(join(SHARED, 'images', name), join(dir, 'photos', name));
    const photos = ['chelsea.png', 'rocket.jpg'].map((name) => join(dir, 'photos', name));
    const [ranked, maps] = await Promise.all([
      runCli(['examples', TM, '--layer', 'Conv1', '--data', `folder:${join(dir, 'photos')}`, '--top', '2', '--out', join(dir, 'ranking.json')]),
      runCli(['activations', TM, '--image', ...photos, '--layer', 'Conv1', '--format', 'npy', '--out', join(dir, 'conv1.npy')]),
    ]);
    assert.equal(ranked.code, 0, ranked.stderr);
    assert.equal(maps.code, 0, maps.stderr);
    assert.match(ranked.stdout, /^photographs fitted to 224x224: centre crop, the default for a Teachable Machine image model/m);
    const result = JSON.parse(readFileSync(join(dir, 'ranking.json'), 'utf8')) as ExamplesResult;
    assert.equal(result.resize, 'crop');
    const conv1 = decodeNpy(readFileSync(join(dir, 'conv1.npy')));
    assert.deepEqual(conv1.shape, [2, 112, 112, 16]);
    const data = conv1.data as Float32Array;
    const largest = (image: number, filter: number): number => {
      let best = -Infinity;
      for (let p = 0; p < 112 * 112; p++) best = Math.max(best, data[(image * 112 * 112 + p) * 16 + filter]!);
      return best;
    };
    assert.equal(result.ranking.length, 32);
    // examples runs on TensorFlow.js, activations on ONNX Runtime: float32 sums in another order.
    for (const e of result.ranking) assert.ok(Math.abs(e.score - largest(e.index, e.filter)) <= 1e-5 * (1 + Math.abs(e.score)), `filter ${e.filter}, photo ${e.index}: ${e.score} vs ${largest(e.index, e.filter)}`);
  });

  it("probe over class folders of photographs fits them the same way: its features are the CLI activations' per-channel means", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-image-fit-'));
    const classes: Record<string, string[]> = { cats: ['chelsea.png', 'coffee.png'], other: ['astronaut.png', 'camera.png', 'rocket.jpg'] };
    const photos: string[] = [];
    for (const [name, files] of Object.entries(classes)) {
      mkdirSync(join(dir, name));
      for (const file of files) photos.push(join(dir, name, file));
      for (const file of files) copyFileSync(join(SHARED, 'images', file), join(dir, name, file));
    }
    const [probed, maps] = await Promise.all([
      runCli(['probe', TM, '--layer', 'out_relu', '--data', `folder:${dir}`, '--trees', '10', '--export', join(dir, 'features.npy')]),
      // Both feed the model its own preprocessing (symmetric, from its metadata.json) without being told.
      runCli(['activations', TM, '--image', ...photos, '--layer', 'out_relu', '--format', 'npy', '--out', join(dir, 'out_relu.npy')]),
    ]);
    assert.equal(probed.code, 0, probed.stderr);
    assert.equal(maps.code, 0, maps.stderr);
    assert.match(probed.stdout, /^photographs fitted to 224x224: centre crop, the default for a Teachable Machine image model/m);
    assert.match(probed.stdout, /^pixels: symmetric \(x \/ 127\.5 - 1\), the default for a Teachable Machine image model/m);
    const features = decodeNpy(readFileSync(join(dir, 'features.npy')));
    assert.deepEqual(features.shape, [5, 1280]);
    const out = decodeNpy(readFileSync(join(dir, 'out_relu.npy')));
    assert.deepEqual(out.shape, [5, 7, 7, 1280]);
    const means = photos.map((_, i) => Array.from({ length: 1280 }, (_, c) => {
      let sum = 0;
      for (let p = 0; p < 49; p++) sum += (out.data as Float32Array)[(i * 49 + p) * 1280 + c]!;
      return sum / 49;
    }));
    // The split shuffles the rows: each exported row must be one photo's means (TF.js vs ONNX Runtime: 1e-5 of the largest).
    const matched = new Set<number>();
    for (let r = 0; r < 5; r++) {
      const row = (features.data as Float32Array).subarray(r * 1280, (r + 1) * 1280);
      const scale = 1 + Math.max(...row);
      const photo = means.findIndex((m) => largestDifference(m, row) <= 1e-5 * scale);
      assert.ok(photo >= 0, `exported row ${r} is no photo's means (nearest ${Math.min(...means.map((m) => largestDifference(m, row)))})`);
      matched.add(photo);
    }
    assert.equal(matched.size, 5);
  });
});
