import { initBackend, tf } from './backend.js';

export interface LogisticOptions {
  /** Full-batch optimisation steps (default 300). */
  steps?: number;
  learningRate?: number;
  /** L2 penalty on the weights (default 1e-4). */
  l2?: number;
}

/** A fitted multinomial logistic regression on standardised features. */
export interface LogisticModel {
  predict(x: Float32Array): Promise<Uint8Array>;
  dispose(): void;
}

function standardizer(x: Float32Array, n: number, d: number): { mean: Float32Array; scale: Float32Array } {
  const mean = new Float32Array(d);
  const scale = new Float32Array(d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) mean[f]! += x[i * d + f]! / n;
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) scale[f]! += (x[i * d + f]! - mean[f]!) ** 2 / n;
  for (let f = 0; f < d; f++) scale[f] = scale[f]! > 0 ? 1 / Math.sqrt(scale[f]!) : 1;
  return { mean, scale };
}

/**
 * Multinomial logistic regression (softmax, L2) fitted full-batch with Adam on TensorFlow.js, from
 * zero weights, so the result is deterministic. Features are standardised with the training
 * mean and deviation, as scikit-learn users do with StandardScaler.
 */
export async function fitLogistic(x: Float32Array, labels: ArrayLike<number>, classes: number, options: LogisticOptions = {}): Promise<LogisticModel> {
  await initBackend();
  const n = labels.length;
  const d = x.length / n;
  const { mean, scale } = standardizer(x, n, d);
  const meanT = tf.tensor1d(mean);
  const scaleT = tf.tensor1d(scale);
  const standardize = (values: Float32Array, rows: number) => tf.tidy(() => tf.mul(tf.sub(tf.tensor2d(values, [rows, d]), meanT), scaleT));
  const xs = standardize(x, n);
  const ys = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), classes), 'float32'));
  const w = tf.variable(tf.zeros([d, classes]));
  const b = tf.variable(tf.zeros([classes]));
  const optimizer = tf.train.adam(options.learningRate ?? 0.05);
  const l2 = options.l2 ?? 1e-4;
  try {
    for (let step = 0; step < (options.steps ?? 300); step++) {
      const loss = optimizer.minimize(
        () => tf.add(tf.losses.softmaxCrossEntropy(ys, tf.add(tf.matMul(xs, w), b)), tf.mul(tf.sum(tf.square(w)), l2)) as tf.Scalar,
        true,
        [w, b],
      );
      loss?.dispose();
    }
  } finally {
    xs.dispose();
    ys.dispose();
    optimizer.dispose();
  }
  return {
    async predict(values) {
      const rows = values.length / d;
      const predicted = tf.tidy(() => tf.argMax(tf.add(tf.matMul(standardize(values, rows), w), b), 1));
      const out = Uint8Array.from((await predicted.data()) as Int32Array);
      predicted.dispose();
      return out;
    },
    dispose() {
      tf.dispose([w, b, meanT, scaleT]);
    },
  };
}
