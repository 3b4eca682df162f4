import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's python, which carries numpy / h5py / torch / onnx where CI installed them. */
export const PYTHON = '/usr/bin/python3';

const cache = new Map<string, boolean>();

/** The `skip` option for tests needing these python modules: false when importable, else the reason. */
export function needsPython(...modules: string[]): { skip: string | false } {
  const key = modules.join(',');
  if (!cache.has(key)) {
    const ok = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${key}`], { stdio: 'ignore' }).status === 0;
    cache.set(key, ok);
  }
  return { skip: cache.get(key) ? false : `${PYTHON} cannot import ${key}` };
}

/** Runs a python snippet (with `input` on its stdin); throws with its stderr when it fails; returns stdout. */
export function runPython(code: string, args: readonly string[] = [], input?: string): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}
