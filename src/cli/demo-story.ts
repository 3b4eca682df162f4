import { join, relative } from 'node:path';
import { SingleBar } from 'cli-progress';
import { diffModels } from '../analyze/diff.js';
import { runLayers } from '../compute/activations.js';
import { tf } from '../compute/backend.js';
import { buildModel } from '../compute/build.js';
import { saveCheckpoint, CHECKPOINT_FILES } from '../compute/checkpoint.js';
import { defaultPreprocessing } from '../compute/default-preprocessing.js';
import { DEMO_SEED, DIGITS_CONV_LAYERS, digitsNetwork } from '../compute/demo-model.js';
import { probeLayer } from '../analyze/probe.js';
import { trainModel, type TrainOptions } from '../compute/train.js';
import { loadDataset, pixelFactor, type Dataset, type PixelScale } from '../data/index.js';
import { writeFileAtomic } from '../io/write.js';
import { openModel } from '../formats/open.js';
import type { DemoPageSection } from '../render/demo-page.js';
import { activationPngs } from '../views/activations.js';
import { trainingFacts, writeDiffReport } from '../views/diff-report.js';
import { formatNumber, formatPercent, formatShape } from '../model/format.js';

/**
 * The second half of `convscope demo`: the question's training story on the built-in digits.
 * The same network, from the same starting weights, is trained twice: as in the question
 * (learning rate 1e-6, pixels 0..255) and fixed (1e-2, pixels 0..1); each run is diffed against the
 * start, one test digit is run through the fixed network, and a random forest probes its features.
 */

export interface StoryContext {
  out: string;
  sections: DemoPageSection[];
}

interface Run {
  id: string;
  title: string;
  learningRate: number;
  scale: PixelScale;
}

const RUNS: readonly Run[] = [
  { id: 'as-in-question', title: 'as in the question', learningRate: 1e-6, scale: 'raw' },
  { id: 'fixed', title: 'fixed', learningRate: 1e-2, scale: 'unit' },
];

/** Identical for both runs, so only the learning rate and the pixel scale differ. */
const PROTOCOL: Pick<TrainOptions, 'epochs' | 'batchSize' | 'optimizer' | 'seed'> = { epochs: 2, batchSize: 256, optimizer: 'adam', seed: 0 };
const PROBE_LAYER = DIGITS_CONV_LAYERS[1];

const pixels = (scale: PixelScale): string => (scale === 'raw' ? '0..255' : '0..1');

/** A progress bar on a terminal; nothing when output goes to a file or a pipe. */
function progress(label: string): { update(done: number, total: number, values: Record<string, string>): void; stop(): void } {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({ format: `   ${label} [{bar}] {value}/{total} batches | loss {loss} | acc {acc}`, hideCursor: true });
  let started = false;
  return {
    update(done, total, values) {
      if (!started) bar.start(total, done, values);
      else bar.update(done, values);
      started = true;
    },
    stop: () => bar.stop(),
  };
}

function dirOf(ctx: StoryContext, id: string): string {
  return join(ctx.out, 'training', id);
}

async function train(ctx: StoryContext, data: Dataset): Promise<string[]> {
  const net = await digitsNetwork();
  const lines = [
    '',
    '6. Did training change the filters? A small CNN for the built-in 8x8 digits (1,797 real handwritten digits):',
    `   Conv2D(16, 3x3, relu) -> MaxPooling2D -> Conv2D(32, 3x3, relu) -> Dense(10, softmax), seed ${DEMO_SEED};`,
    `   trained twice from the same start, ${PROTOCOL.optimizer}, batch ${PROTOCOL.batchSize}, ${PROTOCOL.epochs} epochs, ${data.train.count} train / ${data.test.count} held-out digits:`,
  ];
  try {
    const start = net.getWeights().map((w) => tf.clone(w));
    await saveCheckpoint(net, dirOf(ctx, 'start'), { data: data.name });
    lines.push(`   start:              ${dirOf(ctx, 'start')}`);
    for (const run of RUNS) {
      net.setWeights(start);
      const bar = progress(run.title.padEnd(18));
      const summaries = await trainModel(net, data, {
        ...PROTOCOL,
        learningRate: run.learningRate,
        scale: run.scale,
        onBatch: (p) => bar.update(p.epoch * p.batches + p.batch, PROTOCOL.epochs * p.batches, { loss: formatNumber(p.loss), acc: formatPercent(p.accuracy) }),
      });
      bar.stop();
      const last = summaries.at(-1)!;
      await saveCheckpoint(net, dirOf(ctx, run.id), {
        data: data.name,
        epoch: String(last.epoch),
        learning_rate: String(run.learningRate),
        optimizer: PROTOCOL.optimizer,
        input_scale: run.scale,
      });
      lines.push(
        `   ${`${run.title}:`.padEnd(19)} learning rate ${run.learningRate}, pixels ${pixels(run.scale)}: held-out accuracy ${formatPercent(last.testAccuracy)} -> ${dirOf(ctx, run.id)}`,
      );
    }
    tf.dispose(start);
  } finally {
    net.dispose();
  }
  return lines;
}

async function diffs(ctx: StoryContext): Promise<string[]> {
  const lines = ['', '7. The diff of each run against the start (convscope diff start/model.safetensors <run>/model.safetensors):'];
  const summary: string[] = [];
  const links: { text: string; href: string }[] = [];
  const before = await openModel(join(dirOf(ctx, 'start'), CHECKPOINT_FILES.safetensors));
  try {
    for (const run of RUNS) {
      const after = await openModel(join(dirOf(ctx, run.id), CHECKPOINT_FILES.safetensors));
      try {
        const diff = await diffModels(before, after, { training: trainingFacts(after) });
        const report = join(ctx.out, `diff-${run.id}.html`);
        await writeDiffReport(diff, before, after, report);
        const changes = diff.layers.map((l) => `${l.name} ${formatNumber(l.relativeChange, 2)}`).join(', ');
        lines.push(`   ${run.title}: verdict ${diff.summary.verdict} (relative change ${changes})`);
        for (const d of diff.summary.diagnosis) lines.push(`     - ${d}`);
        lines.push(`     before / after / change grids: ${report}`);
        summary.push(`${run.title}: verdict ${diff.summary.verdict}; ${diff.summary.diagnosis[0] ?? ''}`);
        links.push({ text: `${run.title}: before, after and change of every filter, verdict and diagnosis`, href: relative(ctx.out, report) });
      } finally {
        after.close();
      }
    }
  } finally {
    before.close();
  }
  ctx.sections.push({ heading: 'Did training change the filters?', lines: summary, links });
  return lines;
}

async function featureMaps(ctx: StoryContext, data: Dataset): Promise<string[]> {
  const model = await openModel(join(dirOf(ctx, 'fixed'), CHECKPOINT_FILES.modelJson));
  const lines = ['', '8. What the trained layers output for one held-out digit:'];
  const images: { alt: string; src: string }[] = [];
  try {
    const net = await buildModel(model);
    try {
      const index = 0;
      const label = data.test.labels[index]!;
      const factor = pixelFactor(data, 'unit');
      const x = Float32Array.from(data.test.images.subarray(0, 64), (v) => v * factor);
      const wanted = new Set<string>(DIGITS_CONV_LAYERS);
      await runLayers(net, [{ shape: [1, 8, 8, 1], data: x }], {
        want: (n) => wanted.has(n.layer.name),
        onActivation: async (a) => {
          for (const { png } of activationPngs(a, [`held-out digit #${index} (a ${label})`], { cmap: 'viridis', normalize: 'per-channel' })) {
            const path = join(ctx.out, `digit-${label}-${a.name}.png`);
            await writeFileAtomic(path, png);
            lines.push(`   ${a.name} output ${formatShape(a.shape)} for a ${label}: ${path}`);
            images.push({ alt: `${a.name} feature maps`, src: relative(ctx.out, path) });
          }
        },
      });
    } finally {
      net.dispose();
    }
  } finally {
    model.close();
  }
  ctx.sections.push({ heading: 'Feature maps of one held-out digit (fixed run)', lines: [], images });
  return lines;
}

async function probe(ctx: StoryContext, data: Dataset): Promise<string[]> {
  const model = await openModel(join(dirOf(ctx, 'fixed'), CHECKPOINT_FILES.modelJson));
  try {
    const r = await probeLayer(model, data, { layer: PROBE_LAYER, features: 'gap', classifier: 'random-forest', preset: defaultPreprocessing(model).preset, seed: 0 });
    const rows = [
      `raw pixels (64 values)                 ${formatPercent(r.accuracy.rawPixels)}`,
      `${PROBE_LAYER} untrained (re-initialized)     ${formatPercent(r.accuracy.untrained)}`,
      `${PROBE_LAYER} trained (fixed run)            ${formatPercent(r.accuracy.trained)}`,
    ];
    ctx.sections.push({ heading: `Do trained conv features help a random forest? (${PROBE_LAYER}, ${r.featureDim} features per digit)`, lines: rows });
    return [
      '',
      `9. Do trained conv features help a random forest? (convscope probe ${join(dirOf(ctx, 'fixed'), CHECKPOINT_FILES.modelJson)} --layer ${PROBE_LAYER} --data digits)`,
      `   test accuracy of a random forest (100 trees) on ${r.testCount} held-out digits, ${r.featureDim} averaged ${PROBE_LAYER} channels per digit:`,
      ...rows.map((row) => `   ${row}`),
    ];
  } finally {
    model.close();
  }
}

/** Runs the training story; returns the lines to print, step by step, through `print`. */
export async function runStory(ctx: StoryContext, print: (lines: string[]) => void): Promise<void> {
  const data = await loadDataset('digits', { seed: 0 });
  print(await train(ctx, data));
  print(await diffs(ctx));
  print(await featureMaps(ctx, data));
  print(await probe(ctx, data));
}
