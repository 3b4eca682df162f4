import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConvscopeError } from '../model/errors.js';

/**
 * The folder holding the built client (index.html, app.js, report.js, app-style.css, samples/): beside
 * this module in an installed package (dist/web/client), or the project's dist/web/client when running from source.
 */
export function builtAssetDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'client'), join(here, '..', '..', 'dist', 'web', 'client')];
  const dir = candidates.find((d) => existsSync(join(d, 'index.html')) && existsSync(join(d, 'app.js')));
  if (!dir) {
    throw new ConvscopeError(`The viewer's built files are missing (looked in ${candidates.join(' and ')}): run \`npm run build\` first.`);
  }
  return dir;
}
