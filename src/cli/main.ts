#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { BOUNDS_CHECK_FLAG, needsBoundsCheckFlag } from '../io/wasm-memory.js';
import { registerActivations } from './activations.js';
import { registerAttribute } from './attribute.js';
import { registerDemo } from './demo.js';
import { registerDiff } from './diff.js';
import { registerExamples, registerMerge, registerWorker } from './examples.js';
import { registerFilters } from './filters.js';
import { registerHistogram } from './histogram.js';
import { registerInspect } from './inspect.js';
import { registerMaximize } from './maximize.js';
import { registerProbe } from './probe.js';
import { registerReport } from './report.js';
import { registerServe } from './serve.js';
import { registerTimeline } from './timeline.js';
import { registerTrain } from './train.js';
import { registerWeights } from './weights.js';

// Under a low address-space limit (ulimit -v), WebAssembly engines start only with explicit bounds checks.
if (needsBoundsCheckFlag()) {
  const child = spawnSync(process.execPath, [BOUNDS_CHECK_FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(child.status ?? 1);
}

const program = new Command();
program
  .name('convscope')
  .description('See the weights and activations of convolutional networks: named axes, filter grids, feature maps, checkpoint diffs.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ showGlobalOptions: true });

registerInspect(program);
registerWeights(program);
registerDiff(program);
registerFilters(program);
registerHistogram(program);
registerActivations(program);
registerAttribute(program);
registerExamples(program);
registerMerge(program);
registerWorker(program);
registerMaximize(program);
registerDemo(program);
registerServe(program);
registerReport(program);
registerTrain(program);
registerProbe(program);
registerTimeline(program);

await program.parseAsync(process.argv);
