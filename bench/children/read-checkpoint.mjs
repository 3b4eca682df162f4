// Every tensor of a checkpoint, in-process: open + read all, in wall time and in CPU time of the process
// (user + system: on a busy machine wall time is mostly waiting), with the minor page faults of the load.
// `runs` > 0: the median of `runs` loads after one warm-up (a warm loop); `runs` = 0: the first load in
// this process, after the import (how a user opens a file).
// argv: <dist dir> <file> <runs>
const [dist, file, runsArg] = process.argv.slice(2);
const { openModel } = await import(`${dist}/formats/open.js`);
const runs = Number(runsArg);
const times = [];
const cpu = [];
const faults = [];
let values = 0;
for (let run = 0; run <= runs; run++) {
  const start = performance.now();
  const used = process.cpuUsage();
  const faulted = process.resourceUsage().minorPageFault;
  const model = await openModel(file);
  values = 0;
  for (const layer of model.layers) for (const w of layer.weights) values += (await w.read()).size;
  model.close();
  const { user, system } = process.cpuUsage(used);
  if (run > 0 || runs === 0) {
    times.push(performance.now() - start);
    cpu.push((user + system) / 1000);
    faults.push(process.resourceUsage().minorPageFault - faulted);
  }
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(JSON.stringify({ ms: median(times), cpu: median(cpu), faults: median(faults), check: `${values} values` }));
