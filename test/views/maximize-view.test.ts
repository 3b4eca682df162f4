import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { maximizeView } from '../../src/views/detects-view.js';
import { runCli } from '../helpers/cli.js';

/**
 * A dead unit explained: one 3x3 conv + ReLU on 8x8 grey images in 0..1 whose filter 0 has every
 * weight -1 and bias -1, so its pre-activation is at most -1 for every input the optimiser can reach
 * and the ReLU output is 0 (by construction, the oracle); filter 1 (weights +1, bias 0) is alive.
 * The shared view's notes (viewer, report) and the CLI's output must name filter 0, and only it.
 */
describe('maximize: filters that never activate are named, with why', () => {
  let dir: string;
  let model: Model;
  let net: RunnableModel;
  before(async () => {
    await initBackend();
    dir = mkdtempSync(join(tmpdir(), 'convscope-dead-'));
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1], activation: 'relu', name: 'conv' }));
    const kernel = tf.tensor4d(Array.from({ length: 9 * 2 }, (_, i) => (i % 2 === 0 ? -1 : 1)), [3, 3, 1, 2]);
    const bias = tf.tensor1d([-1, 0]);
    m.setWeights([kernel, bias]);
    tf.dispose([kernel, bias]);
    await saveCheckpoint(m, dir);
    m.dispose();
    model = await openModel(join(dir, 'model.json'));
    net = await buildModel(model);
  });
  after(() => {
    net.dispose();
    model.close();
  });

  const sentence = /^Filter 0 ended at objective 0, so its image stays the near-grey starting image: the unit never activated for any image the optimiser reached, so its gradient stayed 0 \(e\.g\. a dead ReLU, whose input is never positive\)\.$/m;

  it('the view (viewer and report) says it under the figure', async () => {
    const view = await maximizeView(net, { layer: 'conv', filters: [0, 1], objective: 'channel', steps: 8, seed: 0, preprocessing: { preset: 'unit' } }, () => {});
    assert.match(view.lines.join('\n'), sentence);
    assert.equal(view.lines.filter((l) => /ended at objective 0/.test(l)).length, 1, view.lines.join('\n'));
  });

  it('the CLI prints it', async () => {
    const r = await runCli(['maximize', join(dir, 'model.json'), '--layer', 'conv', '--filters', '0-1', '--steps', '8', '--out', join(dir, 'conv.png')], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, sentence);
    assert.doesNotMatch(r.stdout, /Filters 0, 1/);
  });
});
