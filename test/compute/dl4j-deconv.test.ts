import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { runLayers } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { decodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { memoryModel } from './memory-model.js';

const DIR = fixture('02_dl4j_conv2dtranspose');
const TOLERANCE = 1e-4;
const names = needsFixtures.skip
  ? []
  : readdirSync(DIR).filter((f) => f.endsWith('_W.npy')).map((f) => f.slice(0, -'_W.npy'.length)).sort();

function npy(name: string, part: string): { shape: number[]; data: Float32Array } {
  const a = decodeNpy(readFileSync(`${DIR}/${name}_${part}.npy`), `${name}_${part}.npy`);
  return { shape: a.shape, data: Float32Array.from(a.data as ArrayLike<number>) };
}

test('fixture 02: all 28 Keras Conv2DTranspose cases (dilation, same with k < stride, nchw) within 1e-4', needsFixtures, async (t) => {
  assert.equal(names.length, 28);
  for (const name of names) {
    await t.test(name, async () => {
      const m = /_k(\d+)_sz(\d+)_s(\d+)_(same|valid)_d(\d+)_(nchw|nhwc)$/.exec(name);
      assert.ok(m, name);
      const [k, stride, padding, dilation, layout] = [Number(m[1]), Number(m[3]), m[4]!, Number(m[5]), m[6]!];
      const [W, b, input, expected] = [npy(name, 'W'), npy(name, 'b'), npy(name, 'in'), npy(name, 'out')];
      const config = {
        class_name: 'Sequential',
        config: {
          name: 'deconv',
          layers: [
            {
              class_name: 'Conv2DTranspose',
              config: {
                name: 'deconv',
                filters: W.shape[2],
                kernel_size: [k, k],
                strides: [stride, stride],
                padding,
                dilation_rate: [dilation, dilation],
                data_format: layout === 'nchw' ? 'channels_first' : 'channels_last',
                activation: 'linear',
                use_bias: true,
                batch_input_shape: [null, ...input.shape.slice(1)],
              },
            },
          ],
        },
      };
      const net = await buildModel(
        memoryModel(config, { deconv: { className: 'Conv2DTranspose', weights: [{ role: 'kernel', ...W }, { role: 'bias', ...b }] } }),
      );
      try {
        const [out] = await runLayers(net, [input]);
        assert.deepEqual(out!.shape, expected.shape);
        let worst = 0;
        expected.data.forEach((e, i) => (worst = Math.max(worst, Math.abs(e - out!.data[i]!))));
        assert.ok(worst <= TOLERANCE, `${name}: max abs error ${worst}`);
      } finally {
        net.dispose();
      }
    });
  }
});
