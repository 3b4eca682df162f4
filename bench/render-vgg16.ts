/**
 * Rendering every conv layer of a VGG16-sized model to PNG with the default `convscope filters`
 * options (shared scale, rgb for the first layer, input channels as columns elsewhere).
 *
 *   node --import tsx bench/render-vgg16.ts
 *
 * The 13 kernels (14,710,464 weights, Keras layout [kh, kw, in, out]) are generated in memory with a
 * seeded Glorot-uniform draw. Target: all 13 PNGs in under 2 s. Each layer's time covers the whole
 * pipeline: named-axis rearrangement, dead / identical analysis, scale, tiles, PNG encoding.
 */
import { cpus, loadavg } from 'node:os';
import seedrandom from 'seedrandom';
import { NamedTensor } from '../src/model/named-tensor.js';
import { filterFigure } from '../src/render/filters.js';

const TARGET_MS = 2000;

function vgg16Kernels(): { name: string; tensor: NamedTensor }[] {
  const random = seedrandom('vgg16');
  const blocks = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
  const out: { name: string; tensor: NamedTensor }[] = [];
  let channels = 3;
  blocks.forEach((filters, b) => {
    filters.forEach((f, i) => {
      const shape = [3, 3, channels, f];
      const data = new Float32Array(9 * channels * f);
      const limit = Math.sqrt(6 / (9 * channels + 9 * f));
      for (let k = 0; k < data.length; k++) data[k] = (random() * 2 - 1) * limit;
      out.push({ name: `block${b + 1}_conv${i + 1}`, tensor: new NamedTensor(['kh', 'kw', 'in', 'out'], shape, data) });
      channels = f;
    });
  });
  return out;
}

const kernels = vgg16Kernels();
const weights = kernels.reduce((a, k) => a + k.tensor.size, 0);
console.log(`VGG16 conv kernels: ${kernels.length} layers, ${weights.toLocaleString('en-US')} weights (Keras layout)\n`);

// One untimed warm-up render so the figures measure steady-state code, not JIT compilation.
filterFigure(kernels[1]!.tensor).png();

const rows: string[][] = [['layer', 'shape', 'mode', 'image', 'PNG bytes', 'wall ms', 'cpu ms']];
let total = 0;
let totalCpu = 0;
for (const { name, tensor } of kernels) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const fig = filterFigure(tensor, { title: name, layer: name });
  const png = fig.png();
  const ms = performance.now() - t0;
  const c1 = process.cpuUsage(c0);
  const cpuMs = (c1.user + c1.system) / 1000;
  total += ms;
  totalCpu += cpuMs;
  const width = new DataView(png.buffer, png.byteOffset).getUint32(16);
  const height = new DataView(png.buffer, png.byteOffset).getUint32(20);
  rows.push([name, `(${tensor.shape.join(', ')})`, fig.info.mode, `${width}x${height}`, png.length.toLocaleString('en-US'), ms.toFixed(1), cpuMs.toFixed(1)]);
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((c, i) => (i >= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  '));
console.log(
  `\ntotal: ${total.toFixed(0)} ms wall, ${totalCpu.toFixed(0)} ms CPU for ${kernels.length} layers ` +
    `(${((weights / total) * 1000 / 1e6).toFixed(1)} M weights/s)\n` +
    `target < ${TARGET_MS} ms: wall ${total < TARGET_MS ? 'met' : 'MISSED'}, CPU ${totalCpu < TARGET_MS ? 'met' : 'MISSED'}`,
);
console.log(`load average while running: ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores (wall time on a busy machine exceeds CPU time)`);
