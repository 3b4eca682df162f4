import { Option, type Command } from 'commander';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action, parseIndex } from './run.js';

export interface WeightsOptions extends ModelOptions {
  layer: string;
  weight?: string;
  filter?: number;
  channel?: number;
  format: 'npy' | 'json' | 'csv';
  out?: string;
}

export function registerWeights(program: Command): void {
  addModelOptions(program.command('weights'))
    .description('export one weight, one filter or one filter’s input channel, and say which slice it is')
    .argument('<model>', 'model file')
    .requiredOption('--layer <name>', 'layer name (see `convscope inspect`)')
    .option('--weight <role>', 'weight role or stored name (default: kernel)')
    .option('--filter <j>', 'filter j (integer), tile j of `convscope filters`: out = j; Dense units = j; depthwise in = j div mult, mult = j mod mult', parseIndex)
    .option('--channel <c>', 'input channel c (integer): the slice in = c', parseIndex)
    .addOption(new Option('--format <format>', 'output format').choices(['npy', 'json', 'csv']).default('npy'))
    .option('--out <file>', 'output file, or a directory to write the default name in (default: <layer>-<weight>[-filterJ][-channelC].npy for npy, stdout otherwise)')
    .action(
      action(async (path: string, options: WeightsOptions) => {
        const { runWeights } = await import('./weights-run.js');
        await runWeights(path, options);
      }),
    );
}
