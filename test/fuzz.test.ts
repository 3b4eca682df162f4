/**
 * A fixed sample of the project's fuzzer (npm run fuzz): 200 mutated cases per format from seed 1,
 * each opened in a worker process with every weight read. None may be an internal error, a crash, a
 * hang or over 1 GB, no pickle payload may run, every format must have refused cases (the mutations
 * reach the parsers) and some cases must stay readable (the seeds are valid files).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTable, runFuzz } from '../fuzz/run.js';
import { FORMATS } from '../fuzz/seeds.js';

/** Cases per format: a few hundred, about 4 s on top of the harness's start-up. */
const CASES = 200;

describe('fuzz sample', () => {
  it('200 cases per format from seed 1 end in a value or a typed error', { timeout: 240_000 }, async (t) => {
    const report = await runFuzz({ seed: 1, cases: CASES * FORMATS.length, jobs: 1, timeoutMs: 15_000, memoryMb: 1024 });
    const table = formatTable(report);
    assert.deepEqual(report.failures.map((f) => `case ${f.caseNo} (${f.format}): ${f.outcome}: ${f.detail}`), [], table);
    assert.equal(report.payloadRan, false, 'a pickle payload ran');
    if (report.unseeded.length > 0) t.diagnostic(`not fuzzed, no seed file on this machine (the shared fixtures are absent): ${report.unseeded.join(', ')}`);
    for (const format of FORMATS.filter((f) => !report.unseeded.includes(f))) {
      const row = report.table[format];
      // Formats share the cases; with a format unseeded here, the others take its share.
      assert.ok(row.ok + row['typed error'] >= CASES, `${format}: ${table}`);
      assert.ok(row['typed error'] > 0, `${format} has refused cases:\n${table}`);
    }
    assert.ok(Object.values(report.table).reduce((a, r) => a + r.ok, 0) > 0, `some cases stay readable:\n${table}`);
  });
});
