// One SGD step of the small CIFAR CNN (conv 64 5x5 same + relu, pool 2, conv 64 5x5 same + relu, pool 2,
// dense 10; batch 64; softmax cross-entropy on logits), as `trainModel` runs it: median of `steps` steps
// after 2 warm-up steps, each timed from one batch's end to the next (gradients, update, batch making).
// The PyTorch peer, bench/peers/train-step.py, is the same network. argv: <dist dir> <steps> [engine]
const [dist, stepsArg, engine = 'auto'] = process.argv.slice(2);
const { initBackend } = await import(`${dist}/compute/backend.js`);
const { trainModel } = await import(`${dist}/compute/train.js`);
const tfl = await import('@tensorflow/tfjs-layers');
await initBackend('wasm');
const model = tfl.sequential({
  layers: [
    tfl.layers.conv2d({ inputShape: [32, 32, 3], filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 64, kernelSize: 5, padding: 'same', activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 10 }),
  ],
});
const BATCH = 64;
const count = BATCH * (2 + Number(stepsArg));
const images = new Uint8Array(count * 32 * 32 * 3);
for (let i = 0; i < images.length; i++) images[i] = (i * 2654435761) >>> 24;
const labels = Uint8Array.from({ length: count }, (_, i) => (i * 7) % 10);
const set = { images, labels, count };
const data = { name: 'random', height: 32, width: 32, channels: 3, maxValue: 255, classes: [...'0123456789'], train: set, test: { images: images.subarray(0, 3072), labels: labels.subarray(0, 1), count: 1 } };
const times = [];
let last = performance.now();
let used = '';
let loss = 0;
await trainModel(model, data, {
  epochs: 1,
  batchSize: BATCH,
  learningRate: 0.01,
  optimizer: 'sgd',
  scale: 'unit',
  engine,
  onEngine: (e) => (used = e.description),
  onBatch: (p) => {
    const now = performance.now();
    if (p.batch > 2) times.push(now - last);
    last = now;
    loss = p.loss;
  },
});
times.sort((a, b) => a - b);
console.log(JSON.stringify({ ms: times[Math.floor(times.length / 2)], check: `${used}, loss ${loss.toFixed(3)}` }));
