// Random forest on the digits split of `seed`: fit 100 trees, then predict the test set `runs` times;
// reports the median predict time and the test accuracy. argv: <dist dir> <seed> <runs>
const [dist, seedArg, runsArg] = process.argv.slice(2);
const { loadDataset } = await import(`${dist}/data/index.js`);
const { RandomForest, accuracy } = await import(`${dist}/analyze/forest.js`);
const seed = Number(seedArg);
const data = await loadDataset('digits', { seed });
const forest = new RandomForest({ trees: 100, seed }).fit(Float32Array.from(data.train.images), data.train.labels, 10);
const test = Float32Array.from(data.test.images);
const times = [];
let predicted;
for (let run = 0; run <= Number(runsArg); run++) {
  const t = performance.now();
  predicted = forest.predict(test);
  if (run > 0) times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
const acc = accuracy(predicted, data.test.labels);
console.log(JSON.stringify({ ms: times[Math.floor(times.length / 2)], accuracy: acc, check: `seed ${seed}: ${data.test.count} test digits, accuracy ${(100 * acc).toFixed(2)} %` }));
