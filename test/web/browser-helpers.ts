import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { buildClient } from '../../scripts/build-client.js';
import { fixture, FIXTURES, ROOT } from '../helpers/fixtures.js';
import { needsPython, runPython } from '../helpers/python.js';

/** Debian's chromium, driven by playwright-core (which never downloads a browser of its own). */
export const CHROMIUM = '/usr/bin/chromium';

/** The skip reason for browser tests: chromium, the shared fixtures and h5py (the oracle) are all needed. */
export function browserSkip(): string | false {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} not found (install Debian's chromium package)`;
  if (!existsSync(FIXTURES)) return `shared fixtures not found at ${FIXTURES}`;
  return needsPython('h5py', 'numpy').skip;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A fresh build of the client in a temporary folder, so tests never see a stale dist/. */
export async function freshClient(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-client-'));
  await buildClient(dir);
  return dir;
}

/** The operator graph of an ONNX export as onnx reads it: drawn node names, each node's op type, and the edges (producer, consumer). */
export interface OnnxOracleGraph {
  nodes: string[];
  ops: Record<string, string>;
  edges: [string, string][];
}

/**
 * Exports a torchvision network (random weights, seed 0, opset 13, input "image"), resnet18 unless
 * `net` builds another, to `file` and reads its graph back with onnx: the graph inputs and every node
 * except those computing only from constants (folded, as the viewer draws them), named by node name or
 * first output.
 */
export function exportTorchvisionOnnx(file: string, net = 'torchvision.models.resnet18(weights=None)', size = 224): OnnxOracleGraph {
  return JSON.parse(
    runPython(
      `import sys, json, torch, torchvision, onnx\ntorch.manual_seed(0)\nnet = ${net}.eval()\n` +
        `torch.onnx.export(net, torch.zeros(1, 3, ${size}, ${size}), sys.argv[1], opset_version=13, input_names=["image"])\n` +
        'g = onnx.load(sys.argv[1]).graph\ninits = {t.name for t in g.initializer}\nname = lambda n: n.name or n.output[0]\n' +
        'prod = {i.name: i.name for i in g.input if i.name not in inits}\nconst, nodes = set(inits), []\n' +
        'for n in g.node:\n    ins = [t for t in n.input if t]\n    if n.op_type == "Constant" or (ins and all(t in const for t in ins)): const.update(n.output)\n    else: nodes.append(n)\n' +
        'for n in nodes:\n    for o in n.output: prod[o] = name(n)\n' +
        'edges = sorted({(prod[t], name(n)) for n in nodes for t in n.input if t in prod})\n' +
        'print(json.dumps({"nodes": sorted(list({i for i in prod.values()})), "ops": {name(n): n.op_type for n in nodes}, "edges": edges}))',
      [file],
    ),
  ) as OnnxOracleGraph;
}

/**
 * The drawn graph's geometry, every edge sampled every 2 units along its path: `crossings` lists edges
 * entering a box other than their two ends' (1 unit inset); `sharedLanes` lists pairs of edges with
 * neither end in common whose vertical runs (8 units or longer) lie on the same x (within 3 units) over
 * more than 2 units of height, where one would be drawn on top of the other.
 */
export async function edgeGeometry(page: Page): Promise<{ crossings: string[]; sharedLanes: string[] }> {
  return page.$eval('[data-testid=graph]', (graph) => {
    const boxes = Array.from(graph.querySelectorAll('g.node'), (g) => {
      const [x, y] = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute('transform')!)!.slice(1).map(Number) as [number, number];
      const rect = g.querySelector('rect')!;
      return { name: g.getAttribute('data-layer')!, x, y, w: Number(rect.getAttribute('width')), h: Number(rect.getAttribute('height')) };
    });
    const crossings: string[] = [];
    const runs: { from: string; to: string; x: number; top: number; bottom: number }[] = [];
    for (const path of Array.from(graph.querySelectorAll<SVGPathElement>('path.edge'))) {
      const [from, to] = [path.getAttribute('data-from')!, path.getAttribute('data-to')!];
      const total = path.getTotalLength();
      let crossed = false;
      let run: { x: number; top: number; bottom: number } | undefined;
      for (let at = 0; at <= total + 2; at += 2) {
        const p = path.getPointAtLength(Math.min(at, total));
        const box = boxes.find((b) => b.name !== from && b.name !== to && p.x > b.x + 1 && p.x < b.x + b.w - 1 && p.y > b.y + 1 && p.y < b.y + b.h - 1);
        if (box && !crossed) {
          crossings.push(`${from} -> ${to} crosses ${box.name}`);
          crossed = true;
        }
        if (run && Math.abs(p.x - run.x) < 0.5 && at <= total) {
          run.bottom = p.y;
          continue;
        }
        if (run && run.bottom - run.top >= 8) runs.push({ from, to, ...run });
        run = { x: p.x, top: p.y, bottom: p.y };
      }
    }
    const sharedLanes: string[] = [];
    for (const [i, a] of runs.entries()) {
      for (const b of runs.slice(i + 1)) {
        const over = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (a.from !== b.from && a.to !== b.to && Math.abs(a.x - b.x) < 3 && over > 2) {
          sharedLanes.push(`${a.from} -> ${a.to} and ${b.from} -> ${b.to} at x ${Math.round(a.x)} over ${Math.round(over)}`);
        }
      }
    }
    return { crossings, sharedLanes };
  });
}

export const DIGITS_H5 = fixture('08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');

/**
 * A second checkpoint of the digit recognizer written with h5py: filter 3 of conv2d scaled by 1.5,
 * everything else byte-identical. Returns its path.
 */
export function changedCheckpoint(dir: string): string {
  const out = join(dir, 'digits-changed.h5');
  runPython(
    'import sys, shutil, h5py\nshutil.copyfile(sys.argv[1], sys.argv[2])\n' +
      'with h5py.File(sys.argv[2], "r+") as f:\n    k = f["model_weights/conv2d/conv2d/kernel:0"]\n    v = k[...]\n    v[..., 3] *= 1.5\n    k[...] = v\n',
    [DIGITS_H5, out],
  );
  return out;
}

/** conv2d's kernel value [kh, kw, in, out] as h5py reads it: the oracle for values the page shows. */
export function h5pyKernelValue(index: [number, number, number, number]): number {
  return Number(
    runPython('import sys, h5py\nf = h5py.File(sys.argv[1], "r")\nprint(repr(float(f["model_weights/conv2d/conv2d/kernel:0"][tuple(int(i) for i in sys.argv[2:])])))', [
      DIGITS_H5,
      ...index.map(String),
    ]).trim(),
  );
}

/** Whether a .npy file equals conv2d's kernel sliced with `index` (NumPy syntax) as h5py reads it, bit for bit. */
export function sliceEqualsH5py(npyPath: string, index: string): boolean {
  const out = runPython(
    'import sys, h5py, numpy as np\nk = h5py.File(sys.argv[1], "r")["model_weights/conv2d/conv2d/kernel:0"][...]\n' +
      `s = np.load(sys.argv[2])\nprint(s.dtype == k.dtype and np.array_equal(k${index}, s))`,
    [DIGITS_H5, npyPath],
  );
  return out.trim() === 'True';
}

export interface Pixels {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel. */
  data: number[];
}

/** The RGB pixels of every canvas matching `selector`, as drawn in the page (sent as base64 RGBA). */
export async function canvasPixels(page: Page, selector: string): Promise<Pixels[]> {
  const drawn = await page.$$eval(selector, (canvases) =>
    (canvases as HTMLCanvasElement[]).map((c) => {
      const rgba = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let binary = '';
      for (let i = 0; i < rgba.length; i += 0x8000) binary += String.fromCharCode(...rgba.subarray(i, i + 0x8000));
      return { width: c.width, height: c.height, rgba: btoa(binary) };
    }),
  );
  return drawn.map(({ width, height, rgba }) => {
    const bytes = Buffer.from(rgba, 'base64');
    const data = Array.from({ length: width * height * 3 }, (_, i) => bytes[Math.floor(i / 3) * 4 + (i % 3)]!);
    return { width, height, data };
  });
}

/** Decodes an RGB(A) PNG into RGB pixels. */
export function pngPixels(bytes: Uint8Array): Pixels {
  const png = decode(bytes);
  const channels = png.channels;
  const data: number[] = [];
  for (let i = 0; i < png.width * png.height; i++) data.push(png.data[i * channels]!, png.data[i * channels + 1]!, png.data[i * channels + 2]!);
  return { width: png.width, height: png.height, data };
}

/** How many pixels of `tile` differ from `image` at (x0, y0) (all of them when it does not fit). */
export function differingPixels(image: Pixels, tile: Pixels, x0: number, y0: number): number {
  if (x0 < 0 || y0 < 0 || x0 + tile.width > image.width || y0 + tile.height > image.height) return tile.width * tile.height;
  let differ = 0;
  for (let y = 0; y < tile.height; y++) {
    for (let x = 0; x < tile.width; x++) {
      const a = ((y0 + y) * image.width + x0 + x) * 3;
      const b = (y * tile.width + x) * 3;
      if (image.data[a] !== tile.data[b] || image.data[a + 1] !== tile.data[b + 1] || image.data[a + 2] !== tile.data[b + 2]) differ++;
    }
  }
  return differ;
}

export interface AxeFinding {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/**
 * axe-core's accessibility check of the page as it is now: the serious and critical violations (each
 * rule id, its help text and the first offending elements). The library is evaluated in the page
 * through the test driver, so the viewer's script policy need not allow it.
 */
export async function axeViolations(page: Page): Promise<AxeFinding[]> {
  const source = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.evaluate(source);
  const found = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  })) as AxeFinding[];
  return found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
