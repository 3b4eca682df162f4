/**
 * One SGD training step of the small CIFAR-style CNN (Conv 64 5x5 'same' + ReLU on 32x32x3, max
 * pool 2, Conv 64 5x5 'same' + ReLU, max pool 2, Dense 10; batch 64, softmax cross-entropy) on
 * tfjs' wasm backend with convscope's gradient kernels, next to Debian's PyTorch (2 threads) in
 * the same run. Both sides: warm-up steps, then the median of timed steps; PyTorch runs before and
 * after wasm and the faster of its two medians is used, so a load change on a shared machine shows
 * up instead of skewing the ratio. Then a per-kernel profile of one wasm step (tf.profile).
 *
 *   node --import tsx bench/train-step.ts [steps]
 */
import { spawnSync } from 'node:child_process';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../src/compute/backend.js';

const PYTHON = '/usr/bin/python3';
const BATCH = 64;
const STEPS = Number(process.argv[2] ?? 5);
const WARMUP = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function network(): tfl.LayersModel {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 10 }),
    ],
  });
}

async function wasmSide(): Promise<{ step: number; forward: number; kernels: [string, number][]; total: number }> {
  await initBackend('wasm');
  const model = network();
  const optimizer = tf.train.sgd(0.01);
  const x = tf.randomUniform([BATCH, 32, 32, 3]);
  const y = tf.oneHot(tf.randomUniform([BATCH], 0, 10, 'int32') as tf.Tensor1D, 10);
  const step = () => {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true);
    loss!.dataSync();
    loss!.dispose();
  };
  const forward = () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  const time = (f: () => void, n: number) => {
    for (let i = 0; i < WARMUP; i++) f();
    return median(Array.from({ length: n }, () => {
      const t = performance.now();
      f();
      return performance.now() - t;
    }));
  };
  const forwardMs = time(forward, STEPS);
  const stepMs = time(step, STEPS);
  const profile = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  const kernels = [...byKernel].sort((a, b) => b[1] - a[1]);
  return { step: stepMs, forward: forwardMs, kernels, total: kernels.reduce((a, [, v]) => a + v, 0) };
}

function torchSide(): { step: number; forward: number } {
  const code = `
import json, time, sys, torch
torch.set_num_threads(2)
torch.manual_seed(0)
steps, warmup, batch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
m = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                        torch.nn.Conv2d(64, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                        torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
x = torch.rand(batch, 3, 32, 32); y = torch.randint(0, 10, (batch,))
def step():
    opt.zero_grad(); torch.nn.functional.cross_entropy(m(x), y).backward(); opt.step()
def forward():
    with torch.no_grad(): m(x)
def timed(f):
    for _ in range(warmup): f()
    ts = []
    for _ in range(steps):
        t = time.perf_counter(); f(); ts.append((time.perf_counter() - t) * 1000)
    return sorted(ts)[len(ts) // 2]
print(json.dumps({"forward": timed(forward), "step": timed(step)}))`;
  const r = spawnSync(PYTHON, ['-c', code, String(STEPS), String(WARMUP), String(BATCH)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`PyTorch side failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as { step: number; forward: number };
}

const before = torchSide();
const wasm = await wasmSide();
const after = torchSide();
const torch = { step: Math.min(before.step, after.step), forward: Math.min(before.forward, after.forward) };
console.log(`small CIFAR CNN, batch ${BATCH}, median of ${STEPS} after ${WARMUP} warm-up`);
console.log(`  PyTorch before/after wasm: step ${before.step.toFixed(0)}/${after.step.toFixed(0)} ms, forward ${before.forward.toFixed(0)}/${after.forward.toFixed(0)} ms`);
console.log(`  forward          wasm ${wasm.forward.toFixed(0).padStart(5)} ms   PyTorch ${torch.forward.toFixed(0).padStart(5)} ms   ratio ${(wasm.forward / torch.forward).toFixed(2)}x`);
console.log(`  training step    wasm ${wasm.step.toFixed(0).padStart(5)} ms   PyTorch ${torch.step.toFixed(0).padStart(5)} ms   ratio ${(wasm.step / torch.step).toFixed(2)}x`);
console.log(`where one wasm step goes (tf.profile, ${wasm.total.toFixed(0)} ms in kernels):`);
for (const [name, ms] of wasm.kernels.slice(0, 10)) console.log(`  ${name.padEnd(24)} ${ms.toFixed(1).padStart(7)} ms  ${((100 * ms) / wasm.total).toFixed(1).padStart(5)}%`);
