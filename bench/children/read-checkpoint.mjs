// Every tensor of a checkpoint, in-process: open + read all, median of `runs` after one warm-up.
// argv: <dist dir> <file> <runs>
const [dist, file, runsArg] = process.argv.slice(2);
const { openModel } = await import(`${dist}/formats/open.js`);
const runs = Number(runsArg);
const times = [];
let values = 0;
for (let run = 0; run <= runs; run++) {
  const start = performance.now();
  const model = await openModel(file);
  values = 0;
  for (const layer of model.layers) for (const w of layer.weights) values += (await w.read()).size;
  model.close();
  if (run > 0) times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ ms: times[Math.floor(times.length / 2)], check: `${values} values` }));
