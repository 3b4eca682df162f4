import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseSummary, type Timeline } from '../../src/analyze/timeline.js';
import { readTimeline } from '../../src/views/timeline-run.js';
import { getColormap, lutIndex } from '../../src/render/colormap.js';
import { filterStrip, logLineChart } from '../../src/render/timeline.js';
import { needsPython } from '../helpers/python.js';
import { decodePixels } from '../render/png.js';
import { numpyTimeline, writeWatchDir } from '../helpers/watch-dir.js';

const root = mkdtempSync(join(tmpdir(), 'convscope-timeline-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** |a - b| <= tol * |b| (absolute tol where b is 0). */
function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-30) || (b === 0 && Math.abs(a) <= tol), `${what}: ${a} vs NumPy ${b}`);
}

describe('readTimeline on a real watch directory', () => {
  const dir = join(root, 'watch');
  let timeline: Timeline;

  before(async () => {
    await writeWatchDir(dir);
    timeline = await readTimeline(dir);
  });

  it('follows every kernel: relative change against the first snapshot equals NumPy within 1e-6 relative', needsPython('numpy'), () => {
    const np = numpyTimeline(dir);
    assert.equal(timeline.records, 7);
    assert.equal(timeline.snapshots, 7);
    assert.deepEqual(timeline.series.map((s) => `${s.layer}/${s.role}`), ['conv1/kernel', 'conv2/kernel', 'out/kernel']);
    for (const s of timeline.series) {
      const want = np.change[`${s.layer}.weight`]!;
      assert.deepEqual(s.points.map((p) => p.step), np.steps);
      s.points.forEach((p, t) => close(p.relativeChange!, want[t]!, 1e-6, `${s.layer} step ${p.step}`));
      assert.equal(s.points[0]!.relativeChange, 0);
      assert.ok(want.at(-1)! > 1e-3, `${s.layer} should have moved: ${want.at(-1)}`);
      close(s.final!.relativeChange, want.at(-1)!, 1e-6, `${s.layer} final`);
      assert.equal(s.verdict, 'changed');
      close(s.medianUpdateRatio!, np.medianRatio[`${s.layer}.weight`]!, 1e-12, `${s.layer} median update ratio`);
      assert.equal(s.points[0]!.updateRatio, null);
    }
  });

  it('gathers the first conv kernel at every snapshot for the strip, and draws it tile by tile on one shared scale', needsPython('numpy'), () => {
    const np = numpyTimeline(dir);
    const strip = timeline.strip!;
    assert.equal(strip.layer, 'conv1');
    assert.deepEqual(strip.steps, np.steps);
    assert.deepEqual(strip.frames[0]!.axes, ['out', 'in', 'kh', 'kw']);
    const figure = filterStrip(strip);
    const scale = Math.max(...np.conv1.flat(4).map(Math.abs));
    close(figure.scale, scale, 1e-6, 'shared scale');
    const png = decodePixels(figure.png);
    assert.equal(figure.tiles.length, 4 * 7);
    assert.equal(new Set(figure.tiles.map((t) => t.x)).size, 7, 'one column per snapshot');
    assert.equal(new Set(figure.tiles.map((t) => t.y)).size, 4, 'one row per filter');
    const lut = getColormap('rdbu_r').lut;
    for (const t of figure.tiles) {
      assert.ok(t.x + 3 * figure.cellPx <= png.width && t.y + 3 * figure.cellPx <= png.height);
      for (const [ky, kx] of [[0, 0], [1, 2], [2, 1]] as const) {
        const v = np.conv1[t.snapshot]![t.filter]![0]![ky]![kx]!;
        const k = lutIndex(v, scale) * 3;
        assert.deepEqual(png.at(t.x + kx * figure.cellPx, t.y + ky * figure.cellPx), [lut[k], lut[k + 1], lut[k + 2]], `filter ${t.filter} snapshot ${t.snapshot} cell ${ky},${kx}`);
      }
    }
  });

  it('charts one polyline per kernel on a log scale, leaving out the zero at step 0', () => {
    const svg = logLineChart({
      title: 'change',
      yLabel: 'relative change',
      series: timeline.series.map((s) => ({ name: s.layer, points: s.points.map((p) => [p.step, p.relativeChange!] as const) })),
      band: { low: 1e-4, high: 1e-2, label: 'healthy' },
    });
    const polylines = [...svg.matchAll(/<polyline data-series="([^"]+)" points="([^"]*)"/g)];
    assert.deepEqual(polylines.map((m) => m[1]), ['conv1', 'conv2', 'out']);
    for (const m of polylines) assert.equal(m[2]!.split(' ').length, 6, `${m[1]}: steps 1-6 drawn, step 0 (change 0) left out`);
    assert.match(svg, /<rect class="band"/);
  });

  it('--layer picks the strip layer; an unknown layer is named with the close ones', async () => {
    assert.equal((await readTimeline(dir, { layer: 'conv2' })).strip!.layer, 'conv2');
    await assert.rejects(readTimeline(dir, { layer: 'conv3' }), { name: 'SelectionError', message: /has no layer 'conv3'. Did you mean 'conv1' or 'conv2'/ });
  });
});

describe('readTimeline refuses what is not a watch directory', () => {
  it('a missing directory, or one without summary.jsonl', async () => {
    const missing = join(root, 'nope');
    await assert.rejects(readTimeline(missing), { name: 'UsageError', message: `${missing} is not a directory; timeline expects a snapshot directory written by training with weight snapshots (<out>/watch, or watchWeights).` });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await assert.rejects(readTimeline(empty), { name: 'UsageError', message: new RegExp(`^${empty} has no summary.jsonl;`) });
  });

  it('a malformed line, a record of the wrong shape, steps going back, and a snapshot that is not there', async () => {
    const good = '{"step":0,"epoch":0,"logs":{},"weights":[{"layer":"c","role":"kernel","updateRatio":null}],"snapshot":"step-000000.safetensors"}';
    assert.throws(() => parseSummary(`${good}\n{"step": 1,`, 's.jsonl'), { name: 'ModelFormatError', message: /^s\.jsonl line 2 is not valid JSON/ });
    assert.throws(() => parseSummary('{"step":-1,"epoch":0,"weights":[]}', 's.jsonl'), {
      message: 's.jsonl line 1 expects a watch record with a non-negative integer "step", but received: {"step":-1,"epoch":0,"weights":[]}',
    });
    assert.throws(() => parseSummary(`${good.replace('step-000000', '../etc/passwd')}`, 's.jsonl'), { message: /line 1 expects a watch record with a "snapshot" named step-NNNNNN.safetensors/ });
    assert.throws(() => parseSummary(`${good}\n${good}`, 's.jsonl'), { message: 's.jsonl line 2 expects a step after 0, but received step 0.' });
    assert.throws(() => parseSummary('\n\n', 's.jsonl'), { message: 's.jsonl holds no watch records.' });
    const lost = join(root, 'lost');
    mkdirSync(lost);
    writeFileSync(join(lost, 'summary.jsonl'), `${good}\n`);
    await assert.rejects(readTimeline(lost), {
      name: 'ModelFormatError',
      message: `${join(lost, 'summary.jsonl')} names the snapshot step-000000.safetensors, but ${join(lost, 'step-000000.safetensors')} does not exist.`,
    });
  });
});
