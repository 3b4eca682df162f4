import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runLayers } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { memoryModel, type MemoryWeight } from './memory-model.js';

interface Case {
  layer: string;
  kerasjs_params: { inputShape?: number[]; attrs: Record<string, unknown> };
  input: { data: number[]; shape: number[] };
  weights?: { data: number[]; shape: number[] }[];
  expected: { data: number[]; shape: number[] };
}

/** Roles of model.get_weights() entries, in order, for each layer class of fixture 01. */
function roles(c: Case): string[] {
  const bias = c.kerasjs_params.attrs.use_bias !== false ? ['bias'] : [];
  if (c.layer === 'SeparableConv2D') return ['depthwise_kernel', 'pointwise_kernel', ...bias];
  if (c.layer === 'BatchNormalization') {
    const a = c.kerasjs_params.attrs;
    return [...(a.scale !== false ? ['gamma'] : []), ...(a.center !== false ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  }
  return (c.weights ?? []).length > 0 ? ['kernel', ...bias] : [];
}

const TOLERANCE = 1e-4;
const cases: Record<string, Case> = needsFixtures.skip
  ? {}
  : JSON.parse(readFileSync(fixture('01_kerasjs', 'kerasjs_layer_cases.json'), 'utf8'));

test('fixture 01: every keras-js layer case matches Keras within 1e-4', needsFixtures, async (t) => {
  assert.ok(Object.keys(cases).length >= 86);
  for (const [id, c] of Object.entries(cases)) {
    await t.test(id, async () => {
      const config = {
        class_name: 'Sequential',
        config: { name: 'case', layers: [{ class_name: c.layer, config: { ...c.kerasjs_params.attrs, name: 'layer', batch_input_shape: [null, ...c.input.shape] } }] },
      };
      const names = roles(c);
      const weights: MemoryWeight[] = (c.weights ?? []).map((w, i) => ({ role: names[i]!, shape: w.shape, data: w.data }));
      const net = await buildModel(memoryModel(config, { layer: { className: c.layer, weights } }));
      try {
        const [out] = await runLayers(net, [{ shape: [1, ...c.input.shape], data: Float32Array.from(c.input.data) }]);
        assert.deepEqual(out!.shape, [1, ...c.expected.shape]);
        let worst = 0;
        c.expected.data.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - out!.data[i]!))));
        assert.ok(worst <= TOLERANCE, `${id}: max abs error ${worst} > ${TOLERANCE}`);
      } finally {
        net.dispose();
      }
    });
  }
});
