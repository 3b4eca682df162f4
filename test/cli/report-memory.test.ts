/**
 * `report --image` within the memory of the largest layer: the same network written twice, with its
 * Dense layer 64 MiB wide and 0.5 MiB narrow, each reported by the CLI in its own process under
 * /usr/bin/time (peak RSS from outside). The wide report may cost at most 2.5x that layer more than the
 * narrow one: a run holding the kernel in several copies (the engine's, a packed matmul copy, drawn
 * initial values) or reading it twice at once cost 5.4x (347 MB) before the pass went layer by layer.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, SHARED } from '../helpers/fixtures.js';
import { needsPython } from '../helpers/python.js';
import { writeWideDenseH5 } from '../helpers/wide-dense-h5.js';

const TIME = '/usr/bin/time';
const PHOTO = join(SHARED, 'images', 'chelsea.png');
const skip = !existsSync(TIME) ? `${TIME} is missing` : !existsSync(PHOTO) ? `${PHOTO} is missing` : needsPython('h5py', 'numpy').skip;

/** Peak RSS (MiB) of `convscope report model --image photo`, measured by /usr/bin/time. */
function reportPeak(model: string, out: string): number {
  const r = spawnSync(TIME, ['-f', 'peak-kb %M', process.execPath, join(ROOT, 'dist', 'cli', 'main.js'), 'report', model, '--image', PHOTO, '--out', out], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return Number(/peak-kb (\d+)/.exec(r.stderr)![1]) / 1024;
}

describe('report --image stays within the memory of its largest layer', { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-report-memory-'));
    writeWideDenseH5(join(dir, 'wide.h5'), 2048);
    writeWideDenseH5(join(dir, 'narrow.h5'), 16);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('costs at most 2.5x its 64 MiB Dense kernel over the same network with a narrow one', () => {
    const layerMiB = (8192 * 2048 * 4) / 2 ** 20;
    const narrow = reportPeak(join(dir, 'narrow.h5'), join(dir, 'narrow.html'));
    const wide = reportPeak(join(dir, 'wide.h5'), join(dir, 'wide.html'));
    console.log(`peak RSS: narrow ${narrow.toFixed(0)} MiB, wide ${wide.toFixed(0)} MiB; the wide layer is ${layerMiB} MiB`);
    assert.ok(wide - narrow <= 2.5 * layerMiB, `the 64 MiB layer cost ${(wide - narrow).toFixed(0)} MiB of peak RSS (narrow ${narrow.toFixed(0)}, wide ${wide.toFixed(0)})`);
  });
});
