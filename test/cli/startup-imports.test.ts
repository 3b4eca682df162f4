/**
 * Start-up loads only the commands' declarations: what `dist/cli/main.js` imports statically (and so
 * loads for `--help` and before every command) is commander, src/cli's declaration files, src/model's
 * vocabulary and leaves that import nothing outside src/model (the `choices.ts` of a folder, a limit's
 * default). Each command's work (`<cmd>-run.ts`) and everything under the readers, engines, maths,
 * views, renderers and the web server load only when that command runs, by dynamic import. The graph is
 * esbuild's, built here in memory with the options the build uses (a static chain once made `--help`
 * load 33 files, 750 KB of JavaScript). A second check runs the built `--help` and reads, from the
 * source maps of the files Node's loader gave it, which sources it loaded: that also sees a dynamic
 * import run at the top of a module, which the static graph cannot tell from one in an action.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { CLI_BUNDLE } from '../../scripts/cli-bundle.js';
import { ROOT } from '../helpers/fixtures.js';

const ENTRY = 'src/cli/main.ts';
/** Folders whose modules may be reached statically only through their `choices.ts`. */
const WORK = /^src\/(formats|compute|analyze|render|views|web|queue)\//;
const PACKAGES = new Set(['commander']);

/** Every input main.ts reaches through import statements (not dynamic imports), with the chain that reaches it. */
function staticGraph(metafile: Metafile): Map<string, string[]> {
  const chains = new Map<string, string[]>([[ENTRY, [ENTRY]]]);
  const queue = [ENTRY];
  while (queue.length > 0) {
    const from = queue.shift()!;
    for (const edge of metafile.inputs[from]?.imports ?? []) {
      if (edge.kind !== 'import-statement' || edge.external || chains.has(edge.path)) continue;
      chains.set(edge.path, [...chains.get(from)!, edge.path]);
      queue.push(edge.path);
    }
  }
  return chains;
}

/** The package a node_modules path belongs to (`commander`, `@scope/name`), else undefined. */
function packageOf(path: string): string | undefined {
  return /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1];
}

/** Why the module at `path` may not load at start, from where it lives, or undefined when it may. */
function placeOffence(path: string): string | undefined {
  const pkg = packageOf(path);
  if (pkg !== undefined) return PACKAGES.has(pkg) ? undefined : `the package ${pkg}`;
  if (/^src\/cli\/.*-run\.ts$/.test(path)) return "a command's work";
  if (WORK.test(path) && !path.endsWith('/choices.ts')) return 'library work';
  return undefined;
}

/** Why `path` may not load at start, or undefined when it may: where it lives, and outside src/cli and src/model, that it imports more. */
function offence(path: string, metafile: Metafile): string | undefined {
  const placed = placeOffence(path);
  if (placed !== undefined || /^src\/(cli|model)\//.test(path) || packageOf(path) !== undefined) return placed;
  const deeper = (metafile.inputs[path]?.imports ?? []).filter((e) => e.kind === 'import-statement' && !e.external && !e.path.startsWith('src/model/'));
  return deeper.length > 0 ? `not a leaf: it imports ${deeper.map((e) => e.path).join(', ')}` : undefined;
}

/** Records, from Node's module loader, every file a child loads (into the file LOADED_LIST names). */
const HOOKS = `data:text/javascript,${encodeURIComponent(`
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.LOADED_LIST, url + '\\n');
  return next(url, context);
}`)}`;
const PROBE = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(HOOKS)});`)}`;

/** The sources (paths relative to the project) of every file of dist/cli that `convscope <args>` loads, by its source map. */
function sourcesLoaded(args: string[]): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-loaded-'));
  try {
    const list = join(dir, 'loaded');
    const r = spawnSync(process.execPath, ['--import', PROBE, join(ROOT, 'dist', 'cli', 'main.js'), ...args], { encoding: 'utf8', env: { ...process.env, LOADED_LIST: list } });
    assert.equal(r.status, 0, r.stderr);
    const sources = new Map<string, string>();
    for (const url of readFileSync(list, 'utf8').trim().split('\n')) {
      const file = fileURLToPath(url);
      if (!file.startsWith(join(ROOT, 'dist', 'cli'))) continue;
      const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
      for (const source of map.sources) sources.set(relative(ROOT, resolve(dirname(file), source)), relative(ROOT, file));
    }
    return sources;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CLI start-up imports', () => {
  it('main.js statically loads only declarations, src/model and leaves', async () => {
    const { metafile } = await build({ ...CLI_BUNDLE, write: false, metafile: true, sourcemap: false, logLevel: 'silent' });
    const chains = staticGraph(metafile);
    assert.ok(chains.has('src/cli/inspect.ts') && chains.has('src/cli/serve.ts'), `the graph misses the commands' declarations: ${[...chains.keys()].join(', ')}`);
    const offences = [...chains.keys()].flatMap((path) => {
      const why = offence(path, metafile);
      return why ? [`${chains.get(path)!.join(' -> ')} (${why})`] : [];
    });
    const shown = offences.slice(0, 25).join('\n') + (offences.length > 25 ? `\n... and ${offences.length - 25} more` : '');
    assert.deepEqual(offences, [], `start-up imports work it does not need; import it in the command's action:\n${shown}`);
    const run = /^src\/cli\/(\w+)-run\.ts$/;
    const lazy = Object.keys(metafile.inputs).filter((p) => run.test(p));
    assert.ok(lazy.length >= 15, `expected a <cmd>-run.ts per command, found ${lazy.join(', ')}`);
  });
  it('--help, run, loads no file of dist/cli with work in it (a dynamic import at the top of a module would)', () => {
    const sources = sourcesLoaded(['--help']);
    assert.ok(sources.has('src/cli/main.ts'), `the probe saw no main.ts among ${[...sources.keys()].join(', ')}`);
    const offences = [...sources].flatMap(([source, file]) => {
      const why = placeOffence(source);
      return why ? [`${file} holds ${source} (${why})`] : [];
    });
    assert.deepEqual(offences, [], `--help loads work it does not need:\n${offences.slice(0, 25).join('\n')}`);
  });
});
