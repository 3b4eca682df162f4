/**
 * Start-up loads only the commands' declarations: what `dist/cli/main.js` imports statically (and so
 * loads for `--help` and before every command) is commander, src/cli's declaration files, src/model's
 * vocabulary and leaves that import nothing outside src/model (the `choices.ts` of a folder, a limit's
 * default). Each command's work (`<cmd>-run.ts`) and everything under the readers, engines, maths,
 * views, renderers and the web server load only when that command runs, by dynamic import. The graph is
 * esbuild's, built here in memory with the options the build uses (a static chain once made `--help`
 * load 34 chunks, 750 KB of JavaScript).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { build, type Metafile } from 'esbuild';
import { CLI_BUNDLE } from '../../scripts/cli-bundle.js';

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

/** Why `path` may not load at start, or undefined when it may. */
function offence(path: string, metafile: Metafile): string | undefined {
  const pkg = packageOf(path);
  if (pkg !== undefined) return PACKAGES.has(pkg) ? undefined : `the package ${pkg}`;
  if (/^src\/cli\/.*-run\.ts$/.test(path)) return "a command's work";
  if (/^src\/(cli|model)\//.test(path)) return undefined;
  if (WORK.test(path) && !path.endsWith('/choices.ts')) return 'library work';
  const deeper = (metafile.inputs[path]?.imports ?? []).filter((e) => e.kind === 'import-statement' && !e.external && !e.path.startsWith('src/model/'));
  return deeper.length > 0 ? `not a leaf: it imports ${deeper.map((e) => e.path).join(', ')}` : undefined;
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
});
