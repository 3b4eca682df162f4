import { InvalidArgumentError, Option, type Command } from 'commander';
import { DATA_SPEC_HELP } from '../data/spec.js';
import { DEFAULT_UPLOAD_LIMIT } from '../web/choices.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { action, parseIndex, parseMegabytes } from './run.js';

export interface ServeOptions extends ModelOptions {
  port: number;
  host: string;
  open?: boolean;
  uploadLimit: number;
  examplesData?: string[];
}

function parsePort(value: string): number {
  const n = parseIndex(value);
  if (n > 65535) throw new InvalidArgumentError('Expects a port from 0 to 65535.');
  return n;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('a local web viewer: layers, filter grids, filters, histograms, activations, and the diff of any two models')
    .argument('[models...]', 'model files or project folders to show (a folder: every model file in it and one folder down); without any, drop a file on the page: it is read in the browser')
    .option('--port <n>', 'port to listen on (number; 0 = any free port)', parsePort, 8080)
    .option('--host <address>', 'address to listen on (string); anything but loopback exposes your models to the network', '127.0.0.1')
    .option('--open', 'open the viewer in the default browser', false)
    .addOption(new Option('--upload-limit <MB>', 'largest image upload in megabytes (number)').argParser(parseMegabytes).default(DEFAULT_UPLOAD_LIMIT, String(DEFAULT_UPLOAD_LIMIT / (1024 * 1024))))
    .option('--examples-data <spec...>', `data sets the "what it detects" tab ranks for dataset examples (${DATA_SPEC_HELP}; default: digits)`);
  addModelOptions(command).action(
      action(async (paths: string[], options: ServeOptions) => {
        const { runServe } = await import('./serve-run.js');
        await runServe(paths, options);
      }),
    );
}
