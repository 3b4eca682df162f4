import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openModel } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsPython } from '../helpers/python.js';
import { generated } from '../helpers/torch-files.js';

/**
 * Files that Python's pickle would execute: each payload runs `touch <dir>/PWNED`. convscope must
 * refuse each with a one-sentence error (exit 1, no stack) and the marker must never appear.
 */
const CASES: [file: string, message: RegExp][] = [
  ['system-raw.pt', /system-raw\.pt refers to the Python global 'posix\.system', which convscope refuses to load: a model file must not run code, and nothing was executed\./],
  ['eval-raw.pt', /eval-raw\.pt refers to the Python global 'builtins\.eval', which convscope refuses to load/],
  ['system-zip.pt', /system-zip\.pt \(system-zip\/data\.pkl\) refers to the Python global 'posix\.system'/],
  ['eval-zip.pt', /eval-zip\.pt \(eval-zip\/data\.pkl\) refers to the Python global 'builtins\.eval'/],
  ['popen-zip.pt', /popen-zip\.pt \(popen-zip\/data\.pkl\) refers to the Python global 'subprocess\.Popen'/],
  ['huge-string.pt', /huge-string\.pt: the pickle is damaged at byte 7 \(BINUNICODE declares 2147483647 bytes, but only 16 remain\)\./],
  ['expanded.pt', /expanded\.pt \(expanded\/data\.pkl\): a tensor of size \(268435456\) repeats the 1 elements of storage '0' into 268435456, more than convscope materialises/],
  ['legacy-system.pt', /legacy-system\.pt \(object\) refers to the Python global 'posix\.system', which convscope refuses to load: a model file must not run code, and nothing was executed\./],
  ['legacy-eval.pt', /legacy-eval\.pt \(object\) refers to the Python global 'builtins\.eval', which convscope refuses to load/],
];

describe('malicious and unsupported PyTorch files', needsPython('torch'), () => {
  for (const [file, message] of CASES) {
    it(`${file} is refused with a clear error and nothing runs`, async () => {
      const g = generated('malicious');
      const before = process.memoryUsage().arrayBuffers;
      await assert.rejects(openModel(g.path(file)), message);
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'nothing beyond the file was allocated');
      assert.equal(existsSync(g.path('PWNED')), false, 'the payload did not run');
    });
  }

  it('the CLI prints the sentence, no stack, exits 1, and the payload never runs', async () => {
    const g = generated('malicious');
    const r = await runCli(['inspect', g.path('system-zip.pt')]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^convscope: .* refers to the Python global 'posix\.system'.*nothing was executed\.\n$/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(existsSync(g.path('PWNED')), false);
  });
});
