import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-errors-'));

/** Asserts a clean user error: exit 1, one `convscope:` line on stderr, no stack, nothing written. */
async function expectError(args: string[], message: RegExp): Promise<void> {
  const before = readdirSync(dir).sort();
  const r = await runCli(args, { cwd: dir });
  assert.equal(r.code, 1, `exit code for ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, /^convscope: /);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(r.stdout, '');
  assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written');
}

// Broken model files and their sentences are one table: test/bad-files.test.ts.
describe('CLI errors on bad input', () => {
  it('a missing file', async () => {
    await expectError(['inspect', join(dir, 'nope.h5')], /nope\.h5 does not exist\./);
  });

  it('a directory', async () => {
    await expectError(['inspect', dir], /is a directory, not a model file: it has no saved_model\.pb, 'checkpoint' file or single \.index file; give the model file itself\./);
  });

  it('a bad option value names the option', async () => {
    const r = await runCli(['weights', 'x.h5', '--layer', 'a', '--filter', 'six'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--filter <j>.*'six' is invalid/);
  });
});
