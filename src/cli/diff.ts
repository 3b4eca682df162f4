import type { Command } from 'commander';
import { DEFAULT_COLORMAP } from '../render/choices.js';
import { action } from './run.js';

export interface DiffOptions {
  layer?: string;
  json?: boolean;
  out?: string;
  cmap?: string;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two checkpoints (any formats): change per layer, weight and filter, a verdict and a diagnosis')
    .argument('<before>', 'model file before training')
    .argument('<after>', 'model file after training')
    .option('--layer <name>', 'only this layer (name in the before model); also lists every filter')
    .option('--json', 'print JSON: { layers: [...], summary: { verdict, diagnosis } }', false)
    .option('--out <report.html|dir>', 'also write before / after / delta filter grids: one self-contained .html file, or a directory of PNGs with index.html')
    .option('--cmap <name>', `colormap of the grids (default: ${DEFAULT_COLORMAP})`)
    .action(
      action(async (beforePath: string, afterPath: string, options: DiffOptions) => {
        const { runDiff } = await import('./diff-run.js');
        await runDiff(beforePath, afterPath, options);
      }),
    );
}
