import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { attribute, attributeOnnx, type Attribution } from '../../src/analyze/attribute.js';
import { loadOnnxNet } from '../../src/compute/onnx-activations.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { initBackend } from '../../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import type { Model } from '../../src/model/model.js';
import { openModel } from '../../src/formats/open.js';
import { decodeNpy, encodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Attribution maps against PyTorch on the same weights: a small two-channel CNN built in TF.js,
 * saved, re-read through convscope, and re-implemented in torch (NHWC kept by permuting around each
 * conv). The torch side computes input gradients with autograd, Grad-CAM / Grad-CAM++ from
 * autograd's layer gradient, integrated gradients as a midpoint Riemann sum, and occlusion as a
 * NumPy sliding window over torch forward passes. Tolerance: 1e-4 of the largest |value|.
 */

const H = 8;
const W = 8;
const C = 2;
const CLASS = 3;

function smallCnn(): tfl.Sequential {
  const m = tfl.sequential({ name: 'small' });
  m.add(tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [H, W, C], name: 'conv_1', kernelInitializer: tfl.initializers.glorotUniform({ seed: 11 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 12 }) }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
  m.add(tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_2', kernelInitializer: tfl.initializers.glorotUniform({ seed: 13 }), biasInitializer: tfl.initializers.randomUniform({ minval: 0, maxval: 0.2, seed: 14 }) }));
  m.add(tfl.layers.flatten({ name: 'flatten' }));
  m.add(tfl.layers.dense({ units: 5, activation: 'softmax', name: 'dense', kernelInitializer: tfl.initializers.glorotUniform({ seed: 15 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 16 }) }));
  return m;
}

const ORACLE = String.raw`
import json, sys, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
L = lambda n: torch.tensor(np.load(f'{d}/{n}.npy')).double()
k1, b1, k2, b2, wd, bd, x = [L(n) for n in ['k1', 'b1', 'k2', 'b2', 'wd', 'bd', 'x']]
conv = lambda t, k, b: F.conv2d(t.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), b, padding='same').permute(0, 2, 3, 1)
def head(a):  # from conv_2's output to the logits
    return a.reshape(a.shape[0], -1) @ wd + bd
def conv2_out(t):
    a = torch.relu(conv(t, k1, b1))
    a = F.max_pool2d(a.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    return torch.relu(conv(a, k2, b2))
logits = lambda t: head(conv2_out(t))
c = ${CLASS}
out = {}
xi = x.clone().requires_grad_(True)
s = logits(xi)[0, c]; s.backward()
out['score'] = s.item(); out['grad'] = xi.grad[0].numpy().ravel().tolist()
a = conv2_out(x).detach().requires_grad_(True)
s = head(a)[0, c]; s.backward()
g = a.grad[0]; A = a[0].detach()
out['gradcam'] = torch.relu((A * g.mean(dim=(0, 1))).sum(-1)).numpy().ravel().tolist()
e = torch.exp(s.detach())
g1 = e * g; g2 = g1 * g; g3 = g2 * g
den = 2 * g2 + g3 * A.sum(dim=(0, 1))
alpha = g2 / torch.where(den != 0, den, torch.ones_like(den))
norm = alpha.sum(dim=(0, 1)); alpha = alpha / torch.where(norm != 0, norm, torch.ones_like(norm))
w = (alpha * torch.relu(g1)).sum(dim=(0, 1))
out['gradcampp'] = torch.relu((A * w).sum(-1)).numpy().ravel().tolist()
steps = 50
alphas = (torch.arange(steps, dtype=torch.float64) + 0.5) / steps
path = (alphas.view(-1, 1, 1, 1) * x).requires_grad_(True)
logits(path)[:, c].sum().backward()
ig = x[0] * path.grad.mean(0)
out['ig'] = ig.numpy().ravel().tolist()
out['ig_delta'] = (logits(x)[0, c] - logits(torch.zeros_like(x))[0, c]).item()
win, stride = 3, 2
def starts(n):
    s = list(range(0, n - win + 1, stride))
    return s if s[-1] == n - win else s + [n - win]
xs = x[0].numpy(); base = out['score']
acc = np.zeros((${H}, ${W})); cnt = np.zeros((${H}, ${W}))
with torch.no_grad():
    for t in starts(${H}):
        for l in starts(${W}):
            o = xs.copy(); o[t:t + win, l:l + win, :] = 0
            drop = base - logits(torch.tensor(o)[None])[0, c].item()
            acc[t:t + win, l:l + win] += drop; cnt[t:t + win, l:l + win] += 1
out['occlusion'] = (acc / cnt).ravel().tolist()
print(json.dumps(out))
`;

interface Oracle {
  score: number;
  grad: number[];
  gradcam: number[];
  gradcampp: number[];
  ig: number[];
  ig_delta: number;
  occlusion: number[];
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string, rel = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = Math.max(...expected.map(Math.abs));
  assert.ok(scale > 0, `${what}: the oracle is all zeros, so the comparison would prove nothing`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= rel * scale, `${what}: max |difference| ${worst} exceeds ${rel} x ${scale}`);
}

describe('attribution maps against PyTorch on the same weights', needsPython('numpy', 'torch'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-attribute-'));
  let model: Model;
  let net: RunnableModel;
  let oracle: Oracle;
  const x = new Float32Array(H * W * C);
  const batch = { shape: [1, H, W, C], data: x };
  const run = (o: Parameters<typeof attribute>[2]): Promise<Attribution> => attribute(net, batch, o);

  before(async () => {
    await initBackend();
    for (let i = 0; i < x.length; i++) x[i] = Math.abs(Math.sin(i * 1.7 + 0.3)) * (i % 3 === 0 ? 2 : 1);
    const tfModel = smallCnn();
    await saveCheckpoint(tfModel, dir);
    const weights = tfModel.getWeights();
    ['k1', 'b1', 'k2', 'b2', 'wd', 'bd'].forEach((name, i) => writeFileSync(join(dir, `${name}.npy`), encodeNpy(weights[i]!.dataSync() as Float32Array, weights[i]!.shape)));
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x, batch.shape));
    tfModel.dispose();
    model = await openModel(join(dir, 'model.json'));
    net = await buildModel(model);
    oracle = JSON.parse(runPython(ORACLE, [dir])) as Oracle;
  });

  after(() => {
    net?.dispose();
    model?.close();
  });

  it('saliency: the input gradient equals torch autograd (1e-4 relative), the map is max |g| over channels', async () => {
    const r = await run({ method: 'saliency', classIndex: CLASS });
    assert.ok(Math.abs(r.score - oracle.score) <= 1e-4 * Math.abs(oracle.score), `score ${r.score} vs ${oracle.score}`);
    assert.match(r.scoreKind, /logit \(before the softmax of 'dense'\)/);
    assert.equal(r.engine, 'ONNX Runtime', 'the small CNN converts, so its gradients run on ONNX Runtime');
    assertClose(r.perValue!.data, oracle.grad, 'input gradient');
    const expectedMap = Array.from({ length: H * W }, (_, p) => Math.max(Math.abs(oracle.grad[p * C]!), Math.abs(oracle.grad[p * C + 1]!)));
    assertClose(r.map.data, expectedMap, 'saliency map');
  });

  it('Grad-CAM and Grad-CAM++ at conv_2 equal torch re-implementations (1e-4 relative)', async () => {
    const cam = await run({ method: 'gradcam', classIndex: CLASS, layer: 'conv_2' });
    assert.deepEqual([cam.map.height, cam.map.width], [4, 4]);
    assertClose(cam.map.data, oracle.gradcam, 'Grad-CAM');
    const pp = await run({ method: 'gradcam++', classIndex: CLASS, layer: 'conv_2' });
    assertClose(pp.map.data, oracle.gradcampp, 'Grad-CAM++');
    const byDefault = await run({ method: 'gradcam', classIndex: CLASS });
    assert.equal(byDefault.layer, 'conv_2', 'the default layer is the last one with a spatial output');
  });

  it('integrated gradients equal a torch Riemann sum with the same 50 steps and are complete within 1%', async () => {
    const r = await run({ method: 'integrated-gradients', classIndex: CLASS, steps: 50 });
    assertClose(r.perValue!.data, oracle.ig, 'integrated gradients');
    const { sum, delta } = r.completeness!;
    assert.ok(Math.abs(delta - oracle.ig_delta) <= 1e-4 * Math.abs(oracle.ig_delta), `f(x) - f(baseline) ${delta} vs ${oracle.ig_delta}`);
    assert.ok(Math.abs(sum - delta) <= 0.01 * Math.abs(delta), `completeness: sum ${sum} vs f(x) - f(baseline) ${delta}`);
  });

  it('occlusion equals a NumPy sliding window (window 3, stride 2, last window flush with the edge)', async () => {
    const r = await run({ method: 'occlusion', classIndex: CLASS, window: 3, stride: 2 });
    assertClose(r.map.data, oracle.occlusion, 'occlusion');
  });

  it('SmoothGrad with no noise is the saliency map; with noise it is seeded and differs', async () => {
    const plain = await run({ method: 'saliency', classIndex: CLASS });
    const zero = await run({ method: 'smoothgrad', classIndex: CLASS, samples: 3, noise: 0 });
    assertClose(zero.map.data, Array.from(plain.map.data), 'SmoothGrad without noise');
    const a = await run({ method: 'smoothgrad', classIndex: CLASS, samples: 8, noise: 0.2, seed: 5 });
    const b = await run({ method: 'smoothgrad', classIndex: CLASS, samples: 8, noise: 0.2, seed: 5 });
    assert.deepEqual(a.map.data, b.map.data);
    assert.notDeepEqual(a.map.data, plain.map.data);
  });

  it('a class out of range is a one-sentence error', async () => {
    await assert.rejects(run({ method: 'saliency', classIndex: 9 }), /scores 5 classes \(0\.\.4\), but class 9 was asked for\./);
  });
});

const ONNX_ORACLE = String.raw`
import json, sys, numpy as np, torch, torch.nn as nn
torch.manual_seed(0)
d = sys.argv[1]
net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 5 * 5, 6)).eval()
x = torch.rand(1, 3, 10, 10)
torch.onnx.export(net, x, f'{d}/net.onnx', input_names=['x'], output_names=['scores'], opset_version=13)
np.save(f'{d}/x.npy', x.numpy())
with torch.no_grad():
    base = net(x)[0]
    c = int(base.argmax())
    win, stride = 4, 3
    starts = lambda n: sorted(set(list(range(0, n - win + 1, stride)) + [n - win]))
    acc = np.zeros((10, 10)); cnt = np.zeros((10, 10))
    for t in starts(10):
        for l in starts(10):
            o = x.clone(); o[0, :, t:t + win, l:l + win] = 0.5
            drop = (base[c] - net(o)[0, c]).item()
            acc[t:t + win, l:l + win] += drop; cnt[t:t + win, l:l + win] += 1
print(json.dumps({'class': c, 'map': (acc / cnt).ravel().tolist()}))
`;

describe('occlusion on ONNX Runtime against a NumPy sliding window over torch', needsPython('numpy', 'torch', 'onnx'), () => {
  it('a torch-exported ONNX CNN: the same map (1e-4 relative), the top class', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-attribute-onnx-'));
    const oracle = JSON.parse(runPython(ONNX_ORACLE, [dir])) as { class: number; map: number[] };
    const path = join(dir, 'net.onnx');
    const model = await openModel(path);
    const net = await loadOnnxNet(path, onnxGraph(model)!);
    try {
      const x = decodeNpy(readFileSync(join(dir, 'x.npy')));
      const batch = { shape: x.shape, data: Float32Array.from(x.data as Float32Array) };
      const r = await attributeOnnx(net, batch, { method: 'occlusion', window: 4, stride: 3, baseline: 0.5 });
      assert.equal(r.classIndex, oracle.class);
      assertClose(r.map.data, oracle.map, 'ONNX occlusion');
    } finally {
      await net.release();
      model.close();
    }
  });
});
