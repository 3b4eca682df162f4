import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/fixtures.js';

/** Starts the compiled `convscope serve` (as runCli runs the CLI) and resolves with what it printed once the URL is out; the caller stops it. */
function serve(args: string[]): Promise<{ url: string; stderr: string; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'serve', ...args], { env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve printed no URL in 60 s; stderr: ${stderr}`));
    }, 60_000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const url = /convscope viewer: (http:\/\/\S+)/.exec(stdout)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve({ url, stderr, stop: () => child.kill('SIGTERM') });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

describe('convscope serve and report on the command line', () => {
  it('prints the URL and serves the page on loopback', async () => {
    const running = await serve(['--port', '0']);
    try {
      assert.equal(running.stderr, '');
      assert.match(running.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(running.url);
      assert.equal(page.status, 200);
      assert.match(await page.text(), /<title>convscope viewer<\/title>/);
    } finally {
      running.stop();
    }
  });

  it('warns before listening beyond loopback, and says why it cannot listen', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never this machine's address, so nothing is exposed.
    const result = await runCli(['serve', '--host', '192.0.2.1', '--port', '0']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /warning: listening on 192\.0\.2\.1, not loopback: anyone who can reach this address can read the models/);
    assert.match(result.stderr, /convscope: The viewer cannot listen on 192\.0\.2\.1:0: EADDRNOTAVAIL\.\n$/);
  });

  it('refuses a missing model and a report without --out, with one sentence each', async () => {
    const missing = await runCli(['serve', join(ROOT, 'no-such-model.h5')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^convscope: .*no-such-model\.h5 does not exist\.\n$/);
    const noOut = await runCli(['report', join(ROOT, 'no-such-model.h5')]);
    assert.notEqual(noOut.code, 0);
    assert.match(noOut.stderr, /required option '--out <report.html>' not specified/);
  });
});
