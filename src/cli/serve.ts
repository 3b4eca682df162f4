import { spawn } from 'node:child_process';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { openModel } from '../formats/open.js';
import { builtAssetDir } from '../web/built.js';
import { DEFAULT_UPLOAD_LIMIT, isLoopback, startServer } from '../web/server.js';
import { action, parseIndex, parseMegabytes } from './run.js';

interface ServeOptions {
  port: number;
  host: string;
  open?: boolean;
  uploadLimit: number;
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

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('a local web viewer: layers, filter grids, filters, histograms, activations, and the diff of two models')
    .argument('[model]', 'model file to show (without one, drop a file on the page: it is read in the browser)')
    .argument('[model2]', 'a second checkpoint of the same network: adds the diff view')
    .option('--port <n>', 'port to listen on (number; 0 = any free port)', parsePort, 8080)
    .option('--host <address>', 'address to listen on (string); anything but loopback exposes your models to the network', '127.0.0.1')
    .option('--open', 'open the viewer in the default browser', false)
    .addOption(new Option('--upload-limit <MB>', 'largest image upload in megabytes (number)').argParser(parseMegabytes).default(DEFAULT_UPLOAD_LIMIT, '16'))
    .action(
      action(async (first: string | undefined, second: string | undefined, options: ServeOptions) => {
        if (second !== undefined && first === undefined) throw new UsageError('Give the first model before the second.');
        const assetDir = builtAssetDir();
        if (!isLoopback(options.host)) {
          process.stderr.write(
            `convscope: warning: listening on ${options.host}, not loopback: anyone who can reach this address can read the models and run them.\n`,
          );
        }
        const models: Model[] = [];
        for (const path of [first, second]) if (path !== undefined) models.push(await openModel(path));
        // Loaded here, not at the top: it brings TensorFlow.js, which other commands need not pay for.
        const { webActivations } = await import('../web/activations.js');
        const server = await startServer({ models, assetDir, host: options.host, port: options.port, uploadLimit: options.uploadLimit, ...webActivations() });
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
