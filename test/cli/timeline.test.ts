import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type CliResult } from '../helpers/cli.js';
import { needsPython } from '../helpers/python.js';
import { numpyTimeline, writeWatchDir } from '../helpers/watch-dir.js';
import { decodePixels } from '../render/png.js';

const root = mkdtempSync(join(tmpdir(), 'convscope-timeline-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('convscope timeline', () => {
  const dir = join(root, 'watch');
  const out = join(dir, 'timeline');
  let result: CliResult;

  before(async () => {
    await writeWatchDir(dir);
    result = await runCli(['timeline', dir]);
  });

  it('prints per kernel the verdict, the final relative change (NumPy, 3 significant digits) and the median update ratio', needsPython('numpy'), () => {
    assert.equal(result.code, 0, result.stderr);
    const np = numpyTimeline(dir);
    assert.match(result.stdout, new RegExp(`^7 records, 7 snapshots in ${dir}`));
    for (const layer of ['conv1', 'conv2', 'out']) {
      const row = result.stdout.split('\n').find((l) => l.startsWith(`${layer} `))!;
      const [, role, verdict, change, ratio] = row.trim().split(/\s+/);
      assert.equal(role, 'kernel');
      assert.equal(verdict, 'changed');
      assert.equal(Number(change), Number(np.change[`${layer}.weight`]!.at(-1)!.toPrecision(3)), row);
      assert.equal(Number(ratio), Number(np.medianRatio[`${layer}.weight`]!.toPrecision(3)), row);
    }
  });

  it('writes both charts (one polyline per kernel), the conv1 strip (a 4 x 7 grid of 3x3 tiles) and index.html, and prints their paths', () => {
    const files = ['index.html', 'timeline-change.svg', 'timeline-update-ratio.svg', 'conv1-filters-over-time.png'].map((f) => join(out, f));
    for (const f of files) {
      assert.ok(existsSync(f), f);
      assert.ok(result.stdout.includes(`  ${f}\n`), `path ${f} printed`);
    }
    for (const chart of files.slice(1, 3)) {
      const svg = readFileSync(chart, 'utf8');
      assert.deepEqual([...svg.matchAll(/<polyline data-series="([^"]+)"/g)].map((m) => m[1]), ['conv1', 'conv2', 'out'], chart);
    }
    assert.match(readFileSync(files[2]!, 'utf8'), /<rect class="band"/);
    const png = decodePixels(readFileSync(files[3]!));
    // 7 tile columns and 4 tile rows: each tile 3 cells plus a 1 px frame on each side.
    assert.ok(png.width >= 7 * (3 + 2) && png.height >= 4 * (3 + 2), `${png.width} x ${png.height}`);
    const html = readFileSync(files[0]!, 'utf8');
    for (const f of ['timeline-change.svg', 'timeline-update-ratio.svg', 'conv1-filters-over-time.png']) assert.ok(html.includes(`href="${f}"`), f);
    assert.match(html, /data:image\/svg\+xml;base64,/);
  });

  it('--out and --layer: the strip of conv2 in another directory', async () => {
    const other = join(root, 'other');
    const r = await runCli(['timeline', dir, '--out', other, '--layer', 'conv2']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(other, 'conv2-filters-over-time.png')));
  });

  it('exits 1 with one sentence for a missing directory, a directory without summary.jsonl, and a malformed line', async () => {
    const missing = join(root, 'missing');
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const broken = join(root, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'summary.jsonl'), '{"step":0,"epoch":0,"weights":[]}\nnot json\n');
    const cases: [string, RegExp][] = [
      [missing, new RegExp(`^convscope: ${missing} is not a directory; timeline expects a snapshot directory`)],
      [empty, new RegExp(`^convscope: ${empty} has no summary.jsonl;`)],
      [broken, new RegExp(`^convscope: ${join(broken, 'summary.jsonl')} line 2 is not valid JSON`)],
    ];
    for (const [path, message] of cases) {
      const r = await runCli(['timeline', path]);
      assert.equal(r.code, 1, `${path}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.ok(!existsSync(join(path, 'timeline')), 'nothing written');
    }
  });
});
