/**
 * A fixed sample of the project's fuzzer (npm run fuzz): 200 mutated cases per format from seed 1,
 * each opened in a worker process with every weight read. None may be an internal error, a crash, a
 * hang or over 1 GB, no pickle payload may run, every format must have refused cases (the mutations
 * reach the parsers) and some cases must stay readable (the seeds are valid files).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { checksummedStructures } from '../fuzz/hdf5-checksums.js';
import { formatTable, runFuzz } from '../fuzz/run.js';
import { FORMATS } from '../fuzz/seeds.js';
import { writeDenseWeightsH5 } from './helpers/keras-writers.js';

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

describe('fuzz: checksummed HDF5 structures', () => {
  it('are found where the HDF5 library wrote them: every signature of a dense-storage Keras file, each checksum as stored', async () => {
    const dir = mkdtempSync(`${tmpdir()}/convscope-fuzz-checksums-`);
    try {
      const bytes = readFileSync((await writeDenseWeightsH5(dir)).path);
      const found = checksummedStructures(bytes);
      const signatures = Object.entries({ 'object header': 'OHDR', 'object header continuation': 'OCHK', 'fractal heap header': 'FRHP', 'fractal heap indirect block': 'FHIB', 'fractal heap direct block': 'FHDB', 'B-tree header': 'BTHD', 'B-tree leaf': 'BTLF', 'B-tree internal node': 'BTIN' });
      const count = (needle: string) => bytes.toString('latin1').split(needle).length - 1;
      const kinds = (kind: string) => found.filter((s) => s.kind === kind).length;
      assert.equal(kinds('superblock'), 1);
      for (const [kind, signature] of signatures) assert.equal(kinds(kind), count(signature), kind);
      assert.ok(kinds('fractal heap direct block') > 0 && kinds('B-tree internal node') > 0, 'the file has every kind');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
