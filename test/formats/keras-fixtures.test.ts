import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findLayer, findWeight, openModel, type Model } from '../../src/index.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * The real Keras / TF.js files of ../shared/fixtures (README there). Expected shapes, names and
 * values were read with h5py / json by hand, or are computed by h5py / NumPy at test time.
 */

async function withModel(path: string, fn: (m: Model) => Promise<void>, config?: string): Promise<void> {
  const model = await openModel(path, config ? { config } : {});
  try {
    await fn(model);
  } finally {
    model.close();
  }
}

function weightTable(model: Model): string[] {
  return model.layers.flatMap((l) => l.weights.map((w) => `${l.name}:${w.role}(${w.shape.join(',')})[${w.axes.join(',')}]`));
}

async function values(model: Model, layer: string, role?: string): Promise<number[]> {
  return Array.from((await findWeight(findLayer(model, layer), role).read()).data as Float32Array);
}

const arange = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('shared fixtures: Keras HDF5', needsFixtures, () => {
  it('03 cnn_batch_norm.h5 (Keras 2.1.3)', async () => {
    await withModel(fixture('03_dl4j_cnn_batchnorm', 'cnn_batch_norm.h5'), async (m) => {
      assert.equal(m.format, 'keras-h5');
      assert.equal(m.frameworkVersion, '2.1.3');
      assert.deepEqual(m.layers.map((l) => `${l.name}:${l.className}`), [
        'conv2d_1:Conv2D', 'batch_normalization_1:BatchNormalization', 'activation_1:Activation', 'conv2d_2:Conv2D', 'flatten_1:Flatten', 'dense_1:Dense',
      ]);
      assert.deepEqual(weightTable(m), [
        'conv2d_1:kernel(3,3,3,1)[kh,kw,in,out]', 'conv2d_1:bias(1)[features]',
        'batch_normalization_1:gamma(1)[features]', 'batch_normalization_1:beta(1)[features]',
        'batch_normalization_1:moving_mean(1)[features]', 'batch_normalization_1:moving_variance(1)[features]',
        'conv2d_2:kernel(3,3,1,1)[kh,kw,in,out]', 'conv2d_2:bias(1)[features]',
        'dense_1:kernel(36,1)[in,units]', 'dense_1:bias(1)[units]',
      ]);
      assert.deepEqual(await values(m, 'batch_normalization_1', 'moving_variance'), [1]);
      assert.deepEqual(findLayer(m, 'conv2d_2').inbound, ['activation_1']);
    });
  });

  it('04 Keras 1.1.2 full model: W/b names directly under the layer group', async () => {
    await withModel(fixture('04_dl4j_keras1_cnn', 'cnn_tf_model.h5'), async (m) => {
      assert.equal(m.frameworkVersion, '1.1.2');
      assert.deepEqual(weightTable(m), [
        'convolution2d_1:kernel(3,2,3,2)[kh,kw,in,out]', 'convolution2d_1:bias(2)[features]',
        'convolution2d_2:kernel(2,3,2,1)[kh,kw,in,out]', 'convolution2d_2:bias(1)[features]',
        'dense_1:kernel(1,2)[in,units]', 'dense_1:bias(2)[units]',
        'dense_2:kernel(2,3)[in,units]', 'dense_2:bias(3)[units]',
      ]);
      assert.equal(findWeight(findLayer(m, 'convolution2d_1')).name, 'convolution2d_1_W:0');
    });
  });

  it('04 save_weights h5 with cnn_tf_config.json names the axes; without it lists paths and shapes', async () => {
    const weights = fixture('04_dl4j_keras1_cnn', 'cnn_tf_weights.h5');
    await withModel(
      weights,
      async (m) => {
        assert.equal(m.format, 'keras-weights-h5');
        assert.equal(m.frameworkVersion, '1.1.2');
        assert.equal(findLayer(m, 'convolution2d_1').className, 'Convolution2D');
        assert.deepEqual(weightTable(m).slice(0, 2), ['convolution2d_1:kernel(3,2,3,2)[kh,kw,in,out]', 'convolution2d_1:bias(2)[features]']);
        assert.deepEqual(weightTable(m).slice(-2), ['dense_2:kernel(2,3)[in,units]', 'dense_2:bias(3)[units]']);
      },
      fixture('04_dl4j_keras1_cnn', 'cnn_tf_config.json'),
    );
    await withModel(weights, async (m) => {
      assert.ok(m.notes!.some((n) => n.concept === 'architecture' && /architecture JSON/.test(n.text) && !n.text.includes('--')), JSON.stringify(m.notes));
      assert.equal(m.layers.length, 10);
      assert.deepEqual(
        m.layers.flatMap((l) => l.weights.map((w) => `${w.name}(${w.shape.join(',')})[${w.axes.join(',')}]`)),
        [
          'convolution2d_1_W:0(3,2,3,2)[kh,kw,in,out]', 'convolution2d_1_b:0(2)[features]',
          'convolution2d_2_W:0(2,3,2,1)[kh,kw,in,out]', 'convolution2d_2_b:0(1)[features]',
          'dense_1_W:0(1,2)[in,units]', 'dense_1_b:0(2)[features]', 'dense_2_W:0(2,3)[in,units]', 'dense_2_b:0(3)[features]',
        ],
      );
    });
  });

  it('05 np.arange kernels read back exactly in Keras layout', async () => {
    for (const [file, name, version] of [
      ['conv2d_tensorflow_2.h5', 'conv2d_1', '2.1.3'],
      ['conv2d_theano_2.h5', 'conv2d_1', '2.1.3'],
      ['conv2d_tensorflow_1.h5', 'convolution2d_1', '1.2.2'],
    ] as const) {
      await withModel(fixture('05_dl4j_weight_layout', file), async (m) => {
        assert.equal(m.frameworkVersion, version);
        const kernel = await findWeight(findLayer(m, name)).read();
        // Keras 1 with dim_ordering 'tf' stored [kh, kw, in, out] too: flat == arange(270).
        assert.deepEqual(kernel.axes, ['kh', 'kw', 'in', 'out'], file);
        assert.deepEqual(kernel.shape, [3, 3, 5, 6]);
        assert.deepEqual(Array.from(kernel.data as Float32Array), arange(270), file);
        assert.equal(kernel.select({ kh: 1, kw: 2, in: 3, out: 4 }).data[0], ((1 * 3 + 2) * 5 + 3) * 6 + 4);
        assert.deepEqual(Array.from(kernel.filter(5).select({ in: 0 }).data as Float32Array), [5, 35, 65, 95, 125, 155, 185, 215, 245]);
        assert.deepEqual(await values(m, name, 'bias'), arange(6));
      });
    }
    await withModel(fixture('05_dl4j_weight_layout', 'conv2d_theano_2.h5'), async (m) => {
      assert.equal(m.metadata?.backend, 'theano');
      assert.match(m.notes!.map((n) => n.text).join(' '), /Theano.*flipped/);
      assert.equal(findWeight(findLayer(m, 'conv2d_1')).name, 'conv2d_1/kernel');
    });
    await withModel(fixture('05_dl4j_weight_layout', 'sepconv2d_tensorflow_2.h5'), async (m) => {
      const layer = findLayer(m, 'separable_conv2d_1');
      assert.deepEqual(weightTable(m), [
        'separable_conv2d_1:depthwise_kernel(3,3,5,2)[kh,kw,in,mult]',
        'separable_conv2d_1:pointwise_kernel(1,1,10,6)[kh,kw,in,out]',
        'separable_conv2d_1:bias(6)[features]',
      ]);
      assert.deepEqual(await values(m, layer.name, 'depthwise_kernel'), arange(90));
      assert.deepEqual(await values(m, layer.name, 'pointwise_kernel'), arange(60));
      assert.deepEqual(await values(m, layer.name, 'bias'), [0, 0, 0, 0, 0, 0]);
    });
  });

  it('06 tf.keras 2.2.4 structures: Conv2D, DepthwiseConv2D, Conv2DTranspose, SeparableConv2D', async () => {
    const expected: Record<string, string[]> = {
      'cnn2d_64.h5': ['conv2d_24:kernel(3,3,3,4)[kh,kw,in,out]', 'conv2d_24:bias(4)[features]', 'conv2d_25:kernel(3,3,4,4)[kh,kw,in,out]', 'conv2d_25:bias(4)[features]'],
    };
    const seen = new Set<string>();
    for (const file of ['cnn2d_40.h5', 'cnn2d_52.h5', 'cnn2d_64.h5', 'cnn2d_76.h5']) {
      await withModel(fixture('06_dl4j_tfkeras_structure', file), async (m) => {
        assert.equal(m.frameworkVersion, '2.2.4-tf');
        assert.equal(m.layers[0]!.className, 'InputLayer');
        if (expected[file]) assert.deepEqual(weightTable(m), expected[file]);
        for (const l of m.layers) {
          for (const w of l.weights) {
            seen.add(`${l.className}:${w.role}[${w.axes.join(',')}]`);
            assert.ok(!w.axes.some((a) => a.startsWith('d')), `${file} ${l.name}/${w.role} has named axes`);
            const t = await w.read();
            assert.equal(t.size, w.shape.reduce((a, b) => a * b, 1));
          }
        }
      });
    }
    for (const entry of [
      'DepthwiseConv2D:depthwise_kernel[kh,kw,in,mult]',
      'Conv2DTranspose:kernel[kh,kw,out,in]',
      'SeparableConv2D:pointwise_kernel[kh,kw,in,out]',
      'Conv2D:kernel[kh,kw,in,out]',
    ]) {
      assert.ok(seen.has(entry), `06 has ${entry}: ${[...seen].join(' ')}`);
    }
  });

  it('07 Conv1D (channels_first and channels_last) kernels are [kw, in, out]', async () => {
    await withModel(fixture('07_dl4j_conv1d_io', 'conv1d_k3_s2_d1_cf_same_model.h5'), async (m) => {
      assert.deepEqual(weightTable(m), ['conv0:kernel(3,3,4)[kw,in,out]', 'conv0:bias(4)[features]']);
      assert.equal(findLayer(m, 'conv0').config.data_format, 'channels_first');
    });
    await withModel(fixture('07_dl4j_conv1d_io', 'conv1d_k2_s1_d2_cl_valid_model.h5'), async (m) => {
      assert.equal(findLayer(m, 'conv0').className, 'Conv1D');
      assert.deepEqual(findWeight(findLayer(m, 'conv0')).axes, ['kw', 'in', 'out']);
    });
  });

  it('07 inputs_and_outputs.h5 is HDF5 but no Keras model, and says so', async () => {
    await assert.rejects(
      openModel(fixture('07_dl4j_conv1d_io', 'conv1d_k2_s1_d2_cl_valid_inputs_and_outputs.h5')),
      /is an HDF5 file, but not a Keras model or weights file/,
    );
  });

  it('08 Keras 2.5 h5 and its TF.js copy give identical tensors for all 10 weights', async () => {
    const h5 = await openModel(fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'));
    const js = await openModel(fixture('08_xfmt_keras2h5_tfjs', 'model', 'model.json'));
    try {
      assert.equal(h5.frameworkVersion, '2.5.0');
      assert.equal(js.format, 'tfjs-layers');
      assert.equal(js.frameworkVersion, '3.7.0');
      assert.deepEqual(weightTable(js), weightTable(h5));
      assert.equal(weightTable(h5)[0], 'conv2d:kernel(5,5,1,30)[kh,kw,in,out]');
      let n = 0;
      for (const layer of h5.layers) {
        for (const w of layer.weights) {
          const a = await w.read();
          const b = await findWeight(findLayer(js, layer.name), w.role).read();
          assert.deepEqual(b.axes, a.axes);
          assert.deepEqual(Array.from(b.data as Float32Array), Array.from(a.data as Float32Array), `${layer.name}/${w.role}`);
          n++;
        }
      }
      assert.equal(n, 10);
      const filter6 = (await findWeight(findLayer(h5, 'conv2d')).read()).filter(6);
      assert.deepEqual(filter6.axes, ['kh', 'kw', 'in']);
      assert.equal(filter6.select({ kh: 2, kw: 3, in: 0 }).data[0], Math.fround(0.022312066));
    } finally {
      h5.close();
      js.close();
    }
  });

  it('09 Keras 3 legacy h5 and .keras give identical conv kernels', async () => {
    const h5 = await openModel(fixture('09_xfmt_keras3_h5_keras', 'mnist_cnn.h5'));
    const zip = await openModel(fixture('09_xfmt_keras3_h5_keras', 'mnist_cnn.keras'));
    try {
      assert.equal(h5.format, 'keras-h5');
      assert.equal(zip.format, 'keras-v3');
      assert.equal(h5.frameworkVersion, '3.11.2');
      assert.equal(zip.frameworkVersion, '3.11.2');
      assert.equal(findWeight(findLayer(h5, 'conv2d_6')).name, 'sequential_3/conv2d_6/kernel');
      assert.equal(findWeight(findLayer(zip, 'conv2d_7')).name, 'layers/conv2d_1/vars/0');
      assert.deepEqual(weightTable(zip), weightTable(h5));
      assert.deepEqual(weightTable(h5).slice(0, 2), ['conv2d_6:kernel(3,3,1,32)[kh,kw,in,out]', 'conv2d_6:bias(32)[features]']);
      for (const name of ['conv2d_6', 'conv2d_7']) {
        assert.deepEqual(await values(zip, name), await values(h5, name), name);
      }
      const k = await findWeight(findLayer(h5, 'conv2d_6')).read();
      assert.equal(k.select({ kh: 1, kw: 1, in: 0, out: 5 }).data[0], Math.fround(-0.15277627));
    } finally {
      h5.close();
      zip.close();
    }
  });
});

describe('shared fixtures: TF.js', needsFixtures, () => {
  it('11 Teachable Machine: nested MobileNetV2 flattened, 263 tensors at manifest offsets', async () => {
    await withModel(fixture('11_tfjs_teachable_machine', 'model.json'), async (m) => {
      assert.equal(m.frameworkVersion, '1.3.1');
      const weights = m.layers.flatMap((l) => l.weights);
      assert.equal(weights.length, 263);
      assert.equal(weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0) * 4, 2154432);
      const conv1 = findLayer(m, 'Conv1');
      assert.deepEqual(conv1.parents, ['sequential_3', 'model2']);
      assert.deepEqual(conv1.inbound, ['Conv1_pad']);
      assert.deepEqual(findLayer(m, 'dense_Dense1').parents, ['sequential_5']);
      assert.deepEqual(findLayer(m, 'block_2_add').inbound, ['block_1_project_BN', 'block_2_project_BN']);
      assert.deepEqual(weightTable(m).slice(0, 6), [
        'Conv1:kernel(3,3,3,16)[kh,kw,in,out]',
        'bn_Conv1:gamma(16)[features]', 'bn_Conv1:beta(16)[features]', 'bn_Conv1:moving_mean(16)[features]', 'bn_Conv1:moving_variance(16)[features]',
        'expanded_conv_depthwise:depthwise_kernel(3,3,16,1)[kh,kw,in,mult]',
      ]);
      assert.equal(findLayer(m, 'expanded_conv_depthwise').className, 'DepthwiseConv2D');
      const conv = await findWeight(conv1).read();
      const maxAbs = Array.from({ length: 16 }, (_, j) => Math.max(...Array.from(conv.filter(j).data as Float32Array, Math.abs)));
      assert.equal(maxAbs.filter((v) => v < 1e-18).length, 5, 'five dead filters');
      assert.equal(conv.select({ kh: 1, kw: 1, in: 0, out: 0 }).data[0], Math.fround(-2.4493314e-1));
    });
  });
});

describe('shared fixtures against h5py / NumPy', { skip: needsFixtures.skip || needsPython('h5py', 'numpy').skip }, () => {
  /** Every dataset of a Keras h5 (minus optimizer state), as h5py reads it. */
  function h5pyTensors(path: string, inner?: string): Record<string, { shape: number[]; data: number[] }> {
    const code = `
import h5py, json, sys, io, zipfile
path, inner = sys.argv[1], sys.argv[2]
f = h5py.File(io.BytesIO(zipfile.ZipFile(path).read(inner)) if inner else path, 'r')
out = {}
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and not name.startswith(('optimizer_weights', 'optimizer')):
        out[name] = {'shape': list(obj.shape), 'data': obj[()].astype('float64').ravel().tolist()}
f.visititems(visit)
print(json.dumps(out))
`;
    return JSON.parse(runPython(code, [path, inner ?? '']));
  }

  for (const [label, parts, inner] of [
    ['03', ['03_dl4j_cnn_batchnorm', 'cnn_batch_norm.h5'], undefined],
    ['08', ['08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'], undefined],
    ['09 h5', ['09_xfmt_keras3_h5_keras', 'mnist_cnn.h5'], undefined],
    ['09 .keras', ['09_xfmt_keras3_h5_keras', 'mnist_cnn.keras'], 'model.weights.h5'],
  ] as const) {
    it(`${label}: every tensor equals h5py's, bit for bit`, async () => {
      const path = fixture(...parts);
      const oracle = h5pyTensors(path, inner);
      await withModel(path, async (m) => {
        const weights = m.layers.flatMap((l) => l.weights);
        assert.equal(weights.length, Object.keys(oracle).length);
        for (const w of weights) {
          const key = inner ? w.name : Object.keys(oracle).find((k) => k.endsWith(`/${w.name}`) && k.startsWith(`model_weights/`))!;
          const expected = oracle[key];
          assert.ok(expected, `h5py has ${w.name}`);
          assert.deepEqual([...w.shape], expected.shape);
          assert.deepEqual(Array.from((await w.read()).data as Float32Array), expected.data, w.name);
        }
      });
    });
  }

  it('11: tensors equal NumPy reading weights.bin at running manifest offsets', async () => {
    const code = `
import json, sys, numpy as np
d = sys.argv[1]
m = json.load(open(d + '/model.json'))
raw = np.fromfile(d + '/weights.bin', dtype='<f4')
out, off = {}, 0
for w in m['weightsManifest'][0]['weights']:
    n = int(np.prod(w['shape']))
    if w['name'] in ('Conv1/kernel', 'block_16_project/kernel', 'dense_Dense2/kernel', 'Conv_1_bn/moving_variance'):
        out[w['name']] = raw[off:off + n].astype('float64').tolist()
    off += n
print(json.dumps(out))
`;
    const oracle = JSON.parse(runPython(code, [fixture('11_tfjs_teachable_machine')])) as Record<string, number[]>;
    assert.equal(Object.keys(oracle).length, 4);
    await withModel(fixture('11_tfjs_teachable_machine', 'model.json'), async (m) => {
      for (const [name, expected] of Object.entries(oracle)) {
        const w = m.layers.flatMap((l) => l.weights).find((x) => x.name === name)!;
        assert.deepEqual(Array.from((await w.read()).data as Float32Array), expected, name);
      }
    });
  });
});
