/**
 * npm run fuzz -- --seed <n> --cases <n> [--jobs <n>] [--timeout-ms <n>] [--memory-mb <n>]
 *                 [--formats a,b] [--only <case,...>] [--keep <dir>]
 * Mutates seed files of every format, opens each case in a worker process with time and memory
 * limits, reads every weight, builds the call graph, and prints a table per format. Exits 1 when any
 * case is an internal error, a crash, a hang or over memory, or when a pickle payload ran.
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatTable, runFuzz } from './run.js';
import { FORMATS, type FuzzFormat } from './seeds.js';

function count(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`Expects a non-negative integer, but received '${value}'.`);
  return n;
}

const program = new Command('fuzz')
  .description('mutate real model files of every format and check that reading them never goes wrong')
  .requiredOption('--seed <n>', 'seed of every random choice (integer)', count)
  .option('--cases <n>', 'number of mutated cases, spread over the formats (integer)', count, 700)
  .option('--jobs <n>', 'worker processes in parallel (integer)', count, 1)
  .option('--timeout-ms <n>', 'time limit per case before it counts as a hang (integer, ms)', count, 15_000)
  .option('--memory-mb <n>', 'resident memory limit per case before it counts as over memory (integer, MB)', count, 1024)
  .option('--formats <list>', `comma-separated subset of ${FORMATS.join(',')} (default: all)`)
  .option('--only <cases>', 'run only these case numbers, to reproduce them (comma-separated integers)', (v) => v.split(',').map(count))
  .option('--keep <dir>', 'save every failing case into this folder');
program.parse();
const o = program.opts<{ seed: number; cases: number; jobs: number; timeoutMs: number; memoryMb: number; formats?: string; only?: number[]; keep?: string }>();
const formats = o.formats?.split(',').map((f) => f.trim()) as FuzzFormat[] | undefined;
const unknown = formats?.find((f) => !FORMATS.includes(f));
if (unknown) {
  console.error(`fuzz: unknown format '${unknown}'; formats are ${FORMATS.join(', ')}.`);
  process.exit(1);
}
let last = 0;
const report = await runFuzz({
  seed: o.seed,
  cases: o.cases,
  jobs: o.jobs,
  timeoutMs: o.timeoutMs,
  memoryMb: o.memoryMb,
  ...(formats ? { formats } : {}),
  ...(o.only !== undefined ? { only: o.only } : {}),
  ...(o.keep ? { keep: o.keep } : {}),
  onProgress(done, total) {
    if (Date.now() - last > 5000 || done === total) {
      last = Date.now();
      process.stderr.write(`fuzz: ${done}/${total} cases\n`);
    }
  },
});
console.log(`seed ${o.seed}, ${report.seconds.toFixed(0)} s, peak worker RSS ${report.peakRssMb.toFixed(0)} MB, pickle payload ran: ${report.payloadRan ? 'YES' : 'no'}\n`);
console.log(formatTable(report));
if (report.unseeded.length > 0) console.log(`\nnot fuzzed: ${report.unseeded.join(', ')} (no seed file here: their seeds are the shared fixtures, not found beside the project)`);
for (const f of report.failures.slice(0, 40)) console.log(`\ncase ${f.caseNo} (${f.format}, ${f.seed}): ${f.outcome}: ${f.detail}`);
if (report.failures.length > 40) console.log(`\n... and ${report.failures.length - 40} more failing cases`);
process.exit(report.failures.length > 0 || report.payloadRan ? 1 : 0);
