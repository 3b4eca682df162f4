import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ExamplesResult } from '../../src/analyze/examples.js';
import { onnxRunner } from '../../src/analyze/examples-runner.js';
import { mergeExamples, rankExamples } from '../../src/analyze/examples.js';
import { cropAt, onnxReceptiveField } from '../../src/analyze/receptive-field.js';
import { selectOnnxLayers } from '../../src/compute/onnx-activations.js';
import { loadOnnxNet } from '../../src/compute/onnx-activations.js';
import type { OnnxNet } from '../../src/compute/ort.js';
import { loadAllImages } from '../../src/data/index.js';
import { onnxGraph } from '../../src/formats/onnx-graph.js';
import { openModel } from '../../src/formats/open.js';
import type { Model } from '../../src/model/model.js';
import { runCli } from '../helpers/cli.js';
import { needsPython, runPython } from '../helpers/python.js';

/**
 * Dataset examples of an ONNX model on ONNX Runtime against PyTorch: a small ResNet built from
 * torchvision's BasicBlock (7x7/2 stem, BN, 3x3/2 max pool, two blocks, the second strided with a
 * 1x1 downsample) exported with a dynamic batch, and 40 synthetic 64x64 photographs written as PNG.
 * torch runs the same pixels (torchvision normalisation, the ONNX default) with a forward hook on the
 * layer and NumPy ranks every filter by the max or mean over positions: the same images, scores within
 * 1e-4 relative. The receptive field's crops equal the bounding box of the input pixels with a non-zero
 * gradient of the unit (float64 torch, union over random inputs and channels).
 */

const TOP = 4;
const SIZE = 64;

const ORACLE = String.raw`
import json, os, sys, numpy as np, torch, torch.nn as nn
from PIL import Image
from torchvision.models.resnet import BasicBlock
d = sys.argv[1]
torch.manual_seed(0)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = nn.Sequential(BasicBlock(16, 16))
        self.layer2 = nn.Sequential(BasicBlock(16, 32, 2, nn.Sequential(nn.Conv2d(16, 32, 1, 2, bias=False), nn.BatchNorm2d(32))))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 5)
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(self.pool(self.layer2(self.layer1(x))), 1))
m = Net()
for mod in m.modules():
    if isinstance(mod, nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.2, 0.2); mod.running_var.uniform_(0.5, 2); mod.weight.data.uniform_(0.5, 1.5); mod.bias.data.uniform_(-0.3, 0.3)
m.eval()
torch.onnx.export(m, torch.randn(2, 3, ${SIZE}, ${SIZE}), f'{d}/net.onnx', input_names=['x'], output_names=['y'], dynamic_axes={'x': {0: 'n'}, 'y': {0: 'n'}}, opset_version=13)
torch.onnx.export(m, torch.randn(3, 3, ${SIZE}, ${SIZE}), f'{d}/batch3.onnx', input_names=['x'], output_names=['y'], opset_version=13)
rng = np.random.default_rng(0)
os.makedirs(f'{d}/photos')
for i in range(40):
    # smooth blobs plus noise, so filters prefer different images
    small = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(small).resize((${SIZE}, ${SIZE}), Image.BILINEAR)).astype(np.int32) + rng.integers(-20, 21, (${SIZE}, ${SIZE}, 3))
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(f'{d}/photos/p{i:03d}.png')
names = sorted(os.listdir(f'{d}/photos'))
x = np.stack([np.asarray(Image.open(f'{d}/photos/{n}').convert('RGB'), dtype=np.float64) / 255 for n in names])
x = (x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
x = torch.tensor(x.transpose(0, 3, 1, 2), dtype=torch.float32)
out = {}
def ranking(layer, stat):
    got = {}
    # copied: BasicBlock's ReLU works in place on this tensor
    h = m.get_submodule(layer).register_forward_hook(lambda mod, i, o: got.__setitem__('a', o.detach().numpy().copy()))
    with torch.no_grad(): m(x)
    h.remove()
    a = got['a'].reshape(got['a'].shape[0], got['a'].shape[1], -1)
    s = a.max(axis=2) if stat == 'max' else a.mean(axis=2)
    return [[[int(i), float(s[i, f])] for i in np.lexsort((np.arange(len(s)), -s[:, f]))[:${TOP}]] for f in range(s.shape[1])]
out['layer1'] = ranking('layer1', 'max')
# torch's export folds eval-mode BatchNorm into the Conv before it: the ONNX node of layer2.0.conv1 computes bn1's output
out['layer2.0.conv1'] = ranking('layer2.0.bn1', 'mean')
# receptive fields: bounding boxes of non-zero input gradients of units (y, x), float64
m64 = m.double()
fields = {}
for layer, units in [('maxpool', [(0, 0), (7, 9), (15, 15)]), ('layer1', [(0, 0), (8, 5), (15, 15)]), ('layer2.0.conv1', [(0, 0), (3, 4), (7, 7)])]:
    boxes = []
    for (uy, ux) in units:
        seen = np.zeros((${SIZE}, ${SIZE}), bool)
        for r in range(4):
            xi = torch.randn(1, 3, ${SIZE}, ${SIZE}, dtype=torch.float64, requires_grad=True)
            got = {}
            h = m64.get_submodule(layer).register_forward_hook(lambda mod, i, o: got.__setitem__('a', o))
            m64(xi)
            h.remove()
            got['a'][0, :, uy, ux].sum().backward()
            seen |= (xi.grad[0].abs().sum(0) > 0).numpy()
        ys, xs = np.nonzero(seen)
        boxes.append([uy, ux, int(ys.min()), int(xs.min()), int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)])
    fields[layer] = boxes
out['fields'] = fields
print(json.dumps(out))
`;

describe('dataset examples of an ONNX model on ONNX Runtime, against PyTorch', { skip: needsPython('torch', 'torchvision', 'onnx').skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-examples-onnx-'));
  let oracle: Record<string, [number, number][][]> & { fields: Record<string, number[][]> };
  let model: Model;
  let net: OnnxNet;

  before(async () => {
    oracle = JSON.parse(runPython(ORACLE, [dir])) as typeof oracle;
    model = await openModel(join(dir, 'net.onnx'));
    net = await loadOnnxNet(join(dir, 'net.onnx'), onnxGraph(model)!);
  });

  after(async () => {
    await net?.release();
    model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sameRanking = (result: ExamplesResult, expected: [number, number][][]): void => {
    assert.equal(result.filters, expected.length);
    assert.equal(result.ranking.length, expected.length * TOP);
    for (const e of result.ranking) {
      const [index, score] = expected[e.filter]![e.rank]!;
      assert.equal(e.index, index, `filter ${e.filter} rank ${e.rank}: image ${e.index}, torch says ${index}`);
      assert.ok(Math.abs(e.score - score) <= 1e-4 * Math.max(1e-3, Math.abs(score)), `filter ${e.filter} rank ${e.rank}: score ${e.score}, torch ${score}`);
    }
  };

  it('convscope examples on the .onnx file ranks the module path layer1 (its last node) by the max as torch + NumPy do, NCHW, torchvision pixels', async () => {
    const out = join(dir, 'layer1.json');
    const r = await runCli(['examples', join(dir, 'net.onnx'), '--layer', 'layer1', '--data', `folder:${join(dir, 'photos')}`, '--top', String(TOP), '--batch-size', '16', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^layer1: top 4 of 40 folder:.* images for each of 16 filters by the max over 16x16 positions; receptive field 27x27 px; ran on ONNX Runtime -> /m);
    assert.match(r.stdout, /^pixels: torchvision/m);
    const result = JSON.parse(readFileSync(out, 'utf8')) as ExamplesResult;
    assert.equal(result.scale, 'torchvision');
    sameRanking(result, oracle.layer1!);
  });

  it('the library ranks a strided Conv node (BatchNorm folded in by the export) by the mean as torch + NumPy do, in batches of 7, and its shards merge into the same run', async () => {
    const data = await loadAllImages(`folder:${join(dir, 'photos')}`, { height: SIZE, width: SIZE, resize: 'crop' });
    const result = await rankExamples(onnxRunner(net, 'layer2.0.conv1'), data, { model: 'net.onnx', top: TOP, statistic: 'mean', scale: 'torchvision', batchSize: 7 });
    assert.equal(result.engine, 'ONNX Runtime');
    assert.deepEqual(result.outputSize, [8, 8]);
    sameRanking(result, oracle['layer2.0.conv1']!);
    const shards = [];
    for (const index of [2, 0, 1]) shards.push(await rankExamples(onnxRunner(net, 'layer2.0.conv1'), data, { model: 'net.onnx', top: TOP, statistic: 'mean', scale: 'torchvision', batchSize: 7, shard: { index, of: 3 } }));
    assert.deepEqual(mergeExamples(shards), result, 'three shards merged equal the single run');
  });

  it('an export with a fixed batch of 3 is fed 3 images at a time (the last images of a batch padded to 3) and ranks the same', async () => {
    const fixedModel = await openModel(join(dir, 'batch3.onnx'));
    const fixed = await loadOnnxNet(join(dir, 'batch3.onnx'), onnxGraph(fixedModel)!);
    try {
      assert.equal(fixed.inputShapes[0]![0], 3);
      const data = await loadAllImages(`folder:${join(dir, 'photos')}`, { height: SIZE, width: SIZE, resize: 'crop' });
      const result = await rankExamples(onnxRunner(fixed, 'layer2.0.conv1'), data, { model: 'batch3.onnx', top: TOP, statistic: 'mean', scale: 'torchvision', batchSize: 16 });
      sameRanking(result, oracle['layer2.0.conv1']!);
    } finally {
      await fixed.release();
      fixedModel.close();
    }
  });

  it('receptive fields (stem, max pool, residual block, strided conv) crop exactly the pixels torch says a unit depends on', () => {
    for (const [layer, boxes] of Object.entries(oracle.fields)) {
      const output = selectOnnxLayers(net.graph, net.source, layer)[0]!.output;
      const field = onnxReceptiveField(net.graph, output, SIZE, SIZE);
      assert.ok(!('unknown' in field), `${layer}: ${'unknown' in field ? field.unknown : ''}`);
      for (const [y, x, top, left, height, width] of boxes) {
        assert.deepEqual(cropAt(field, y!, x!, SIZE, SIZE), { top, left, height, width }, `${layer} unit (${y}, ${x})`);
      }
    }
  });

  it('the global pool sees the whole image; past Flatten the field is said to be unknown, not guessed', () => {
    const field = (op: string) => onnxReceptiveField(net.graph, net.graph.nodes.find((n) => n.opType === op)!.outputs[0]!, SIZE, SIZE);
    const pooled = field('GlobalAveragePool');
    assert.ok(!('unknown' in pooled));
    assert.deepEqual(cropAt(pooled, 0, 0, SIZE, SIZE), { top: 0, left: 0, height: SIZE, width: SIZE });
    const flat = field('Flatten');
    assert.ok('unknown' in flat && flat.unknown.includes('Flatten'), JSON.stringify(flat));
  });
});
