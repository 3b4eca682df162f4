import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { openModel } from '../src/formats/open.js';
import { ConvscopeError } from '../src/model/errors.js';
import { runCli } from './helpers/cli.js';
import { writeKeras2FullH5, writeTfjsModel } from './helpers/keras-writers.js';

/**
 * Broken files and the one sentence convscope answers each with, as one table (Netron keeps its table
 * of real broken files the same way). Every row is made here from a good file the project writes
 * itself; each must fail to open with a ConvscopeError, and `convscope inspect` must print that
 * sentence on one line, exit 1, show no stack and write nothing. Add a row for every new refusal.
 */

interface BadFile {
  /** File name (the model.json of a folder for TF.js rows). */
  file: string;
  /** How the broken file is made from `good` (a Keras 2 full-model .h5) inside `dir`; returns its path. */
  make(dir: string, good: string): string;
  /** The sentence, after `convscope: ` and the file's path. */
  sentence: (path: string, dir: string) => RegExp;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function mutated(dir: string, good: string, name: string, edit: (b: Uint8Array) => Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, edit(new Uint8Array(readFileSync(good))));
  return path;
}

/** A safetensors file: 8-byte little-endian header length, the JSON header, the data. */
function safetensors(header: unknown, data: Uint8Array, declared?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const TABLE: BadFile[] = [
  {
    file: 'empty.h5',
    make: (dir) => (writeFileSync(join(dir, 'empty.h5'), ''), join(dir, 'empty.h5')),
    sentence: (p) => new RegExp(`^${esc(p)} is not a model file convscope can read \\(it is empty\\)`),
  },
  {
    file: 'notes.txt',
    make: (dir) => (writeFileSync(join(dir, 'notes.txt'), 'just some text\n'), join(dir, 'notes.txt')),
    sentence: (p) => new RegExp(`^${esc(p)} is not a model file convscope can read \\(it starts with bytes 6a 75 73 74`),
  },
  {
    file: 'truncated.h5',
    make: (dir, good) => mutated(dir, good, 'truncated.h5', (b) => b.subarray(0, Math.floor(b.length / 2))),
    sentence: (p, dir) => {
      const size = statSync(join(dir, 'good.h5')).size;
      return new RegExp(`${esc(p)} is truncated: the HDF5 file says it has ${size} bytes, but only ${Math.floor(size / 2)} are there\\.$`);
    },
  },
  {
    file: 'garbage-middle.h5',
    make: (dir, good) =>
      mutated(dir, good, 'garbage-middle.h5', (b) => {
        const at = Math.floor(b.length / 4);
        for (let i = at; i < at + 2000; i++) b[i] = (i * 7919) % 256;
        return b;
      }),
    sentence: (p) => new RegExp(`${esc(p)} is a damaged HDF5 file: `),
  },
  {
    file: 'signature.h5',
    make: (dir, good) => mutated(dir, good, 'signature.h5', (b) => (b.set(new TextEncoder().encode('GARBAGE!'), 0), b)),
    sentence: (p) => new RegExp(`^${esc(p)} is not a model file convscope can read \\(it starts with bytes 47 41 52 42 41 47 45 21.*Keras HDF5`),
  },
  {
    file: 'no-config.keras',
    make: (dir, good) => {
      const path = join(dir, 'no-config.keras');
      writeFileSync(path, zipSync({ 'metadata.json': new TextEncoder().encode('{}'), 'model.weights.h5': readFileSync(good) }));
      return path;
    },
    sentence: (p) => new RegExp(`${esc(p)} is a zip archive but not a Keras \\.keras file: it has no config\\.json\\.$`),
  },
  {
    file: 'missing-shard/model.json',
    make: (dir) => {
      const sub = join(dir, 'missing-shard');
      mkdirSync(sub);
      const { path } = writeTfjsModel(sub);
      rmSync(join(sub, 'group1-shard2of2.bin'));
      return path;
    },
    sentence: () => /needs weight shard 'group1-shard2of2\.bin', which is missing/,
  },
  {
    file: 'short-shard/model.json',
    make: (dir) => {
      const sub = join(dir, 'short-shard');
      mkdirSync(sub);
      const { path } = writeTfjsModel(sub);
      const shard = join(sub, 'group2-shard1of1.bin');
      writeFileSync(shard, readFileSync(shard).subarray(0, 50));
      return path;
    },
    sentence: () => /weight shard 'group2-shard1of1\.bin' is too short: the manifest needs \d+ bytes.*but it has 50 \(\d+ missing\)/,
  },
  {
    file: 'huge-header.safetensors',
    make: (dir) => {
      const path = join(dir, 'huge-header.safetensors');
      writeFileSync(path, safetensors({}, new Uint8Array(0), 1n << 60n).subarray(0, 8 + 25));
      return path;
    },
    sentence: (p) => new RegExp(`${esc(p)} declares a safetensors header of 1152921504606846976 bytes, but the file holds only \\d+ bytes after the length field\\.$`),
  },
  {
    file: 'past-end.safetensors',
    make: (dir) => {
      const path = join(dir, 'past-end.safetensors');
      writeFileSync(path, safetensors({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(12)));
      return path;
    },
    sentence: (p) => new RegExp(`${esc(p)}: tensor 'w' has data_offsets \\[0, 16\\], which lie outside the data section of 12 bytes\\.$`),
  },
];

describe('broken files: one table, one sentence each', () => {
  let dir: string;
  let good: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-bad-files-'));
    good = (await writeKeras2FullH5(dir)).path;
    writeFileSync(join(dir, 'good.h5'), readFileSync(good));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const row of TABLE) {
    it(row.file, async () => {
      const path = row.make(dir, good);
      const expected = row.sentence(path, dir);
      await assert.rejects(openModel(path), (e: Error) => e instanceof ConvscopeError && expected.test(e.message), `the library refuses ${row.file} with: ${expected}`);
      const listing = readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
      const r = await runCli(['inspect', path]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr.replace(/^convscope: /, '').trim(), expected);
      assert.deepEqual(readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort(), listing, 'nothing written');
    });
  }
});
