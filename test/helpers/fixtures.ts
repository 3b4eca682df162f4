import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** ../shared/fixtures: the real Keras / TF.js oracle files (absent on a user's fresh machine). */
export const SHARED = resolve(ROOT, '..', 'shared');
export const FIXTURES = join(SHARED, 'fixtures');

/** Path of a shared fixture file. */
export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/**
 * The `skip` option for tests that need the shared fixtures: false when present, otherwise a visible
 * reason printed by the test runner.
 */
export const needsFixtures: { skip: string | false } = {
  skip: existsSync(FIXTURES) ? false : `shared fixtures not found at ${FIXTURES}`,
};
