import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

export interface Asset {
  body: Buffer;
  type: string;
}

/**
 * The server's own built files, and nothing else. The set of servable names is fixed when the
 * server starts by listing the asset folder (regular files only; symlinks are never followed), and a
 * request names one of those entries or gets nothing: no request path is ever joined onto a folder,
 * so `..`, encoded `..%2f`, absolute paths and symlinks out of the folder cannot reach a file.
 * Each read checks again that the file is still a regular file inside the folder.
 */
export class AssetStore {
  private constructor(
    private readonly root: string,
    private readonly files: ReadonlyMap<string, string>,
  ) {}

  static async open(dir: string): Promise<AssetStore> {
    const root = await realpath(dir);
    const files = new Map<string, string>();
    const walk = async (abs: string, rel: string): Promise<void> => {
      for (const entry of await readdir(abs, { withFileTypes: true })) {
        const path = join(abs, entry.name);
        const name = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) await walk(path, name);
        else if (entry.isFile() && TYPES[extname(entry.name)]) files.set(name, path);
      }
    };
    await walk(root, '');
    return new AssetStore(root, files);
  }

  /** Names that can be served (relative, `/`-separated). */
  names(): string[] {
    return [...this.files.keys()].sort();
  }

  /** The asset named by a URL path (`/app.js`), or undefined: unknown names are never looked up on disk. */
  async get(urlPath: string): Promise<Asset | undefined> {
    const name = urlPath === '/' ? 'index.html' : urlPath.slice(1);
    const path = this.files.get(name);
    if (!path) return undefined;
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile()) return undefined;
    const real = await realpath(path);
    if (!real.startsWith(this.root + sep)) return undefined;
    return { body: await readFile(real), type: TYPES[extname(name)]! };
  }
}
