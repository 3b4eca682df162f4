// Every tensor of a checkpoint, in-process: open + read all, median of `runs` after one warm-up, in wall
// time and in CPU time of the process (user + system: on a busy machine wall time is mostly waiting).
// argv: <dist dir> <file> <runs>
const [dist, file, runsArg] = process.argv.slice(2);
const { openModel } = await import(`${dist}/formats/open.js`);
const runs = Number(runsArg);
const times = [];
const cpu = [];
let values = 0;
for (let run = 0; run <= runs; run++) {
  const start = performance.now();
  const used = process.cpuUsage();
  const model = await openModel(file);
  values = 0;
  for (const layer of model.layers) for (const w of layer.weights) values += (await w.read()).size;
  model.close();
  const { user, system } = process.cpuUsage(used);
  if (run > 0) {
    times.push(performance.now() - start);
    cpu.push((user + system) / 1000);
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ ms: median(times), cpu: median(cpu), check: `${values} values` }));
