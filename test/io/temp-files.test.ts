/**
 * Ctrl-C or a SIGTERM during a write removes the temporary file (io/temp-files.ts), and the signal
 * still ends the process. The child registers its temporary file exactly as the writers do, writes it,
 * and waits, so the signal always lands mid-write.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-temp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
import { writeFileSync } from 'node:fs';
import { trackTemporary } from ${JSON.stringify(join(ROOT, 'src', 'io', 'temp-files.ts'))};
const tmp = process.argv[1];
trackTemporary(tmp);
writeFileSync(tmp, Buffer.alloc(1 << 20));
process.stdout.write('writing\\n');
setInterval(() => undefined, 1000);
`;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  describe(signal, () => {
    it('removes the temporary file and ends the process with the signal', async () => {
      const tmp = join(dir, `.out.${signal}.tmp`);
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, tmp], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      assert.ok(existsSync(tmp), 'the child is mid-write');
      const ended = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
      child.kill(signal);
      assert.equal(await ended, signal);
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes(signal)), []);
    });
  });
}
