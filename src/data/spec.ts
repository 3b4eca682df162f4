import { UsageError } from '../model/errors.js';

/** Where a data set comes from: `digits`, `cifar10:<dir>`, `mnist:<dir>` or `folder:<dir>`. */
export type DataSpec = { kind: 'digits' } | { kind: 'cifar10' | 'mnist' | 'folder'; dir: string };

export const DATA_SPEC_HELP = "digits | cifar10:<dir> | mnist:<dir> | folder:<dir>";

/** Parses the one data-set spec syntax every command uses. */
export function parseDataSpec(spec: string): DataSpec {
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const dir = colon < 0 ? '' : spec.slice(colon + 1);
  if (kind === 'digits' && colon < 0) return { kind };
  if ((kind === 'cifar10' || kind === 'mnist' || kind === 'folder') && dir !== '') return { kind, dir };
  throw new UsageError(`The data spec expects one of ${DATA_SPEC_HELP}, but received '${spec}'.`);
}
