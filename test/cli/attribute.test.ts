import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { initBackend } from '../../src/compute/backend.js';
import { buildModel } from '../../src/compute/build.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy } from '../../src/model/npy.js';
import { spatialLayers } from '../../src/views/detects-view.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures, SHARED } from '../helpers/fixtures.js';
import { decodePixels } from '../render/png.js';

/**
 * `convscope attribute` on the Teachable Machine MobileNet (fixture 11, class names from the
 * metadata.json beside it) and a photograph. The maths is proved against PyTorch in
 * test/compute/attribute.test.ts; here: the command's wiring, its outputs and its errors.
 */
describe('convscope attribute', needsFixtures, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-attribute-cli-'));
  const model = fixture('11_tfjs_teachable_machine', 'model.json');
  const photo = join(SHARED, 'images', 'chelsea.png');

  it('Grad-CAM names the class from metadata.json, the layer and the score, and draws input, map and overlay', async () => {
    const out = join(dir, 'cam.png');
    const r = await runCli(['attribute', model, '--image', photo, '--method', 'gradcam', '--out', out], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^input: .*centre crop .*; symmetric \(x \/ 127\.5 - 1\), the default for a Teachable Machine image model/m);
    assert.match(r.stdout, /top 3 outputs: #2 'Poes' 0\.97/);
    assert.match(r.stdout, /Grad-CAM of class 2 'Poes' at layer out_relu; score = logit \(before the softmax of 'dense_Dense2'\)/);
    assert.match(r.stdout, /map 7x7, range \[/);
    const png = decodePixels(readFileSync(out));
    assert.ok(png.width > 3 * 224 && png.height > 224, `${png.width}x${png.height}`);
  });

  it('--format npy writes the raw 7x7 Grad-CAM map; --class picks another class', async () => {
    const out = join(dir, 'cam.npy');
    const r = await runCli(['attribute', model, '--image', photo, '--class', '0', '--format', 'npy', '--out', out], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /of class 0 'Super Mario Switch Case'/);
    const map = decodeNpy(readFileSync(out));
    assert.deepEqual(map.shape, [7, 7]);
    assert.ok(Array.from(map.data as Float32Array).every((v) => v >= 0), 'Grad-CAM maps are non-negative after the ReLU');
  });

  it('bad input is one sentence and exit code 1', async () => {
    const noInput = await runCli(['attribute', model]);
    assert.equal(noInput.code, 1);
    assert.match(noInput.stderr, /Give the network an input: --image <file> or --input <file\.npy>/);
    const badClass = await runCli(['attribute', model, '--image', photo, '--class', '7', '--out', join(dir, 'x.png')], { timeoutMs: 120000 });
    assert.equal(badClass.code, 1);
    assert.match(badClass.stderr, /scores 3 classes \(0\.\.2\), but class 7 was asked for\./);
    const badLayer = await runCli(['attribute', model, '--image', photo, '--layer', 'out_rel', '--out', join(dir, 'y.png')], { timeoutMs: 120000 });
    assert.equal(badLayer.code, 1);
    assert.match(badLayer.stderr, /has no layer 'out_rel'\. Did you mean 'out_relu'/);
  });

  it("Grad-CAM's default layer is the viewer's: the activation after the last conv, never a Dropout", async () => {
    await initBackend();
    // Read off the architectures: fixture 08 ends conv2d_1 (relu fused) -> max_pooling2d_1 -> dropout -> flatten;
    // fixture 11 ends Conv_1 -> Conv_1_bn -> out_relu -> global pooling.
    const cases = [
      [fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'), 'conv2d_1'],
      [model, 'out_relu'],
    ] as const;
    for (const [path, expected] of cases) {
      const r = await runCli(['attribute', path, '--image', photo, '--out', join(dir, 'default.png')], { timeoutMs: 120000 });
      assert.equal(r.code, 0, r.stderr);
      const cli = /Grad-CAM of class \d+.* at layer (\S+);/.exec(r.stdout)?.[1];
      const net = await buildModel(await openModel(path));
      try {
        assert.equal(spatialLayers(net).defaultLayer, cli, `${path}: the viewer's default is the CLI's`);
      } finally {
        net.dispose();
      }
      assert.equal(cli, expected, path);
    }
  });
});
