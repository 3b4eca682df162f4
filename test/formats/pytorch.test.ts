import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeNpy, findLayer, findWeight, openModel, type Model } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { fixture, needsFixtures } from '../helpers/fixtures.js';
import { needsPython } from '../helpers/python.js';
import { assertMatchesManifest, digest, generated, weightsByName } from '../helpers/torch-files.js';

const torchOk = needsPython('torch', 'torchvision');

async function assertAllEqual(file: string): Promise<Model> {
  const model = await openModel(generated('torch').path(file));
  await assertMatchesManifest(model, generated('torch').manifest[file]!);
  return model;
}

describe('PyTorch checkpoints written by torch.save', torchOk, () => {
  it('a custom net with Conv1d/2d/3d, depthwise, grouped, ConvTranspose2d, BatchNorm, Linear and every dtype reads back exactly', async () => {
    const model = await assertAllEqual('custom.pt');
    assert.equal(model.format, 'pytorch');
    assert.equal(model.framework, 'pytorch');
    const axes = (layer: string, role: string) => [...findWeight(findLayer(model, layer), role).axes];
    assert.deepEqual(axes('conv1d', 'kernel'), ['out', 'in', 'kw']);
    assert.deepEqual(axes('conv2d', 'kernel'), ['out', 'in', 'kh', 'kw']);
    assert.deepEqual(axes('conv3d', 'kernel'), ['out', 'in', 'kd', 'kh', 'kw']);
    assert.deepEqual(axes('fc', 'kernel'), ['units', 'in']);
    assert.deepEqual(axes('fc', 'bias'), ['units']);
    assert.deepEqual(axes('conv2d', 'bias'), ['features']);
    const bn = findLayer(model, 'bn');
    assert.equal(bn.kind, 'batch_norm');
    assert.deepEqual(bn.weights.map((w) => [w.role, w.name]), [
      ['gamma', 'bn.weight'],
      ['beta', 'bn.bias'],
      ['moving_mean', 'bn.running_mean'],
      ['moving_variance', 'bn.running_var'],
      ['num_batches_tracked', 'bn.num_batches_tracked'],
    ]);
    assert.equal(findLayer(model, 'conv2d').className, 'Conv2d');
    assert.ok(model.notes?.some(({ text: n }) => n.includes('depthwise') && n.includes("'in' counts input channels within the filter's group")));
  });

  it('float16, bfloat16 and a non-contiguous view hold the values torch prints', async () => {
    const model = await openModel(generated('torch').path('custom.pt'));
    const read = async (key: string) => (await weightsByName(model).get(key)!.read()).toArray();
    const { values: printed } = generated('torch');
    const expected = Object.fromEntries(['extras.half', 'extras.bf16', 'extras.noncontig', 'extras.transposed'].map((k) => [k, printed[k]!]));
    for (const [key, values] of Object.entries(expected)) assert.deepEqual(await read(key), values, key);
    assert.deepEqual(await read('extras.noncontig'), [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23]);
    assert.deepEqual(await read('extras.expanded'), [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2]);
  });

  it('torchvision resnet18 and mobilenet_v2 state dicts read back exactly', async () => {
    const resnet = await assertAllEqual('resnet18.pt');
    assert.deepEqual([...findWeight(findLayer(resnet, 'conv1')).shape], [64, 3, 7, 7]);
    assert.equal(findLayer(resnet, 'layer1.0.bn1').kind, 'batch_norm');
    const mobilenet = await assertAllEqual('mobilenet_v2.pt');
    assert.deepEqual([...findWeight(findLayer(mobilenet, 'features.1.conv.0.0')).shape], [32, 1, 3, 3]);
  });

  it('a wrapped {state_dict, epoch} checkpoint reads its state dict and says what else it holds', async () => {
    const model = await openModel(generated('torch').path('wrapped.pt'));
    const plain = await openModel(generated('torch').path('custom.pt'));
    const kernel = await findWeight(findLayer(model, 'conv2d')).read();
    assert.equal(digest(kernel), generated('torch').manifest['custom.pt']!['conv2d.weight']!.sha256);
    assert.deepEqual(
      model.layers.map((l) => l.name),
      plain.layers.map((l) => l.name).filter((n) => !n.startsWith('extras')),
    );
    assert.ok(model.notes?.some(({ text: n }) => n.includes("'state_dict'") && n.includes('epoch, best_acc, tag')));
  });

  it('nested dicts are flattened with dots', async () => {
    const model = await openModel(generated('torch').path('nested.pt'));
    assert.deepEqual(model.layers.map((l) => l.name), ['encoder.conv', 'head']);
    assert.equal(findWeight(findLayer(model, 'encoder.conv')).name, 'encoder.conv.weight');
    assert.equal(digest(await findWeight(findLayer(model, 'head')).read()), generated('torch').manifest['custom.pt']!['fc.weight']!.sha256);
  });

  it('a whole pickled model lists its tensors under state_dict names and names its class as unsupported', async () => {
    const model = await openModel(generated('torch').path('whole.pt'));
    const expected = generated('torch').manifest['custom.pt']!;
    const weights = weightsByName(model);
    assert.deepEqual([...weights.keys()].sort(), Object.keys(expected).filter((k) => !k.startsWith('extras')).sort());
    assert.equal(digest(await weights.get('up.weight')!.read()), expected['up.weight']!.sha256);
    assert.ok(model.notes?.some(({ text: n }) => n.includes('__main__.Custom') && n.includes('unsupported')), JSON.stringify(model.notes));
    const up = findLayer(model, 'up');
    assert.equal(up.className, 'ConvTranspose2d', 'the pickled class names the layer kind, no --layout needed');
    assert.deepEqual([...findWeight(up).axes], ['in', 'out', 'kh', 'kw']);
    assert.equal(findLayer(model, 'bn').className, 'BatchNorm2d');
  });

  it('legacy files (torch < 1.6 serialization) read back exactly: a state dict with every dtype and views, a wrapped checkpoint with defaultdict and set, a whole model', async () => {
    const legacy = await assertAllEqual('custom-legacy.pt');
    assert.ok(legacy.notes?.some(({ text: n }) => n.startsWith('A legacy PyTorch file')));
    const wrapped = await assertAllEqual('wrapped-legacy.pt');
    assert.ok(wrapped.notes?.some(({ text: n }) => n.includes("'state_dict' entry") && n.includes('history')), JSON.stringify(wrapped.notes));
    const whole = await assertAllEqual('whole-legacy.pt');
    assert.equal(findLayer(whole, 'up').className, 'ConvTranspose2d');
    assert.ok(whole.notes?.some(({ text: n }) => n.includes('__main__.Custom') && n.includes('unsupported')), JSON.stringify(whole.notes));
  });

  it('TorchScript archives (torch.jit.script and torch.jit.trace, then torch.jit.save) read back exactly by attribute path', async () => {
    for (const file of ['scripted.pt', 'traced.pt']) {
      const model = await assertAllEqual(file);
      assert.ok(model.notes?.some(({ text: n }) => n.startsWith('A TorchScript archive')), file);
      assert.equal(findLayer(model, 'up').className, 'ConvTranspose2d', `${file}: the __torch__ class names the layer kind`);
      assert.deepEqual([...findWeight(findLayer(model, 'up')).axes], ['in', 'out', 'kh', 'kw']);
      assert.equal(findLayer(model, 'depthwise').className, 'Conv2d');
    }
  });

  it('--layout makes a ConvTranspose2d weight [in, out, kh, kw], so filter j is torch weight[:, j]', async () => {
    const path = generated('torch').path('custom.pt');
    const guessed = await openModel(path);
    assert.deepEqual([...findWeight(findLayer(guessed, 'up')).axes], ['out', 'in', 'kh', 'kw']);
    const model = await openModel(path, { layout: { up: 'conv_transpose' } });
    const w = findWeight(findLayer(model, 'up'));
    assert.deepEqual([...w.axes], ['in', 'out', 'kh', 'kw']);
    assert.equal(findLayer(model, 'up').className, 'ConvTranspose2d');
    const filter = (await w.read()).filter(3).select({ in: 5 });
    assert.deepEqual(filter.toArray(), generated('torch').values['up.weight[5, 3]']);
    await assert.rejects(openModel(path, { layout: { upp: 'conv_transpose' } }), /The layout given names layer 'upp', but .* has no such layer\. Did you mean 'up'/);
  });

  it('`weights --layer features.0 --filter 6` prints the PyTorch expression and exports the slice', async () => {
    const g = generated('torch');
    const out = join(g.dir, 'filter6.npy');
    const r = await runCli(['weights', g.path('mobilenet_v2.pt'), '--layer', 'features.0.0', '--filter', '6', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /filter 6 of features\.0\.0: shape \(3, 3, 3\) \[in, kh, kw\] = weight\[6\] in PyTorch/);
    const npy = decodeNpy(readFileSync(out));
    const expected = g.values['features.0.0.weight[6]']!;
    assert.deepEqual(npy.shape, [3, 3, 3]);
    assert.deepEqual(Array.from(npy.data as Float32Array), expected);
    const channel = await runCli(['weights', g.path('mobilenet_v2.pt'), '--layer', 'features.0.0', '--filter', '6', '--channel', '2', '--format', 'json']);
    assert.equal(channel.code, 0, channel.stderr);
    assert.match(channel.stderr, /= weight\[6, 2\] in PyTorch/);
    assert.deepEqual((JSON.parse(channel.stdout) as { data: number[][] }).data.flat(), expected.slice(18, 27));
  });

  it('`inspect` shows the same table as for Keras: layer, class, role, shape, axes, dtype, params', async () => {
    const r = await runCli(['inspect', generated('torch').path('resnet18.pt')]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes('format: pytorch (pytorch)'));
    assert.match(r.stdout, /^layer\s+class\s+weight\s+shape\s+axes\s+dtype\s+params$/m);
    assert.match(r.stdout, /^conv1\s+Conv2d\s+kernel\s+\(64, 3, 7, 7\)\s+\[out, in, kh, kw\]\s+float32\s+9,408$/m);
    assert.match(r.stdout, /^fc\s+Linear\s+kernel\s+\(1000, 512\)\s+\[units, in\]\s+float32\s+512,000$/m);
    assert.match(r.stdout, /^total parameters: 11,699,132 in 41 of 41 layers$/m);
  });
});

describe('the same kernel in Keras and PyTorch layouts', { skip: needsFixtures.skip || torchOk.skip }, () => {
  it('filter(j).select({in: c}) is equal for a real Keras h5 and a torch.save of the permuted kernel', async () => {
    const h5 = fixture('05_dl4j_weight_layout', 'conv2d_tensorflow_2.h5');
    const keras = await findWeight(findLayer(await openModel(h5), 'conv2d_1')).read();
    const torch = await findWeight(findLayer(await openModel(generated('torch').path('from-keras.pt')), 'conv2d_1')).read();
    assert.deepEqual([...keras.axes], ['kh', 'kw', 'in', 'out']);
    assert.deepEqual([...torch.axes], ['out', 'in', 'kh', 'kw']);
    for (let j = 0; j < 6; j++) {
      for (let c = 0; c < 5; c++) {
        assert.deepEqual(torch.filter(j).select({ in: c }).toArray(), keras.filter(j).select({ in: c }).toArray(), `filter ${j}, channel ${c}`);
      }
    }
    assert.deepEqual(torch.filter(2).select({ in: 4 }).toArray(), [26, 56, 86, 116, 146, 176, 206, 236, 266]);
  });
});
