import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AxisName } from '../../src/model/axes.js';
import { findLayer, findWeight } from '../../src/model/lookup.js';
import { openModel } from '../../src/formats/open.js';
import { filterFigure } from '../../src/render/filters.js';
import { NamedTensor } from '../../src/model/named-tensor.js';
import { decodeNpy } from '../../src/model/npy.js';
import { needsPython, runPython } from '../helpers/python.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-render-torch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function kernelPng(path: string, layer: string, options: object): Promise<Uint8Array> {
  const model = await openModel(path);
  try {
    return filterFigure(await findWeight(findLayer(model, layer)).read(), { title: 'same weights', ...options }).png();
  } finally {
    model.close();
  }
}

function npyPng(file: string, axes: AxisName[], options: object): Uint8Array {
  const npy = decodeNpy(readFileSync(join(dir, file)));
  return filterFigure(new NamedTensor(axes, npy.shape, npy.data), { title: 'same weights', ...options }).png();
}

describe('the same weights from PyTorch, ONNX and Keras layouts give byte-identical pictures', () => {
  it('Conv2d [out, in, kh, kw] (state dict and ONNX) == Keras [kh, kw, in, out]; grouped conv == DepthwiseConv2D [kh, kw, in, mult]', needsPython('torch', 'onnx', 'numpy'), async () => {
    runPython(
      `
import sys, os, torch, numpy as np
d = sys.argv[1]
torch.manual_seed(3)
m = torch.nn.Sequential()
m.add_module('conv', torch.nn.Conv2d(3, 8, 3))
m.add_module('dw', torch.nn.Conv2d(8, 16, 3, groups=8))
torch.save(m.state_dict(), os.path.join(d, 'm.pt'))
torch.onnx.export(m, torch.zeros(1, 3, 16, 16), os.path.join(d, 'm.onnx'))
w = m.conv.weight.detach().numpy()
np.save(os.path.join(d, 'conv_keras.npy'), np.ascontiguousarray(w.transpose(2, 3, 1, 0)))
g = m.dw.weight.detach().numpy()[:, 0]            # (16, 3, 3): out = c * mult + m
np.save(os.path.join(d, 'dw_keras.npy'), np.ascontiguousarray(g.reshape(8, 2, 3, 3).transpose(2, 3, 0, 1)))
`,
      [dir],
    );
    for (const options of [{}, { channels: 'each', labels: true }, { normalize: 'per-filter', colormap: 'viridis' }, { channels: 'mean' }]) {
      const keras = npyPng('conv_keras.npy', ['kh', 'kw', 'in', 'out'], options);
      assert.deepEqual(await kernelPng(join(dir, 'm.pt'), 'conv', options), keras, `state dict ${JSON.stringify(options)}`);
      assert.deepEqual(await kernelPng(join(dir, 'm.onnx'), '/conv/Conv', options), keras, `onnx ${JSON.stringify(options)}`);
    }
    const depthwise = npyPng('dw_keras.npy', ['kh', 'kw', 'in', 'mult'], {});
    assert.deepEqual(await kernelPng(join(dir, 'm.pt'), 'dw', {}), depthwise);
    assert.deepEqual(await kernelPng(join(dir, 'm.onnx'), '/dw/Conv', {}), depthwise);
  });
});
