/**
 * Runs test/helpers/torch_checkpoints.py once per test process and kind of file, in a temp dir, and
 * compares tensors against the manifest it writes (sha256 of the values widened to float64).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model, NamedTensor, Weight } from '../../src/index.js';
import { fixture, ROOT } from './fixtures.js';
import { runPython } from './python.js';

export interface ManifestEntry {
  shape: number[];
  dtype: string;
  sha256: string;
}

export interface Generated {
  dir: string;
  /** file -> tensor name -> entry. */
  manifest: Record<string, Record<string, ManifestEntry>>;
  /** Values of a few tensors and slices as torch prints them, by label (`up.weight[5, 3]`). */
  values: Record<string, number[]>;
  path(file: string): string;
}

const made = new Map<string, Generated>();
const dirs: string[] = [];
process.on('exit', () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Writes the files of one kind (torch, onnx, safetensors, malicious) into a fresh temp dir. */
export function generated(what: 'torch' | 'onnx' | 'safetensors' | 'malicious'): Generated {
  const hit = made.get(what);
  if (hit) return hit;
  const dir = mkdtempSync(join(tmpdir(), `convscope-${what}-`));
  dirs.push(dir);
  const kerasH5 = fixture('05_dl4j_weight_layout', 'conv2d_tensorflow_2.h5');
  // run_path, not -c: torch.jit.script reads the Custom class's source from the file.
  const script = join(ROOT, 'test', 'helpers', 'torch_checkpoints.py');
  runPython(`import runpy; runpy.run_path(${JSON.stringify(script)}, run_name='__main__')`, [what, dir, kerasH5]);
  const { values, ...manifest } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Generated['manifest'] & { values?: Generated['values'] };
  const out = { dir, manifest, values: values ?? {}, path: (file: string) => join(dir, file) };
  made.set(what, out);
  return out;
}

/** The same digest the generator computes: sha256 of the C-order values as float64. */
export function digest(tensor: NamedTensor): string {
  const values = Float64Array.from(tensor.toArray());
  return createHash('sha256').update(new Uint8Array(values.buffer)).digest('hex');
}

/** A model's weights by stored name. */
export function weightsByName(model: Model): Map<string, Weight> {
  return new Map(model.layers.flatMap((l) => l.weights.map((w) => [w.name, w] as const)));
}

/** Every tensor of the manifest is listed once, with its shape and dtype, and reads back bit-exactly. */
export async function assertMatchesManifest(model: Model, expected: Record<string, ManifestEntry>): Promise<void> {
  const weights = weightsByName(model);
  assert.deepEqual([...weights.keys()].sort(), Object.keys(expected).sort(), `${model.source}: the same tensor names`);
  for (const [key, e] of Object.entries(expected)) {
    const w = weights.get(key)!;
    assert.deepEqual(w.shape, e.shape, `${key} shape`);
    assert.equal(w.dtype, e.dtype, `${key} dtype`);
    const t = await w.read();
    assert.deepEqual(t.shape, e.shape);
    assert.equal(digest(t), e.sha256, `${model.source}: ${key} values differ from the oracle's`);
  }
}
