import type { Command } from 'commander';
import { action } from './run.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('answer the classic question on a built-in network: build Conv2D(96, 5x5) in TF.js, save, inspect, get filter 6, draw filters and feature maps')
    .option('--out <dir>', 'where the model and figures go', 'convscope-demo')
    .action(
      action(async (options: { out: string }) => {
        const { runDemo } = await import('./demo-run.js');
        await runDemo(options.out, (lines) => process.stdout.write(`${lines.join('\n')}\n`));
      }),
    );
}
