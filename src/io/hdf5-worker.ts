/**
 * The HDF5 engine's thread (see io/hdf5-isolated.ts): h5wasm lives here, never on the caller's
 * thread. Each request runs one Hdf5File call; the answer is posted back and the caller woken through
 * a shared flag. A failure inside the HDF5 library itself (a WebAssembly trap or abort) is reported
 * as `poisoned`, and the caller replaces this thread with a fresh one.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ConvscopeError, type Concept } from '../model/errors.js';
import { openHdf5Here, preloadHdf5Here, type Hdf5File } from './hdf5.js';
import type { ReadLimits } from './limits.js';
import type { ByteSource } from './source.js';

export interface EngineRequest {
  op: 'open' | 'call' | 'ping';
  /** Stored in the shared flag once the answer is posted. */
  seq: number;
  path?: string;
  name?: string;
  size?: number;
  limits?: ReadLimits;
  id?: number;
  method?: keyof Hdf5File;
  params?: unknown[];
}

export interface EngineReply {
  value?: unknown;
  /** `concept`: the setting a typed error points to (model/errors.ts), kept across the thread. */
  error?: { name: string; message: string; typed: boolean; concept?: Concept };
  poisoned?: boolean;
}

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const wake = new Int32Array(flag);
const files = new Map<number, Hdf5File>();
let nextId = 1;

/** The file at `path` as h5wasm opens it: in place, by path; nothing else is read through it. */
function pathSource(path: string, name: string, size: number): ByteSource {
  return {
    name,
    size,
    localPath: path,
    read: () => Promise.reject(new ConvscopeError(`${name} is read by the HDF5 library only.`)),
    sibling: () => Promise.reject(new ConvscopeError(`${name} names no other files.`)),
  };
}

async function handle(req: EngineRequest): Promise<EngineReply> {
  if (req.op === 'ping') {
    await preloadHdf5Here();
    return { value: true };
  }
  if (req.op === 'open') {
    const file = await openHdf5Here(pathSource(req.path!, req.name!, req.size!), req.limits);
    files.set(nextId, file);
    return { value: nextId++ };
  }
  const file = files.get(req.id!);
  if (!file) throw new ConvscopeError('The HDF5 file was closed; open it again to read weights.');
  const value = await (file[req.method!] as (...args: unknown[]) => unknown)(...(req.params ?? []));
  if (req.method === 'close') files.delete(req.id!);
  return { value };
}

function transferable(value: unknown): ArrayBuffer[] {
  if (!ArrayBuffer.isView(value)) return [];
  const { buffer } = value;
  return buffer instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buffer.byteLength ? [buffer] : [];
}

port.on('message', (req: EngineRequest) => {
  void handle(req)
    .catch((e: unknown): EngineReply => {
      const err = e instanceof Error ? e : new Error(String(e));
      const typed = e instanceof ConvscopeError;
      const concept = e instanceof ConvscopeError && e.concept ? { concept: e.concept } : {};
      return { error: { name: err.name, message: err.message, typed, ...concept }, poisoned: !typed && e instanceof WebAssembly.RuntimeError };
    })
    .then((reply) => {
      try {
        port.postMessage(reply, transferable(reply.value));
      } catch {
        port.postMessage(reply);
      }
      Atomics.store(wake, 0, req.seq);
      Atomics.notify(wake, 0);
    });
});
parentPort?.postMessage('ready');
