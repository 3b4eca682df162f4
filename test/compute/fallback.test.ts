import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendNote, initBackend, tf, withKernelFallback } from '../../src/compute/backend.js';

test('work needing a kernel wasm lacks reruns on the cpu backend, and says so', async () => {
  assert.equal(await initBackend(), 'wasm');
  assert.equal(backendNote(), undefined);
  assert.ok(!tf.getKernelsForBackend('wasm').some((k) => k.kernelName === 'Einsum'), 'wasm still lacks Einsum: pick another kernel');
  let attempts = 0;
  const values = await withKernelFallback(async () => {
    attempts++;
    return Array.from(await tf.einsum('ij,jk->ik', tf.tensor2d([[1, 2, 3]]), tf.tensor2d([[1], [1], [2]])).data());
  });
  assert.deepEqual(values, [9]);
  assert.equal(attempts, 2);
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(backendNote() ?? '', /the wasm backend has no 'Einsum' kernel, so this ran on the slower cpu backend/);
});

test('other errors are not swallowed by the fallback', async () => {
  await assert.rejects(withKernelFallback(async () => Promise.reject(new Error('boom'))), /boom/);
});
