import type { Command } from 'commander';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action } from './run.js';

export interface InspectOptions extends ModelOptions {
  stats?: boolean;
  json?: boolean;
}

export function registerInspect(program: Command): void {
  addModelOptions(program.command('inspect'))
    .description('list the layers of a model with each weight’s shape, axis names and parameter count')
    .argument('<model>', 'model file: .h5, .keras, .weights.h5, model.json, .pt/.pth, .safetensors, .onnx, a SavedModel directory or a TF checkpoint (prefix, .index or checkpoint file)')
    .option('--stats', 'add min, max, mean, std, zeros and NaN/Inf counts per weight (reads every weight)', false)
    .option('--json', 'print JSON instead of a table', false)
    .action(
      action(async (path: string, options: InspectOptions) => {
        const { runInspect } = await import('./inspect-run.js');
        await runInspect(path, options);
      }),
    );
}
