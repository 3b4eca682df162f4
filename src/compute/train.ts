import type * as tfl from '@tensorflow/tfjs-layers';
import { batchCount, batches } from '../data/batches.js';
import type { Dataset, ImageSet, PixelScale } from '../data/dataset.js';
import { UsageError } from '../model/errors.js';
import { tf } from './backend.js';
import type { WeightWatch } from './watch.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  scale: PixelScale;
  /** Seed of the per-epoch shuffles (default 0). */
  seed?: number;
  watch?: WeightWatch;
  /** Called after every batch. */
  onBatch?: (progress: BatchProgress) => void;
  /** Called after every epoch, with the held-out figures; may save a checkpoint. */
  onEpoch?: (summary: EpochSummary) => void | Promise<void>;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  /** Running means over the epoch so far. */
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
}

export interface EpochSummary {
  epoch: number;
  loss: number;
  accuracy: number;
  testLoss: number;
  testAccuracy: number;
  seconds: number;
}

/** Whether the model ends in a softmax (Keras style) rather than emitting logits. */
function emitsProbabilities(model: tfl.LayersModel): boolean {
  const last = model.layers.at(-1);
  if (!last) return false;
  const config = last.getConfig() as { activation?: unknown };
  return last.getClassName() === 'Softmax' || config.activation === 'softmax';
}

/** Mean cross-entropy and the number of correct predictions, for logits or probabilities. */
function lossAndHits(output: tf.Tensor, labels: tf.Tensor1D, classes: number, probabilities: boolean): { loss: tf.Scalar; hits: tf.Scalar } {
  const onehot = tf.oneHot(labels, classes);
  const loss = probabilities
    ? tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(output, 1e-7, 1))), -1)))
    : tf.losses.softmaxCrossEntropy(onehot, output);
  const hits = tf.sum(tf.cast(tf.equal(tf.argMax(output, -1), labels), 'float32'));
  return { loss: loss as tf.Scalar, hits: hits as tf.Scalar };
}

function checkShapes(model: tfl.LayersModel, data: Dataset): void {
  const input = model.inputs[0]!.shape;
  const want = [data.height, data.width, data.channels];
  if (model.inputs.length !== 1 || input.length !== 4 || input.slice(1).some((d, i) => d !== null && d !== want[i])) {
    throw new UsageError(
      `The model expects input of shape [${input.map((d) => d ?? 'batch').join(', ')}], but ${data.name} has images of ${want.join('x')} (height x width x channels).`,
    );
  }
  const output = model.outputs[0]!.shape;
  if (model.outputs.length !== 1 || output.length !== 2 || output[1] !== data.classes.length) {
    throw new UsageError(
      `The model expects to output [batch, classes], but its output has shape [${output.map((d) => d ?? 'batch').join(', ')}] and ${data.name} has ${data.classes.length} classes.`,
    );
  }
}

/** Loss and accuracy over a whole set, in inference mode. */
export function evaluate(model: tfl.LayersModel, data: Dataset, set: ImageSet, batchSize: number, scale: PixelScale): { loss: number; accuracy: number } {
  const probabilities = emitsProbabilities(model);
  let loss = 0;
  let hits = 0;
  for (const b of batches(data, set, { batchSize, scale })) {
    const [l, h] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
      const r = lossAndHits(model.predict(x) as tf.Tensor, tf.tensor1d(b.labels, 'int32'), data.classes.length, probabilities);
      return [tf.mul(r.loss, b.size).dataSync()[0]!, r.hits.dataSync()[0]!];
    });
    loss += l;
    hits += h;
  }
  return { loss: loss / set.count, accuracy: hits / set.count };
}

/**
 * Trains a classifier on a data set with mini-batch SGD or Adam, computing gradients itself so the
 * weight watcher can see them, and evaluates on the held-out set after every epoch.
 */
export async function trainModel(model: tfl.LayersModel, data: Dataset, options: TrainOptions): Promise<EpochSummary[]> {
  checkShapes(model, data);
  const optimizer: tf.Optimizer = options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
  const probabilities = emitsProbabilities(model);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const total = batchCount(data.train, options.batchSize);
  const watch = options.watch;
  const summaries: EpochSummary[] = [];
  await watch?.onTrainBegin?.();
  try {
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      const start = performance.now();
      let loss = 0;
      let hits = 0;
      let seen = 0;
      let batch = 0;
      for (const b of batches(data, data.train, { batchSize: options.batchSize, scale: options.scale, shuffle: true, seed: `${options.seed ?? 0}:${epoch}` })) {
        await watch?.onBatchBegin?.(batch);
        const [l, h] = tf.tidy(() => {
          const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
          const labels = tf.tensor1d(b.labels, 'int32');
          let batchHits: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const r = lossAndHits(model.apply(x, { training: true }) as tf.Tensor, labels, data.classes.length, probabilities);
            batchHits = tf.keep(r.hits);
            return r.loss;
          }, variables);
          watch?.recordGradients(grads);
          optimizer.applyGradients(grads);
          const result = [value.dataSync()[0]!, batchHits!.dataSync()[0]!];
          batchHits!.dispose();
          return result;
        });
        loss += l * b.size;
        hits += h;
        seen += b.size;
        await watch?.onBatchEnd?.(batch, { loss: l, acc: h / b.size });
        batch++;
        options.onBatch?.({
          epoch,
          batch,
          batches: total,
          loss: loss / seen,
          accuracy: hits / seen,
          imagesPerSecond: seen / ((performance.now() - start) / 1000),
        });
      }
      const test = evaluate(model, data, data.test, options.batchSize, options.scale);
      const summary = { epoch: epoch + 1, loss: loss / seen, accuracy: hits / seen, testLoss: test.loss, testAccuracy: test.accuracy, seconds: (performance.now() - start) / 1000 };
      summaries.push(summary);
      await watch?.onEpochEnd?.(epoch, { loss: summary.loss, acc: summary.accuracy, val_loss: test.loss, val_acc: test.accuracy });
      await options.onEpoch?.(summary);
    }
  } finally {
    await watch?.onTrainEnd?.();
    optimizer.dispose();
  }
  return summaries;
}
