import type * as tfl from '@tensorflow/tfjs-layers';
import { batchCount, batches, type Batch } from '../data/batches.js';
import type { Dataset, ImageSet, PixelScale } from '../data/dataset.js';
import { randomSource } from '../data/random.js';
import { UnsupportedError, UsageError } from '../model/errors.js';
import { tf } from './backend.js';
import { ortTrainer } from './ort-train.js';
import type { WeightWatch } from './watch.js';

/**
 * What computes the gradients: 'auto' (the default) is ONNX Runtime on every core when the model is
 * a chain of layers it covers (compute/ort-train.ts), else TensorFlow.js on its current backend;
 * 'onnxruntime' refuses models it does not cover; 'tfjs' always uses TensorFlow.js.
 */
export type GradientEngineChoice = 'auto' | 'onnxruntime' | 'tfjs';

/** The engine a training run uses, and why when it is not the fastest. */
export interface GradientEngineInfo {
  readonly name: 'onnxruntime' | 'tfjs';
  /** One line for the user: "ONNX Runtime, 2 threads" or "TensorFlow.js wasm (layer 'x' is a Dropout)". */
  readonly description: string;
}

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  optimizer: 'sgd' | 'adam';
  scale: PixelScale;
  /** Seed of the per-epoch shuffles and of the dropout masks on ONNX Runtime (default 0). */
  seed?: number;
  /** What computes the gradients (default 'auto'). */
  engine?: GradientEngineChoice;
  /** Called once, before the first batch, with the engine chosen. */
  onEngine?: (engine: GradientEngineInfo) => void;
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

/** One batch's gradient step: mean loss, correct predictions and the gradients (the caller disposes them). */
interface GradientStep {
  readonly info: GradientEngineInfo;
  step(b: Batch): Promise<{ loss: number; hits: number; grads: tf.NamedTensorMap }>;
  release(): Promise<void>;
}

/** Index of the largest of each row of `values` ([rows, classes]), the first one on ties as tf.argMax. */
function hitsOf(values: Float32Array, labels: Uint8Array, classes: number): number {
  let hits = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (values[r * classes + c]! > values[r * classes + best]!) best = c;
    if (best === labels[r]) hits++;
  }
  return hits;
}

function tfjsStep(model: tfl.LayersModel, data: Dataset, probabilities: boolean, reason?: string): GradientStep {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    info: { name: 'tfjs', description: `TensorFlow.js ${tf.getBackend()}${reason ? ` (ONNX Runtime does not cover it: ${reason})` : ''}` },
    async step(b) {
      const { value, hits, grads } = tf.tidy(() => {
        const x = tf.tensor4d(b.x, [b.size, data.height, data.width, data.channels]);
        const labels = tf.tensor1d(b.labels, 'int32');
        let batchHits: tf.Scalar | undefined;
        const { value, grads } = tf.variableGrads(() => {
          const r = lossAndHits(model.apply(x, { training: true }) as tf.Tensor, labels, data.classes.length, probabilities);
          batchHits = tf.keep(r.hits);
          return r.loss;
        }, variables);
        return { value, hits: batchHits!, grads };
      });
      const result = { loss: value.dataSync()[0]!, hits: hits.dataSync()[0]!, grads };
      tf.dispose([value, hits]);
      return result;
    },
    release: async () => undefined,
  };
}

async function gradientStep(model: tfl.LayersModel, data: Dataset, choice: GradientEngineChoice, seed: number): Promise<GradientStep> {
  const probabilities = emitsProbabilities(model);
  if (choice === 'tfjs') return tfjsStep(model, data, probabilities);
  const trainer = await ortTrainer(model, probabilities, randomSource(`${seed}:dropout`));
  if ('reason' in trainer) {
    if (choice === 'onnxruntime') throw new UnsupportedError(`ONNX Runtime cannot train ${model.name}: ${trainer.reason}.`);
    return tfjsStep(model, data, probabilities, trainer.reason);
  }
  const classes = data.classes.length;
  return {
    info: { name: 'onnxruntime', description: `ONNX Runtime, ${trainer.threads} threads` },
    async step(b) {
      const onehot = new Float32Array(b.size * classes);
      b.labels.forEach((label, i) => (onehot[i * classes + label] = 1));
      const r = await trainer.step(b.x, onehot, b.size);
      const grads: tf.NamedTensorMap = {};
      for (const [name, g] of r.grads) grads[name] = tf.tensor(g.data, [...g.shape]);
      return { loss: r.loss, hits: hitsOf(r.output, b.labels, classes), grads };
    },
    release: () => trainer.release(),
  };
}

/**
 * Trains a classifier on a data set with mini-batch SGD or Adam, computing gradients itself (on ONNX
 * Runtime where it covers the model, see GradientEngineChoice) so the weight watcher can see them;
 * the update is TensorFlow.js' optimizer on the model's variables. Evaluates on the held-out set
 * after every epoch.
 */
export async function trainModel(model: tfl.LayersModel, data: Dataset, options: TrainOptions): Promise<EpochSummary[]> {
  checkShapes(model, data);
  const optimizer: tf.Optimizer = options.optimizer === 'adam' ? tf.train.adam(options.learningRate) : tf.train.sgd(options.learningRate);
  const total = batchCount(data.train, options.batchSize);
  const watch = options.watch;
  const summaries: EpochSummary[] = [];
  const engine = await gradientStep(model, data, options.engine ?? 'auto', options.seed ?? 0);
  options.onEngine?.(engine.info);
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
        const { loss: l, hits: h, grads } = await engine.step(b);
        try {
          watch?.recordGradients(grads);
          optimizer.applyGradients(grads);
        } finally {
          tf.dispose(grads);
        }
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
    await engine.release();
  }
  return summaries;
}
