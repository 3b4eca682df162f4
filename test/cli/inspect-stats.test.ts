import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { encodeSafetensors } from '../../src/formats/safetensors-write.js';
import { runCli } from '../helpers/cli.js';

describe('inspect --stats', () => {
  it('warns when every filter of a kernel is identical (a constant initializer)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-inspect-'));
    const path = join(dir, 'ones.safetensors');
    const varied = Float32Array.from({ length: 4 * 9 }, (_, i) => Math.sin(i));
    writeFileSync(
      path,
      encodeSafetensors([
        { name: 'conv1.weight', shape: [6, 1, 5, 5], data: new Float32Array(150).fill(1) },
        { name: 'conv2.weight', shape: [4, 1, 3, 3], data: varied },
      ]),
    );
    const r = await runCli(['inspect', path, '--stats']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /conv1\s+Conv2d\s+kernel\s+\(6, 1, 5, 5\)\s+\[out, in, kh, kw\]\s+float32\s+150\s+1\s+1\s+1\s+0\s+0\s+0\/0/);
    assert.match(r.stdout, /warning: all 6 filters of conv1 kernel are identical: a constant initializer \(such as 'ones'\)/);
    assert.doesNotMatch(r.stdout, /filters of conv2 kernel are identical/);
  });
});
