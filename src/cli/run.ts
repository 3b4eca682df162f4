import { InvalidArgumentError } from 'commander';
import { ConvscopeError, type Concept } from '../model/errors.js';
import type { Note } from '../model/model.js';

/** The flag that sets each concept a library error points to. */
const CONTROLS: Record<Concept, string> = {
  architecture: '--config arch.json',
  layout: '--layout <layer>=<kind>',
  channels: '--channels auto|rgb|each|mean|<c>',
  'tile-size': '--scale <px>, --filters <list>',
  layer: '--layer <name>',
  lambda: '--lambda <layer>=<expression>',
  'input-array': '--input <file.npy>',
  'tensor-limit': '--max-tensor-mb <n>',
  'inflate-ratio': '--max-inflate-ratio <n>',
  top: '--top <k>',
  samples: '--samples <n>, --noise <fraction>',
  'weight-limit': '--max-weight-mb <n>',
  preprocess: '--preprocess <preset>, --mean <values>, --std <values>',
  resize: '--resize stretch|crop|pad',
  method: '--method <name>',
  image: '--image <file>',
  port: '--port <n>',
  redis: '--redis <url>',
  snapshots: 'written by convscope train --watch <every>',
  'data-set': '--data <spec>',
};

/**
 * A library sentence as the CLI prints it: the sentence, then the flag that sets the concept it points
 * to (`flags` are a command's own names for some, e.g. the report's `--detects-data`).
 */
function withFlag(text: string, concept: Concept | undefined, flags: Partial<Record<Concept, string>> = {}): string {
  return concept ? `${text} (${flags[concept] ?? CONTROLS[concept]})` : text;
}

/** An error as the CLI prints it, with the command's own `flags` where they differ from the common ones. */
export function cliMessage(e: ConvscopeError, flags?: Partial<Record<Concept, string>>): string {
  return withFlag(e.message, e.concept, flags);
}

/** A model's note as the CLI prints it, with the command's own `flags` where they differ from the common ones. */
export function cliNote(note: Note, flags?: Partial<Record<Concept, string>>): string {
  return withFlag(note.text, note.concept, flags);
}

/**
 * The one catch per command: a ConvscopeError prints its sentence and exits 1; anything else is a
 * convscope bug, printed as such (stack only with CONVSCOPE_DEBUG=1) with exit code 2. `flags` are the
 * command's own names for some settings (the report's `--detects-layer`).
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>, flags?: Partial<Record<Concept, string>>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof ConvscopeError) {
        process.stderr.write(`convscope: ${cliMessage(e, flags)}\n`);
        process.exitCode = 1;
        return;
      }
      const err = e as Error;
      process.stderr.write(
        `convscope: internal error: ${err?.message ?? String(e)}\n` +
          (process.env.CONVSCOPE_DEBUG ? `${err?.stack ?? ''}\n` : 'Run with CONVSCOPE_DEBUG=1 to see the stack, and please report it.\n'),
      );
      process.exitCode = 2;
    }
  };
}

/** Commander argument parser for a non-negative integer. */
export function parseIndex(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('Expects a non-negative integer.');
  }
  return n;
}

/** Commander argument parser for a size in megabytes (a positive number); returns bytes. */
export function parseMegabytes(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('Expects a positive number of megabytes.');
  return Math.round(n * 1024 * 1024);
}
