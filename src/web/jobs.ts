import { ConvscopeError, type Concept } from '../model/errors.js';

/** Reports how far a long computation has come: 0..1 and what it is doing. */
export type Progress = (fraction: number, message: string) => void;

export type JobState =
  | { state: 'running'; progress: number; message: string }
  | { state: 'done'; result: unknown }
  | { state: 'error'; error: string; concept?: Concept }
  | { state: 'cancelled' };

/** Thrown into a job's work at its next progress report once the page cancelled it. */
export class CancelledError extends ConvscopeError {
  constructor() {
    super('The run was cancelled.');
  }
}

interface Job {
  status: JobState;
  finishedAt?: number;
  cancelled?: boolean;
}

/**
 * Long work (activations, diffs) runs as a job the page polls: `start` returns an id at once, `get`
 * tells progress, the result or the error sentence. Finished jobs are forgotten after `keepMs`, and at
 * most `maxJobs` are kept, so a busy page cannot grow the server's memory. `cancel` stops a job at its
 * next progress report (the work sees a CancelledError thrown from its progress callback).
 */
export class JobTable {
  private readonly jobs = new Map<string, Job>();
  private counter = 0;

  constructor(
    private readonly keepMs = 60_000,
    private readonly maxJobs = 64,
  ) {}

  start(work: (progress: Progress) => Promise<unknown>): string {
    this.prune();
    const id = `j${++this.counter}`;
    const job: Job = { status: { state: 'running', progress: 0, message: 'starting' } };
    this.jobs.set(id, job);
    const progress: Progress = (fraction, message) => {
      if (job.cancelled) throw new CancelledError();
      if (job.status.state === 'running') job.status = { state: 'running', progress: Math.max(0, Math.min(1, fraction)), message };
    };
    work(progress).then(
      (result) => {
        if (job.cancelled) return;
        job.status = { state: 'done', result };
        job.finishedAt = Date.now();
      },
      (e: unknown) => {
        if (job.cancelled) return;
        job.status = { state: 'error', error: errorSentence(e), ...conceptOf(e) };
        job.finishedAt = Date.now();
      },
    );
    return id;
  }

  /** Cancels a running job; false when there is no such job or it has already finished. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job || job.status.state !== 'running') return false;
    job.cancelled = true;
    job.status = { state: 'cancelled' };
    job.finishedAt = Date.now();
    return true;
  }

  get(id: string): JobState | undefined {
    return this.jobs.get(id)?.status;
  }

  private prune(): void {
    const now = Date.now();
    for (const [id, job] of this.jobs) {
      if (job.finishedAt !== undefined && now - job.finishedAt > this.keepMs) this.jobs.delete(id);
    }
    for (const [id, job] of this.jobs) {
      if (this.jobs.size < this.maxJobs) break;
      if (job.finishedAt !== undefined) this.jobs.delete(id);
    }
  }
}

/** `{ concept }` of an error that points to a setting (sent with its sentence, so the page names its own control), else {}. */
export function conceptOf(e: unknown): { concept?: Concept } {
  return e instanceof ConvscopeError && e.concept ? { concept: e.concept } : {};
}

/** The sentence a user sees for an error: a ConvscopeError's own message, otherwise marked as a bug. */
export function errorSentence(e: unknown): string {
  if (e instanceof ConvscopeError) return e.message;
  const message = e instanceof Error ? e.message : String(e);
  return `Internal error in convscope: ${message}. Please report it.`;
}
