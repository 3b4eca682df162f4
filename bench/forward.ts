/**
 * Forward time of convscope's runner (tfjs layers executed layer by layer on the wasm backend, as
 * `convscope activations` runs them) next to Debian's PyTorch in the same run, on:
 *   - VGG16 (random weights, 224x224x3, batch 1)
 *   - a ResNet18-style network (torchvision's resnet18 layout: 7x7/2 stem, 4 stages of 2 basic
 *     blocks with BatchNorm, 1x1/2 projections, global average pool, Dense 1000; batch 1)
 *   - a small CIFAR CNN (Conv 64 5x5 same on 32x32x3, max pool 2, Conv 64 5x5 same, max pool 2,
 *     Dense 10; batch 64)
 * Both sides: 2 warm-up passes, then the median of several timed passes; PyTorch with 2 threads
 * under torch.no_grad() in eval mode, in a child process.
 *
 *   node --import tsx bench/forward.ts
 *
 * Last run (2 cores, load average ~4, tfjs 4.22.0 wasm SIMD single-threaded, PyTorch 1.13 2 threads):
 *   VGG16 2399 ms vs 994 ms (2.41x), ResNet18-style 347 vs 115 ms (3.01x), CIFAR CNN 289 vs 214 ms (1.35x).
 * The gap is mostly threads: tfjs-backend-wasm's threaded build does not start in Node, so
 * convscope computes on one core while PyTorch uses two.
 */
import { spawnSync } from 'node:child_process';
import { runLayers, type InputBatch } from '../src/compute/activations.js';
import { initBackend, tf } from '../src/compute/backend.js';
import { buildModel } from '../src/compute/build.js';
import { memoryModel, type MemoryWeight } from '../test/compute/memory-model.js';
import { prng } from '../test/helpers/random.js';

const PYTHON = '/usr/bin/python3';

type Weights = Record<string, { className: string; weights: MemoryWeight[] }>;

/** Builds a Keras 2 functional config and He-uniform random weights, layer by layer. */
class Net {
  readonly layers: unknown[] = [];
  readonly weights: Weights = {};
  private readonly random = prng(1);
  private count = 0;
  private readonly channels = new Map<string, number>();

  private add(className: string, config: Record<string, unknown>, inputs: string[], channels: number, weights: MemoryWeight[] = []): string {
    const name = `${className.toLowerCase()}_${this.count++}`;
    this.layers.push({ class_name: className, config: { name, ...config }, inbound_nodes: inputs.length ? [inputs.map((i) => [i, 0, 0, {}])] : [] });
    if (weights.length > 0) this.weights[name] = { className, weights };
    this.channels.set(name, channels);
    return name;
  }

  private uniform(n: number, limit: number): Float32Array {
    return Float32Array.from({ length: n }, () => (this.random() * 2 - 1) * limit);
  }

  input(shape: number[]): string {
    return this.add('InputLayer', { batch_input_shape: [null, ...shape] }, [], shape[shape.length - 1]!);
  }

  conv(x: string, filters: number, k: number, stride = 1, activation = 'linear', bias = true): string {
    const c = this.channels.get(x)!;
    const weights: MemoryWeight[] = [{ role: 'kernel', shape: [k, k, c, filters], data: this.uniform(k * k * c * filters, Math.sqrt(6 / (k * k * c))) }];
    if (bias) weights.push({ role: 'bias', shape: [filters], data: this.uniform(filters, 0.05) });
    return this.add('Conv2D', { filters, kernel_size: [k, k], strides: [stride, stride], padding: 'same', activation, use_bias: bias }, [x], filters, weights);
  }

  bn(x: string): string {
    const c = this.channels.get(x)!;
    return this.add('BatchNormalization', { axis: -1, epsilon: 1e-5 }, [x], c, [
      { role: 'gamma', shape: [c], data: this.uniform(c, 1).map((v) => 1 + v / 10) },
      { role: 'beta', shape: [c], data: this.uniform(c, 0.1) },
      { role: 'moving_mean', shape: [c], data: this.uniform(c, 0.1) },
      { role: 'moving_variance', shape: [c], data: this.uniform(c, 0.1).map((v) => 1 + v) },
    ]);
  }

  relu(x: string): string {
    return this.add('Activation', { activation: 'relu' }, [x], this.channels.get(x)!);
  }

  sum(a: string, b: string): string {
    return this.add('Add', {}, [a, b], this.channels.get(a)!);
  }

  pool(x: string, k: number, stride: number, padding = 'valid'): string {
    return this.add('MaxPooling2D', { pool_size: [k, k], strides: [stride, stride], padding }, [x], this.channels.get(x)!);
  }

  gap(x: string): string {
    return this.add('GlobalAveragePooling2D', {}, [x], this.channels.get(x)!);
  }

  flatten(x: string, size: number): string {
    return this.add('Flatten', {}, [x], size);
  }

  dense(x: string, units: number, activation = 'linear'): string {
    const n = this.channels.get(x)!;
    return this.add('Dense', { units, activation }, [x], units, [
      { role: 'kernel', shape: [n, units], data: this.uniform(n * units, Math.sqrt(6 / n)) },
      { role: 'bias', shape: [units], data: this.uniform(units, 0.05) },
    ]);
  }

  model(input: string, output: string): ReturnType<typeof memoryModel> {
    const config = { class_name: 'Model', config: { name: 'bench', layers: this.layers, input_layers: [[input, 0, 0]], output_layers: [[output, 0, 0]] } };
    return memoryModel(config, this.weights);
  }
}

function vgg16(): ReturnType<typeof memoryModel> {
  const net = new Net();
  const input = net.input([224, 224, 3]);
  let x = input;
  for (const [filters, repeat] of [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]] as const) {
    for (let i = 0; i < repeat; i++) x = net.conv(x, filters, 3, 1, 'relu');
    x = net.pool(x, 2, 2);
  }
  x = net.flatten(x, 7 * 7 * 512);
  x = net.dense(x, 4096, 'relu');
  x = net.dense(x, 4096, 'relu');
  return net.model(input, net.dense(x, 1000, 'softmax'));
}

function resnet18(): ReturnType<typeof memoryModel> {
  const net = new Net();
  const input = net.input([224, 224, 3]);
  let x = net.pool(net.relu(net.bn(net.conv(input, 64, 7, 2, 'linear', false))), 3, 2, 'same');
  let channels = 64;
  for (const [filters, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]] as const) {
    for (let block = 0; block < 2; block++) {
      const s = block === 0 ? stride : 1;
      const shortcut = s !== 1 || channels !== filters ? net.bn(net.conv(x, filters, 1, s, 'linear', false)) : x;
      const y = net.bn(net.conv(net.relu(net.bn(net.conv(x, filters, 3, s, 'linear', false))), filters, 3, 1, 'linear', false));
      x = net.relu(net.sum(y, shortcut));
      channels = filters;
    }
  }
  return net.model(input, net.dense(net.gap(x), 1000));
}

function cifar(): ReturnType<typeof memoryModel> {
  const net = new Net();
  const input = net.input([32, 32, 3]);
  let x = net.pool(net.conv(input, 64, 5, 1, 'relu'), 2, 2);
  x = net.pool(net.conv(x, 64, 5, 1, 'relu'), 2, 2);
  return net.model(input, net.dense(net.flatten(x, 8 * 8 * 64), 10));
}

const CASES = [
  { name: 'VGG16 224x224 batch 1', make: vgg16, batch: 1, size: 224, runs: 5 },
  { name: 'ResNet18-style 224x224 batch 1', make: resnet18, batch: 1, size: 224, runs: 10 },
  { name: 'CIFAR CNN 32x32 batch 64', make: cifar, batch: 64, size: 32, runs: 10 },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function convscopeMs(c: (typeof CASES)[number]): Promise<number> {
  const net = await buildModel(c.make());
  try {
    const random = prng(3);
    const shape = [c.batch, c.size, c.size, 3];
    const input: InputBatch = { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => random()) };
    const times: number[] = [];
    for (let i = 0; i < c.runs + 2; i++) {
      const t0 = performance.now();
      await runLayers(net, [input]);
      if (i >= 2) times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    net.dispose();
  }
}

const TORCH = `
import json, time, torch, torchvision
import torch.nn as nn
torch.set_num_threads(2)
def cifar():
    return nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 8 * 8, 10))
cases = [(torchvision.models.vgg16, 1, 224, 5), (torchvision.models.resnet18, 1, 224, 10), (cifar, 64, 32, 10)]
out = []
with torch.no_grad():
    for make, batch, size, runs in cases:
        model = make().eval()
        x = torch.rand(batch, 3, size, size)
        times = []
        for i in range(runs + 2):
            t0 = time.perf_counter()
            model(x)
            if i >= 2:
                times.append((time.perf_counter() - t0) * 1000)
        out.append(sorted(times)[len(times) // 2])
print(json.dumps({'torch': torch.__version__, 'ms': out}))
`;

async function main(): Promise<void> {
  await initBackend();
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
  const ours: number[] = [];
  for (const c of CASES) ours.push(await convscopeMs(c));
  const py = spawnSync(PYTHON, ['-c', TORCH], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`PyTorch side failed:\n${py.stderr}`);
  const torch = JSON.parse(py.stdout) as { torch: string; ms: number[] };
  console.log(`convscope: tfjs ${tf.version_core} on ${tf.getBackend()} (SIMD ${simd}, threads ${threads}); PyTorch ${torch.torch} with 2 threads`);
  console.log('model                            convscope ms   PyTorch ms   convscope/PyTorch');
  CASES.forEach((c, i) => {
    const a = ours[i]!;
    const b = torch.ms[i]!;
    console.log(`${c.name.padEnd(32)} ${a.toFixed(1).padStart(12)} ${b.toFixed(1).padStart(12)} ${(a / b).toFixed(2).padStart(18)}x`);
  });
}

await main();
