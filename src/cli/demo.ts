import type { Command } from 'commander';
import { action } from './run.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the classic question end to end on built-in data: the Conv2D(96, 5x5) weights, filter 6, filters and feature maps; then a digits CNN trained as in the question and fixed, diffs, diagnosis and a probe')
    .option('--out <dir>', 'where the model and figures go', 'convscope-demo')
    .action(
      action(async (options: { out: string }) => {
        const { runDemo } = await import('./demo-run.js');
        await runDemo(options.out, (lines) => process.stdout.write(`${lines.join('\n')}\n`));
      }),
    );
}
