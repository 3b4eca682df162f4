import { Option, type Command } from 'commander';
import type { ClassifierName } from '../analyze/probe.js';
import type { Preset } from '../compute/choices.js';
import type { FeatureMode } from '../compute/features.js';
import { DATA_SPEC_HELP } from '../data/spec.js';
import type { ResizeMode } from '../io/image-fit.js';
import { addDataSetPixelOptions } from './model-options.js';
import { action, parseIndex } from './run.js';

export interface ProbeCliOptions {
  layer: string;
  data: string;
  features: FeatureMode;
  classifier: ClassifierName;
  scale?: Preset;
  resize?: ResizeMode;
  seed: number;
  trees: number;
  json?: boolean;
  export?: string;
  config?: string;
}

export function registerProbe(program: Command): void {
  const command = program
    .command('probe')
    .description("fit a classifier on a layer's features and compare with raw pixels and the same network untrained")
    .argument('<model>', 'trained model file')
    .requiredOption('--layer <name>', 'the layer whose output becomes the features')
    .requiredOption('--data <spec>', `data set: ${DATA_SPEC_HELP}`)
    .addOption(new Option('--features <mode>', 'gap: one value per channel; flatten: every value').choices(['gap', 'flatten']).default('gap'))
    .addOption(new Option('--classifier <name>', 'classifier').choices(['random-forest', 'logistic']).default('random-forest'));
  addDataSetPixelOptions(command)
    .option('--seed <n>', 'seed of the split, the untrained baseline and the forest', parseIndex, 0)
    .option('--trees <n>', 'trees in the random forest', parseIndex, 100)
    .option('--json', 'print the result as JSON', false)
    .option('--export <features.npy>', 'write the trained features (train rows, then test rows) and, beside them, <name>.labels.npy')
    .option('--config <arch.json>', 'architecture JSON for a weights-only file')
    .action(
      action(async (path: string, options: ProbeCliOptions) => {
        const { runProbe } = await import('./probe-run.js');
        await runProbe(path, options);
      }),
    );
}
