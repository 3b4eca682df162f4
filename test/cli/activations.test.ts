import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { decode, encode } from 'fast-png';
import { tfjsLayersFiles, writeDirectoryAtomic } from '../../src/compute/checkpoint.js';
import { questionNetwork } from '../../src/compute/demo-model.js';
import { decodeNpy, encodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

const PHOTO = join(ROOT, 'assets', 'images', 'rocket.jpg');
let dir: string;
let model: string;

function seededInput(shape: number[], seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (s = (s * 16807) % 2147483647) / 2147483647);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'convscope-activations-'));
  const net = await questionNetwork(7);
  const { modelJson, weights } = await tfjsLayersFiles(net);
  net.dispose();
  await writeDirectoryAtomic(join(dir, 'model'), { 'model.json': modelJson, 'weights.bin': weights });
  model = join(dir, 'model', 'model.json');
});


function assertCleanFailure(r: { code: number | null; stdout: string; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line, no stack: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('two images make a batch: one feature-map grid PNG per image through conv_1, clean stderr', async () => {
  const out = join(dir, 'photo');
  const gradient = join(dir, 'gradient.png');
  writeFileSync(gradient, encode({ width: 40, height: 20, channels: 3, data: Uint8Array.from({ length: 40 * 20 * 3 }, (_, i) => (i * 7) % 256) }));
  const r = await runCli(['activations', model, '--image', PHOTO, gradient, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /rocket\.jpg 640x427 jpeg -> 160x64 grey, stretched to 160x64 \(aspect ratio not kept\), the default for a Keras, TF\.js or TensorFlow model[^;]*; unit \(x \/ 255\)/);
  assert.match(r.stdout, /gradient\.png 40x20 png -> 160x64 grey, stretched to 160x64/);
  assert.match(r.stdout, /conv_1\s+Conv2D\s+\(2, 64, 160, 96\)/);
  for (const name of ['conv_1_0.png', 'conv_1_1.png']) {
    const png = decode(readFileSync(join(out, name)));
    // 96 tiles of 160x64 (upscale 1) in a 10-column grid: wider than 10 tiles, taller than 10 rows.
    assert.ok(png.width > 10 * 160 && png.height > 10 * 64, `${name}: ${png.width}x${png.height}`);
  }
});

test('--format npy writes the raw activation (batch axis kept) equal to a PyTorch conv2d of the stored weights', needsPython('numpy', 'torch'), async () => {
  const input = join(dir, 'x.npy');
  writeFileSync(input, encodeNpy(seededInput([64, 160, 1], 11), [64, 160, 1]));
  const out = join(dir, 'npy');
  const r = await runCli(['activations', model, '--input', input, '--format', 'npy', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const ours = decodeNpy(readFileSync(join(out, 'conv_1.npy')));
  assert.deepEqual(ours.shape, [1, 64, 160, 96]);
  const worst = runPython(
    `
import json, sys, numpy as np, torch
model, x, y = sys.argv[1], sys.argv[2], sys.argv[3]
spec = json.load(open(model))['weightsManifest'][0]['weights']
raw = np.fromfile(model.replace('model.json', 'weights.bin'), dtype='<f4')
w = {}
o = 0
for s in spec:
    n = int(np.prod(s['shape']))
    w[s['name'].split('/')[-1]] = raw[o:o + n].reshape(s['shape'])
    o += n
x = torch.from_numpy(np.load(x)).permute(2, 0, 1)[None]
k = torch.from_numpy(w['kernel']).permute(3, 2, 0, 1)
ref = torch.relu(torch.nn.functional.conv2d(x, k, torch.from_numpy(w['bias']), padding=2)).permute(0, 2, 3, 1).numpy()
print(float(np.abs(ref - np.load(y)).max()))
`,
    [model, input, join(out, 'conv_1.npy')],
  );
  assert.ok(Number(worst) <= 1e-4, `max abs error ${worst}`);
});

test('bad inputs: unreadable image, wrong input shape, unknown layer, no input, Lambda layer', async () => {
  const text = join(dir, 'not-an-image.png');
  writeFileSync(text, 'hello');
  const wrong = join(dir, 'wrong.npy');
  writeFileSync(wrong, encodeNpy(new Float32Array(28 * 28), [1, 28, 28, 1]));
  const lambda = join(dir, 'lambda.json');
  writeFileSync(
    lambda,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: { name: 's', layers: [{ class_name: 'Lambda', config: { name: 'my_lambda', function: ['4wEA', null, null], batch_input_shape: [null, 8, 8, 1] } }] },
      },
      weightsManifest: [{ paths: [], weights: [] }],
    }),
  );
  const out = join(dir, 'bad');
  const cases: [string[], RegExp][] = [
    [['activations', model, '--image', text, '--out', out], /Cannot read the image .*not-an-image\.png: .*unsupported image format/],
    [['activations', model, '--input', wrong, '--out', out], /expects input of shape \(batch, 64, 160, 1\), but received \(1, 28, 28, 1\)/],
    [['activations', model, '--image', PHOTO, '--layer', 'conv1', '--out', out], /has no layer 'conv1'\. Did you mean 'conv_1'\?/],
    [['activations', model, '--out', out], /Give the network an input: --image <file>\.\.\. or --input <file\.npy>/],
    [['activations', lambda, '--input', wrong, '--out', out], /layer 'my_lambda' is a Lambda layer \(stored Python code, which convscope never runs\); state what it computes as an expression in x .* or as identity\. \(--lambda <layer>=<expression>\)/],
  ];
  const results = await Promise.all(cases.map(([args]) => runCli(args)));
  results.forEach((r, i) => assertCleanFailure(r, cases[i]![1]));
  assert.equal(existsSync(out), false, 'nothing written');
});

test('fixture 08: --layer all --format npy matches a PyTorch re-computation of every layer within 1e-4', { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('numpy', 'h5py', 'torch')) }, async () => {
  const h5 = fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');
  const input = join(dir, 'digits.npy');
  writeFileSync(input, encodeNpy(seededInput([2, 28, 28, 1], 5), [2, 28, 28, 1]));
  const out = join(dir, 'all08');
  const r = await runCli(['activations', h5, '--input', input, '--layer', 'all', '--format', 'npy', '--out', out, '--top', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /top 3 of 'dense_2' for sample 0: #\d+/);
  assert.equal(readdirSync(out).length, 9);
  const report = runPython(
    `
import json, sys, h5py, numpy as np, torch
import torch.nn.functional as F
path, x, out = sys.argv[1], sys.argv[2], sys.argv[3]
f = h5py.File(path, 'r')
cfg = json.loads(f.attrs['model_config'])
w = lambda l, n: torch.from_numpy(f['model_weights'][l][l][n + ':0'][()])
act = {'relu': torch.relu, 'softmax': lambda t: torch.softmax(t, -1), 'linear': lambda t: t}
h = torch.from_numpy(np.load(x))
worst = {}
for layer in cfg['config']['layers']:
    c, name = layer['config'], layer['config']['name']
    k = layer['class_name']
    if k == 'InputLayer':
        continue
    if k == 'Conv2D':
        assert c['padding'] == 'valid' and c['strides'] == [1, 1]
        t = F.conv2d(h.permute(0, 3, 1, 2), w(name, 'kernel').permute(3, 2, 0, 1), w(name, 'bias'))
        h = act[c['activation']](t).permute(0, 2, 3, 1)
    elif k == 'MaxPooling2D':
        h = F.max_pool2d(h.permute(0, 3, 1, 2), c['pool_size'], c['strides']).permute(0, 2, 3, 1)
    elif k == 'Flatten':
        h = h.reshape(h.shape[0], -1)
    elif k == 'Dense':
        h = act[c['activation']](h @ w(name, 'kernel') + w(name, 'bias'))
    ours = np.load(out + '/' + name + '.npy')
    assert ours.shape == tuple(h.shape), (name, ours.shape, h.shape)
    worst[name] = float(np.abs(ours - h.numpy()).max())
print(json.dumps(worst))
`,
    [h5, input, out],
  );
  const worst = JSON.parse(report) as Record<string, number>;
  assert.equal(Object.keys(worst).length, 9);
  for (const [name, err] of Object.entries(worst)) assert.ok(err <= 1e-4, `${name}: max abs error ${err}`);
});

test('fixture 11: a photograph through the Teachable Machine MobileNet: first conv maps, a softmax bar chart, --top', needsFixtures, async () => {
  const out = join(dir, 'tm');
  const model11 = fixture('11_tfjs_teachable_machine', 'model.json');
  const r = await runCli(['activations', model11, '--image', PHOTO, '--preprocess', 'symmetric', '--layer', 'Conv1_relu,dense_Dense2', '--out', out, '--top', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /Conv1_relu\s+ReLU\s+\(1, 112, 112, 16\)\s+0\s+6\s/);
  // Class names come from the metadata.json Teachable Machine writes beside model.json.
  const top = /top 3 of 'dense_Dense2' for rocket\.jpg: #(\d) ([^,]+) ([\d.]+), #(\d) ([^,]+) ([\d.]+), #(\d) ([^,]+) ([\d.]+)/.exec(r.stdout);
  assert.ok(top, r.stdout);
  const labels = (JSON.parse(readFileSync(fixture('11_tfjs_teachable_machine', 'metadata.json'), 'utf8')) as { labels: string[] }).labels;
  for (const i of [1, 4, 7]) assert.equal(top[i + 1], labels[Number(top[i])]);
  const probabilities = [top[3], top[6], top[9]].map(Number);
  assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 2e-3, `softmax sums to 1: ${probabilities}`);
  assert.ok(probabilities[0]! >= probabilities[1]! && probabilities[1]! >= probabilities[2]!);
  assert.ok(decode(readFileSync(join(out, 'Conv1_relu.png'))).width > 4 * 112);
  assert.ok(decode(readFileSync(join(out, 'dense_Dense2.png'))).width > 100);
});

test('fixture 11: first layers of the nested MobileNet (pad, conv, BatchNorm, ReLU6, depthwise) match PyTorch within 1e-4', { ...needsFixtures, ...(needsFixtures.skip ? {} : needsPython('numpy', 'torch')) }, async () => {
  const model11 = fixture('11_tfjs_teachable_machine', 'model.json');
  const input = join(dir, 'tm.npy');
  writeFileSync(input, encodeNpy(seededInput([224, 224, 3], 3).map((v) => v * 2 - 1), [224, 224, 3]));
  const out = join(dir, 'tm-npy');
  const r = await runCli(['activations', model11, '--input', input, '--layer', 'Conv1_relu,expanded_conv_depthwise_relu', '--format', 'npy', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const report = runPython(
    `
import json, sys, numpy as np, torch
import torch.nn.functional as F
model, x, out = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(model))
raw = np.fromfile(model.replace('model.json', 'weights.bin'), dtype='<f4')
w, o = {}, 0
for s in m['weightsManifest'][0]['weights']:
    n = int(np.prod(s['shape']))
    w[s['name']] = torch.from_numpy(raw[o:o + n].reshape(s['shape']))
    o += n
def bn(t, name):
    g, b, mu, var = (w[name + '/' + k].view(1, -1, 1, 1) for k in ('gamma', 'beta', 'moving_mean', 'moving_variance'))
    return (t - mu) / torch.sqrt(var + 1e-3) * g + b
x = torch.from_numpy(np.load(x)).permute(2, 0, 1)[None]
x = F.pad(x, (0, 1, 0, 1))
conv1 = torch.clamp(bn(F.conv2d(x, w['Conv1/kernel'].permute(3, 2, 0, 1), stride=2), 'bn_Conv1'), 0, 6)
dw = w['expanded_conv_depthwise/depthwise_kernel'].permute(2, 3, 0, 1)
depth = torch.clamp(bn(F.conv2d(conv1, dw, padding=1, groups=16), 'expanded_conv_depthwise_BN'), 0, 6)
err = {}
for name, ref in (('Conv1_relu', conv1), ('expanded_conv_depthwise_relu', depth)):
    ours = np.load(out + '/' + name + '.npy')
    assert ours.shape == tuple(ref.permute(0, 2, 3, 1).shape), (name, ours.shape)
    err[name] = float(np.abs(ours - ref.permute(0, 2, 3, 1).numpy()).max())
print(json.dumps(err))
`,
    [model11, input, out],
  );
  const errors = JSON.parse(report) as Record<string, number>;
  assert.equal(Object.keys(errors).length, 2);
  for (const [name, err] of Object.entries(errors)) assert.ok(err <= 1e-4, `${name}: max abs error ${err}`);
});
