import { spawn } from 'node:child_process';
import { ConvscopeError, UsageError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { builtAssetDir } from '../web/built.js';
import { parseDataSpec } from '../data/spec.js';
import { distinctNames, isFolder, MAX_PROJECT_MODELS, projectModels, projectRuns, type ProjectEntry } from '../web/project.js';
import { isLoopback, startServer } from '../web/server.js';
import { withModelOptions } from './open-model.js';
import type { ServeOptions } from './serve.js';

/** The work of `convscope serve`, loaded only when the command runs. */

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

export async function runServe(paths: string[], options: ServeOptions): Promise<void> {
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
}
