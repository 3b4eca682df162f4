import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend, tf } from '../../src/compute/backend.js';
import { safetensorsBytes } from '../../src/compute/checkpoint.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'convscope-torch-layout-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('safetensors snapshots load into the equivalent PyTorch modules and compute the same outputs', needsPython('numpy', 'torch'), async () => {
  await initBackend('wasm');
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [6, 6, 2], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', name: 'dw' }),
      tfl.layers.separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 1, padding: 'same', name: 'sep' }),
      tfl.layers.globalAveragePooling2d({ name: 'gap' }),
      tfl.layers.dense({ units: 5, name: 'dense' }),
    ],
  });
  const random = prng(11);
  const input = Float32Array.from({ length: 2 * 6 * 6 * 2 }, () => random() * 2 - 1);
  const want = tf.tidy(() => Array.from((model.predict(tf.tensor4d(input, [2, 6, 6, 2])) as tf.Tensor).dataSync()));
  writeFileSync(join(dir, 'w.safetensors'), safetensorsBytes(model));
  writeFileSync(join(dir, 'x.bin'), input);
  const got = JSON.parse(
    runPython(
      `import json, struct, sys, numpy as np, torch
path, xpath = sys.argv[1], sys.argv[2]
b = open(path, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop("__metadata__", None)
sd = {k: torch.from_numpy(np.frombuffer(b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]], dtype="<f4").reshape(v["shape"]).copy()) for k, v in h.items()}
class Sep(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = torch.nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pointwise = torch.nn.Conv2d(8, 3, 1)
    def forward(self, x): return self.pointwise(self.depthwise(x))
net = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(2, 4, 3, padding=1), "dw": torch.nn.Conv2d(4, 8, 3, padding=1, groups=4), "sep": Sep(), "dense": torch.nn.Linear(3, 5)})
net.load_state_dict(sd, strict=True)
x = torch.from_numpy(np.fromfile(xpath, dtype="<f4").reshape(2, 6, 6, 2)).permute(0, 3, 1, 2)
with torch.no_grad():
    y = net["sep"](net["dw"](torch.relu(net["conv"](x))))
    y = net["dense"](y.mean(dim=(2, 3)))
print(json.dumps(y.flatten().tolist()))`,
      [join(dir, 'w.safetensors'), join(dir, 'x.bin')],
    ),
  ) as number[];
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= 1e-5 * (1 + Math.abs(want[i]!)), `output ${i}: torch ${got[i]} vs tfjs ${want[i]}`);
  model.dispose();
});
