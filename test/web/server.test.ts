import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { memoryModel } from '../../src/formats/memory.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { encodeNpy } from '../../src/model/npy.js';
import { openModel } from '../../src/formats/open.js';
import { webActivations } from '../../src/web/activations.js';
import { startServer, type RunningServer } from '../../src/web/server.js';
import { fixture, needsFixtures, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

const SECRET = 'convscope-secret-outside-the-asset-folder';

interface Reply {
  status: number;
  type: string;
  body: Buffer;
}

/** A raw HTTP request: the path is sent exactly as given (no URL normalisation by a client library). */
function send(port: number, method: string, path: string, options: { body?: Buffer; host?: string; agent?: Agent; headers?: Record<string, string> } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent: options.agent ?? false, headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function errorOf(reply: Reply): string {
  assert.match(reply.type, /application\/json/);
  const parsed = JSON.parse(reply.body.toString('utf8')) as { error?: string };
  assert.equal(typeof parsed.error, 'string', `expected a JSON error, got ${reply.body.toString('utf8').slice(0, 200)}`);
  return parsed.error!;
}

/** Deterministic kernel values (LCG), so every run checks the same numbers. */
function values(n: number): Float32Array {
  let s = 12345;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const KERNEL_SHAPE = [3, 3, 4, 6];
const kernelData = values(3 * 3 * 4 * 6);

function testModel() {
  return memoryModel({
    source: 'memory.h5',
    format: 'keras-h5',
    framework: 'keras',
    layers: [
      { name: 'input', className: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 4] }, weights: [] },
      {
        name: 'conv/1',
        className: 'Conv2D',
        kind: 'conv',
        weights: [
          { role: 'kernel', tensor: new NamedTensor(['kh', 'kw', 'in', 'out'], KERNEL_SHAPE, kernelData) },
          { role: 'bias', tensor: new NamedTensor(['features'], [6], new Float32Array([0.1, -0.2, 0.3, 0, 0, 0])) },
        ],
      },
    ],
  });
}

describe('web server: assets, API, security', () => {
  let server: RunningServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'convscope-web-'));
    const assets = join(dir, 'assets');
    mkdirSync(join(assets, 'samples'), { recursive: true });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'secret.txt'), SECRET);
    writeFileSync(join(dir, 'secret.js'), SECRET);
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>viewer</title>');
    writeFileSync(join(assets, 'app.js'), 'console.log("app");');
    copyFileSync(join(ROOT, 'assets', 'samples', 'cat.jpg'), join(assets, 'samples', 'cat.jpg'));
    symlinkSync(join(dir, 'secret.js'), join(assets, 'leak.js'));
    symlinkSync(join(dir, 'outside'), join(assets, 'linked'));
    server = await startServer({ models: [testModel()], assetDir: assets, port: 0, uploadLimit: 64 * 1024 });
  });

  after(async () => {
    await server.close();
  });

  it('serves its own assets and the API on loopback only', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await send(server.port, 'GET', '/');
    assert.equal(index.status, 200);
    assert.match(index.body.toString(), /<title>viewer<\/title>/);
    const sample = await send(server.port, 'GET', '/samples/cat.jpg');
    assert.equal(sample.status, 200);
    assert.equal(sample.type, 'image/jpeg');
    assert.deepEqual(sample.body, readFileSync(join(ROOT, 'assets', 'samples', 'cat.jpg')));
    const models = JSON.parse((await send(server.port, 'GET', '/api/models')).body.toString()) as { models: { name: string }[]; samples: string[] };
    assert.equal(models.models[0]!.name, 'memory.h5');
    assert.deepEqual(models.samples, ['cat.jpg']);
  });

  it('refuses traversal, encoded traversal, absolute paths and symlinks out of the asset folder', async () => {
    const attempts = [
      '/../secret.js',
      '/../../../../etc/passwd',
      '/..%2fsecret.js',
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/secret.js',
      '/%2e%2e%2fsecret.js',
      '/samples/..%2f..%2fsecret.js',
      '/samples/%2e%2e%5c%2e%2e%5csecret.js',
      '//etc/passwd',
      '/etc/passwd',
      `/${encodeURIComponent(join(dir, 'secret.js'))}`,
      `${join(dir, 'secret.js')}`,
      '/leak.js',
      '/linked/secret.txt',
      '/api/models/..%2f..%2fsecret.js/layers',
      `/api/models/${encodeURIComponent(join(dir, 'secret.js'))}/layers`,
      '/api/models/0/..%2f..%2f..%2fsecret.js',
    ];
    for (const path of attempts) {
      const reply = await send(server.port, 'GET', path);
      assert.ok(reply.status >= 400 && reply.status < 500, `${path} answered ${reply.status}`);
      assert.ok(!reply.body.toString().includes(SECRET), `${path} leaked the secret`);
      assert.match(errorOf(reply), /\.$/, `${path}: the error is a sentence`);
    }
  });

  it('refuses API requests a page of another site makes (Origin, Sec-Fetch-Site), and answers its own page', async () => {
    const image = { body: Buffer.from('GIF89a not an image') };
    const evil = await send(server.port, 'POST', '/api/models/0/activations', { ...image, headers: { origin: 'http://evil.example', 'content-type': 'text/plain' } });
    assert.equal(evil.status, 403);
    assert.match(errorOf(evil), /answers its own pages only, but it comes from 'http:\/\/evil\.example'\./);
    const fetchSite = await send(server.port, 'GET', '/api/models', { headers: { 'sec-fetch-site': 'cross-site' } });
    assert.equal(fetchSite.status, 403);
    assert.match(errorOf(fetchSite), /Sec-Fetch-Site is 'cross-site'/);
    const otherPort = await send(server.port, 'GET', '/api/models', { headers: { origin: `http://127.0.0.1:${server.port + 1}` } });
    assert.equal(otherPort.status, 403);
    const own = await send(server.port, 'GET', '/api/models', { headers: { origin: `http://127.0.0.1:${server.port}`, 'sec-fetch-site': 'same-origin' } });
    assert.equal(own.status, 200);
  });

  it('refuses a foreign Host header (DNS rebinding) and bad percent-encoding with JSON errors', async () => {
    const foreign = await send(server.port, 'GET', '/api/models', { host: 'attacker.example:80' });
    assert.equal(foreign.status, 403);
    assert.match(errorOf(foreign), /answers requests for 127\.0\.0\.1/);
    const bad = await send(server.port, 'GET', '/api/models/%E0%A4%A/layers');
    assert.equal(bad.status, 400);
    assert.match(errorOf(bad), /not valid percent-encoding/);
  });

  it('answers layers, filter slices and .npy downloads that match NumPy', { skip: needsPython('numpy').skip }, async () => {
    const layers = JSON.parse((await send(server.port, 'GET', '/api/models/0/layers')).body.toString()) as { name: string; params: number; outputShape?: number[]; filterCount?: number }[];
    assert.deepEqual(
      layers.map((l) => [l.name, l.params, l.filterCount]),
      [
        ['input', 0, undefined],
        ['conv/1', 3 * 3 * 4 * 6 + 6, 6],
      ],
    );
    assert.deepEqual(layers[0]!.outputShape, [8, 8, 4]);
    const q = `layer=${encodeURIComponent('conv/1')}&filter=5&channel=2`;
    const detail = JSON.parse((await send(server.port, 'GET', `/api/models/0/filter?${q}`)).body.toString()) as {
      expression: string;
      matrix: { rows: number; cols: number; values: number[] };
      stats: { mean: number; absMax: number };
      channelCount: number;
    };
    assert.equal(detail.expression, 'kernel[:, :, 2, 5]');
    assert.equal(detail.channelCount, 4);
    const npy = await send(server.port, 'GET', `/api/models/0/slice.npy?${q}`);
    assert.equal(npy.status, 200);
    const kernelPath = join(dir, 'kernel.npy');
    const slicePath = join(dir, 'slice.npy');
    writeFileSync(kernelPath, encodeNpy(kernelData, KERNEL_SHAPE));
    writeFileSync(slicePath, npy.body);
    // NumPy is the oracle: kernel[:, :, 2, 5] of the whole kernel equals the served slice and the JSON values.
    const oracle = JSON.parse(
      runPython(
        'import sys, json, numpy as np\nk = np.load(sys.argv[1]); s = np.load(sys.argv[2])\n' +
          'print(json.dumps({"equal": bool(np.array_equal(k[:, :, 2, 5], s)), "shape": list(s.shape), "values": k[:, :, 2, 5].astype(float).ravel().tolist(), "mean": float(k[:, :, 2, 5].astype(np.float64).mean())}))',
        [kernelPath, slicePath],
      ),
    ) as { equal: boolean; shape: number[]; values: number[]; mean: number };
    assert.equal(oracle.equal, true);
    assert.deepEqual(oracle.shape, [3, 3]);
    assert.deepEqual([detail.matrix.rows, detail.matrix.cols], [3, 3]);
    detail.matrix.values.forEach((v, i) => assert.equal(v, oracle.values[i]));
    assert.ok(Math.abs(detail.stats.mean - oracle.mean) < 1e-7, `mean ${detail.stats.mean} vs NumPy ${oracle.mean}`);
  });

  it('answers user errors as JSON sentences and keeps serving', async () => {
    const cases: [string, number, RegExp][] = [
      ['/api/models/0/filter?layer=conv%2F1&filter=6', 404, /Filter 6 is out of range for layer 'conv\/1': it has 6 filters/],
      ['/api/models/0/filter?layer=conv%2F1&filter=abc', 400, /expects a non-negative integer, but received 'abc'/],
      ['/api/models/0/filter?layer=conv2&filter=0', 404, /has no layer 'conv2'/],
      ['/api/models/3/layers', 404, /There is no model '3'/],
      ['/api/models/0/grid.png?layer=conv%2F1&colormap=nope', 400, /Unknown colormap 'nope'/],
      ['/api/diff', 400, /A diff needs two models/],
      ['/api/jobs/j999', 404, /There is no job 'j999'/],
      ['/no-such-file.js', 404, /There is no file/],
    ];
    for (const [path, status, message] of cases) {
      const reply = await send(server.port, path === '/api/diff' ? 'POST' : 'GET', path);
      assert.equal(reply.status, status, path);
      assert.match(errorOf(reply), message);
    }
    assert.equal((await send(server.port, 'GET', '/api/models')).status, 200);
  });

  it('rejects an oversized upload with a clear JSON error and keeps serving', async () => {
    const reply = await send(server.port, 'POST', '/api/models/0/activations', { body: Buffer.alloc(200 * 1024, 7) });
    assert.equal(reply.status, 413);
    assert.match(errorOf(reply), /The upload is 200\.0 KiB, but the limit is 64\.0 KiB/);
    assert.equal((await send(server.port, 'GET', '/api/models/0/layers')).status, 200);
  });

  it('serves 200 requests from 20 concurrent clients without error and with bounded memory', async () => {
    const paths = [
      '/api/models',
      '/api/models/0/layers',
      '/api/models/0/filter?layer=conv%2F1&filter=2&channel=1',
      '/api/models/0/kernel.npy?layer=conv%2F1',
      '/api/models/0/grid.png?layer=conv%2F1&colormap=viridis',
      '/api/models/0/histogram?layer=conv%2F1',
      '/api/models/0/slice.npy?layer=conv%2F1&filter=3',
      '/app.js',
      '/samples/cat.jpg',
      '/',
    ];
    const round = async (): Promise<number[]> => {
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 20 }, async (_, client) => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          for (let k = 0; k < 10; k++) statuses.push((await send(server.port, 'GET', paths[(client + k) % paths.length]!, { agent })).status);
          agent.destroy();
        }),
      );
      return statuses;
    };
    await round();
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const statuses = await round();
    global.gc?.();
    const rssAfter = process.memoryUsage().rss;
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
    console.log(`200 requests, 20 concurrent clients: RSS before ${mb(rssBefore)} MB, after ${mb(rssAfter)} MB`);
    assert.equal(statuses.length, 200);
    assert.deepEqual([...new Set(statuses)], [200]);
    assert.ok(rssAfter - rssBefore < 64 * 1024 * 1024, `RSS grew by ${mb(rssAfter - rssBefore)} MB`);
  });
});

describe('web server: activations of an uploaded image', needsFixtures, () => {
  let server: RunningServer;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'convscope-web-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    mkdirSync(join(dir, 'samples'));
    copyFileSync(join(ROOT, 'assets', 'samples', 'cat.jpg'), join(dir, 'samples', 'cat.jpg'));
    const model = await openModel(fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5'));
    server = await startServer({ models: [model], assetDir: dir, port: 0, ...webActivations() });
  });

  after(async () => {
    await server.close();
  });

  async function job(reply: Reply): Promise<{ state: string; error?: string; result?: { layer: string; shape: number[]; top: { index: number; score: number }[]; maps: string } }> {
    assert.equal(reply.status, 202, reply.body.toString());
    const { job: id } = JSON.parse(reply.body.toString()) as { job: string };
    for (;;) {
      const state = JSON.parse((await send(server.port, 'GET', `/api/jobs/${id}`)).body.toString());
      if (state.state !== 'running') return state;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('states output shapes from the built architecture', async () => {
    const shapes = JSON.parse((await send(server.port, 'GET', '/api/models/0/shapes')).body.toString()) as Record<string, number[]>;
    assert.deepEqual(shapes['conv2d'], [24, 24, 30]);
    assert.deepEqual(shapes['max_pooling2d_1'], [5, 5, 15]);
    assert.deepEqual(shapes['dense_2'], [10]);
  });

  it('turns a malformed upload into an error sentence, then runs a real photograph', async () => {
    const bad = await job(await send(server.port, 'POST', '/api/models/0/activations', { body: Buffer.from('GIF89a this is not really an image') }));
    assert.equal(bad.state, 'error');
    assert.match(bad.error!, /^The uploaded image is not an image convscope can read/);
    const empty = await send(server.port, 'POST', '/api/models/0/activations');
    assert.equal(empty.status, 400);
    assert.match(errorOf(empty), /carries no image/);
    const bogus = await job(await send(server.port, 'POST', '/api/models/0/activations?sample=cat.jpg&preprocess=tf', { body: Buffer.alloc(0) }));
    assert.equal(bogus.state, 'error');
    assert.match(bogus.error!, /Preprocessing 'tf' is unknown; choose auto or one of raw, unit, symmetric, caffe, torchvision\./);
    const dense = await job(await send(server.port, 'POST', '/api/models/0/activations?sample=cat.jpg&layer=dense'));
    assert.equal(dense.state, 'error');
    assert.match(dense.error!, /^Layer 'dense' has no feature-map output; choose one of: conv2d, max_pooling2d, conv2d_1, max_pooling2d_1, dropout\.$/);
    const photo = readFileSync(join(ROOT, '..', 'shared', 'images', 'camera.png'));
    const good = await job(await send(server.port, 'POST', '/api/models/0/activations?layer=conv2d', { body: photo }));
    assert.equal(good.state, 'done', good.error);
    assert.equal(good.result!.layer, 'conv2d');
    assert.deepEqual(good.result!.shape, [24, 24, 30]);
    assert.match(good.result!.maps, /^data:image\/png;base64,/);
    const scores = good.result!.top.map((t) => t.score);
    assert.equal(scores.length, 5);
    assert.ok(scores.every((s, i) => i === 0 || s <= scores[i - 1]!), 'top outputs are sorted');
    const sample = await job(await send(server.port, 'POST', '/api/models/0/activations?sample=cat.jpg&preprocess=symmetric&layer=conv2d_1'));
    assert.equal(sample.state, 'done', sample.error);
    assert.deepEqual(sample.result!.shape, [10, 10, 15]);
  });
});
