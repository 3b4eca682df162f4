import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { attribute, attributeOnnx, type AttributeOptions } from '../../src/analyze/attribute.js';
import { initBackend, tf } from '../../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { loadOnnxNet } from '../../src/compute/onnx-activations.js';
import { kerasGradients, tfjsGradients } from '../../src/compute/ort-gradients.js';
import type { OnnxNet } from '../../src/compute/ort.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy } from '../../src/model/npy.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Gradients on ONNX Runtime (the backward pass appended to the ONNX graph) against outside oracles:
 * torch autograd on the very networks torch exported (torchvision resnet18 with random weights and
 * batch-norm statistics, a fixed seed, opset 13, fixed batch 1; and a VGG-style net with the operators
 * whose gradients the builder writes: strided, grouped, depthwise and dilated convs on odd sizes,
 * overlapping and plain max pooling, average pooling with and without counting the padding, batch norm, ReLU6, LeakyReLU, Hardswish, Sigmoid, a concat, a
 * residual add, a view(x.size(0), -1) reshape, Gemm and a final softmax, with a free batch axis); and for a TF.js model
 * (fixture 11, the Teachable Machine MobileNet) the TensorFlow.js engine on the same weights.
 * Tolerance: 1e-4 of the largest |value| of the oracle.
 */

const ORACLE = String.raw`
import json, sys, numpy as np, torch, torch.nn as nn, torch.nn.functional as F, torchvision
d = sys.argv[1]
torch.manual_seed(0)
out = {}

def cams(a, g, score):
    A, g = a[0].detach(), g[0]
    cam = torch.relu((A * g.mean(dim=(1, 2), keepdim=True)).sum(0))
    e = torch.exp(score)
    g1 = e * g; g2 = g1 * g; g3 = g2 * g
    den = 2 * g2 + g3 * A.sum(dim=(1, 2), keepdim=True)
    alpha = g2 / torch.where(den != 0, den, torch.ones_like(den))
    norm = alpha.sum(dim=(1, 2), keepdim=True); alpha = alpha / torch.where(norm != 0, norm, torch.ones_like(norm))
    w = (alpha * torch.relu(g1)).sum(dim=(1, 2), keepdim=True)
    return cam.numpy().ravel().tolist(), torch.relu((A * w).sum(0)).numpy().ravel().tolist()

def layer_grad(net, module, x, c):
    store = {}
    x = x.clone().requires_grad_(True)
    def hook(m, i, o):
        o.retain_grad()
        store['a'] = o
    h = module.register_forward_hook(hook)
    s = net(x)[0, c]; s.backward(); h.remove()
    return store['a'], store['a'].grad, s.detach()

def saliency(net, x, c=None):
    xi = x.clone().requires_grad_(True)
    s = net(xi)[0]
    c = int(s.argmax()) if c is None else c
    s[c].backward()
    return c, s[c].item(), xi.grad[0].numpy().ravel().tolist()

# torchvision resnet18, 64x64, fixed batch
r18 = torchvision.models.resnet18().eval()
for m in r18.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5); m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.2, 0.2)
for p in r18.parameters():
    p.requires_grad_(False)
x = torch.rand(1, 3, 64, 64)
torch.onnx.export(r18, x, f'{d}/resnet18.onnx', input_names=['x'], output_names=['logits'], opset_version=13)
np.save(f'{d}/resnet18_x.npy', x.numpy())
c, score, grad = saliency(r18, x)
a, g, s = layer_grad(r18, r18.layer3, x, c)
cam, campp = cams(a, g, s)
out['resnet18'] = {'class': c, 'score': score, 'grad': grad, 'layer3_cam': cam, 'layer3_campp': campp}

class Vggish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6())
        self.down = nn.Conv2d(8, 12, 3, stride=2, padding=1)             # 33 -> 17: the stride leaves a remainder
        self.dw = nn.Conv2d(12, 12, 3, padding=1, groups=12)             # depthwise
        self.grouped = nn.Conv2d(12, 12, 3, padding=2, dilation=2, groups=3)
        self.a = nn.Sequential(nn.Conv2d(12, 6, 1), nn.LeakyReLU(0.1), nn.AvgPool2d(3, stride=2, padding=1))  # 17 -> 9, padding counted
        self.b = nn.Sequential(nn.Conv2d(12, 6, 3, padding=1), nn.Hardswish(), nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)                 # overlapping windows: 9 -> 5
        self.bn = nn.BatchNorm2d(12)                                     # after a pool: not fused into a conv
        self.conv = nn.Sequential(nn.Conv2d(12, 16, 3, padding=1), nn.ReLU())
        self.pool2 = nn.MaxPool2d(2)                                     # 5 -> 2, the last row and column dropped
        self.head = nn.Sequential(nn.Linear(64, 20), nn.Sigmoid(), nn.Linear(20, 7))
    def features(self, x):
        y = self.down(self.stem(x))
        y = y + self.grouped(torch.relu(self.dw(y)))
        y = torch.cat([self.a(y), self.b(y)], 1)
        return self.conv(self.bn(self.pool(y)))
    def logits(self, x):
        y = self.pool2(self.features(x))
        return self.head(y.view(y.size(0), -1))                          # Shape -> Gather -> Concat -> Reshape with a free batch
    def forward(self, x):
        return torch.softmax(self.logits(x), 1)

net = Vggish().eval()
for m in net.modules():
    if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5); m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.2, 0.2)
for p in net.parameters():
    p.requires_grad_(False)
logits = net.logits
net.head[2].weight.data.mul_(10)
x = torch.rand(1, 3, 33, 33) * 2 - 0.5
torch.onnx.export(net, x, f'{d}/vggish.onnx', input_names=['x'], output_names=['probabilities'], opset_version=13, dynamic_axes={'x': {0: 'n'}, 'probabilities': {0: 'n'}})
np.save(f'{d}/vggish_x.npy', x.numpy())
c, score, grad = saliency(logits, x)
c2 = (c + 3) % 7
a, g, s = layer_grad(logits, net.conv, x, c2)
cam, campp = cams(a, g, s)
with torch.no_grad():
    A = net.features(x)
    M = F.interpolate(A, size=(33, 33), mode='bilinear', align_corners=False)[0]
    lo = M.flatten(1).min(1).values[:, None, None]; hi = M.flatten(1).max(1).values[:, None, None]
    M = torch.where(hi > lo, (M - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi)), torch.zeros_like(M))
    p = torch.softmax(logits(x * M[:, None]), 1)[:, c2]
    scorecam = torch.relu((p[:, None, None] * A[0]).sum(0)).numpy().ravel().tolist()
steps = 64
alphas = (torch.arange(steps, dtype=torch.float32) + 0.5) / steps
path = (alphas.view(-1, 1, 1, 1) * x).requires_grad_(True)
logits(path)[:, c].sum().backward()
ig = (x[0] * path.grad.mean(0)).numpy().ravel().tolist()
with torch.no_grad():
    delta = (logits(x)[0, c] - logits(torch.zeros_like(x))[0, c]).item()
out['vggish'] = {'class': c, 'score': score, 'grad': grad, 'class2': c2, 'conv_cam': cam, 'conv_campp': campp, 'ig': ig, 'ig_delta': delta, 'scorecam': scorecam}

class Up(nn.Module):  # Max (torch.maximum) has no gradient rule: forward-only methods still run
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1); self.up = nn.Upsample(scale_factor=2)
        self.c2 = nn.Conv2d(4, 5, 3, padding=1); self.r2 = nn.ReLU(); self.fc = nn.Linear(5, 3)
    def features(self, x):
        y = self.c1(x)
        return self.r2(self.c2(self.up(torch.maximum(y, -0.5 * y))))
    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))
up = Up().eval()
x = torch.rand(1, 3, 8, 8)
torch.onnx.export(up, x, f'{d}/upsample.onnx', input_names=['x'], output_names=['logits'], opset_version=13)
np.save(f'{d}/upsample_x.npy', x.numpy())
with torch.no_grad():
    c = int(up(x)[0].argmax())
    A = up.features(x)
    M = F.interpolate(A, size=(8, 8), mode='bilinear', align_corners=False)[0]
    lo = M.flatten(1).min(1).values[:, None, None]; hi = M.flatten(1).max(1).values[:, None, None]
    M = torch.where(hi > lo, (M - lo) / torch.where(hi > lo, hi - lo, torch.ones_like(hi)), torch.zeros_like(M))
    p = torch.softmax(up(x * M[:, None]), 1)[:, c]
    out['upsample'] = {'class': c, 'scorecam': torch.relu((p[:, None, None] * A[0]).sum(0)).numpy().ravel().tolist()}
print(json.dumps(out))
`;

interface Oracle {
  resnet18: { class: number; score: number; grad: number[]; layer3_cam: number[]; layer3_campp: number[] };
  upsample: { class: number; scorecam: number[] };
  vggish: { class: number; score: number; grad: number[]; class2: number; conv_cam: number[]; conv_campp: number[]; ig: number[]; ig_delta: number; scorecam: number[] };
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[], what: string, rel = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assert.ok(scale > 0, `${what}: the oracle is all zeros, so the comparison would prove nothing`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= rel * scale, `${what}: max |difference| ${worst} exceeds ${rel} x ${scale}`);
}

/** torch's [C, H, W] gradient as convscope's channels-last perValue. */
function channelsLast(chw: readonly number[], channels: number): number[] {
  const pixels = chw.length / channels;
  const out = new Array<number>(chw.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) out[p * channels + c] = chw[c * pixels + p]!;
  return out;
}

describe('gradients on ONNX Runtime against torch autograd on torch-exported graphs', needsPython('numpy', 'torch', 'torchvision', 'onnx'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-ort-gradients-'));
  let oracle: Oracle;
  const nets: Record<string, { net: OnnxNet; model: Model; batch: { shape: number[]; data: Float32Array } }> = {};

  before(async () => {
    oracle = JSON.parse(runPython(ORACLE, [dir])) as Oracle;
    for (const name of ['resnet18', 'vggish', 'upsample']) {
      const path = join(dir, `${name}.onnx`);
      const model = await openModel(path);
      const x = decodeNpy(readFileSync(join(dir, `${name}_x.npy`)));
      nets[name] = { model, net: await loadOnnxNet(path, onnxGraph(model)!), batch: { shape: [...x.shape], data: Float32Array.from(x.data as Float32Array) } };
    }
  });

  after(async () => {
    for (const { net, model } of Object.values(nets)) {
      await net.release();
      model.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (name: string, options: AttributeOptions) => attributeOnnx(nets[name]!.net, nets[name]!.batch, options);

  it('resnet18: saliency is the input gradient of the top class (1e-4), Grad-CAM and Grad-CAM++ at layer3 equal torch', async () => {
    const o = oracle.resnet18;
    const sal = await run('resnet18', { method: 'saliency' });
    assert.equal(sal.engine, 'ONNX Runtime');
    assert.equal(sal.classIndex, o.class);
    assert.ok(Math.abs(sal.score - o.score) <= 1e-4 * Math.abs(o.score), `score ${sal.score} vs ${o.score}`);
    assertClose(sal.perValue!.data, channelsLast(o.grad, 3), 'resnet18 input gradient');
    const cam = await run('resnet18', { method: 'gradcam', layer: 'layer3' });
    assert.deepEqual([cam.map.height, cam.map.width], [4, 4]);
    assertClose(cam.map.data, o.layer3_cam, 'resnet18 Grad-CAM at layer3');
    const pp = await run('resnet18', { method: 'gradcam++', layer: 'layer3' });
    assertClose(pp.map.data, o.layer3_campp, 'resnet18 Grad-CAM++ at layer3');
    const byDefault = await run('resnet18', { method: 'gradcam' });
    assert.deepEqual([byDefault.map.height, byDefault.map.width], [2, 2], 'the default layer is the last spatial one (layer4)');
  });

  it('a VGG-style net of every operator the builder covers: saliency of the logit before the softmax, Grad-CAM(++) for another class', async () => {
    const o = oracle.vggish;
    const sal = await run('vggish', { method: 'saliency' });
    assert.equal(sal.engine, 'ONNX Runtime');
    assert.match(sal.scoreKind, /logit \(before the softmax/);
    assert.equal(sal.classIndex, o.class);
    assert.ok(Math.abs(sal.score - o.score) <= 1e-4 * Math.abs(o.score), `score ${sal.score} vs ${o.score}`);
    assertClose(sal.perValue!.data, channelsLast(o.grad, 3), 'VGG-style input gradient');
    const cam = await run('vggish', { method: 'gradcam', layer: 'conv', classIndex: o.class2 });
    assert.equal(cam.classIndex, o.class2);
    assertClose(cam.map.data, o.conv_cam, 'VGG-style Grad-CAM');
    const pp = await run('vggish', { method: 'gradcam++', layer: 'conv', classIndex: o.class2 });
    assertClose(pp.map.data, o.conv_campp, 'VGG-style Grad-CAM++');
  });

  it('Score-CAM (forward passes of the masked inputs, batched) equals a torch re-implementation (1e-4)', async () => {
    const o = oracle.vggish;
    const r = await run('vggish', { method: 'scorecam', layer: 'conv', classIndex: o.class2 });
    assert.deepEqual([r.map.height, r.map.width], [5, 5]);
    assertClose(r.map.data, o.scorecam, 'Score-CAM');
  });

  it('a graph whose backward pass cannot be built: gradient methods say why in one sentence, Score-CAM runs forward only and equals torch', async () => {
    await assert.rejects(run('upsample', { method: 'saliency' }), /'saliency' needs gradients, and node '[^']*' \(Max\) has no gradient rule yet, so its gradient is not built on ONNX Runtime; the occlusion and Score-CAM methods run forward only\./);
    const r = await run('upsample', { method: 'scorecam', layer: 'r2' });
    assert.equal(r.classIndex, oracle.upsample.class);
    assertClose(r.map.data, oracle.upsample.scorecam, 'Score-CAM without gradients');
  });

  it('integrated gradients over a batched path equal the torch Riemann sum (64 steps) and are complete within 1%', async () => {
    const o = oracle.vggish;
    const r = await run('vggish', { method: 'integrated-gradients', steps: 64 });
    assertClose(r.perValue!.data, channelsLast(o.ig, 3), 'integrated gradients');
    const { sum, delta } = r.completeness!;
    assert.ok(Math.abs(delta - o.ig_delta) <= 1e-4 * Math.abs(o.ig_delta), `f(x) - f(baseline) ${delta} vs ${o.ig_delta}`);
    assert.ok(Math.abs(sum - delta) <= 0.01 * Math.abs(delta), `completeness: sum ${sum} vs ${delta}`);
  });

  it('SmoothGrad batches its noisy samples: without noise it is the saliency map', async () => {
    const plain = await run('vggish', { method: 'saliency' });
    const smooth = await run('vggish', { method: 'smoothgrad', samples: 5, noise: 0 });
    assertClose(smooth.map.data, Array.from(plain.map.data), 'SmoothGrad without noise');
  });
});

describe('gradients of a TF.js model on ONNX Runtime against TensorFlow.js', needsFixtures, () => {
  let model: Model;
  let net: RunnableModel;
  const size = 224 * 224 * 3;
  const batch = { shape: [1, 224, 224, 3], data: Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 0.9) };

  before(async () => {
    await initBackend();
    model = await openModel(fixture('11_tfjs_teachable_machine', 'model.json'));
    net = await buildModel(model);
  });

  after(() => {
    net?.dispose();
    model?.close();
  });

  it('fixture 11 (Teachable Machine MobileNet): saliency and Grad-CAM equal the TF.js path (1e-4)', async () => {
    const ort = await kerasGradients(net);
    assert.equal(ort.engine, 'ONNX Runtime', `fell back: ${ort.fallback}`);
    const tfjs = tfjsGradients(net);
    const a = await ort.inputGradients(batch, undefined);
    const b = await tfjs.inputGradients(batch, undefined);
    assertClose(a.outputs, Array.from(b.outputs), 'outputs');
    assertClose(a.gradient, Array.from(b.gradient), 'input gradient');
    const ca = await ort.layerGradient(batch, undefined, undefined);
    const cb = await tfjs.layerGradient(batch, undefined, undefined);
    assert.equal(ca.layer, cb.layer, 'the same default Grad-CAM layer');
    assertClose(ca.gradient, Array.from(cb.gradient), `gradient at ${ca.layer}`);
    const r = await attribute(net, batch, { method: 'gradcam' });
    assert.equal(r.engine, 'ONNX Runtime');
  });

  it('new weights (training, setWeights) get new sessions: the gradients follow the weights', async () => {
    const m = tfl.sequential();
    m.add(tfl.layers.conv2d({ filters: 3, kernelSize: 3, inputShape: [6, 6, 2], activation: 'relu', name: 'conv', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }));
    m.add(tfl.layers.flatten({ name: 'flat' }));
    m.add(tfl.layers.dense({ units: 4, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }));
    const dir = mkdtempSync(join(tmpdir(), 'convscope-ort-stale-'));
    await saveCheckpoint(m, dir);
    m.dispose();
    const small = await openModel(join(dir, 'model.json'));
    const built = await buildModel(small);
    const x = { shape: [1, 6, 6, 2], data: Float32Array.from({ length: 72 }, (_, i) => Math.cos(i)) };
    try {
      const before = await attribute(built, x, { method: 'saliency', classIndex: 1 });
      const dense = built.net.getLayer('out');
      dense.setWeights(dense.getWeights().map((w) => tf.mul(w, -2)));
      const after = await attribute(built, x, { method: 'saliency', classIndex: 1 });
      assert.equal(after.engine, 'ONNX Runtime');
      const expected = await tfjsGradients(built).inputGradients(x, 1);
      assertClose(after.perValue!.data, Array.from(expected.gradient), 'gradient after new weights');
      assert.notDeepEqual(after.perValue!.data, before.perValue!.data);
    } finally {
      built.dispose();
      small.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A small model saved and opened as a TF.js file: conv, `middle`, flatten, dense. */
  async function small(middle: (x: tfl.SymbolicTensor) => tfl.SymbolicTensor, inputShape: number[], run: (built: RunnableModel) => Promise<void>): Promise<void> {
    const input = tfl.input({ shape: inputShape, name: 'x' });
    const conv = tfl.layers.conv2d({ filters: 2, kernelSize: 3, name: 'conv', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }).apply(input) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({ name: 'flat' }).apply(middle(conv));
    const output = tfl.layers.dense({ units: 3, name: 'out', kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }).apply(flat) as tfl.SymbolicTensor;
    const m = tfl.model({ inputs: input, outputs: output });
    const dir = mkdtempSync(join(tmpdir(), 'convscope-ort-small-'));
    await saveCheckpoint(m, dir);
    m.dispose();
    const model = await openModel(join(dir, 'model.json'));
    const built = await buildModel(model);
    try {
      await run(built);
    } finally {
      built.dispose();
      model.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('UpSampling2D (a channels-last Resize, its axes read from the scales) gets its gradient on ONNX Runtime, equal to TensorFlow.js', async () => {
    await small((x) => tfl.layers.upSampling2d({ size: [2, 3], name: 'up' }).apply(x) as tfl.SymbolicTensor, [6, 6, 1], async (built) => {
      const x = { shape: [1, 6, 6, 1], data: Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)) };
      const r = await attribute(built, x, { method: 'saliency', classIndex: 1 });
      assert.equal(r.engine, 'ONNX Runtime');
      assertClose(r.perValue!.data, Array.from((await tfjsGradients(built).inputGradients(x, 1)).gradient), 'gradient through UpSampling2D');
    });
  });

  it("a Keras squeeze-and-excitation block (Multiply of [N, 1, 1, C] by [N, H, W, C]) gets its gradient on ONNX Runtime, equal to TensorFlow.js", async () => {
    await small((x) => {
      const squeezed = tfl.layers.globalAveragePooling2d({ name: 'squeeze' }).apply(x) as tfl.SymbolicTensor;
      const gate = tfl.layers.dense({ units: 2, activation: 'sigmoid', name: 'gate', kernelInitializer: tfl.initializers.glorotUniform({ seed: 4 }) }).apply(squeezed) as tfl.SymbolicTensor;
      const shaped = tfl.layers.reshape({ targetShape: [1, 1, 2], name: 'shaped' }).apply(gate) as tfl.SymbolicTensor;
      return tfl.layers.multiply({ name: 'excite' }).apply([x, shaped]) as tfl.SymbolicTensor;
    }, [6, 6, 1], async (built) => {
      const x = { shape: [1, 6, 6, 1], data: Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)) };
      const r = await attribute(built, x, { method: 'saliency', classIndex: 2 });
      assert.equal(r.engine, 'ONNX Runtime');
      assertClose(r.perValue!.data, Array.from((await tfjsGradients(built).inputGradients(x, 2)).gradient), 'gradient through the squeeze-and-excitation block');
    });
  });

  it('a layer the gradient builder does not cover falls back to TensorFlow.js and says why', async () => {
    await small((x) => {
      const other = tfl.layers.conv2d({ filters: 2, kernelSize: 1, name: 'side', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }).apply(x) as tfl.SymbolicTensor;
      return tfl.layers.maximum({ name: 'max' }).apply([x, other]) as tfl.SymbolicTensor;
    }, [6, 6, 1], async (built) => {
      const r = await attribute(built, { shape: [1, 6, 6, 1], data: Float32Array.from({ length: 36 }, (_, i) => i / 36) }, { method: 'saliency' });
      assert.match(r.engine, /^TensorFlow\.js \(not ONNX Runtime: layer 'max' \(Max\) has no gradient rule yet/);
    });
  });
});
