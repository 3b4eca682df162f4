import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { ortTrainer } from '../../src/compute/ort-train.js';
import { trainModel, type GradientEngineInfo } from '../../src/compute/train.js';
import type { Dataset } from '../../src/data/dataset.js';
import { randomSource } from '../../src/data/random.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * The ONNX Runtime training step against two outside oracles: TensorFlow.js' cpu backend (one step's
 * loss and gradients, the trainer's own definition of the loss) and PyTorch in float64 (three SGD
 * steps through trainModel: every loss and every final weight). Tolerance: 1e-4 x (1 + max |oracle|)
 * per tensor; measured errors are about 1e-7.
 */

type Spec =
  | { kind: 'conv'; name: string; filters: number; kernel: [number, number]; strides: [number, number]; padding: 'same' | 'valid'; activation: string; bias: boolean; dilation?: [number, number] }
  | { kind: 'pool'; name: string; size: [number, number]; strides: [number, number]; padding: 'same' | 'valid' }
  | { kind: 'flatten'; name: string }
  | { kind: 'act'; name: string; activation: string }
  | { kind: 'dense'; name: string; units: number; activation: string; bias?: false }
  | { kind: 'dropout'; name: string; rate: number }
  | { kind: 'gap'; name: string }
  | { kind: 'bn'; name: string };

/** Strided 'same' and 'valid' convolutions with uneven sizes, an overlapping 'same' max pool, no-bias, every activation, a softmax output. */
const ODD: Spec[] = [
  { kind: 'conv', name: 'c1', filters: 4, kernel: [3, 2], strides: [2, 3], padding: 'same', activation: 'tanh', bias: true },
  { kind: 'pool', name: 'p1', size: [3, 3], strides: [1, 1], padding: 'same' },
  { kind: 'conv', name: 'c2', filters: 5, kernel: [3, 3], strides: [2, 2], padding: 'valid', activation: 'linear', bias: false },
  { kind: 'flatten', name: 'f' },
  { kind: 'act', name: 'r', activation: 'relu' },
  { kind: 'dense', name: 'd1', units: 7, activation: 'sigmoid' },
  { kind: 'dense', name: 'd2', units: 4, activation: 'softmax' },
];
/** The CIFAR-like shape of the benchmark: same convolutions with ReLU, 2x2 pools, logits out. */
const LOGITS: Spec[] = [
  { kind: 'conv', name: 'c1', filters: 6, kernel: [5, 5], strides: [1, 1], padding: 'same', activation: 'relu', bias: true },
  { kind: 'pool', name: 'p1', size: [2, 2], strides: [2, 2], padding: 'valid' },
  { kind: 'conv', name: 'c2', filters: 8, kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', bias: true },
  { kind: 'pool', name: 'p2', size: [2, 2], strides: [2, 2], padding: 'valid' },
  { kind: 'flatten', name: 'f' },
  { kind: 'dense', name: 'd', units: 4, activation: 'linear' },
];
/** Dropout on feature maps and on rows, global average pooling. */
const DROPOUT: Spec[] = [
  { kind: 'conv', name: 'c1', filters: 6, kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', bias: true },
  { kind: 'dropout', name: 'drop1', rate: 0.3 },
  { kind: 'pool', name: 'p1', size: [2, 2], strides: [2, 2], padding: 'valid' },
  { kind: 'conv', name: 'c2', filters: 8, kernel: [3, 3], strides: [1, 1], padding: 'valid', activation: 'relu', bias: true },
  { kind: 'gap', name: 'g' },
  { kind: 'dropout', name: 'drop2', rate: 0.5 },
  { kind: 'dense', name: 'd', units: 5, activation: 'softmax' },
];
/** Batch normalization on feature maps and on rows (batch statistics, moving averages updated). */
const NORM: Spec[] = [
  { kind: 'conv', name: 'c1', filters: 5, kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'linear', bias: false },
  { kind: 'bn', name: 'bn1' },
  { kind: 'act', name: 'r1', activation: 'relu' },
  { kind: 'pool', name: 'p1', size: [2, 2], strides: [2, 2], padding: 'valid' },
  { kind: 'flatten', name: 'f' },
  { kind: 'dense', name: 'd1', units: 6, activation: 'linear', bias: false },
  { kind: 'bn', name: 'bn2' },
  { kind: 'dense', name: 'd2', units: 3, activation: 'softmax' },
];
/** Dilated convolutions, 'same' and 'valid' (TensorFlow.js has no gradient for them: PyTorch only). */
const DILATED: Spec[] = [
  { kind: 'conv', name: 'c1', filters: 4, kernel: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', bias: true, dilation: [2, 2] },
  { kind: 'conv', name: 'c2', filters: 3, kernel: [3, 2], strides: [1, 1], padding: 'valid', activation: 'tanh', bias: true, dilation: [2, 3] },
  { kind: 'flatten', name: 'f' },
  { kind: 'dense', name: 'd', units: 4, activation: 'linear' },
];
/** Zero padding, a residual block and a concatenation (Add, Concatenate), then global pooling: a graph, not a chain. */
function residual(seed: number): tfl.LayersModel {
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed + k });
  const input = tfl.input({ shape: [8, 7, 3] });
  const padded = tfl.layers.zeroPadding2d({ name: 'pad', padding: [[1, 0], [2, 1]] }).apply(input) as tfl.SymbolicTensor;
  const c1 = tfl.layers.conv2d({ name: 'c1', filters: 4, kernelSize: [2, 4], padding: 'valid', activation: 'relu', kernelInitializer: init(1) }).apply(padded) as tfl.SymbolicTensor;
  const c2 = tfl.layers.conv2d({ name: 'c2', filters: 4, kernelSize: 3, padding: 'same', kernelInitializer: init(2) }).apply(c1) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([c1, c2]) as tfl.SymbolicTensor;
  const relu = tfl.layers.activation({ name: 'relu', activation: 'relu' }).apply(sum) as tfl.SymbolicTensor;
  const both = tfl.layers.concatenate({ name: 'both' }).apply([relu, input]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(both) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ name: 'd', units: 3, kernelInitializer: init(3) }).apply(pooled) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}
const INPUT = { residual: [8, 7, 3], odd: [13, 11, 2], logits: [12, 12, 3], dropout: [10, 9, 2], norm: [9, 8, 2], dilated: [11, 10, 2] } as const;

function build(spec: readonly Spec[], input: readonly number[], seed: number): tfl.LayersModel {
  let k = seed;
  const init = () => tfl.initializers.glorotUniform({ seed: k++ });
  const bias = () => tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: k++ });
  const layers = spec.map((s, i) => {
    const first = i === 0 ? { inputShape: [...input] } : {};
    switch (s.kind) {
      case 'conv':
        return tfl.layers.conv2d({ ...first, name: s.name, filters: s.filters, kernelSize: s.kernel, strides: s.strides, dilationRate: s.dilation ?? 1, padding: s.padding, activation: s.activation as 'relu', useBias: s.bias, kernelInitializer: init(), biasInitializer: bias() });
      case 'pool':
        return tfl.layers.maxPooling2d({ ...first, name: s.name, poolSize: s.size, strides: s.strides, padding: s.padding });
      case 'flatten':
        return tfl.layers.flatten({ ...first, name: s.name });
      case 'act':
        return tfl.layers.activation({ ...first, name: s.name, activation: s.activation as 'relu' });
      case 'dense':
        return tfl.layers.dense({ ...first, name: s.name, units: s.units, activation: s.activation as 'relu', useBias: s.bias ?? true, kernelInitializer: init(), biasInitializer: bias() });
      case 'dropout':
        return tfl.layers.dropout({ ...first, name: s.name, rate: s.rate });
      case 'gap':
        return tfl.layers.globalAveragePooling2d({ ...first, name: s.name });
      case 'bn':
        return tfl.layers.batchNormalization({ ...first, name: s.name, momentum: 0.8, gammaInitializer: bias(), betaInitializer: bias() });
    }
  });
  return tfl.sequential({ layers });
}

/** Seeded bytes (a 32-bit LCG), so every run trains on the same images. */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

function dataset(input: readonly number[], classes: number, count: number): Dataset {
  const [height, width, channels] = input as [number, number, number];
  const per = height * width * channels;
  const labels = Uint8Array.from({ length: count }, (_, i) => (i * 3 + 1) % classes);
  return {
    name: 'seeded',
    height,
    width,
    channels,
    maxValue: 255,
    classes: Array.from({ length: classes }, (_, i) => `c${i}`),
    train: { images: bytes(count * per, 7), labels, count },
    test: { images: bytes(2 * per, 8), labels: labels.subarray(0, 2), count: 2 },
  };
}

function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, what: string): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  let err = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]!));
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
  }
  assert.ok(err <= 1e-4 * (1 + scale), `${what}: max error ${err} against max |oracle| ${scale}`);
  return err;
}

const TORCH = `
import json, sys, numpy as np, torch
import torch.nn.functional as F
def oracle(job):
  W = {k: torch.tensor(np.array(v["data"], dtype=np.float64).reshape(v["shape"]), requires_grad="/moving_" not in k) for k, v in job["weights"].items()}
  x = torch.tensor(np.array(job["x"], dtype=np.float64).reshape(job["xshape"])).permute(0, 3, 1, 2)
  y = torch.tensor(np.array(job["y"], dtype=np.float64).reshape(-1, job["classes"]))
  def same(n, k, s):
      t = max((-(-n // s) - 1) * s + k - n, 0)
      return t // 2, t - t // 2
  def act(v, a):
      return {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda u: u, "softmax": lambda u: torch.softmax(u, 1)}[a](v)
  def run(v):
      for L in job["spec"]:
          k = L["kind"]
          if k in ("conv", "pool"):
              size, s = (L["kernel"] if k == "conv" else L["size"]), L["strides"]
              d = L.get("dilation", [1, 1])
              if L["padding"] == "same":
                  t, b = same(v.shape[2], (size[0] - 1) * d[0] + 1, s[0]); l, r = same(v.shape[3], (size[1] - 1) * d[1] + 1, s[1])
                  v = F.pad(v, (l, r, t, b), value=0.0 if k == "conv" else float("-inf"))
              if k == "conv":
                  v = act(F.conv2d(v, W[L["name"] + "/kernel"].permute(3, 2, 0, 1), W.get(L["name"] + "/bias"), stride=s, dilation=d), L["activation"])
              else:
                  v = F.max_pool2d(v, size, s)
          elif k == "flatten":
              v = v.permute(0, 2, 3, 1).reshape(v.shape[0], -1)
          elif k == "act":
              v = act(v, L["activation"])
          elif k == "bn":
              axes = [0] + list(range(2, v.dim()))
              mean = v.mean(dim=axes, keepdim=True)
              var = ((v - mean) ** 2).mean(dim=axes, keepdim=True)
              shape = [1, -1] + [1] * (v.dim() - 2)
              n = L["name"]
              with torch.no_grad():
                  for stat, batch in (("moving_mean", mean), ("moving_variance", var)):
                      W[n + "/" + stat].copy_(0.8 * W[n + "/" + stat] + 0.2 * batch.flatten())
              v = (v - mean) / torch.sqrt(var + 1e-3) * W[n + "/gamma"].reshape(shape) + W[n + "/beta"].reshape(shape)
          else:
              v = act(v @ W[L["name"] + "/kernel"] + (W[L["name"] + "/bias"] if L.get("bias", True) else 0), L["activation"])
      return v
  losses = []
  for step in range(job["steps"]):
      out = run(x)
      if job["spec"][-1]["activation"] == "softmax":
          loss = -(y * torch.log(out.clamp(1e-7, 1))).sum(1).mean()
      else:
          loss = -(y * F.log_softmax(out, 1)).sum(1).mean()
      trained = [w for w in W.values() if w.requires_grad]
      grads = torch.autograd.grad(loss, trained)
      losses.append(loss.item())
      with torch.no_grad():
          for w, g in zip(trained, grads):
              w -= job["lr"] * g
  return {"losses": losses, "weights": {k: w.detach().numpy().ravel().tolist() for k, w in W.items()}}
print(json.dumps([oracle(job) for job in json.load(sys.stdin)]))
`;

/** Weights by "layer/role", as the oracle names them. */
function weightsOf(model: tfl.LayersModel): Record<string, { data: number[]; shape: number[] }> {
  const out: Record<string, { data: number[]; shape: number[] }> = {};
  for (const layer of model.layers) {
    for (const w of layer.weights) out[`${layer.name}/${w.originalName.split('/').at(-1)}`] = { data: Array.from(w.read().dataSync()), shape: w.shape as number[] };
  }
  return out;
}

describe('training steps on ONNX Runtime', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it("one step's loss and gradients equal TensorFlow.js' cpu backend (dropout with the same masks)", async () => {
    const errors: number[] = [];
    await tf.setBackend('cpu');
    try {
      const cases = [[ODD, INPUT.odd, true], [LOGITS, INPUT.logits, false], [DROPOUT, INPUT.dropout, true], [NORM, INPUT.norm, true], ['residual', INPUT.residual, false]] as const;
      for (const [spec, input, probabilities] of cases) {
        const model = spec === 'residual' ? residual(11) : build(spec, input, 11);
        const classes = model.outputs[0]!.shape[1]!;
        const n = 5;
        const x = Float32Array.from(bytes(n * (input as readonly number[]).reduce((a, b) => a * b), 3), (v) => v / 64 - 2);
        const onehot = new Float32Array(n * classes).map((_, i) => (i % classes === Math.floor(i / classes) % classes ? 1 : 0));
        const trainer = await ortTrainer(model, probabilities, randomSource('masks'));
        assert.ok(!('reason' in trainer), 'reason' in trainer ? trainer.reason : '');
        const moving = model.nonTrainableWeights;
        const before = moving.map((w) => w.read().dataSync().slice());
        const got = await trainer.step(x, onehot, n);
        await trainer.release();
        // The moving averages the step wrote back, then the start values again for TensorFlow.js to update.
        const written = moving.map((w) => w.read().dataSync().slice());
        moving.forEach((w, i) => w.write(tf.tensor(before[i]!, w.shape as number[])));
        // The oracle's forward pass runs the layers one by one, multiplying by the same masks where
        // the model has dropout: drawn in layer order, in the layer input's shape, kept when >= rate.
        const random = randomSource('masks');
        const masks = model.layers
          .filter((l) => l.getClassName() === 'Dropout')
          .map((l) => {
            const shape = [n, ...((l.input as tfl.SymbolicTensor).shape.slice(1) as number[])];
            const rate = (l.getConfig() as { rate: number }).rate;
            return tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => (random() >= rate ? 1 / (1 - rate) : 0)), shape);
          });
        const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const { value, grads } = tf.variableGrads(() => {
          const image = tf.tensor4d(x, [n, ...input] as [number, number, number, number]);
          let out: tf.Tensor = image;
          let dropout = 0;
          if (spec === 'residual') out = model.apply(image, { training: true }) as tf.Tensor;
          else for (const layer of model.layers) out = layer.getClassName() === 'Dropout' ? tf.mul(out, masks[dropout++]!) : (layer.apply(out, { training: true }) as tf.Tensor);
          const labels = tf.tensor2d(onehot, [n, classes]);
          const loss = probabilities ? tf.neg(tf.mean(tf.sum(tf.mul(labels, tf.log(tf.clipByValue(out, 1e-7, 1))), -1))) : tf.losses.softmaxCrossEntropy(labels, out);
          return loss as tf.Scalar;
        }, variables);
        tf.dispose(masks);
        closeTo([got.loss], value.dataSync(), 'loss');
        assert.deepEqual([...got.grads.keys()].sort(), variables.map((v) => v.name).sort());
        for (const v of variables) {
          const want = grads[v.name]!.dataSync();
          assert.ok(want.some((g) => g !== 0), `${v.name}: the oracle's gradient is all zero, so the case tests nothing`);
          errors.push(closeTo(got.grads.get(v.name)!.data, want, v.name));
        }
        moving.forEach((w, i) => {
          assert.ok(w.read().dataSync().some((v, k) => v !== before[i]![k]), `${w.name}: TensorFlow.js did not update it, so the check tests nothing`);
          closeTo(written[i]!, w.read().dataSync(), `${w.name} after the step`);
        });
        tf.dispose([value, ...Object.values(grads)]);
        model.dispose();
      }
    } finally {
      await tf.setBackend('wasm');
    }
    console.log(`largest gradient error against tfjs cpu: ${Math.max(...errors).toExponential(1)}`);
  });

  it('three SGD steps through trainModel equal PyTorch float64: every loss and every final weight', needsPython('torch'), async () => {
    const runs: { name: string; losses: number[]; trained: ReturnType<typeof weightsOf>; job: object }[] = [];
    for (const [name, spec, input] of [['odd', ODD, INPUT.odd], ['logits', LOGITS, INPUT.logits], ['norm', NORM, INPUT.norm], ['dilated', DILATED, INPUT.dilated]] as const) {
      const model = build(spec, input, 21);
      const classes = model.outputs[0]!.shape[1]!;
      const data = dataset(input, classes, 12);
      const start = weightsOf(model);
      const engines: GradientEngineInfo[] = [];
      const losses: number[] = [];
      // One batch per epoch, so three epochs are three steps on the same 12 images.
      await trainModel(model, data, { epochs: 3, batchSize: 12, learningRate: 0.5, optimizer: 'sgd', scale: 'unit', onEngine: (e) => engines.push(e), onBatch: (p) => losses.push(p.loss) });
      assert.equal(engines[0]!.name, 'onnxruntime', engines[0]!.description);
      const trained = weightsOf(model);
      for (const [weight, w] of Object.entries(trained)) {
        assert.ok(w.data.some((v, i) => Math.abs(v - start[weight]!.data[i]!) > 1e-4), `${name}: ${weight} did not change, so the steps test nothing`);
      }
      const x = Array.from(data.train.images, (v) => v / 255);
      const y = Array.from({ length: 12 * classes }, (_, i) => (data.train.labels[Math.floor(i / classes)] === i % classes ? 1 : 0));
      runs.push({ name, losses, trained, job: { spec, weights: start, x, xshape: [12, ...input], y, classes, lr: 0.5, steps: 3 } });
      model.dispose();
    }
    const oracles = JSON.parse(runPython(TORCH, [], JSON.stringify(runs.map((r) => r.job)))) as { losses: number[]; weights: Record<string, number[]> }[];
    runs.forEach((run, k) => {
      const oracle = oracles[k]!;
      closeTo(run.losses, oracle.losses, `${run.name}: losses`);
      assert.deepEqual(Object.keys(run.trained).sort(), Object.keys(oracle.weights).sort());
      for (const [weight, w] of Object.entries(run.trained)) closeTo(w.data, oracle.weights[weight]!, `${run.name}: ${weight} after 3 steps`);
    });
  });
});

describe('choosing the gradient engine', () => {
  const disposers: tfl.LayersModel[] = [];
  after(() => disposers.forEach((m) => m.dispose()));

  it('a model ONNX Runtime does not cover trains on TensorFlow.js, and the engine says which layer', async () => {
    await initBackend('wasm');
    const model = tfl.sequential({
      layers: [tfl.layers.averagePooling2d({ inputShape: [8, 8, 1], poolSize: 2, name: 'average' }), tfl.layers.flatten(), tfl.layers.dense({ units: 10, activation: 'softmax' })],
    });
    disposers.push(model);
    const data = dataset([8, 8, 1], 10, 16);
    const engines: GradientEngineInfo[] = [];
    await trainModel(model, data, { epochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd', scale: 'unit', onEngine: (e) => engines.push(e) });
    assert.deepEqual(engines, [{ name: 'tfjs', description: "TensorFlow.js wasm (ONNX Runtime does not cover it: layer 'average' (AveragePooling2D) is not among the layers it trains)" }]);
    await assert.rejects(trainModel(model, data, { epochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd', scale: 'unit', engine: 'onnxruntime' }), {
      name: 'UnsupportedError',
      message: `ONNX Runtime cannot train ${model.name}: layer 'average' (AveragePooling2D) is not among the layers it trains.`,
    });
  });

  it('a layer called twice is named as such', async () => {
    const input = tfl.input({ shape: [4] });
    const shared = tfl.layers.dense({ units: 4, name: 'shared' });
    const twice = shared.apply(shared.apply(input) as tfl.SymbolicTensor) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: twice });
    disposers.push(model);
    assert.deepEqual(await ortTrainer(model, false), { reason: "layer 'shared' is called 2 times" });
  });
});
