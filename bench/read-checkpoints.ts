/**
 * Reading every weight of a torchvision resnet18 (11.7 M parameters) with convscope's readers next to
 * Debian's PyTorch in the same run:
 *   - .pt  : convscope (never-executing unpickler + range reads)  vs  torch.load(weights_only=True)
 *   - .onnx: convscope (graph walked field by field, lazy tensors)  vs  onnx.load + numpy_helper.to_array
 * Both sides: open the file and materialise every tensor as a C-order array; median of 5 runs after a
 * warm-up; Python timed inside its own process (interpreter start excluded).
 *
 *   node --import tsx bench/read-checkpoints.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openModel } from '../src/index.js';

const PYTHON = '/usr/bin/python3';
const RUNS = 5;

function python(code: string, args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function convscopeMs(path: string): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const start = performance.now();
    const model = await openModel(path);
    let values = 0;
    for (const layer of model.layers) for (const w of layer.weights) values += (await w.read()).size;
    model.close();
    if (values !== 11_699_132 && !path.endsWith('.onnx')) throw new Error(`read ${values} values`);
    if (run > 0) times.push(performance.now() - start);
  }
  return median(times);
}

const PY_TIMING = `
import sys, time, statistics, torch, onnx
from onnx import numpy_helper
path, kind = sys.argv[1], sys.argv[2]
def once():
    if kind == 'pt':
        sd = torch.load(path, weights_only=True)
        return sum(t.contiguous().numel() for t in sd.values())
    m = onnx.load(path)
    return sum(numpy_helper.to_array(t).size for t in m.graph.initializer)
once()
times = []
for _ in range(${RUNS}):
    t = time.perf_counter(); once(); times.append((time.perf_counter() - t) * 1000)
print(statistics.median(times))
`;

const dir = mkdtempSync(join(tmpdir(), 'convscope-bench-read-'));
try {
  python(
    `import sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None).eval()
torch.save(m.state_dict(), sys.argv[1] + '/resnet18.pt')
torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[1] + '/resnet18.onnx', opset_version=13)`,
    [dir],
  );
  for (const [kind, peer] of [['pt', 'torch.load(weights_only=True)'], ['onnx', 'onnx.load + numpy_helper']] as const) {
    const path = join(dir, `resnet18.${kind}`);
    const ours = await convscopeMs(path);
    const theirs = Number(python(PY_TIMING, [path, kind]));
    console.log(
      `resnet18.${kind.padEnd(4)}  convscope ${ours.toFixed(1).padStart(7)} ms   ${peer.padEnd(31)} ${theirs.toFixed(1).padStart(7)} ms   ratio ${(ours / theirs).toFixed(2)}x`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
