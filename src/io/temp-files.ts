import { rmSync } from 'node:fs';

/**
 * Temporary files and folders convscope is writing (a `.x.tmp` beside an output before its rename, a
 * copy of an HDF5 zip entry), removed if the process ends first: at exit, and on SIGINT or SIGTERM
 * (Ctrl-C during a large write), after which the signal takes its usual course.
 */
const pending = new Set<string>();
let installed = false;

function removeAll(): void {
  for (const path of pending) rmSync(path, { recursive: true, force: true });
  pending.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeAll();
  // Another handler (the viewer's orderly shutdown) decides what the signal does; alone, re-raise it.
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onSignal);
    process.kill(process.pid, signal);
  }
}

/** Registers `path` for removal if the process ends before `done()` is called (after the rename). */
export function trackTemporary(path: string): () => void {
  if (!installed) {
    installed = true;
    process.once('exit', removeAll);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  pending.add(path);
  return () => void pending.delete(path);
}
