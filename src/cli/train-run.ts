import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { initBackend } from '../compute/backend.js';
import { saveCheckpoint } from '../compute/checkpoint.js';
import { loadTrainable } from '../compute/trainable.js';
import { trainModel, type EpochSummary } from '../compute/train.js';
import { watchWeights, type WeightWatch } from '../compute/watch.js';
import { loadDataset } from '../data/index.js';
import type { TrainCliOptions } from './train.js';
import { formatNumber, formatPercent } from '../model/format.js';

/** Keras' default learning rates. */
const DEFAULT_LR = { sgd: 0.01, adam: 0.001 } as const;

function epochLine(s: EpochSummary, epochs: number, images: number, dir: string): string {
  return (
    `epoch ${s.epoch}/${epochs}: loss ${formatNumber(s.loss)} accuracy ${formatPercent(s.accuracy)} | ` +
    `held-out loss ${formatNumber(s.testLoss)} accuracy ${formatPercent(s.testAccuracy)} | ` +
    `${s.seconds.toFixed(1)} s, ${Math.round(images / s.seconds)} images/s -> ${dir}`
  );
}

/** One line on the last recorded update-to-weight ratios: the health signal (healthy around 1e-3). */
function watchLine(watch: WeightWatch, dir: string): string {
  const last = watch.records.at(-1);
  const ratios = (last?.weights ?? []).filter((w) => w.updateRatio !== null && w.role !== 'bias');
  if (ratios.length === 0) return `weight snapshots and summary.jsonl in ${dir}`;
  const format = (w: (typeof ratios)[number]) => `${w.layer}/${w.role} ${formatNumber(w.updateRatio!, 2)}`;
  const sorted = [...ratios].sort((a, b) => a.updateRatio! - b.updateRatio!);
  const low = sorted[0]!;
  const high = sorted.at(-1)!;
  const hint =
    low.updateRatio! < 1e-5
      ? `\nnote: ${low.layer}/${low.role} barely changes per update (ratio ${formatNumber(low.updateRatio!, 2)}, healthy ~1e-3): the learning rate may be too low for this layer.`
      : high.updateRatio! > 1e-1
        ? `\nnote: ${high.layer}/${high.role} changes by ${formatPercent(high.updateRatio!)} per update (healthy ~0.1%): the learning rate may be too high.`
        : '';
  return `update/weight ratio (healthy ~1e-3): lowest ${format(low)}, highest ${format(high)}; snapshots and summary.jsonl in ${dir}${hint}`;
}

/** `convscope train`: loads the data and the model, trains with a progress bar, saves a checkpoint per epoch. */
export async function runTrain(path: string, options: TrainCliOptions): Promise<void> {
  await initBackend('wasm');
  const data = await loadDataset(options.data, { testFraction: options.testFraction, seed: options.seed });
  const { model, notes } = await loadTrainable(path, options.config ? { config: options.config } : {});
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  const watchDir = join(options.out, 'watch');
  const watch = options.watch ? watchWeights(model, { dir: watchDir, every: options.watch }) : undefined;
  const lr = options.lr ?? DEFAULT_LR[options.optimizer];
  process.stdout.write(
    `training ${path} on ${data.name}: ${data.train.count} images (${data.height}x${data.width}x${data.channels}, ${data.classes.length} classes), ` +
      `${data.test.count} held out; ${options.optimizer} lr ${lr}, batch ${options.batch}, scale ${options.scale}\n`,
  );
  const bar = new SingleBar({
    format: 'epoch {epoch} |{bar}| {value}/{total} batches | loss {loss} acc {acc} | {speed} img/s | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
  });
  try {
    await trainModel(model, data, {
      epochs: options.epochs,
      batchSize: options.batch,
      learningRate: lr,
      optimizer: options.optimizer,
      scale: options.scale,
      seed: options.seed,
      watch,
      onEngine: (engine) => process.stdout.write(`gradients: ${engine.description}\n`),
      onBatch: (p) => {
        const values = { epoch: `${p.epoch + 1}/${options.epochs}`, loss: formatNumber(p.loss), acc: formatPercent(p.accuracy), speed: Math.round(p.imagesPerSecond) };
        if (p.batch === 1) bar.start(p.batches, 1, values);
        else bar.update(p.batch, values);
      },
      onEpoch: async (s) => {
        bar.stop();
        const dir = join(options.out, `epoch-${String(s.epoch).padStart(3, '0')}`);
        await saveCheckpoint(model, dir, {
          epoch: String(s.epoch),
          data: data.name,
          learning_rate: String(lr),
          optimizer: options.optimizer,
          input_scale: options.scale,
        });
        process.stdout.write(`${epochLine(s, options.epochs, data.train.count, dir)}\n`);
      },
    });
  } finally {
    bar.stop();
    model.dispose();
  }
  if (watch) process.stdout.write(`${watchLine(watch, watchDir)}\n`);
}
