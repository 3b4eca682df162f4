import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mergeExamples, rankExamples, shardRange, type ExamplesResult, type ExamplesRunner } from '../../src/analyze/examples.js';
import { ortKerasRunner, tfjsRunner, withExamplesRunner } from '../../src/analyze/examples-runner.js';
import { cropAt, receptiveField } from '../../src/analyze/receptive-field.js';
import type { GraphNode, LayerGraph } from '../../src/model/graph.js';
import { initBackend } from '../../src/compute/backend.js';
import { buildModel, type RunnableModel } from '../../src/compute/build.js';
import { saveCheckpoint } from '../../src/compute/checkpoint.js';
import { digitsNetwork } from '../../src/compute/demo-model.js';
import { kerasOnOrt, type OrtKerasNet } from '../../src/compute/keras-ort.js';
import { loadAllImages, type ImageCollection } from '../../src/data/index.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { encodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { memoryModel } from '../compute/memory-model.js';
import { ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Dataset examples on the demo's digits CNN (seeded, as the demo builds it) over all 1,797 digits:
 * the ranking against a brute-force NumPy ranking of conv_2 computed by a torch re-implementation
 * on the same weights (scores within 1e-5 relative; the same images except where two scores tie
 * within that tolerance); shards merged equal the single run exactly, by library, CLI and BullMQ.
 */

const TOP = 5;

const ORACLE = String.raw`
import gzip, json, sys, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
rows = np.loadtxt(gzip.open(sys.argv[2]), delimiter=',')
x = torch.tensor(rows[:, :64].reshape(-1, 8, 8, 1) / 16.0)
if len(sys.argv) > 3 and sys.argv[3] == 'symmetric':
    x = torch.tensor(rows[:, :64].reshape(-1, 8, 8, 1) * (255 / 16.0) / 127.5 - 1)
L = lambda n: torch.tensor(np.load(f'{d}/{n}.npy')).double()
k1, b1, k2, b2 = [L(n) for n in ['k1', 'b1', 'k2', 'b2']]
conv = lambda t, k, b: F.conv2d(t.permute(0, 3, 1, 2), k.permute(3, 2, 0, 1), b, padding='same')
a = torch.relu(conv(x, k1, b1))
a = F.max_pool2d(a, 2).permute(0, 2, 3, 1)
a = torch.relu(conv(a, k2, b2)).permute(0, 2, 3, 1).reshape(x.shape[0], -1, k2.shape[3]).numpy()
out = {}
for stat in ['max', 'mean']:
    s = a.max(axis=1) if stat == 'max' else a.mean(axis=1)
    ranking = []
    for f in range(s.shape[1]):
        order = np.lexsort((np.arange(len(s)), -s[:, f]))[:${TOP}]
        ranking.append([[int(i), float(s[i, f])] for i in order])
    out[stat] = ranking
print(json.dumps(out))
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

describe('dataset examples: the images that excite each filter most', () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-examples-'));
  let model: Model;
  let net: RunnableModel;
  let ort: OrtKerasNet;
  let runner: ExamplesRunner;
  let data: ImageCollection;
  let single: ExamplesResult;

  before(async () => {
    await initBackend();
    const tfModel = await digitsNetwork();
    await saveCheckpoint(tfModel, dir);
    const w = tfModel.getWeights();
    ['k1', 'b1', 'k2', 'b2'].forEach((name, i) => writeFileSync(join(dir, `${name}.npy`), encodeNpy(w[i]!.dataSync() as Float32Array, w[i]!.shape)));
    tfModel.dispose();
    model = await openModel(join(dir, 'model.json'));
    net = await buildModel(model);
    data = await loadAllImages('digits');
    const converted = await kerasOnOrt(net);
    assert.ok(!('reason' in converted), 'the digits CNN converts to ONNX');
    ort = converted;
    runner = ortKerasRunner(ort, 'conv_2');
    single = await rankExamples(runner, data, { model: 'm', top: TOP, statistic: 'max', scale: 'unit' });
  });

  after(async () => {
    await ort?.onnx.release();
    net?.dispose();
    model?.close();
  });

  it('ranks like a brute-force NumPy ranking over all 1,797 digits, for the max and the mean over positions', needsPython('numpy', 'torch'), async () => {
    const oracle = JSON.parse(runPython(ORACLE, [dir, join(ROOT, 'assets', 'data', 'digits.csv.gz')])) as Record<string, [number, number][][]>;
    const mean = await rankExamples(runner, data, { model: 'm', top: TOP, statistic: 'mean', scale: 'unit' });
    for (const result of [single, mean]) {
      const expected = oracle[result.statistic]!;
      assert.equal(result.count, 1797);
      assert.equal(result.filters, 32);
      for (const e of result.ranking) {
        const [index, score] = expected[e.filter]![e.rank]!;
        assert.ok(Math.abs(e.score - score) <= 1e-5 * Math.max(1, Math.abs(score)), `${result.statistic} filter ${e.filter} rank ${e.rank}: score ${e.score} vs ${score}`);
        if (e.index !== index) {
          const theirs = expected[e.filter]!.find(([i]) => i === e.index);
          assert.ok(theirs && Math.abs(theirs[1] - score) <= 1e-5, `${result.statistic} filter ${e.filter} rank ${e.rank}: image ${e.index}, NumPy says ${index} (not a tie)`);
        }
      }
    }
  });

  it('ONNX Runtime (the Keras network converted in memory) ranks like TensorFlow.js: the same images, scores within 1e-5 relative', async () => {
    assert.equal(single.engine, 'ONNX Runtime (the Keras layers converted to ONNX in memory)');
    const tfjs = await rankExamples(tfjsRunner(net, 'conv_2'), data, { model: 'm', top: TOP, statistic: 'max', scale: 'unit' });
    assert.equal(tfjs.engine, 'TensorFlow.js');
    assert.deepEqual({ ...tfjs, engine: '', ranking: [] }, { ...single, engine: '', ranking: [] });
    for (const [i, e] of tfjs.ranking.entries()) {
      const o = single.ranking[i]!;
      assert.ok(Math.abs(e.score - o.score) <= 1e-5 * Math.max(1, Math.abs(e.score)), `filter ${e.filter} rank ${e.rank}: TF.js ${e.score}, ORT ${o.score}`);
      if (e.index !== o.index) assert.ok(single.ranking.some((u) => u.filter === e.filter && u.index === e.index && Math.abs(u.score - e.score) <= 1e-5), `filter ${e.filter} rank ${e.rank}: TF.js image ${e.index}, ORT ${o.index} (not a tie)`);
    }
  });

  it('a network with a layer the ONNX converter does not cover ranks on TensorFlow.js, and the result names that layer', async () => {
    const config = {
      class_name: 'Sequential',
      config: {
        name: 'm',
        layers: [
          { class_name: 'Conv2D', config: { name: 'conv', filters: 2, kernel_size: [3, 3], padding: 'same', activation: 'relu', batch_input_shape: [null, 8, 8, 1] } },
          { class_name: 'LayerNormalization', config: { name: 'norm', axis: -1, epsilon: 0.001 } },
        ],
      },
    };
    const kernel = Array.from({ length: 18 }, (_, i) => Math.sin(i + 1));
    const m = memoryModel(config, {
      conv: { className: 'Conv2D', weights: [{ role: 'kernel', shape: [3, 3, 1, 2], data: kernel }, { role: 'bias', shape: [2], data: [0, 0.1] }] },
      norm: { className: 'LayerNormalization', weights: [{ role: 'gamma', shape: [2], data: [1, 1] }, { role: 'beta', shape: [2], data: [0, 0] }] },
    });
    const small = await buildModel(m);
    try {
      const ranked = await withExamplesRunner({ engine: 'tfjs', net: small }, 'conv', (r) => rankExamples(r, data, { model: 'm', top: 2, statistic: 'max', scale: 'unit' }));
      assert.match(ranked.engine, /^TensorFlow\.js, not ONNX Runtime: .*norm/);
      assert.deepEqual(ranked, await rankExamples(tfjsRunner(small, 'conv', ranked.engine), data, { model: 'm', top: 2, statistic: 'max', scale: 'unit' }));
    } finally {
      small.dispose();
      m.close();
    }
  });

  it("the symmetric preset (x / 127.5 - 1 on the 0..255 scale, activations' preset) ranks like NumPy fed the same pixels", needsPython('numpy', 'torch'), async () => {
    const oracle = JSON.parse(runPython(ORACLE, [dir, join(ROOT, 'assets', 'data', 'digits.csv.gz'), 'symmetric'])) as Record<string, [number, number][][]>;
    const result = await rankExamples(runner, data, { model: 'm', top: TOP, statistic: 'max', scale: 'symmetric' });
    assert.equal(result.scale, 'symmetric');
    let moved = 0;
    for (const e of result.ranking) {
      const [index, score] = oracle.max![e.filter]![e.rank]!;
      assert.ok(Math.abs(e.score - score) <= 1e-5 * Math.max(1, Math.abs(score)), `filter ${e.filter} rank ${e.rank}: score ${e.score} vs ${score}`);
      if (e.index !== index) assert.ok(oracle.max![e.filter]!.some(([i, s]) => i === e.index && Math.abs(s - score) <= 1e-5), `filter ${e.filter} rank ${e.rank}: image ${e.index}, NumPy says ${index}`);
      if (e.score !== single.ranking.find((u) => u.filter === e.filter && u.rank === e.rank)!.score) moved++;
    }
    assert.ok(moved > 0, 'the preset changed no score: it was not applied');
  });

  it('the receptive field of conv_2 (3x3 same -> pool 2 -> 3x3 same) is 8x8 with jump 2, and crops are clipped to the image', () => {
    const field = receptiveField(net.graph, net.graph.nodes.find((n) => n.layer.name === 'conv_2')!, 8, 8);
    assert.deepEqual(field, { size: [8, 8], jump: [2, 2], start: [0.5, 0.5] });
    for (const e of single.ranking) {
      assert.ok(e.crop.top >= 0 && e.crop.left >= 0 && e.crop.top + e.crop.height <= 8 && e.crop.left + e.crop.width <= 8);
    }
  });

  it('shards are whole batches and 4 merged shards equal the single run exactly', async () => {
    assert.deepEqual([0, 1, 2, 3].map((i) => shardRange(1797, 128, i, 4)), [{ from: 0, to: 384 }, { from: 384, to: 896 }, { from: 896, to: 1408 }, { from: 1408, to: 1797 }]);
    const parts: ExamplesResult[] = [];
    for (const index of [2, 0, 3, 1]) parts.push(await rankExamples(runner, data, { model: 'm', top: TOP, statistic: 'max', scale: 'unit', shard: { index, of: 4 } }));
    assert.deepEqual(mergeExamples(parts), single);
    assert.throws(() => mergeExamples(parts.slice(1)), /Shard 2\/4 of 4 is missing\./);
    assert.throws(() => mergeExamples([parts[0]!, { ...parts[1]!, layer: 'conv_1' }]), /Shards come from different runs: 'layer' is "conv_2" in one and "conv_1" in another\./);
  });

  it('the CLI: --shard i/n partials and convscope merge give the single run, --json and the grid; a missing shard is named', async () => {
    const modelPath = join(dir, 'model.json');
    const base = ['examples', modelPath, '--layer', 'conv_2', '--data', 'digits', '--top', String(TOP)];
    for (let i = 0; i < 2; i++) {
      const r = await runCli([...base, '--shard', `${i}/2`, '--out', join(dir, `part${i}.json`)]);
      assert.equal(r.code, 0, r.stderr);
    }
    const merged = await runCli(['merge', join(dir, 'part0.json'), join(dir, 'part1.json'), '--out', join(dir, 'grid.png'), '--json']);
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual(JSON.parse(merged.stdout), { ...single, model: modelPath });
    assert.ok(existsSync(join(dir, 'grid.png')));
    const missing = await runCli(['merge', join(dir, 'part1.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Shard 0\/2 of 2 is missing\./);
  });

  describe('scale-out on BullMQ with a real redis-server', { skip: existsSync('/usr/bin/redis-server') ? false : 'redis-server is not installed (apt-get install redis-server)' }, () => {
    const redisDir = mkdtempSync(join(tmpdir(), 'convscope-redis-'));
    let redis: ChildProcess | undefined;
    const workers: ChildProcess[] = [];
    let url = '';

    before(async () => {
      const port = await freePort();
      url = `redis://127.0.0.1:${port}`;
      redis = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', redisDir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      for (let i = 0; i < 50; i++) {
        if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (let i = 0; i < 2; i++) {
        workers.push(spawn(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), 'worker', '--redis', url], { stdio: 'ignore', env: { ...process.env, NODE_NO_WARNINGS: '1' } }));
      }
    });

    after(async () => {
      const stop = (p: ChildProcess): Promise<unknown> =>
        new Promise((resolve) => {
          if (p.exitCode !== null || p.signalCode !== null) return resolve(null);
          const force = setTimeout(() => p.kill('SIGKILL'), 5000);
          p.once('exit', () => (clearTimeout(force), resolve(null)));
          p.kill('SIGTERM');
        });
      await Promise.all(workers.map(stop));
      if (redis) await stop(redis);
      rmSync(redisDir, { recursive: true, force: true });
    });

    it('4 shards run as queue jobs by two workers merge into exactly the single run', async () => {
      const modelPath = join(dir, 'model.json');
      const queued = await runCli(['examples', modelPath, '--layer', 'conv_2', '--data', 'digits', '--top', String(TOP), '--queue', url, '--shards', '4', '--json', '--out', join(dir, 'queued.json')], { timeoutMs: 120000 });
      assert.equal(queued.code, 0, queued.stderr);
      assert.deepEqual(JSON.parse(queued.stdout), { ...single, model: modelPath });
      assert.deepEqual(JSON.parse(readFileSync(join(dir, 'queued.json'), 'utf8')), { ...single, model: modelPath });
    });
  });
});

describe('receptive field of a Keras graph', () => {
  it('ZeroPadding2D puts unit 0 of the padded map one pixel before the image: pad 1 then a 3x3 stride-2 valid conv sees rows -1..1 at unit 0', () => {
    const layer = (name: string, className: string, config: Record<string, unknown>) => ({ name, className, config }) as unknown as GraphNode['layer'];
    const nodes: GraphNode[] = [
      { id: 0, layer: layer('x', 'InputLayer', {}), call: 0, inputs: [] },
      { id: 1, layer: layer('pad', 'ZeroPadding2D', { padding: [[1, 1], [1, 1]] }), call: 0, inputs: [{ node: 0, output: 0 }] },
      { id: 2, layer: layer('conv', 'Conv2D', { kernel_size: [3, 3], strides: [2, 2], padding: 'valid' }), call: 0, inputs: [{ node: 1, output: 0 }] },
    ];
    const graph: LayerGraph = { name: 'g', layers: nodes.map((n) => n.layer), nodes, inputs: [0], inputShapes: [[null, 8, 8, 1]], outputs: [{ node: 2, output: 0 }] };
    const field = receptiveField(graph, nodes[2]!, 8, 8);
    assert.deepEqual(field, { size: [3, 3], jump: [2, 2], start: [0, 0] });
    // padded rows 0..2 are image rows -1..1 (row -1 is padding); padded rows 6..8 of unit 3 are image rows 5..7
    assert.deepEqual(cropAt(field, 0, 0, 8, 8), { top: 0, left: 0, height: 2, width: 2 });
    assert.deepEqual(cropAt(field, 3, 3, 8, 8), { top: 5, left: 5, height: 3, width: 3 });
  });
});
