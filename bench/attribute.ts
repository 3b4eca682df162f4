/**
 * "What does filter j detect" speed, side by side with PyTorch in one run:
 *   - Grad-CAM on a VGG16 (its 13 convolutions at 224x224, then global average pool and Dense 1000;
 *     random weights) at block5_conv3, for the top class;
 *   - saliency (input gradient, max |g| over channels) on a ResNet18 (torchvision's layout);
 *   - dataset examples of conv_2 of the demo's digits CNN over the 1,797 digits (top 9 per filter): the
 *     whole `convscope examples` command as a user runs it, and the ranking in-process.
 * The attribution rows run twice on convscope's side: on the Keras models above (converted to ONNX in
 * memory) and on the same networks exported from torch to ONNX by the peer; both take their gradients
 * on ONNX Runtime (forward and backward pass in one session), which the table confirms.
 * convscope: `attribute()` / `attributeOnnx()` / `rankExamples()` in this process; PyTorch in a child
 * (bench/peers/attribute.py) at 1 and 2 threads, with parameters frozen so both sides compute the same
 * gradients. Median of RUNS timed calls after 2 warm-ups, rounds interleaved (A B, then B A); the load
 * average is printed with the table, which is written to bench/.data/attribute.md.
 *
 *   node --import tsx bench/attribute.ts [runs] [--only keras,onnx,examples]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { attribute, attributeOnnx, type Attribution } from '../src/analyze/attribute.js';
import { loadOnnxNet } from '../src/compute/onnx-activations.js';
import type { OnnxNet } from '../src/compute/ort.js';
import { onnxGraph } from '../src/formats/onnx-graph.js';
import { rankExamples } from '../src/analyze/examples.js';
import { tfjsRunner } from '../src/analyze/examples-runner.js';
import { initBackend } from '../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../src/compute/build.js';
import { saveCheckpoint } from '../src/compute/checkpoint.js';
import { digitsNetwork } from '../src/compute/demo-model.js';
import { trainModel } from '../src/compute/train.js';
import { loadAllImages, loadDataset } from '../src/data/index.js';
import { openModel } from '../src/formats/open.js';
import { encodeNpy } from '../src/model/npy.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const PYTHON = '/usr/bin/python3';
const RUNS = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
const ROUNDS = 2;
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

function vgg16(): tfl.Sequential {
  const m = tfl.sequential({ name: 'vgg16' });
  const blocks = [[64, 2], [128, 2], [256, 3], [512, 3], [512, 3]] as const;
  blocks.forEach(([filters, convs], b) => {
    for (let i = 0; i < convs; i++) {
      m.add(tfl.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${i + 1}`, ...(b === 0 && i === 0 ? { inputShape: [224, 224, 3] } : {}) }));
    }
    m.add(tfl.layers.maxPooling2d({ poolSize: 2, name: `block${b + 1}_pool` }));
  });
  m.add(tfl.layers.globalAveragePooling2d({ name: 'gap' }));
  m.add(tfl.layers.dense({ units: 1000, name: 'predictions' }));
  return m;
}

function resnet18(): tfl.LayersModel {
  let n = 0;
  const conv = (x: tfl.SymbolicTensor, filters: number, k: number, s: number) =>
    tfl.layers.batchNormalization({ name: `bn${n}` }).apply(tfl.layers.conv2d({ filters, kernelSize: k, strides: s, padding: 'same', useBias: false, name: `conv${n++}` }).apply(x)) as tfl.SymbolicTensor;
  const relu = (x: tfl.SymbolicTensor) => tfl.layers.reLU({ name: `relu${n++}` }).apply(x) as tfl.SymbolicTensor;
  const input = tfl.input({ shape: [224, 224, 3], name: 'input' });
  let x = relu(conv(input, 64, 7, 2));
  x = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool' }).apply(x) as tfl.SymbolicTensor;
  for (const [filters, stride] of [[64, 1], [128, 2], [256, 2], [512, 2]] as const) {
    for (let block = 0; block < 2; block++) {
      const s = block === 0 ? stride : 1;
      const y = conv(relu(conv(x, filters, 3, s)), filters, 3, 1);
      const shortcut = s !== 1 || x.shape[3] !== filters ? conv(x, filters, 1, s) : x;
      x = relu(tfl.layers.add({ name: `add${n++}` }).apply([y, shortcut]) as tfl.SymbolicTensor);
    }
  }
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 1000, name: 'fc' }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out, name: 'resnet18' });
}

async function runnable(m: tfl.LayersModel, dir: string): Promise<RunnableModel> {
  await saveCheckpoint(m, dir);
  m.dispose();
  return buildModel(await openModel(join(dir, 'model.json')));
}

async function timeOurs(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 2 + RUNS; i++) {
    const t = performance.now();
    await fn();
    if (i >= 2) times.push(performance.now() - t);
  }
  return median(times);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[(s.length >> 1) - 1]! + s[s.length >> 1]!) / 2;
}

function torch(work: string, threads: number, extra: string[] = []): number {
  const r = spawnSync(PYTHON, [join(ROOT, 'bench', 'peers', 'attribute.py'), work, String(RUNS), String(threads), ...extra], {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads) },
  });
  if (r.status !== 0) throw new Error(`PyTorch ${work} failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number }).ms;
}

function cliMs(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`convscope ${args.join(' ')} failed:\n${r.stderr}`);
  return performance.now() - t;
}

interface Row {
  work: string;
  /** The PyTorch side's work (bench/peers/attribute.py) and its extra arguments. */
  peer: string;
  peerArgs?: string[];
  ours: () => Promise<number>;
  times: { ours: number[]; t1: number[]; t2: number[] };
  goal: string;
  limit: (ours: number, t1: number, t2: number) => boolean;
}

const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]!.split(',') : undefined;

async function main(): Promise<void> {
  await initBackend();
  const scratch = mkdtempSync(join(tmpdir(), 'convscope-bench-attribute-'));
  const startLoad = load();
  const image = { shape: [1, 224, 224, 3], data: Float32Array.from({ length: 224 * 224 * 3 }, (_, i) => (Math.sin(i) + 1) / 2) };
  const imageNchw = { shape: [1, 3, 224, 224], data: image.data };
  const within3 = (o: number, t1: number, t2: number) => o <= 3 * t1 && o <= 3 * t2;
  const goal3 = '≤ 3x PyTorch (1 and 2 thr)';
  const rows: Row[] = [];
  const engines: string[] = [];
  const timed = (fn: () => Promise<Attribution>) => () =>
    timeOurs(async () => {
      const r = await fn();
      if (!engines.includes(r.engine)) engines.push(r.engine);
    });
  const want = (key: string) => !ONLY || ONLY.includes(key);

  if (want('keras')) {
    const vgg = await runnable(vgg16(), join(scratch, 'vgg16'));
    const resnet = await runnable(resnet18(), join(scratch, 'resnet18'));
    rows.push(
      { work: 'Grad-CAM, VGG16 224x224 (block5_conv3), Keras model', peer: 'gradcam-vgg16', ours: timed(() => attribute(vgg, image, { method: 'gradcam', layer: 'block5_conv3' })), times: { ours: [], t1: [], t2: [] }, goal: goal3, limit: within3 },
      { work: 'saliency, ResNet18 224x224, Keras model', peer: 'saliency-resnet18', ours: timed(() => attribute(resnet, image, { method: 'saliency' })), times: { ours: [], t1: [], t2: [] }, goal: goal3, limit: within3 },
    );
  }
  if (want('onnx')) {
    torch('export', 1, [scratch]);
    const open = async (name: string): Promise<OnnxNet> => {
      const path = join(scratch, `${name}.onnx`);
      return loadOnnxNet(path, onnxGraph(await openModel(path))!);
    };
    const vgg = await open('vgg16');
    const resnet = await open('resnet18');
    rows.push(
      { work: 'Grad-CAM, VGG16 224x224 (block5_conv3), torch ONNX export', peer: 'gradcam-vgg16', ours: timed(() => attributeOnnx(vgg, imageNchw, { method: 'gradcam', layer: '0.29' })), times: { ours: [], t1: [], t2: [] }, goal: goal3, limit: within3 },
      { work: 'saliency, ResNet18 224x224, torch ONNX export', peer: 'saliency-resnet18', ours: timed(() => attributeOnnx(resnet, imageNchw, { method: 'saliency' })), times: { ours: [], t1: [], t2: [] }, goal: goal3, limit: within3 },
    );
  }
  if (want('examples')) {
    const digits = await digitsNetwork();
    await trainModel(digits, await loadDataset('digits', { seed: 0 }), { epochs: 2, batchSize: 256, optimizer: 'adam', seed: 0, learningRate: 1e-2, scale: 'unit' });
    const weights = digits.getWeights();
    const npy = join(scratch, 'npy');
    mkdirSync(npy);
    ['k1', 'b1', 'k2', 'b2'].forEach((name, i) => writeFileSync(join(npy, `${name}.npy`), encodeNpy(weights[i]!.dataSync() as Float32Array, weights[i]!.shape)));
    const data = await loadAllImages('digits');
    writeFileSync(join(npy, 'x.npy'), encodeNpy(Float32Array.from(data.images.images, (v) => v / 16), [data.images.count, 1, 8, 8]));
    const digitsNet = await runnable(digits, join(scratch, 'digits'));
    const digitsPath = join(scratch, 'digits', 'model.json');
    rows.push(
      {
        work: 'examples, conv_2 of the digits CNN over 1,797 digits, in-process',
        peer: `examples`,
        ours: () => timeOurs(() => rankExamples(tfjsRunner(digitsNet, 'conv_2'), data, { model: 'digits', top: 9, statistic: 'max', scale: 'unit' })),
        times: { ours: [], t1: [], t2: [] },
        goal: '—',
        limit: () => true,
      },
      {
        work: 'same, the whole `convscope examples` command (process, PNG written)',
        peer: 'examples',
        ours: async () => cliMs(['examples', digitsPath, '--layer', 'conv_2', '--data', 'digits', '--out', join(scratch, 'examples.png')]),
        times: { ours: [], t1: [], t2: [] },
        goal: '< 5 s',
        limit: (o) => o < 5000,
      },
    );
    for (const row of rows.slice(-2)) row.peerArgs = [npy];
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const row of rows) {
      const peer = (threads: number) => torch(row.peer, threads, row.peerArgs ?? []);
      const t = row.times;
      if (round % 2 === 0) {
        t.ours.push(await row.ours());
        t.t1.push(peer(1));
        t.t2.push(peer(2));
      } else {
        t.t2.push(peer(2));
        t.t1.push(peer(1));
        t.ours.push(await row.ours());
      }
      console.log(`round ${round}: ${row.work}: ours ${t.ours.at(-1)!.toFixed(0)} ms, PyTorch 1 thr ${t.t1.at(-1)!.toFixed(0)} ms, 2 thr ${t.t2.at(-1)!.toFixed(0)} ms (load ${load()})`);
    }
  }
  const table = [
    `attribution and examples, median of ${RUNS} calls x ${ROUNDS} interleaved rounds; /proc/loadavg at start ${startLoad}, at end ${load()}`,
    `convscope's attribution ran on: ${engines.join('; ')} (ONNX Runtime with its default threads: ${cpus().length} on this machine)`,
    '',
    '| work | convscope | PyTorch 1 thr | PyTorch 2 thr | ratio to 1 thr | ratio to 2 thr | goal | met |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const [o, a, b] = [median(r.times.ours), median(r.times.t1), median(r.times.t2)];
      return `| ${r.work} | ${o.toFixed(0)} ms | ${a.toFixed(1)} ms | ${b.toFixed(1)} ms | ${(o / a).toFixed(2)}x | ${(o / b).toFixed(2)}x | ${r.goal} | ${r.limit(o, a, b) ? 'yes' : 'NO'} |`;
    }),
  ].join('\n');
  console.log(`\n${table}`);
  mkdirSync(join(ROOT, 'bench', '.data'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', '.data', 'attribute.md'), `${table}\n`);
  rmSync(scratch, { recursive: true, force: true });
}

await main();
