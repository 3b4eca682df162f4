// Bundles the CLI with esbuild into dist/cli/main.js (options and why: scripts/cli-bundle.ts),
// replacing tsc's per-file output there. Run by `npm run build` after tsc.
import { build } from 'esbuild';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI_BUNDLE, CLI_OUT } from './cli-bundle.js';

for (const name of await readdir(CLI_OUT).catch(() => [] as string[])) {
  if (name.startsWith('bundle-')) await rm(join(CLI_OUT, name));
}
await build(CLI_BUNDLE);
