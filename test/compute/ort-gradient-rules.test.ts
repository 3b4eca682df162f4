import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { attributeOnnx } from '../../src/analyze/attribute.js';
import { initBackend } from '../../src/compute/backend.js';
import { maximize } from '../../src/compute/maximize.js';
import { loadOnnxNet } from '../../src/compute/onnx-activations.js';
import { onnxGradients } from '../../src/compute/ort-gradients.js';
import type { OnnxNet } from '../../src/compute/ort.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * The backward rules for squeeze-and-excitation, SiLU, ceil-mode pooling, channel shuffles, Resize,
 * Slice, Split, GlobalMaxPool / ReduceMax, inner Softmax / LogSoftmax and broadcasting elementwise
 * operators, against torch autograd (float64, same weights) on graphs torch exported at test time
 * (test/helpers/gradient_rules.py): four torchvision models end to end (the input gradient of the top
 * logit, and of the mean of one channel of an intermediate block: maximize's objective), and one small
 * graph per rule. Tolerance: 1e-4 of the oracle's largest |value|. Before these rules each of these
 * graphs was refused ("... has no gradient rule yet") and attribution said so instead of running.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MODELS = ['mobilenet_v3_small', 'squeezenet1_1', 'efficientnet_b0', 'shufflenet_v2_x0_5', 'convnext_mini', 'convnext_mini_opset13'];
/** One small graph per rule: its name in gradient_rules.py, what it holds. */
const SINGLES: readonly [string, string][] = [
  ['broadcast_mul', "squeeze-and-excitation's [N, C, 1, 1] x [N, C, H, W] Mul"],
  ['broadcast_ops', 'Add, Sub, Mul and Div broadcasting both ways, dividing by live values, Abs, ReduceMax'],
  ['broadcast_opset11', 'the same at opset 11 (no ReduceSum axes input)'],
  ['maxpool_ceil_pad', 'ceil-mode MaxPool with padding'],
  ['avgpool_ceil_pad', 'ceil-mode AveragePool counting the padding (an explicit Pad)'],
  ['avgpool_ceil_nopadcount', 'ceil-mode AveragePool not counting the padding'],
  ['avgpool_ceil', 'ceil-mode AveragePool without padding'],
  ['resize_nearest2', 'Resize nearest x2 (asymmetric, floor)'],
  ['resize_nearest_size', 'Resize nearest to a size computed in the graph'],
  ['resize_bilinear', 'Resize linear x2 (half_pixel)'],
  ['resize_bilinear_corners', 'Resize linear x1.5 (align_corners)'],
  ['resize_bilinear_down', 'Resize linear down to a size'],
  ['resize_bilinear_opset11', 'Resize linear x2 at opset 11 (roi and scales inputs)'],
  ['resize_size_opset11', 'Resize nearest to a size at opset 11 (an empty scales input)'],
  ['resize_bicubic', 'Resize cubic x2'],
  ['slice_steps', 'Slice with steps and a negative end'],
  ['flip', 'Slice with negative axes and steps (torch.flip)'],
  ['split', 'Split with uneven parts, and a Slice of a computed size'],
  ['global_max', 'GlobalMaxPool'],
  ['unary', 'Elu, Selu, Softplus, Softsign, Exp, Log, Sqrt, Reciprocal, Pow, Erf and mish (x tanh(softplus x))'],
  ['prelu', 'PRelu with a slope per channel'],
  ['instance_norm', 'InstanceNormalization with a scale per channel'],
  ['group_norm', 'GroupNorm (InstanceNormalization between Reshapes)'],
  ['softmax_inner', 'an inner Softmax and LogSoftmax'],
  ['softmax_inner_opset11', 'the same at opset 11'],
];

interface Entry {
  class: number;
  score: number;
  layer?: string;
  channel?: number;
  shape?: number[];
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-4): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  assert.ok(scale > 0, `${what}: the oracle is all zeros, so the comparison would prove nothing`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= rel * scale, `${what}: max |difference| ${worst} exceeds ${rel} x ${scale}`);
  return worst / scale;
}

/** [1, C, H, W] as convscope's channels-last perValue. */
function channelsLast(chw: ArrayLike<number>, channels: number): number[] {
  const pixels = chw.length / channels;
  const out = new Array<number>(chw.length);
  for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) out[p * channels + c] = chw[c * pixels + p]!;
  return out;
}

describe('gradient rules on ONNX Runtime against torch autograd', needsPython('numpy', 'torch', 'torchvision', 'onnx'), () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-gradient-rules-'));
  let manifest: Record<string, Entry>;
  const nets = new Map<string, { net: OnnxNet; model: Model; x: { shape: number[]; data: Float32Array } }>();
  const npy = (name: string) => decodeNpy(readFileSync(join(dir, name)));

  before(async () => {
    manifest = JSON.parse(runPython(readFileSync(join(ROOT, 'test', 'helpers', 'gradient_rules.py'), 'utf8'), [dir])) as Record<string, Entry>;
    for (const name of [...MODELS, ...SINGLES.map(([n]) => n)]) {
      const path = join(dir, `${name}.onnx`);
      const model = await openModel(path);
      const x = npy(`${name}.x.npy`);
      nets.set(name, { model, net: await loadOnnxNet(path, onnxGraph(model)!), x: { shape: [...x.shape], data: Float32Array.from(x.data as Float32Array) } });
    }
  });

  after(async () => {
    for (const { net, model } of nets.values()) {
      await net.release();
      model.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Saliency of the top class on ONNX Runtime equals torch's input gradient. */
  async function checkSaliency(name: string): Promise<void> {
    const { net, x } = nets.get(name)!;
    const o = manifest[name]!;
    const r = await attributeOnnx(net, x, { method: 'saliency' });
    assert.equal(r.engine, 'ONNX Runtime');
    assert.equal(r.classIndex, o.class, `${name}: top class`);
    assert.ok(Math.abs(r.score - o.score) <= 1e-4 * Math.max(1, Math.abs(o.score)), `${name}: score ${r.score} vs ${o.score}`);
    assertClose(r.perValue!.data, channelsLast(npy(`${name}.grad.npy`).data as Float64Array, 3), `${name} input gradient`);
  }

  for (const name of MODELS) {
    it(`${name}: the input gradient of the top logit and of a block's channel mean equal torch's (1e-4)`, async () => {
      await checkSaliency(name);
      const { net, x } = nets.get(name)!;
      const o = manifest[name]!;
      const engine = await onnxGradients(net);
      assert.ok(!('reason' in engine) && engine.seededGradient && engine.unsupported === undefined);
      // maximize's channel objective: the mean over positions of channel k, as d objective / d layer output
      const [, channels, h, wd] = o.shape as [number, number, number, number];
      const seed = new Float32Array(channels * h * wd);
      seed.fill(1 / (h * wd), o.channel! * h * wd, (o.channel! + 1) * h * wd);
      const r = await engine.seededGradient(x, o.layer!, { shape: [1, channels, h, wd], data: seed });
      assertClose(r.gradient, npy(`${name}.layer.npy`).data as Float64Array, `${name} gradient of ${o.layer} channel ${o.channel}`);
    });
  }

  it("mobilenet_v3_small: Grad-CAM's default layer is the last feature map (features.12), not the last one before a squeeze-and-excitation gate; the map equals torch's", async () => {
    const { net, x } = nets.get('mobilenet_v3_small')!;
    const r = await attributeOnnx(net, x, { method: 'gradcam' });
    assert.equal(r.engine, 'ONNX Runtime');
    assert.match(r.layer ?? '', /^features\.12\b/);
    assertClose(r.map.data, npy('mobilenet_v3_small.cam.npy').data as Float64Array, 'Grad-CAM at the default layer');
  });

  it("maximize of a squeeze-and-excitation block's most active channel (mobilenet_v3_small) runs on ONNX Runtime and raises the objective", async () => {
    await initBackend();
    const o = manifest.mobilenet_v3_small!;
    const r = await maximize(nets.get('mobilenet_v3_small')!.net, { layer: o.layer!, filters: [o.channel!], steps: 8, seed: 1, transforms: false, pixels: 'torchvision' });
    assert.equal(r.engine, 'ONNX Runtime');
    assert.ok(r.final[0]! > r.trace[0]!, `objective ${r.trace[0]} at the start, ${r.final[0]} at the end`);
  });

  for (const [name, what] of SINGLES) it(`${what}: the input gradient equals torch's (1e-4)`, () => checkSaliency(name));
});
