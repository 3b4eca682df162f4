import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConvscopeError, SelectionError } from '../model/errors.js';
import type { Model } from '../model/model.js';
import { handleApi, type ActivationsFn, type ApiContext, type ApiResponse } from './api.js';
import { AssetStore } from './assets.js';
import type { ProjectRun } from './project.js';
import { withReadCache } from './read-cache.js';
import { conceptOf, errorSentence, JobTable } from './jobs.js';
import { formatBytes } from '../model/format.js';
import { DEFAULT_UPLOAD_LIMIT } from './choices.js';

export interface ServeOptions {
  /** The models named on the command line or found in its folder; requests name them by index only. */
  models: readonly Model[];
  /** How the page names each model (default: its file name). */
  names?: readonly string[];
  /** Training runs among the models (snapshots of one `train --watch` directory): the time slider. */
  runs?: readonly ProjectRun[];
  /** The built client (index.html, app.js, app.css, samples/). */
  assetDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Largest accepted upload in bytes (default 16 MiB). */
  uploadLimit?: number;
  activations?: ActivationsFn;
  outputShapes?: ApiContext['outputShapes'];
  detects?: ApiContext['detects'];
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The page may load only this server's own files. 'wasm-unsafe-eval' lets h5wasm compile its
 * WebAssembly and 'unsafe-eval' lets protobufjs build its ONNX decoders, both for files read in the page.
 */
const PAGE_POLICY =
  "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

class HttpError extends ConvscopeError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a request body up to `limit` bytes. Past the limit the rest is read and dropped (so the
 * client gets the answer instead of a reset connection) and a 413 error names both sizes.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else chunks.length = 0;
      if (size > limit * 8) req.destroy();
    });
    req.on('error', reject);
    req.on('close', () => {
      if (size > limit) reject(new HttpError(413, `The upload is ${formatBytes(size)}${req.complete ? '' : ' or more'}, but the limit is ${formatBytes(limit)}: choose a smaller image.`));
    });
    req.on('end', () => {
      if (size > limit) {
        reject(new HttpError(413, `The upload is ${formatBytes(size)}, but the limit is ${formatBytes(limit)}: choose a smaller image.`));
      } else {
        resolve(Buffer.concat(chunks));
      }
    });
  });
}

function statusOf(e: unknown): number {
  if (e instanceof HttpError) return e.status;
  if (e instanceof SelectionError) return 404;
  if (e instanceof ConvscopeError) return 400;
  return 500;
}

function send(res: ServerResponse, status: number, type: string, body: Uint8Array | string, extra: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

function sendError(res: ServerResponse, e: unknown): void {
  send(res, statusOf(e), 'application/json', JSON.stringify({ error: errorSentence(e), ...conceptOf(e) }));
}

function sendApi(res: ServerResponse, out: ApiResponse): void {
  if (out.kind === 'json') {
    send(res, out.status ?? 200, 'application/json', JSON.stringify(out.value));
    return;
  }
  const extra: Record<string, string> = out.filename ? { 'Content-Disposition': `attachment; filename="${out.filename}"` } : {};
  send(res, 200, out.type, out.body, extra);
}

/** Whether an address is this machine's loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Hosts a request may name: the address the server listens on, and loopback names (no DNS rebinding). */
function allowedHost(header: string | undefined, host: string, port: number): boolean {
  if (!header) return false;
  const names = new Set([host, 'localhost', '127.0.0.1', '[::1]']);
  return [...names].some((n) => header === `${n}:${port}` || header === n);
}

/**
 * Whether an API request comes from another site: a browser says so with Sec-Fetch-Site (anything but
 * same-origin, or none for a typed URL) and with an Origin that is not this viewer's. Requests without
 * either header (curl, scripts) are not cross-site requests a web page could make on the user's behalf.
 */
function crossSite(req: IncomingMessage, host: string, port: number): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is '${site.slice(0, 20)}'`;
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  const names = new Set([host.includes(':') ? `[${host}]` : host, 'localhost', '127.0.0.1', '[::1]']);
  if ([...names].some((n) => origin === `http://${n}:${port}`)) return undefined;
  return `it comes from '${String(origin).slice(0, 60)}'`;
}

function splitPath(pathname: string): string[] {
  try {
    return pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    throw new HttpError(400, `The request path '${pathname.slice(0, 60)}' is not valid percent-encoding.`);
  }
}

/**
 * The local viewer: serves its own built assets and a JSON API over the models it was started with.
 * Nothing a request says is ever used as a file path. Every error is answered as `{ "error": sentence }`
 * and the server keeps running.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const assets = await AssetStore.open(options.assetDir);
  const limit = options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
  const samples = new Map<string, () => Promise<Uint8Array>>();
  for (const name of assets.names().filter((n) => n.startsWith('samples/') && /\.(png|jpg)$/.test(n))) {
    samples.set(name.slice('samples/'.length), async () => (await assets.get(`/${name}`))!.body);
  }
  const ctx: ApiContext = { models: withReadCache(options.models), jobs: new JobTable(), samples, ...(options.names ? { names: options.names } : {}), runs: options.runs ?? [] };
  if (options.activations) ctx.activations = options.activations;
  if (options.outputShapes) ctx.outputShapes = options.outputShapes;
  if (options.detects) ctx.detects = options.detects;
  let port = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (isLoopback(host) && !allowedHost(req.headers.host, host, port)) {
      throw new HttpError(403, `This viewer answers requests for ${host}:${port} only, but the request names host '${String(req.headers.host).slice(0, 60)}'.`);
    }
    const url = new URL(req.url ?? '/', 'http://viewer.invalid');
    if (url.pathname.startsWith('/api/')) {
      const foreign = crossSite(req, host, port);
      if (foreign) throw new HttpError(403, `This viewer's API answers its own pages only, but ${foreign}.`);
      const path = splitPath(url.pathname.slice('/api/'.length));
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'POST') throw new HttpError(405, `The API answers GET and POST, but received ${method.slice(0, 10)}.`);
      const body = method === 'POST' ? await readBody(req, limit) : undefined;
      const apiReq = { method, path, query: url.searchParams, ...(body ? { body } : {}) };
      sendApi(res, await handleApi(ctx, apiReq));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `Files are fetched with GET, but received ${String(req.method).slice(0, 10)}.`);
    const asset = await assets.get(url.pathname);
    if (!asset) throw new HttpError(404, `There is no file '${url.pathname.slice(0, 80)}' in this viewer.`);
    send(res, 200, asset.type, asset.body, asset.type.startsWith('text/html') ? { 'Content-Security-Policy': PAGE_POLICY } : {});
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (statusOf(e) === 500) process.stderr.write(`convscope serve: ${errorSentence(e)}\n`);
      sendError(res, e);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const inUse = e.code === 'EADDRINUSE';
      const why = inUse ? 'the port is in use; choose another, or port 0 for any free one' : `${e.code ?? e.message}`;
      reject(new ConvscopeError(`The viewer cannot listen on ${host}:${options.port ?? 0}: ${why}.`, inUse ? { concept: 'port' } : {}));
    });
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
