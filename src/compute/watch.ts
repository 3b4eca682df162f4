import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../io/write.js';
import { tf } from './backend.js';
import { safetensorsBytes } from './checkpoint.js';
import { layerWeights, type LayerWeight } from './model-weights.js';

/** When to record: at each epoch's end, or every n batches. */
export type WatchEvery = 'epoch' | { batches: number };

export interface WatchOptions {
  /** Directory for `summary.jsonl` and the `step-NNNNNN.safetensors` snapshots. */
  dir: string;
  every?: WatchEvery;
  /** Write weight snapshots as well as the summary (default true). */
  snapshots?: boolean;
}

/** One weight's health at a recorded step. */
export interface WeightHealth {
  layer: string;
  role: string;
  shape: number[];
  /** ||W||, the Frobenius norm. */
  norm: number;
  /** ||W - W_before|| / ||W|| over the last update (healthy around 1e-3); null before any update. */
  updateRatio: number | null;
  /** ||dL/dW|| of the last update, when the training loop handed its gradients over. */
  gradNorm: number | null;
}

export interface WatchRecord {
  /** Updates applied so far. */
  step: number;
  epoch: number;
  logs: Record<string, number>;
  weights: WeightHealth[];
  /** The snapshot file, relative to the watch directory. */
  snapshot?: string;
}

export interface WeightWatch extends tfl.CustomCallbackArgs {
  /**
   * For training loops that compute gradients themselves: the gradients about to be applied,
   * keyed by variable name as `tf.variableGrads` returns them. Their norms go into the next record.
   */
  recordGradients(grads: tf.NamedTensorMap): void;
  /** Every record written so far. */
  readonly records: readonly WatchRecord[];
}

/** Frobenius norms of the tensors `make` returns (made and freed inside one tidy). */
function norms(make: () => tf.Tensor[]): number[] {
  const stacked = tf.tidy(() => {
    const tensors = make();
    return tensors.length === 0 ? undefined : tf.stack(tensors.map((t) => tf.norm(t)));
  });
  if (!stacked) return [];
  const values = Array.from(stacked.dataSync());
  stacked.dispose();
  return values;
}

/**
 * A TensorFlow.js callback (`model.fit(x, y, { callbacks: [watchWeights(model, { dir })] })`) that
 * writes, at step 0 and then every epoch or every n batches, a safetensors snapshot of all weights
 * and one line of `summary.jsonl`: per-layer weight norm, update-to-weight ratio of the last update,
 * and gradient norm where the loop supplied gradients.
 */
export function watchWeights(model: tfl.LayersModel, options: WatchOptions): WeightWatch {
  const every = options.every ?? 'epoch';
  const snapshots = options.snapshots ?? true;
  const records: WatchRecord[] = [];
  let weights: LayerWeight[] = [];
  let before: tf.Tensor[] = [];
  let gradNorms = new Map<string, number>();
  let step = 0;
  let epoch = 0;

  async function record(logs: Record<string, number>): Promise<void> {
    const current = weights.map((w) => w.value);
    const weightNorms = norms(() => current);
    const deltaNorms = before.length === current.length ? norms(() => current.map((w, i) => tf.sub(w, before[i]!))) : [];
    const entry: WatchRecord = {
      step,
      epoch,
      logs,
      weights: weights.map((w, i) => ({
        layer: w.layer,
        role: w.role,
        shape: [...w.value.shape],
        norm: weightNorms[i]!,
        updateRatio: deltaNorms.length && step > 0 ? deltaNorms[i]! / (weightNorms[i]! || 1) : null,
        gradNorm: gradNorms.get(w.value.name) ?? null,
      })),
    };
    if (snapshots) {
      entry.snapshot = `step-${String(step).padStart(6, '0')}.safetensors`;
      const metadata = { step: String(step), epoch: String(epoch), logs: JSON.stringify(logs) };
      await writeFileAtomic(join(options.dir, entry.snapshot), safetensorsBytes(model, metadata));
    }
    records.push(entry);
    await appendFile(join(options.dir, 'summary.jsonl'), `${JSON.stringify(entry)}\n`);
  }

  function numeric(logs: tfl.Logs | undefined): Record<string, number> {
    return Object.fromEntries(Object.entries(logs ?? {}).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }

  return {
    records,
    recordGradients(grads) {
      const names = Object.keys(grads);
      const values = norms(() => names.map((n) => grads[n]!));
      gradNorms = new Map(names.map((n, i) => [n, values[i]!]));
    },
    async onTrainBegin() {
      await mkdir(options.dir, { recursive: true });
      weights = layerWeights(model);
      await record({});
    },
    onBatchBegin() {
      tf.dispose(before);
      // The weights before this update, when a record may follow it (any batch may end an epoch).
      const recorded = every === 'epoch' || (step + 1) % every.batches === 0;
      before = recorded ? weights.map((w) => tf.clone(w.value)) : [];
    },
    async onBatchEnd(_batch, logs) {
      step++;
      if (every !== 'epoch' && step % every.batches === 0) await record(numeric(logs));
    },
    async onEpochEnd(e, logs) {
      epoch = e + 1;
      if (every === 'epoch') await record(numeric(logs));
    },
    onTrainEnd() {
      tf.dispose(before);
      before = [];
    },
  };
}
