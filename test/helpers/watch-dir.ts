import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/compute/backend.js';
import { trainModel } from '../../src/compute/train.js';
import { watchWeights, type WatchRecord } from '../../src/compute/watch.js';
import { loadDataset } from '../../src/data/index.js';
import { runPython } from './python.js';

/**
 * Trains a tiny digits CNN (conv1 4 filters 3x3, conv2 4 filters, dense) for 6 batches of 32 with
 * adam, lr 0.01, and watchWeights every batch into `dir`: 7 records and 7 snapshots, in about a second.
 */
export async function writeWatchDir(dir: string): Promise<readonly WatchRecord[]> {
  await initBackend('wasm');
  const data = await loadDataset('digits', { testFraction: 0.2, seed: 0 });
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [8, 8, 1], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1', kernelInitializer: tfl.initializers.heNormal({ seed: 7 }) }),
      tfl.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'relu', name: 'conv2', kernelInitializer: tfl.initializers.heNormal({ seed: 8 }) }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 10, activation: 'softmax', name: 'out', kernelInitializer: tfl.initializers.heNormal({ seed: 9 }) }),
    ],
  });
  const watch = watchWeights(model, { dir, every: { batches: 1 } });
  await trainModel(model, { ...data, train: { ...data.train, count: 192 } }, { epochs: 1, batchSize: 32, learningRate: 0.01, optimizer: 'adam', scale: 'unit', watch });
  model.dispose();
  return watch.records;
}

/**
 * NumPy's figures for a watch directory, read with a minimal safetensors parser (8-byte LE header
 * length, JSON header, raw little-endian F32 data): per kernel ('<layer>.weight' of rank > 1),
 * ||W_t - W_0|| / ||W_0|| in float64 for every snapshot, the median recorded update ratio, and the
 * conv1 kernels themselves.
 */
export function numpyTimeline(dir: string): {
  steps: number[];
  change: Record<string, number[]>;
  medianRatio: Record<string, number>;
  conv1: number[][][][][];
} {
  return JSON.parse(
    runPython(
      `import json, os, struct, sys, numpy as np
d = sys.argv[1]
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    header = json.loads(b[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, e in header.items():
        lo, hi = e["data_offsets"]
        assert e["dtype"] == "F32"
        out[name] = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype="<f4").reshape(e["shape"]).astype(np.float64)
    return out
records = [json.loads(l) for l in open(os.path.join(d, "summary.jsonl")) if l.strip()]
snaps = [read(os.path.join(d, r["snapshot"])) for r in records]
kernels = [k for k, a in snaps[0].items() if k.endswith(".weight") and a.ndim > 1]
change = {k: [float(np.linalg.norm(s[k] - snaps[0][k]) / np.linalg.norm(snaps[0][k])) for s in snaps] for k in kernels}
ratios = {}
for r in records:
    for w in r["weights"]:
        if w["role"] == "kernel" and w["updateRatio"] is not None:
            ratios.setdefault(w["layer"] + ".weight", []).append(w["updateRatio"])
print(json.dumps({"steps": [r["step"] for r in records], "change": change,
                  "medianRatio": {k: float(np.median(v)) for k, v in ratios.items()},
                  "conv1": [s["conv1.weight"].tolist() for s in snaps]}))`,
      [dir],
    ),
  );
}
