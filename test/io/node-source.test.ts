import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileSource } from '../../src/io/node-source.js';
import { decodeLittleEndian } from '../../src/model/dtype.js';
import { ROOT } from '../helpers/fixtures.js';

/** Any binary file: the photograph the project ships (the tests need no shared fixture). */
const FILE = join(ROOT, 'assets', 'images', 'rocket.jpg');
/** Descriptors of this process open on FILE (other tests' and the runner's descriptors come and go). */
const openDescriptors = () => {
  const target = realpathSync(FILE);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  }).length;
};

describe('fileSource', () => {
  it('reads the same bytes as readFileSync through one descriptor, released by close()', { skip: process.platform !== 'linux' && 'needs /proc/self/fd' }, async () => {
    const whole = readFileSync(FILE);
    const before = openDescriptors();
    const source = await fileSource(FILE);
    for (const [offset, length] of [[0, 8], [100, 4000], [whole.length - 17, 17], [0, whole.length]] as const) {
      assert.deepEqual(await source.read(offset, length), new Uint8Array(whole.subarray(offset, offset + length)));
    }
    assert.equal(openDescriptors(), before + 1);
    source.close?.();
    assert.equal(openDescriptors(), before);
    assert.deepEqual(await source.read(3, 5), new Uint8Array(whole.subarray(3, 8)), 'a read after close opens the file again');
    source.close?.();
  });

  it('returns memory of its own for every read, which decodeLittleEndian may keep without a copy', async () => {
    const source = await fileSource(FILE);
    const a = await source.read(0, 16);
    const b = await source.read(0, 16);
    assert.equal(source.freshReads, true);
    assert.notEqual(a.buffer, b.buffer);
    const values = decodeLittleEndian(a, 'float32', 4, true);
    assert.equal(values.buffer, a.buffer, 'owned bytes of exactly the values are viewed, not copied');
    assert.notEqual(decodeLittleEndian(b, 'float32', 4).buffer, b.buffer, 'bytes not owned are copied');
    source.close?.();
  });
});
