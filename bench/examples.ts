/**
 * Dataset examples on ONNX Runtime (the Keras network converted in memory, the default) against the
 * TensorFlow.js wasm path they ran on before, side by side:
 *   - conv_2 of the demo's digits CNN over the 1,797 digits, in-process and as the whole
 *     `convscope examples` command (--engine ort vs --engine tfjs);
 *   - conv4 of a CIFAR-sized CNN (32x32x3; 3x3 convolutions 32, 32, pool, 64, 64) over a synthetic set
 *     of 4,096 images, in-process.
 * In-process times include converting the network and opening the ONNX Runtime session, as every run
 * pays them. Sides alternate order round by round; medians; the load average before and after.
 *
 *   node --import tsx bench/examples.ts [rounds]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { rankExamples } from '../src/analyze/examples.js';
import { tfjsRunner, withExamplesRunner } from '../src/analyze/examples-runner.js';
import { initBackend } from '../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../src/compute/build.js';
import { saveCheckpoint } from '../src/compute/checkpoint.js';
import { digitsNetwork } from '../src/compute/demo-model.js';
import { loadAllImages, type ImageCollection } from '../src/data/index.js';
import { openModel } from '../src/formats/open.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

async function runnable(m: tfl.LayersModel, dir: string): Promise<RunnableModel> {
  await saveCheckpoint(m, dir);
  m.dispose();
  return buildModel(await openModel(join(dir, 'model.json')));
}

function cifarNetwork(): tfl.Sequential {
  const conv = (name: string, filters: number, input?: number[]) =>
    tfl.layers.conv2d({ name, filters, kernelSize: 3, padding: 'same', activation: 'relu', ...(input ? { inputShape: input } : {}) });
  return tfl.sequential({
    layers: [conv('conv1', 32, [32, 32, 3]), conv('conv2', 32), tfl.layers.maxPooling2d({ poolSize: 2 }), conv('conv3', 64), conv('conv4', 64), tfl.layers.flatten(), tfl.layers.dense({ units: 10 })],
  });
}

function syntheticSet(count: number): ImageCollection {
  const images = new Uint8Array(count * 32 * 32 * 3);
  let s = 12345;
  for (let i = 0; i < images.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    images[i] = s >>> 24;
  }
  return { name: `synthetic ${count}`, height: 32, width: 32, channels: 3, maxValue: 255, classes: [], images: { images, labels: new Uint8Array(count), count }, trainCount: count };
}

interface Row {
  work: string;
  tfjs: () => Promise<number>;
  ort: () => Promise<number>;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The command's wall time, and its CPU time (user + system) from /usr/bin/time, which a busy machine inflates less. */
function cliMs(args: string[], cpu: number[]): number {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', process.execPath, CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  const [, user, system] = /cpu ([\d.]+) ([\d.]+)/.exec(r.stderr)!;
  cpu.push((Number(user) + Number(system)) * 1000);
  return performance.now() - t;
}

await initBackend();
const scratch = mkdtempSync(join(tmpdir(), 'convscope-bench-examples-'));
try {
  const digitsNet = await runnable(await digitsNetwork(), join(scratch, 'digits'));
  const cifarNet = await runnable(cifarNetwork(), join(scratch, 'cifar'));
  const digits = await loadAllImages('digits');
  const synthetic = syntheticSet(4096);
  const options = { model: 'bench', top: 9, statistic: 'max' as const, scale: 'unit' as const };
  const digitsPath = join(scratch, 'digits', 'model.json');
  const cli = (engine: string) => ['examples', digitsPath, '--layer', 'conv_2', '--data', 'digits', '--engine', engine, '--out', join(scratch, `${engine}.png`)];
  const cpu = { tfjs: [] as number[], ort: [] as number[] };
  const rows: Row[] = [
    {
      work: 'conv_2 of the digits CNN over the 1,797 digits, in-process',
      tfjs: () => timed(() => rankExamples(tfjsRunner(digitsNet, 'conv_2'), digits, options)),
      ort: () => timed(() => withExamplesRunner({ engine: 'tfjs', net: digitsNet }, 'conv_2', (r) => rankExamples(r, digits, options))),
    },
    { work: 'same, the whole `convscope examples` command (process, PNG written)', tfjs: async () => cliMs(cli('tfjs'), cpu.tfjs), ort: async () => cliMs(cli('ort'), cpu.ort) },
    {
      work: 'conv4 of a 32x32x3 CNN over 4,096 synthetic images, in-process',
      tfjs: () => timed(() => rankExamples(tfjsRunner(cifarNet, 'conv4'), synthetic, options)),
      ort: () => timed(() => withExamplesRunner({ engine: 'tfjs', net: cifarNet }, 'conv4', (r) => rankExamples(r, synthetic, options))),
    },
  ];
  console.log(`load average at start: ${load()}`);
  const lines = ['| work | TF.js wasm (before) | ONNX Runtime | speed-up |', '|---|---|---|---|'];
  for (const row of rows) {
    await row.ort();
    await row.tfjs();
    const times = { tfjs: [] as number[], ort: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['tfjs', 'ort'] as const) : (['ort', 'tfjs'] as const);
      for (const side of order) times[side].push(await row[side]());
    }
    const [t, o] = [median(times.tfjs), median(times.ort)];
    lines.push(`| ${row.work} | ${t.toFixed(0)} ms | ${o.toFixed(0)} ms | ${(t / o).toFixed(1)}x |`);
    console.log(`${lines.at(-1)}  (load ${load()})`);
    if (cpu.tfjs.length > 0) {
      const [ct, co] = [median(cpu.tfjs.slice(-ROUNDS)), median(cpu.ort.slice(-ROUNDS))];
      lines.push(`| same, CPU time (user + system) | ${ct.toFixed(0)} ms | ${co.toFixed(0)} ms | ${(ct / co).toFixed(1)}x |`);
      cpu.tfjs.length = 0;
      cpu.ort.length = 0;
    }
  }
  console.log(`\n${lines.join('\n')}\n\nmedians of ${ROUNDS} interleaved rounds; load average at end: ${load()}`);
  digitsNet.dispose();
  cifarNet.dispose();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
