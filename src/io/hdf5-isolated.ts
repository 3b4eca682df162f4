/**
 * The HDF5 engine, isolated (Node): h5wasm runs in one long-lived worker thread (io/hdf5-worker.ts),
 * started on the first HDF5 open and reused, so the happy path pays no start-up per file. Every
 * Hdf5File call is a synchronous request to that thread with a deadline: the caller waits on a shared
 * flag (Atomics.wait) and takes the answer with receiveMessageOnPort. A damaged file therefore cannot
 * hang the process (a call past its deadline terminates the thread), abort it or poison later files
 * (a WebAssembly trap or abort, or a thread that died, is reported as a typed error naming the file
 * and the call, and the next open gets a fresh thread with a fresh h5wasm instance).
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ContainmentError, ConvscopeError, ModelFormatError, ResourceLimitError, UnsupportedError, type Concept } from '../model/errors.js';
import type { Hdf5Dataset, Hdf5File } from './hdf5.js';
import type { EngineReply, EngineRequest } from './hdf5-worker.js';
import type { ReadLimits } from './limits.js';
import { addressSpaceAdvice } from './wasm-memory.js';

/** A metadata call that takes longer than this is a damaged file spinning the HDF5 library. */
export const HDF5_CALL_SECONDS = 10;
/** Starting the thread includes compiling h5wasm, which is slow on a loaded machine. */
const START_SECONDS = 60;
/** Reading a dataset may take this long per MiB on top of the metadata deadline. */
const READ_SECONDS_PER_MIB = 0.05;

interface Engine {
  worker: Worker;
  port: MessagePort;
  wake: Int32Array;
  started: boolean;
  /** Number of the last request sent. */
  seq: number;
  /** Files opened by this thread, failed when it is replaced. */
  generation: number;
}

let engine: Engine | undefined;
let generation = 0;

function start(): Engine {
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const fromSource = import.meta.url.endsWith('.ts');
  const script = new URL(fromSource ? './hdf5-worker.ts' : './hdf5-worker.js', import.meta.url);
  // The thread never prints, and its console is silenced before h5wasm binds it: what h5wasm prints (a
  // refused memory growth, for one) went to a stream nobody reads, and a thread waiting for its output to
  // be taken kept the process alive after its last file.
  const quiet = `for (const level of ['log', 'info', 'warn', 'error', 'debug']) console[level] = () => undefined;`;
  // Run from TypeScript sources (tests, the fuzzer), the thread registers the same TypeScript loader first.
  // h5wasm (4 MB of plain JavaScript) is loaded before it, as io/hdf5.ts loads it (baseline compiler only):
  // the loader would transform it, which cost 630 MB of resident memory and 3 s per thread.
  const entry = fromSource
    ? `${quiet} import('node:v8').then(async (v8) => {
        v8.setFlagsFromString('--liftoff-only');
        await (await import(${JSON.stringify(import.meta.resolve('h5wasm/node'))})).ready;
        v8.setFlagsFromString('--no-liftoff-only');
        (await import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})).register();
        return import(${JSON.stringify(script.href)});
      })`
    : `${quiet} import(${JSON.stringify(script.href)});`;
  const worker = new Worker(entry, {
    eval: true,
    workerData: { port: port2, flag },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: 1024 },
    stdout: true,
    stderr: true,
  });
  worker.unref();
  port1.unref();
  // A thread that dies is noticed at the next call (no answer); its error event must not kill the process.
  worker.on('error', () => undefined);
  return { worker, port: port1, wake: new Int32Array(flag), started: false, seq: 0, generation: ++generation };
}

function stop(): void {
  if (!engine) return;
  void engine.worker.terminate();
  engine.port.close();
  engine = undefined;
}

const TYPED: Record<string, new (message: string, options?: { concept?: Concept }) => ConvscopeError> = {
  ModelFormatError,
  UnsupportedError,
  ContainmentError,
  ResourceLimitError,
};

/**
 * The engine's thread, started and with h5wasm compiled. This waits asynchronously: module loading in
 * the new thread may need this thread's event loop (a loader hook), so only calls made after it are
 * synchronous.
 */
async function ready(): Promise<Engine> {
  if (engine?.started) return engine;
  engine ??= start();
  const e = engine;
  const reply = await new Promise<EngineReply | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), START_SECONDS * 1000);
    const failed = (error: unknown) => {
      clearTimeout(timer);
      resolve({ error: { name: 'Error', message: error instanceof Error ? error.message : `exit code ${String(error)}`, typed: false } });
    };
    e.worker.once('error', failed);
    e.worker.once('exit', failed);
    e.port.once('message', (m: EngineReply) => {
      clearTimeout(timer);
      e.worker.off('error', failed);
      e.worker.off('exit', failed);
      resolve(m);
    });
    e.port.ref();
    e.port.postMessage({ op: 'ping', seq: ++e.seq } satisfies EngineRequest);
  });
  e.port.unref();
  if (!reply || reply.error) {
    stop();
    const advice = addressSpaceAdvice();
    throw new UnsupportedError(`The HDF5 engine did not start${advice ? `: ${advice}` : reply?.error ? ` (${reply.error.message})` : ` within ${START_SECONDS} s`}.`);
  }
  e.started = true;
  return e;
}

/** One synchronous request to a started engine; `doing` and `name` say what for messages. */
function request(req: Omit<EngineRequest, 'seq'>, name: string, doing: string, seconds = HDF5_CALL_SECONDS): unknown {
  const e = engine;
  if (!e?.started) throw new ModelFormatError(`${name} can no longer be read: the HDF5 engine was restarted after a damaged file; open it again.`);
  const deadline = seconds * 1000;
  const seq = ++e.seq;
  e.port.postMessage({ ...req, seq });
  // The thread posts its answer, then stores `seq` in the flag: once the flag says so, the answer is there.
  const until = Date.now() + deadline;
  let current = Atomics.load(e.wake, 0);
  while (current !== seq && Date.now() < until) {
    Atomics.wait(e.wake, 0, current, until - Date.now());
    current = Atomics.load(e.wake, 0);
  }
  const reply = current === seq ? (receiveMessageOnPort(e.port)?.message as EngineReply | undefined) : undefined;
  if (current !== seq) {
    stop();
    throw new ModelFormatError(`${name} is a damaged HDF5 file: the HDF5 library spent more than ${deadline / 1000} s ${doing} and was stopped.`);
  }
  if (!reply) {
    stop();
    throw new ModelFormatError(`${name} is a damaged HDF5 file: the HDF5 library failed ${doing} (its thread ended).`);
  }
  if (reply.error) {
    if (reply.poisoned) {
      stop();
      throw new ModelFormatError(`${name} is a damaged HDF5 file: the HDF5 library failed ${doing} (${reply.error.message.split('\n')[0]!.slice(0, 160)}).`);
    }
    if (reply.error.typed) throw new (TYPED[reply.error.name] ?? ConvscopeError)(reply.error.message, reply.error.concept ? { concept: reply.error.concept } : {});
    const internal = new Error(reply.error.message);
    internal.name = reply.error.name;
    throw internal;
  }
  return reply.value;
}

/** Starts the engine's thread and compiles h5wasm now, so the first file opens at full speed. */
export async function warmUpHdf5(): Promise<void> {
  await ready();
}

/** Opens the HDF5 file at `path` (a local file) in the engine's thread. */
export async function openHdf5Isolated(path: string, name: string, size: number, limits: ReadLimits, cleanup: () => void): Promise<Hdf5File> {
  let id: number;
  try {
    await ready();
    id = request({ op: 'open', path, name, size, limits }, name, 'opening the file') as number;
  } catch (e) {
    cleanup();
    throw e;
  }
  const opened = engine!.generation;
  let closed = false;
  const call = <T>(method: keyof Hdf5File, params: unknown[], doing: string, seconds?: number): T => {
    if (closed) throw new ConvscopeError(`${name} was closed; open it again to read weights.`);
    if (!engine || engine.generation !== opened) {
      throw new ModelFormatError(`${name} can no longer be read: the HDF5 engine was restarted after a damaged file; open it again.`);
    }
    return request({ op: 'call', id, method, params }, name, doing, seconds) as T;
  };
  return {
    name,
    kind: (path) => call('kind', [path], `looking up '${path}'`),
    keys: (path) => call('keys', [path], `listing '${path || '/'}'`),
    attrNames: (path) => call('attrNames', [path], `listing the attributes of '${path || '/'}'`),
    stringAttr: (path, attr) => call('stringAttr', [path, attr], `reading attribute '${attr}' of '${path || '/'}'`),
    stringListAttr: (path, attr) => call('stringListAttr', [path, attr], `reading attribute '${attr}' of '${path || '/'}'`),
    dataset: (path, what) => call<Hdf5Dataset>('dataset', [path, what], `reading the header of '${path}'`),
    async read(dataset, rows) {
      const values = dataset.shape.reduce((a, b) => a * b, 1);
      const mib = (rows ? (values / (dataset.shape[0] || 1)) * rows.count : values) / 2 ** 18;
      return call('read', rows ? [dataset, rows] : [dataset], `reading '${dataset.path}'`, HDF5_CALL_SECONDS + mib * READ_SECONDS_PER_MIB);
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        if (engine && engine.generation === opened) request({ op: 'call', id, method: 'close', params: [] }, name, 'closing the file');
      } finally {
        cleanup();
      }
    },
  };
}
