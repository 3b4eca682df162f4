import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileSource, findLayer, findWeight, openModel, readOnnxTensor, type Model } from '../../src/index.js';
import { runCli } from '../helpers/cli.js';
import { needsPython, runPython } from '../helpers/python.js';
import { digest, generated, weightsByName } from '../helpers/torch-files.js';

/** Every listed tensor equals onnx.numpy_helper.to_array; every float tensor of the file is listed. */
async function assertMatchesNumpyHelper(model: Model, expected: Record<string, { shape: number[]; sha256: string; dtype: string }>): Promise<void> {
  const weights = weightsByName(model);
  for (const [name, e] of Object.entries(expected)) {
    const w = weights.get(name);
    if (!w) {
      assert.ok(!e.dtype.startsWith('float'), `float tensor '${name}' is listed`);
      continue;
    }
    assert.deepEqual(w.shape, e.shape, `${name} shape`);
    assert.equal(digest(await w.read()), e.sha256, `${name} values differ from numpy_helper's`);
  }
  for (const name of weights.keys()) assert.ok(expected[name], `'${name}' is a tensor of the file`);
}

describe('ONNX exported by torch.onnx.export', needsPython('torch', 'onnx'), () => {
  it('every initializer reads back equal to onnx.numpy_helper, and Conv/BN/ConvTranspose/Gemm become layers with named axes', async () => {
    const g = generated('onnx');
    const model = await openModel(g.path('custom.onnx'));
    assert.equal(model.format, 'onnx');
    assert.equal(model.metadata?.opset, '13');
    assert.match(model.metadata?.producer ?? '', /^pytorch /);
    await assertMatchesNumpyHelper(model, g.manifest['custom.onnx']!);
    const byClass = (cls: string) => model.layers.filter((l) => l.className === cls);
    assert.equal(byClass('Conv').length, 3);
    const [conv, depthwise, grouped] = byClass('Conv');
    assert.deepEqual([...findWeight(conv!).axes], ['out', 'in', 'kh', 'kw']);
    assert.deepEqual(conv!.config, { dilations: [1, 1], group: 1, kernel_shape: [3, 5], pads: [0, 0, 0, 0], strides: [1, 1] });
    assert.equal(depthwise!.config.group, 8);
    assert.equal(grouped!.config.group, 2);
    assert.deepEqual([...findWeight(grouped!).shape], [6, 4, 3, 3]);
    assert.ok(model.notes?.some(({ text: n }) => n.includes(depthwise!.name) && n.includes("'in' counts input channels within the filter's group")));
    const [up] = byClass('ConvTranspose');
    assert.deepEqual([...findWeight(up!).axes], ['in', 'out', 'kh', 'kw']);
    const [gemm] = byClass('Gemm');
    assert.equal(gemm!.config.transB, 1);
    assert.deepEqual([...findWeight(gemm!).axes], ['units', 'in']);
    const [bn] = byClass('BatchNormalization');
    assert.deepEqual(bn!.weights.map((w) => w.role), ['gamma', 'beta', 'moving_mean', 'moving_variance']);
    assert.deepEqual(bn!.inbound, [conv!.name]);
    assert.deepEqual(grouped!.inbound, [depthwise!.name]);
  });

  it('the ONNX kernels are the PyTorch kernels: same layout, same values', async () => {
    const g = generated('onnx');
    const model = await openModel(g.path('custom.onnx'));
    const pairs: [string, string][] = [['Conv', 'torch:conv2d.weight'], ['ConvTranspose', 'torch:up.weight'], ['Gemm', 'torch:fc.weight']];
    for (const [cls, key] of pairs) {
      const t = await findWeight(model.layers.find((l) => l.className === cls)!).read();
      assert.deepEqual(t.toArray(), g.values[key], key);
    }
    const bn = model.layers.find((l) => l.className === 'BatchNormalization')!;
    assert.deepEqual((await findWeight(bn, 'moving_variance').read()).toArray(), g.values['torch:bn.running_var']);
  });

  it('external data beside the model is read by location, offset and length, and checked', async () => {
    const g = generated('onnx');
    const model = await openModel(g.path('external.onnx'));
    await assertMatchesNumpyHelper(model, g.manifest['external.onnx']!);
    const dir = mkdtempSync(join(tmpdir(), 'convscope-onnx-ext-'));
    try {
      copyFileSync(g.path('external.onnx'), join(dir, 'external.onnx'));
      await assert.rejects(openModel(join(dir, 'external.onnx')), /external\.weights does not exist\./);
      writeFileSync(join(dir, 'external.weights'), readFileSync(g.path('external.weights')).subarray(0, 100));
      await assert.rejects(openModel(join(dir, 'external.onnx')), /external\.onnx: tensor '.*' of dims \(.*\) needs \d+ bytes of external\.weights, but its external data declares offset \d+ and length \d+ in a file of 100 bytes\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('typed fields (float_data, double_data, int32_data for f16/int8/bool, int64_data), Constant nodes and a string attribute without bytes read back exactly', async () => {
    const g = generated('onnx');
    const model = await openModel(g.path('typed.onnx'));
    await assertMatchesNumpyHelper(model, g.manifest['typed.onnx']!);
    const conv = findLayer(model, 'typed_conv');
    // auto_pad is a STRING attribute whose `s` the file leaves out: onnx reads protobuf's default b'' (fuzz seed 20261130 case 26662 was a TypeError).
    assert.deepEqual(conv.config, { group: 1, pads: [1, 1, 1, 1], strides: [2, 2], auto_pad: '' });
    assert.equal(findLayer(model, 'shift').className, 'Constant');
    assert.deepEqual((await findWeight(findLayer(model, 'half')).read()).toArray(), [1.5, -2.25, 65504]);
    assert.deepEqual((await findWeight(findLayer(model, 'steps')).read()).toArray(), [-(2 ** 40), 0, 7]);
  });

  it('a negative dimension is refused with a clear error (library and CLI)', async () => {
    const path = generated('onnx').path('negative-dim.onnx');
    await assert.rejects(openModel(path), /negative-dim\.onnx: tensor 'bad' expects non-negative dimensions, but dimension 0 is -2\./);
    const r = await runCli(['inspect', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^convscope: .*tensor 'bad' expects non-negative dimensions, but dimension 0 is -2\.\n$/);
  });
});

const TESTDATA = '/usr/share/libonnx-testdata/data';
const ORACLE = `
import glob, hashlib, json, sys, numpy as np, onnx
from onnx import numpy_helper
out = {}
dirs = sorted(glob.glob(sys.argv[1] + '/pytorch-converted/test_Conv*') + glob.glob(sys.argv[1] + '/node/test_conv*') + glob.glob(sys.argv[1] + '/node/test_basic_conv*'))
for d in dirs:
    m = onnx.load(d + '/model.onnx')
    inits = {i.name: i for i in m.graph.initializer}
    inputs = [i.name for i in m.graph.input]
    for n in m.graph.node:
        if n.op_type not in ('Conv', 'ConvTranspose'):
            continue
        for idx, role in [(1, 'kernel'), (2, 'bias')]:
            if len(n.input) <= idx or not n.input[idx]:
                continue
            name = n.input[idx]
            pb = None if name in inits else f"{d}/test_data_set_0/input_{inputs.index(name)}.pb"
            a = numpy_helper.to_array(inits[name] if pb is None else onnx.load_tensor(pb))
            out.setdefault(d, []).append({'layer': n.name or n.output[0], 'op': n.op_type, 'role': role, 'pb': pb, 'shape': list(a.shape),
                'sha256': hashlib.sha256(np.ascontiguousarray(a, dtype=np.float64).tobytes()).hexdigest()})
print(json.dumps(out))
`;

interface OracleEntry {
  layer: string;
  op: string;
  role: string;
  pb: string | null;
  shape: number[];
  sha256: string;
}

describe("ONNX's own test data (libonnx-testdata)", { skip: needsPython('onnx').skip || (existsSync(TESTDATA) ? false : `${TESTDATA} not found (Debian libonnx-testdata)`) }, () => {
  it('every Conv / ConvTranspose weight of pytorch-converted/test_Conv* and node/test_conv* equals numpy_helper.to_array', async () => {
    const oracle = JSON.parse(runPython(ORACLE, [TESTDATA])) as Record<string, OracleEntry[]>;
    const dirs = Object.keys(oracle);
    assert.ok(dirs.length >= 40, `found ${dirs.length} conv test models`);
    let compared = 0;
    for (const [dir, entries] of Object.entries(oracle)) {
      const model = await openModel(join(dir, 'model.onnx'));
      for (const e of entries) {
        const layer = findLayer(model, e.layer);
        assert.equal(layer.className, e.op);
        const tensor = e.pb === null ? await findWeight(layer, e.role).read() : await readOnnxTensor(await fileSource(e.pb));
        assert.deepEqual([...tensor.shape], e.shape, `${dir} ${e.layer} ${e.role} shape`);
        assert.equal(digest(tensor), e.sha256, `${dir} ${e.layer} ${e.role} values`);
        if (e.pb === null && e.role === 'kernel') assert.equal(findWeight(layer, e.role).axes[0], e.op === 'Conv' ? 'out' : 'in');
        compared++;
      }
    }
    assert.ok(compared >= 60, `compared ${compared} tensors`);
  });
});
