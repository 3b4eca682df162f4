/**
 * The fuzz loop: case i mutates a seed of format FORMATS[i % n] (all choices drawn from the seed
 * number and i, so a run is reproducible case by case), writes it to a scratch folder and hands it to
 * a worker process. The parent judges from outside: a worker that exits is a crash, one that does not
 * answer within the time limit is a hang, one whose resident memory passes the limit is over memory;
 * each is killed and replaced by a fresh worker.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTCOMES, type Outcome } from './classify.js';
import { mutateSeed, randomFor } from './mutate.js';
import { FORMATS, makeSeeds, type FuzzFormat, type Seed } from './seeds.js';
import type { CaseReply } from './worker.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** Parallel workers. */
  jobs?: number;
  timeoutMs?: number;
  memoryMb?: number;
  formats?: readonly FuzzFormat[];
  /** Only these case numbers (to reproduce them). */
  only?: readonly number[];
  /** Folder where failing cases are saved. */
  keep?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface Failure {
  caseNo: number;
  format: FuzzFormat;
  seed: string;
  outcome: Outcome;
  detail: string;
}

export interface FuzzReport {
  table: Record<FuzzFormat, Record<Outcome, number>>;
  failures: Failure[];
  peakRssMb: number;
  /** True when a pickle payload ran (its marker file appeared). */
  payloadRan: boolean;
  seconds: number;
  /** Formats asked for that have no seed file on this machine (their seeds are shared fixtures), so no cases. */
  unseeded: FuzzFormat[];
}

export const PAYLOAD_MARKER = '/tmp/convscope-fuzz-pwned';
const WORKER = new URL('./worker.ts', import.meta.url).pathname;
/** Time a worker may take to get ready for a case (restarting the HDF5 engine on a loaded machine). */
const START_MS = 120_000;

/** A process's resident memory now (VmRSS) or at its peak so far (VmHWM), in MB; 0 once it is gone. */
function rssMb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

interface Job {
  caseNo: number;
  format: FuzzFormat;
  seed: Seed;
  dir: string;
}

class Worker {
  child!: ChildProcess;
  ready!: Promise<void>;
  stderr = '';
  constructor(readonly memoryMb: number) {
    this.start();
  }
  start(): void {
    this.stderr = '';
    this.child = fork(WORKER, [], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=4096', '--stack-size=984'],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-2000)));
    this.ready = new Promise((resolve) => this.child.once('message', () => resolve()));
  }
  kill(): void {
    this.child.removeAllListeners();
    this.child.kill('SIGKILL');
  }
  /** Runs one case; resolves with the outcome judged from inside or outside. */
  async run(job: Job, timeoutMs: number, peak: { mb: number }): Promise<{ outcome: Outcome; detail: string }> {
    await this.ready;
    return new Promise((resolve) => {
      let settled = false;
      const finish = (outcome: Outcome, detail: string, restart: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        // Most cases end between two polls: the worker's high-water mark holds their peak.
        peak.mb = Math.max(peak.mb, rssMb(this.child.pid!, 'VmHWM'));
        this.child.removeListener('message', onMessage);
        this.child.removeListener('exit', onExit);
        if (restart) {
          this.kill();
          this.start();
        }
        resolve({ outcome, detail });
      };
      let timer = setTimeout(() => finish('hang', `the worker did not start the case in ${START_MS} ms`, true), START_MS);
      const onMessage = (reply: CaseReply | { id: number; started: true }) => {
        if (reply.id !== job.caseNo) return;
        if ('started' in reply) {
          clearTimeout(timer);
          timer = setTimeout(() => finish('hang', `no answer in ${timeoutMs} ms`, true), timeoutMs);
        } else finish(reply.outcome, reply.detail ?? '', false);
      };
      const onExit = (code: number | null, signal: string | null) =>
        finish('crash', `worker exited (code ${code}, signal ${signal}): ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`, true);
      const poll = setInterval(() => {
        const mb = rssMb(this.child.pid!);
        peak.mb = Math.max(peak.mb, mb);
        if (mb > this.memoryMb) finish('over memory', `resident memory reached ${mb.toFixed(0)} MB`, true);
      }, 25);
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send({ id: job.caseNo, path: join(job.dir, job.seed.main) });
    });
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const asked = options.formats ?? FORMATS;
  const seeds = (await makeSeeds()).filter((s) => asked.includes(s.format));
  const formats = asked.filter((f) => seeds.some((s) => s.format === f));
  const unseeded = asked.filter((f) => !formats.includes(f));
  const byFormat = new Map(formats.map((f) => [f, seeds.filter((s) => s.format === f)] as const));
  const table = Object.fromEntries(formats.map((f) => [f, Object.fromEntries(OUTCOMES.map((o) => [o, 0]))])) as FuzzReport['table'];
  const failures: Failure[] = [];
  rmSync(PAYLOAD_MARKER, { force: true });
  const scratch = join(tmpdir(), `convscope-fuzz-${process.pid}`);
  const jobs = Math.max(1, options.jobs ?? 1);
  const workers = Array.from({ length: jobs }, () => new Worker(options.memoryMb ?? 1024));
  const peak = { mb: 0 };
  const caseNumbers = options.only !== undefined ? [...options.only] : Array.from({ length: options.cases }, (_, i) => i);
  let next = 0;
  let done = 0;
  try {
    await Promise.all(
      workers.map(async (worker, w) => {
        const dir = join(scratch, `w${w}`);
        while (next < caseNumbers.length) {
          const caseNo = caseNumbers[next++]!;
          const format = formats[caseNo % formats.length]!;
          const r = randomFor(options.seed, caseNo);
          const pool = byFormat.get(format)!;
          const seed = pool[Math.floor(r() * pool.length)]!;
          const other = seeds[Math.floor(r() * seeds.length)]!;
          const files = mutateSeed(r, seed, other);
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
          const { outcome, detail } = await worker.run({ caseNo, format, seed, dir }, options.timeoutMs ?? 15_000, peak);
          table[format][outcome]++;
          if (outcome !== 'ok' && outcome !== 'typed error') {
            failures.push({ caseNo, format, seed: seed.name, outcome, detail });
            if (options.keep) {
              const keep = join(options.keep, `case-${options.seed}-${caseNo}`);
              mkdirSync(keep, { recursive: true });
              for (const [name, bytes] of Object.entries(files)) writeFileSync(join(keep, name), bytes);
            }
          }
          options.onProgress?.(++done, caseNumbers.length);
        }
      }),
    );
  } finally {
    workers.forEach((w) => w.kill());
    rmSync(scratch, { recursive: true, force: true });
  }
  return { table, failures, peakRssMb: peak.mb, payloadRan: existsSync(PAYLOAD_MARKER), seconds: (Date.now() - started) / 1000, unseeded };
}

/** The per-format table as Markdown. */
export function formatTable(report: FuzzReport): string {
  const rows = Object.entries(report.table).map(([format, counts]) => `| ${format} | ${OUTCOMES.map((o) => counts[o]).join(' | ')} |`);
  const total = OUTCOMES.map((o) => Object.values(report.table).reduce((a, c) => a + c[o], 0));
  return [`| format | ${OUTCOMES.join(' | ')} |`, `|---|${OUTCOMES.map(() => '---').join('|')}|`, ...rows, `| **all** | ${total.join(' | ')} |`].join('\n');
}
