// One SGD step of the small CIFAR CNN (conv 64 5x5 same + relu, pool 2, conv 64 5x5 same + relu, pool 2,
// dense 10; batch 64; softmax cross-entropy) on tfjs wasm with convscope's gradient kernels: median of
// `steps` steps after 2 warm-up steps. argv: <dist dir> <steps>
const [dist, stepsArg] = process.argv.slice(2);
const { initBackend } = await import(`${dist}/compute/backend.js`);
const tf = await import('@tensorflow/tfjs-core');
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
const optimizer = tf.train.sgd(0.01);
const x = tf.randomUniform([64, 32, 32, 3]);
const y = tf.oneHot(tf.randomUniform([64], 0, 10, 'int32'), 10);
const step = () => {
  const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true })), true);
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
};
const times = [];
let loss = 0;
for (let i = 0; i < 2 + Number(stepsArg); i++) {
  const t = performance.now();
  loss = step();
  if (i >= 2) times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ ms: times[Math.floor(times.length / 2)], check: `backend ${tf.getBackend()}, loss ${loss.toFixed(3)}` }));
