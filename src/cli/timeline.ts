import type { Command } from 'commander';
import { COLORMAP_NAMES, DEFAULT_COLORMAP } from '../render/choices.js';
import { action } from './run.js';

export interface TimelineOptions {
  out?: string;
  layer?: string;
  cmap?: string;
}

export function registerTimeline(program: Command): void {
  program
    .command('timeline')
    .description('follow weights over training from a snapshot directory (train --watch): relative change and update ratio per layer, filters over time')
    .argument('<snapshot-dir>', "directory with summary.jsonl and step-NNNNNN.safetensors (convscope train --watch writes <out>/watch)")
    .option('--out <dir>', 'output directory (default: <snapshot-dir>/timeline)')
    .option('--layer <name>', 'layer of the filters-over-time strip (default: the first convolution)')
    .option('--cmap <name>', `colormap of the strip (${COLORMAP_NAMES.join(', ')}; default: ${DEFAULT_COLORMAP})`)
    .action(
      action(async (dir: string, options: TimelineOptions) => {
        const { runTimeline } = await import('./timeline-run.js');
        await runTimeline(dir, options);
      }),
    );
}
