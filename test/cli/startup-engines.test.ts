/**
 * Start-up loads no engine: `convscope --help` and `inspect` of a Keras h5 never load TensorFlow.js or
 * ONNX Runtime (their JavaScript alone cost ~300 ms of CPU and 30 MB of RSS per run, which a static
 * import chain from the server's "what it detects" tab once added to every command). The child records,
 * as it exits, which engine packages Node's module loader holds.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, needsFixtures, ROOT } from '../helpers/fixtures.js';

const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
const PROBE = `data:text/javascript,${encodeURIComponent(`
import M from 'node:module';
process.on('exit', () => {
  const engines = Object.keys(M._cache).filter((k) => /node_modules\\/(@tensorflow|onnxruntime)/.test(k)).map((k) => k.replace(/.*node_modules\\/((@[^/]+\\/)?[^/]+).*/, '$1'));
  process.stderr.write('\\nENGINES ' + JSON.stringify([...new Set(engines)]) + '\\n');
});`)}`;

function enginesLoaded(args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', PROBE, MAIN, ...args], { encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stderr.split('\n').find((l) => l.startsWith('ENGINES '));
  assert.ok(line, `the probe reported nothing:\n${r.stderr}`);
  return JSON.parse(line.slice('ENGINES '.length)) as string[];
}

describe('CLI start-up', () => {
  it('--help loads no engine', () => {
    assert.deepEqual(enginesLoaded(['--help']), []);
  });
  it('inspect of a Keras h5 loads no engine', needsFixtures, () => {
    assert.deepEqual(enginesLoaded(['inspect', fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5')]), []);
  });
});
