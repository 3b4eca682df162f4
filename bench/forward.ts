/**
 * Forward passes on ONNX Runtime as convscope runs them, side by side in one run with PyTorch (the
 * same networks, 2 threads) and with bare onnxruntime-node running the same ONNX graph (2 threads):
 *   - VGG16 (torchvision, random weights, 224x224 batch 1)
 *   - ResNet18 (torchvision, random weights, 224x224 batch 1)
 *   - a CIFAR CNN (Conv 64 5x5, pool, Conv 64 5x5, pool, Linear 10; 32x32 batch 64)
 * exported by torch.onnx.export in eval mode. Two tasks:
 *   all layers  convscope's runOnnxLayers fetching every node's output, against PyTorch with a forward
 *               hook on every leaf module and bare onnxruntime-node with every node output added
 *   forward     the model output only (`activations --top`), against PyTorch under no_grad and bare
 *               onnxruntime-node on the file as exported
 * Sides are interleaved pass by pass in a rotating order after 2 warm-up passes each; medians are
 * shown with the ratios and the load average. Then the whole process `convscope activations` of the
 * ResNet18 export on a 224 photo (the built CLI, as users run it), median of 5.
 *
 *   npm run build && node --import tsx bench/forward.ts [--rounds 9]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { loadOnnxNet, onnxLayers, runOnnxLayers } from '../src/compute/onnx-activations.js';
import { extraOutputsPatch } from '../src/compute/ort.js';
import { openModel } from '../src/formats/open.js';
import { onnxGraph } from '../src/formats/onnx-graph.js';
import { prng } from '../test/helpers/random.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const ROUNDS = Number(argv[argv.indexOf('--rounds') + 1] || 9);
const WARMUP = 2;
const CASES = [
  { name: 'vgg16', label: 'VGG16 224 batch 1', shape: [1, 3, 224, 224] },
  { name: 'resnet18', label: 'ResNet18 224 batch 1', shape: [1, 3, 224, 224] },
  { name: 'cifar', label: 'CIFAR CNN 32 batch 64', shape: [64, 3, 32, 32] },
];
const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 2, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all', logSeverityLevel: 3 };

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** The PyTorch peer: a child process answering '<net> forward|hooks' with the ms of one pass. */
async function startTorch(dir: string): Promise<{ time(net: string, mode: string): Promise<number>; stop(): void }> {
  const child = spawn('/usr/bin/python3', [join(ROOT, 'bench', 'peers', 'forward.py'), dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await lines.next();
    if (r.done) throw new Error('the PyTorch peer exited');
    return r.value;
  };
  if ((await next()) !== 'ready') throw new Error('the PyTorch peer did not start');
  return {
    async time(net, mode) {
      child.stdin.write(`${net} ${mode}\n`);
      return Number(await next());
    },
    stop: () => child.stdin.end(),
  };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-bench-forward-'));
  try {
    const torch = await startTorch(dir);
    const rows: string[] = [];
    const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
    console.log(`ONNX Runtime ${ort.env.versions.node ?? ''} and PyTorch, 2 threads each; ${ROUNDS} interleaved passes per side after ${WARMUP} warm-ups; load average at start ${load()}`);
    for (const c of CASES) {
      const path = join(dir, `${c.name}.onnx`);
      const model = await openModel(path);
      const graph = onnxGraph(model)!;
      model.close();
      const layers = onnxLayers(graph);
      const net = await loadOnnxNet(path, graph, { threads: 2 });
      const bytes = readFileSync(path);
      const all = [...new Set([...layers.map((l) => l.output), ...graph.outputs.map((o) => o.name)])];
      const bareForward = await ort.InferenceSession.create(bytes, SESSION);
      const bareAll = await ort.InferenceSession.create(Buffer.concat([bytes, extraOutputsPatch(all.filter((n) => !graph.outputs.some((o) => o.name === n)))]), SESSION);
      const random = prng(3);
      const batch = { shape: c.shape, data: Float32Array.from({ length: c.shape.reduce((a, b) => a * b, 1) }, () => random()) };
      const feed = { [graph.inputs[0]!.name]: new ort.Tensor('float32', batch.data, c.shape) };
      const sides: Record<string, () => Promise<number>> = {
        'convscope all': () => timed(() => runOnnxLayers(net, batch, layers)),
        'torch hooks': () => torch.time(c.name, 'hooks'),
        'bare ort all': () => timed(() => bareAll.run(feed, all)),
        'convscope forward': () => timed(() => runOnnxLayers(net, batch, [])),
        'torch forward': () => torch.time(c.name, 'forward'),
        'bare ort forward': () => timed(() => bareForward.run(feed)),
      };
      const names = Object.keys(sides);
      const times = new Map<string, number[]>(names.map((n) => [n, []]));
      const before = load();
      for (let round = 0; round < WARMUP + ROUNDS; round++) {
        for (let k = 0; k < names.length; k++) {
          const name = names[(k + round) % names.length]!;
          const ms = await sides[name]!();
          if (round >= WARMUP) times.get(name)!.push(ms);
        }
      }
      const m = (n: string): number => median(times.get(n)!);
      const r = (a: string, b: string): string => `${(m(a) / m(b)).toFixed(2)}x`;
      rows.push(
        `| ${c.label} | ${layers.length} | ${m('convscope all').toFixed(1)} | ${m('torch hooks').toFixed(1)} | ${r('convscope all', 'torch hooks')} | ${m('bare ort all').toFixed(1)} | ${r('convscope all', 'bare ort all')} | ${m('convscope forward').toFixed(1)} | ${m('torch forward').toFixed(1)} | ${r('convscope forward', 'torch forward')} | ${m('bare ort forward').toFixed(1)} | ${r('convscope forward', 'bare ort forward')} | ${before} / ${load()} |`,
      );
      console.log(rows.at(-1));
      await Promise.all([net.release(), bareForward.release(), bareAll.release()]);
    }
    torch.stop();
    console.log('');
    console.log('| model | nodes | convscope all ms | PyTorch hooks ms | ratio (goal <= 1.0) | bare ort all ms | ratio (goal <= 1.2) | convscope forward ms | PyTorch forward ms | ratio (goal <= 0.6) | bare ort forward ms | ratio (goal <= 1.2) | load average before / after |');
    console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const row of rows) console.log(row);

    const cli = join(ROOT, 'dist', 'cli', 'main.js');
    const photo = join(ROOT, 'assets', 'images', 'rocket.jpg');
    const wall: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const p = spawnSync(process.execPath, [cli, 'activations', join(dir, 'resnet18.onnx'), '--image', photo, '--top', '5', '--out', join(dir, 'maps')], { encoding: 'utf8' });
      if (p.status !== 0) throw new Error(p.stderr);
      wall.push(performance.now() - t0);
    }
    console.log(`\nwhole process: convscope activations resnet18.onnx --image rocket.jpg --top 5 (first conv's maps drawn): median ${median(wall).toFixed(0)} ms of 5 (goal < 1000 ms); load average ${load()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
