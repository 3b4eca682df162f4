import { spawn } from 'node:child_process';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ConvscopeError, UsageError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { builtAssetDir } from '../web/built.js';
import { DATA_SPEC_HELP, parseDataSpec } from '../data/index.js';
import { distinctNames, isFolder, MAX_PROJECT_MODELS, projectModels, projectRuns, type ProjectEntry } from '../web/project.js';
import { DEFAULT_UPLOAD_LIMIT } from '../web/choices.js';
import { isLoopback, startServer } from '../web/server.js';
import { addModelOptions, type ModelOptions } from './model-options.js';
import { withModelOptions } from './open-model.js';
import { action, parseIndex, parseMegabytes } from './run.js';

interface ServeOptions extends ModelOptions {
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

/** Opens the URL in the desktop's browser; failing to is not an error (the URL is printed). */
function openBrowser(url: string): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [url], { detached: true, stdio: 'ignore' });
  child.on('error', () => process.stderr.write(`convscope: could not start a browser (${command}); open ${url} yourself.\n`));
  child.unref();
}

/** The files to open: each path named, a folder standing for every model file in it (a project). */
async function entries(paths: readonly string[]): Promise<(ProjectEntry & { found: boolean })[]> {
  const out: (ProjectEntry & { found: boolean })[] = [];
  const named = distinctNames(paths);
  for (const [i, path] of paths.entries()) {
    if (await isFolder(path)) out.push(...(await projectModels(path)).map((e) => ({ ...e, found: true })));
    else out.push({ path, name: named[i]!, found: false });
  }
  if (out.length > MAX_PROJECT_MODELS) throw new UsageError(`The viewer shows at most ${MAX_PROJECT_MODELS} models, but ${out.length} were named.`);
  return out;
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('a local web viewer: layers, filter grids, filters, histograms, activations, and the diff of any two models')
    .argument('[models...]', 'model files or project folders to show (a folder: every model file in it and one folder down); without any, drop a file on the page: it is read in the browser')
    .option('--port <n>', 'port to listen on (number; 0 = any free port)', parsePort, 8080)
    .option('--host <address>', 'address to listen on (string); anything but loopback exposes your models to the network', '127.0.0.1')
    .option('--open', 'open the viewer in the default browser', false)
    .addOption(new Option('--upload-limit <MB>', 'largest image upload in megabytes (number)').argParser(parseMegabytes).default(DEFAULT_UPLOAD_LIMIT, '16'))
    .option('--examples-data <spec...>', `data sets the "what it detects" tab ranks for dataset examples (${DATA_SPEC_HELP}; default: digits)`);
  addModelOptions(command).action(
      action(async (paths: string[], options: ServeOptions) => {
        const assetDir = builtAssetDir();
        if (!isLoopback(options.host)) {
          process.stderr.write(
            `convscope: warning: listening on ${options.host}, not loopback: anyone who can reach this address can read the models and run them.\n`,
          );
        }
        const found: ProjectEntry[] = [];
        const models: Model[] = [];
        for (const entry of await entries(paths)) {
          try {
            models.push(await withModelOptions(entry.path, options));
            found.push(entry);
          } catch (e) {
            // A file found in a folder that is not a readable model is skipped with its reason; a file named is an error.
            if (!entry.found || !(e instanceof ConvscopeError)) throw e;
            process.stderr.write(`convscope: skipping ${entry.name}: ${e.message}\n`);
          }
        }
        // Loaded here, not at the top: it brings TensorFlow.js, which other commands need not pay for.
        const { webActivations } = await import('../web/activations.js');
        // Each spec is checked now, so a typo fails at start rather than in the page.
        for (const spec of options.examplesData ?? []) parseDataSpec(spec);
        const examplesData = options.examplesData ? ['digits', ...options.examplesData.filter((s) => s !== 'digits')] : undefined;
        const names = found.map((e) => e.name);
        const runs = await projectRuns(found);
        const server = await startServer({ models, names, runs, assetDir, host: options.host, port: options.port, uploadLimit: options.uploadLimit, ...webActivations(examplesData) });
        if (models.length > 2) process.stdout.write(`${models.length} models: ${names.join(', ')}\n`);
        process.stdout.write(`convscope viewer: ${server.url}\n(press Ctrl+C to stop)\n`);
        if (options.open) openBrowser(server.url);
        const stop = (): void => {
          void server.close().then(() => {
            for (const m of models) m.close();
            process.exit(0);
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      }),
    );
}
