import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initBackend, tf } from '../../src/compute/backend.js';
import { maximize, pixelObjective } from '../../src/compute/maximize.js';
import { loadOnnxNet } from '../../src/compute/onnx-activations.js';
import type { OnnxNet } from '../../src/compute/ort.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Activation maximization of an ONNX model (a PyTorch user's torchvision export), the network's
 * gradient on ONNX Runtime, against PyTorch: torchvision resnet18 (weights=None, torch.manual_seed(0),
 * eval, batch norms folded by the default export, opset 13, fixed batch 1, 64x64) exported at test time.
 * Oracle 1: d objective / d pixels, with torchvision's normalisation applied to the (0, 1) pixels
 * inside the differentiated graph, equals torch autograd on the same pixels (1e-4 of the largest
 * |value|; the objectives 1e-4 relative), for the channel objective at a module path (`layer2`, the
 * last ReLU of its last block) and the neuron objective at a node name. Oracle 2: a 32-step run
 * (seed 1, no transforms) raises the objective, and torch, fed the final images, gives the same
 * objectives (1e-3 relative).
 */

const EXPORT = String.raw`
import json, sys, numpy as np, torch, torchvision
d = sys.argv[1]
torch.manual_seed(0)
net = torchvision.models.resnet18(weights=None).eval()
for p in net.parameters():
    p.requires_grad_(False)
torch.onnx.export(net, torch.rand(1, 3, 64, 64), f'{d}/resnet18.onnx', input_names=['input'], output_names=['logits'], opset_version=13)
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

def objective(module, pixels, filters, kind):
    store = {}
    h = module.register_forward_hook(lambda m, i, o: store.__setitem__('a', o))  # the last call: relu_1 is the module's second use
    net((pixels - mean) / std); h.remove()
    a = store['a']
    if kind == 'channel':
        return torch.stack([a[i, f].mean() for i, f in enumerate(filters)])
    return torch.stack([a[i, f, a.shape[2] // 2, a.shape[3] // 2] for i, f in enumerate(filters)])

out = {}
g = torch.Generator().manual_seed(5)
for name, module, filters, kind in [('layer2', net.layer2, [0, 3, 5], 'channel'), ('layer3_relu', net.layer3[1].relu, [1, 7], 'neuron')]:
    pixels = torch.rand(1, 3, 64, 64, generator=g).repeat(len(filters), 1, 1, 1).requires_grad_(True)
    value = objective(module, pixels, filters, kind)
    value.sum().backward()
    np.save(f'{d}/{name}_pixels.npy', pixels.detach()[0].permute(1, 2, 0).contiguous().numpy())
    out[name] = {'objective': value.tolist(), 'grad': pixels.grad.permute(0, 2, 3, 1).contiguous().numpy().ravel().tolist()}
print(json.dumps(out))
`;

/** torch's objectives on images maximize wrote ([N, H, W, C] .npy, 0..1). */
const RECHECK = String.raw`
import json, sys, numpy as np, torch, torchvision
d = sys.argv[1]
torch.manual_seed(0)
net = torchvision.models.resnet18(weights=None).eval()
mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
pixels = torch.from_numpy(np.load(f'{d}/final.npy')).permute(0, 3, 1, 2)
store = {}
net.layer2.register_forward_hook(lambda m, i, o: store.setdefault('a', o))
with torch.no_grad():
    net((pixels - mean) / std)
print(json.dumps([store['a'][i, i].mean().item() for i in range(pixels.shape[0])]))
`;

interface Case {
  objective: number[];
  grad: number[];
}

describe('maximize on an ONNX model (torchvision resnet18 export) against PyTorch', needsPython('numpy', 'torch', 'torchvision', 'onnx'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-maximize-onnx-'));
  let oracle: Record<'layer2' | 'layer3_relu', Case>;
  let model: Model;
  let net: OnnxNet;

  before(async () => {
    await initBackend();
    oracle = JSON.parse(runPython(EXPORT, [dir])) as typeof oracle;
    model = await openModel(join(dir, 'resnet18.onnx'));
    net = await loadOnnxNet(join(dir, 'resnet18.onnx'), onnxGraph(model)!);
  });

  after(async () => {
    await net?.release();
    model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pixelsOf = (name: string, copies: number): tf.Tensor4D => {
    const one = decodeNpy(readFileSync(join(dir, `${name}_pixels.npy`)));
    return tf.tidy(() => tf.tile(tf.tensor4d(Float32Array.from(one.data as Float32Array), [1, ...one.shape] as [number, number, number, number]), [copies, 1, 1, 1]));
  };

  for (const [name, layer, filters, objective] of [
    ['layer2', 'layer2', [0, 3, 5], 'channel'],
    ['layer3_relu', '/layer3/layer3.1/relu_1/Relu', [1, 7], 'neuron'],
  ] as const) {
    it(`d ${objective} objective / d pixels at ${layer} (torchvision normalisation inside) equals torch autograd`, async () => {
      const o = oracle[name];
      const f = await pixelObjective(net, { layer, filters, objective, pixels: 'torchvision' });
      const pixels = pixelsOf(name, filters.length);
      const r = await f.at(pixels);
      const got = r.gradient.dataSync();
      pixels.dispose();
      r.gradient.dispose();
      f.dispose();
      assert.equal(f.engine, 'ONNX Runtime');
      assert.equal(got.length, o.grad.length);
      const largest = o.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(largest > 0, 'the torch gradient is all zero, so the comparison would prove nothing');
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - o.grad[i]!));
      console.log(`${layer}: max |difference| ${worst.toExponential(2)}, largest |gradient| ${largest.toExponential(2)}`);
      assert.ok(worst <= 1e-4 * largest, `max |difference| ${worst} exceeds 1e-4 x ${largest}`);
      r.objective.forEach((v, i) => assert.ok(Math.abs(v - o.objective[i]!) <= 1e-4 * Math.max(1, Math.abs(o.objective[i]!)), `objective ${i}: ${v} vs torch ${o.objective[i]}`));
    });
  }

  it('32 steps raise the objective of layer2 filters 0-3 on ONNX Runtime; pixels stay in [0, 1]; torch gives the same final objectives', async () => {
    const r = await maximize(net, { layer: 'layer2', filters: [0, 1, 2, 3], steps: 32, seed: 1, transforms: false, pixels: 'torchvision' });
    assert.equal(r.engine, 'ONNX Runtime');
    assert.equal(r.layer, 'layer2');
    const t = r.trace;
    const rises = t.slice(1).filter((v, i) => v > t[i]!).length;
    // the numbers a reader checks: printed with the test
    console.log(`objective trace: ${t.map((v) => v.toFixed(3)).join(' ')}; final per filter ${r.final.map((v) => v.toFixed(3)).join(' ')}`);
    assert.ok(rises >= 0.8 * (t.length - 1), `the objective rose on ${rises} of ${t.length - 1} steps`);
    const mean = (xs: readonly number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
    assert.ok(mean(r.final) >= 2 * t[0]! && mean(r.final) - t[0]! >= 0.5, `objective ${t[0]} at the start, ${mean(r.final)} at the end`);
    let [lo, hi] = [Infinity, -Infinity];
    for (const v of r.images) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    assert.ok(lo >= 0 && hi <= 1 && hi - lo > 0.5, `pixels span [${lo}, ${hi}]`);
    const { encodeNpy } = await import('../../src/model/npy.js');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'final.npy'), encodeNpy(r.images, [4, r.height, r.width, r.channels]));
    const torchFinal = JSON.parse(runPython(RECHECK, [dir])) as number[];
    r.final.forEach((v, i) => assert.ok(Math.abs(v - torchFinal[i]!) <= 1e-3 * Math.max(1, Math.abs(torchFinal[i]!)), `filter ${i}: ${v} vs torch ${torchFinal[i]}`));
  });

  it('a process that never started TensorFlow.js (the viewer serving an ONNX model) maximizes through maximizeView', async () => {
    const code = [
      "import { openModel } from './dist/formats/open.js';",
      "import { onnxGraph } from './dist/formats/onnx-graph.js';",
      "import { loadOnnxNet } from './dist/compute/onnx-activations.js';",
      "import { maximizeView } from './dist/views/detects-view.js';",
      'const model = await openModel(process.argv[1]);',
      'const net = await loadOnnxNet(process.argv[1], onnxGraph(model));',
      "const v = await maximizeView(net, { layer: 'layer1', filters: [0, 1], objective: 'channel', steps: 2, seed: 0, preprocessing: { preset: 'torchvision' } }, () => undefined);",
      'console.log(v.lines[0]);',
      'await net.release();',
    ].join('\n');
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, join(dir, 'resnet18.onnx')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^2 images of 64x64, one per filter, each optimised 2 steps .* the network's gradient ran on ONNX Runtime\.$/m);
  });

  it('the CLI maximizes an ONNX file: a PNG grid, the engine and the default torchvision pixels said', async () => {
    const out = join(dir, 'grid.png');
    const r = await runCli(['maximize', join(dir, 'resnet18.onnx'), '--layer', 'layer1', '--filters', '0-3', '--steps', '8', '--out', out], { timeoutMs: 120000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^layer1: 4 filters, channel objective, 8 steps, 64x64x3 images$/m);
    assert.match(r.stdout, /the network's gradient ran on ONNX Runtime/);
    assert.match(r.stdout, /pixels: torchvision .* the default for an ONNX model/);
    const png = readFileSync(out);
    assert.deepEqual([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(''), 'PNG');
    assert.ok(png.readUInt32BE(16) >= 4 * 64 && png.readUInt32BE(20) >= 64, `grid ${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`);
  });
});
