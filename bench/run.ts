/**
 * `npm run bench`: every benchmark side by side with its peer, in one run, as a table of ratios.
 *
 *   npm run bench [-- --rounds 5] [-- --only forest,help] [-- --no-build]
 *
 * How it measures, so that the figures can be trusted on a shared 2-core machine:
 * - every side runs as its own process, started through `/usr/bin/time`, whose wait4() rusage of that
 *   one child gives the peak RSS from outside (a child spawned straight from this big Node process would
 *   report this process's high-water mark as its own); wall time is taken here around the process;
 * - work that is timed inside the process (the library in-process, a training step) is reported by the
 *   child as JSON on its last output line;
 * - sides are interleaved round by round, in alternating order, and the table shows medians;
 * - peers that can use threads run at 1 and at 2 threads, each as its own column;
 * - the load average is printed before and after each row and written with the table.
 *
 * convscope runs as users run it: the built package (`dist/`) under plain node. The table is printed
 * and written to bench/.data/results.md. Generated inputs are kept in bench/.data/ (gitignored).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../src/data/index.js';
import { encodeNpy } from '../src/model/npy.js';
import { generateLargeH5, LARGE_H5_KERNEL } from './large-h5.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = join(ROOT, 'bench');
const DATA = join(BENCH, '.data');
const DIST = join(ROOT, 'dist');
const CLI = join(DIST, 'cli', 'main.js');
const PYTHON = '/usr/bin/python3';
const TIME = '/usr/bin/time';
const NODE = process.execPath;

const argv = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const ROUNDS = Number(option('--rounds') ?? 5);
const ONLY = option('--only')?.split(',');

interface Measure {
  wallMs: number;
  /** User + system CPU time of the process (a busy machine stretches wall time, much less CPU time). */
  cpuMs: number;
  rssMiB: number;
  /** The child's own JSON report (its last stdout line), when it prints one. */
  report?: { ms?: number; cpu?: number; faults?: number; accuracy?: number; largest?: number; check?: string; parts?: Record<string, number> };
}

interface Side {
  label: string;
  command: string;
  args: (round: number) => string[];
  env?: Record<string, string>;
}

/** Runs one side once under /usr/bin/time: wall time measured here, peak RSS from wait4() of that child. */
function measure(side: Side, round: number): Measure {
  const scratch = mkdtempSync(join(tmpdir(), 'convscope-bench-'));
  const rssFile = join(scratch, 'rss');
  try {
    const start = performance.now();
    const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, side.command, ...side.args(round)], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, ...side.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    const wallMs = performance.now() - start;
    if (r.status !== 0) throw new Error(`${side.label} failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
    const [rssKiB, user, system] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number) as [number, number, number];
    const last = r.stdout.trim().split('\n').pop() ?? '';
    const report = last.startsWith('{') ? (JSON.parse(last) as Measure['report']) : undefined;
    return { wallMs, cpuMs: (user + system) * 1000, rssMiB: rssKiB / 1024, ...(report ? { report } : {}) };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** All sides interleaved: round r runs them in order, round r + 1 in reverse order. */
function interleave(sides: Side[], rounds: number): Measure[][] {
  const out = sides.map(() => [] as Measure[]);
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) out[i]!.push(measure(sides[i]!, r));
  }
  return out;
}

interface TableRow {
  work: string;
  ours: string;
  peers: string;
  ratio: string;
  goal: string;
  met: boolean;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1)) + ' ms';
const mib = (x: number) => x.toFixed(0) + ' MiB';

/**
 * A ratio row: ours against the reference peer (index `reference`, or 'best': the peer's fastest setting,
 * where threads should not matter and a busy machine slows one setting at random), every peer listed.
 */
function ratioRow(work: string, value: (m: Measure) => number, fmt: (x: number) => string, ours: Measure[], peers: { label: string; runs: Measure[] }[], goal: number, reference: number | 'best' = 0): TableRow {
  const o = median(ours.map(value));
  const p = peers.map((s) => ({ label: s.label, v: median(s.runs.map(value)) }));
  const ratios = p.map((x) => o / x.v);
  const against = reference === 'best' ? ratios.indexOf(Math.max(...ratios)) : reference;
  return {
    work,
    ours: fmt(o),
    peers: p.map((x) => `${x.label} ${fmt(x.v)}`).join('; '),
    ratio: ratios.map((r, i) => `${r.toFixed(2)}x${p.length > 1 ? ` (${p[i]!.label})` : ''}`).join(', '),
    goal: `≤ ${goal.toFixed(1)}x${p.length > 1 ? ` ${reference === 'best' ? 'the fastest peer' : p[against]!.label}` : ''}`,
    met: ratios[against]! <= goal,
  };
}

function checks(label: string, runs: Measure[]): string {
  return `${label}: ${[...new Set(runs.map((m) => m.report?.check ?? ''))].join(' | ')}`;
}

interface Scenario {
  name: string;
  prepare?: () => Promise<void> | void;
  rows: () => TableRow[];
}

const node = (label: string, args: (round: number) => string[]): Side => ({ label, command: NODE, args });
const python = (label: string, args: (round: number) => string[], threads?: number): Side => ({
  label,
  command: PYTHON,
  args,
  env: threads ? { OMP_NUM_THREADS: String(threads), MKL_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) } : {},
});

const LARGE_H5 = join(DATA, 'vgg16-like-keras2.h5');
const SMALL_H5 = join(ROOT, '..', 'shared', 'fixtures', '08_xfmt_keras2h5_tfjs', 'digit-recognizer-model.h5');
const SMALL_H5_LAYER = 'conv2d_1';
const RESNET = join(DATA, 'resnet18.pt');
const RESNET_ONNX = join(DATA, 'resnet18.onnx');
const VGG16_ONNX = join(DATA, 'vgg16.onnx');
const IMAGE = join(ROOT, '..', 'shared', 'images', 'chelsea.png');
const DIGITS = join(DATA, 'digits');
const notes: string[] = [];
/**
 * Benchmarks that print their own comparison (the forward engine's), or their own targets (rendering and
 * the viewer in Chromium on the VGG16-like h5, which have no peer).
 */
const EXTRAS = ['forward.ts', 'render-vgg16.ts', 'attribute.ts', 'viewer-vgg16.ts'];

const scenarios: Scenario[] = [
  {
    name: 'help',
    rows() {
      const [ours, peer] = interleave([node('convscope', () => [CLI, '--help']), python('h5py', () => ['-c', 'import h5py'])], ROUNDS * 2);
      return [
        ratioRow('`convscope --help` (process)', (m) => m.wallMs, ms, ours!, [{ label: "`python3 -c 'import h5py'`", runs: peer! }], 1.0),
        ratioRow('same, CPU time (user + system)', (m) => m.cpuMs, ms, ours!, [{ label: "`python3 -c 'import h5py'`", runs: peer! }], 1.0),
      ];
    },
  },
  {
    name: 'large-h5',
    prepare: async () => {
      if (!existsSync(LARGE_H5)) await generateLargeH5(LARGE_H5);
    },
    rows() {
      const size = `${(statSync(LARGE_H5).size / 1e6).toFixed(0)} MB`;
      const [cli, h5pyCli, lib, h5pyLib] = interleave(
        [
          node('convscope', () => [CLI, 'inspect', LARGE_H5]),
          python('h5py', () => [join(BENCH, 'peers', 'open-h5.py'), LARGE_H5, LARGE_H5_KERNEL]),
          node('convscope library', () => [join(BENCH, 'children', 'open-h5.mjs'), DIST, LARGE_H5, LARGE_H5_KERNEL]),
          python('h5py library', () => [join(BENCH, 'peers', 'open-h5.py'), LARGE_H5, LARGE_H5_KERNEL]),
        ],
        ROUNDS,
      );
      notes.push(checks('large h5, convscope library', lib!), checks('large h5, h5py', h5pyLib!));
      const parts = (runs: Measure[]) => Object.keys(runs[0]!.report!.parts!).map((k) => `${k} ${ms(median(runs.map((m) => m.report!.parts![k]!)))}`).join(', ');
      notes.push(`large h5 in-process parts: convscope ${parts(lib!)}; h5py ${parts(h5pyLib!)}`);
      return [
        ratioRow(`\`inspect\` a ${size} Keras h5 (process; h5py lists and reads a kernel)`, (m) => m.wallMs, ms, cli!, [{ label: 'h5py', runs: h5pyCli! }], 1.5),
        ratioRow('same, CPU time (user + system)', (m) => m.cpuMs, ms, cli!, [{ label: 'h5py', runs: h5pyCli! }], 1.5),
        ratioRow(`same, peak RSS (from outside)`, (m) => m.rssMiB, mib, cli!, [{ label: 'h5py', runs: h5pyCli! }], 1.5),
        ratioRow('same, library in-process (import + open + list + read kernel)', (m) => m.report!.ms!, ms, lib!, [{ label: 'h5py', runs: h5pyLib! }], 1.2),
      ];
    },
  },
  {
    name: 'small-h5',
    rows() {
      const size = `${(statSync(SMALL_H5).size / 1e3).toFixed(0)} KB`;
      const [cli, peer] = interleave(
        [node('convscope', () => [CLI, 'inspect', SMALL_H5]), python('h5py', () => [join(BENCH, 'peers', 'open-h5.py'), SMALL_H5, SMALL_H5_LAYER])],
        ROUNDS * 2,
      );
      return [
        ratioRow(`\`inspect\` a ${size} Keras h5 (process)`, (m) => m.wallMs, ms, cli!, [{ label: 'h5py', runs: peer! }], 1.5),
        ratioRow('same, CPU time (user + system)', (m) => m.cpuMs, ms, cli!, [{ label: 'h5py', runs: peer! }], 1.5),
      ];
    },
  },
  {
    name: 'checkpoint',
    prepare: () => {
      if (!existsSync(RESNET) || !existsSync(RESNET_ONNX)) run(PYTHON, [join(BENCH, 'peers', 'make-resnet18.py'), RESNET, RESNET_ONNX]);
    },
    rows() {
      const [ours, t1, t2, oursCold, t1Cold, oursOnnx, onnxPeer] = interleave(
        [
          node('convscope', () => [join(BENCH, 'children', 'read-checkpoint.mjs'), DIST, RESNET, '5']),
          python('torch 1 thr', () => [join(BENCH, 'peers', 'read-checkpoint.py'), RESNET, '5', '1'], 1),
          python('torch 2 thr', () => [join(BENCH, 'peers', 'read-checkpoint.py'), RESNET, '5', '2'], 2),
          node('convscope first load', () => [join(BENCH, 'children', 'read-checkpoint.mjs'), DIST, RESNET, '0']),
          python('torch first load', () => [join(BENCH, 'peers', 'read-checkpoint.py'), RESNET, '0', '1'], 1),
          node('convscope onnx', () => [join(BENCH, 'children', 'read-checkpoint.mjs'), DIST, RESNET_ONNX, '5']),
          python('onnx.load', () => [join(BENCH, 'peers', 'read-onnx.py'), RESNET_ONNX, '5'], 1),
        ],
        ROUNDS,
      );
      notes.push(checks('resnet18.pt, convscope', ours!), checks('resnet18.pt, torch', t1!));
      notes.push(checks('resnet18.onnx, convscope', oursOnnx!), checks('resnet18.onnx, onnx', onnxPeer!));
      // Where a warm loop's time goes: the first touch of memory the process has not used yet.
      const faults = (runs: Measure[]) => median(runs.map((m) => m.report!.faults!)).toFixed(0);
      notes.push(
        `resnet18.pt minor page faults per load (median): warm loop convscope ${faults(ours!)}, torch ${faults(t1!)}; ` +
          `first load convscope ${faults(oursCold!)}, torch ${faults(t1Cold!)}`,
      );
      return [
        ratioRow('read every tensor of resnet18.pt, in-process, warm loop (`torch.load(weights_only=True)`)', (m) => m.report!.ms!, ms, ours!, [
          { label: '1 thr', runs: t1! },
          { label: '2 thr', runs: t2! },
        ], 1.5, 'best'),
        ratioRow('same, CPU time of the process in-process (user + system)', (m) => m.report!.cpu!, ms, ours!, [
          { label: '1 thr', runs: t1! },
          { label: '2 thr', runs: t2! },
        ], 1.5, 'best'),
        ratioRow('same, the first load in a process (after the import)', (m) => m.report!.ms!, ms, oursCold!, [{ label: 'torch', runs: t1Cold! }], 1.5),
        ratioRow('read every initializer of resnet18.onnx, in-process (`onnx.load` + `numpy_helper.to_array`)', (m) => m.report!.ms!, ms, oursOnnx!, [
          { label: 'onnx', runs: onnxPeer! },
        ], 1.5),
      ];
    },
  },
  {
    name: 'train',
    rows() {
      const [ours, t1, t2] = interleave(
        [
          node('convscope', () => [join(BENCH, 'children', 'train-step.mjs'), DIST, '5']),
          python('PyTorch 1 thr', () => [join(BENCH, 'peers', 'train-step.py'), '5', '1'], 1),
          python('PyTorch 2 thr', () => [join(BENCH, 'peers', 'train-step.py'), '5', '2'], 2),
        ],
        ROUNDS,
      );
      notes.push(checks('train step, convscope', ours!));
      return [
        ratioRow('one SGD step, small CIFAR CNN, batch 64 (median of 5 steps per process)', (m) => m.report!.ms!, ms, ours!, [
          { label: 'PyTorch 1 thr', runs: t1! },
          { label: 'PyTorch 2 thr', runs: t2! },
        ], 2.0, 'best'),
      ];
    },
  },
  {
    name: 'forest',
    rows() {
      const seeds = [0, 1, 2];
      const seedOf = (round: number) => String(seeds[round % seeds.length]);
      const [ours, s1, s2] = interleave(
        [
          node('convscope', (r) => [join(BENCH, 'children', 'forest.mjs'), DIST, seedOf(r), '9']),
          python('sklearn n_jobs=1', (r) => [join(BENCH, 'peers', 'forest.py'), DIGITS, seedOf(r), '9', '1'], 1),
          python('sklearn n_jobs=2', (r) => [join(BENCH, 'peers', 'forest.py'), DIGITS, seedOf(r), '9', '2'], 2),
        ],
        Math.max(ROUNDS, seeds.length),
      );
      const gap = seeds.map((_, i) => 100 * (ours![i]!.report!.accuracy! - s1![i]!.report!.accuracy!));
      notes.push(checks('forest, convscope', ours!), checks('forest, sklearn', s1!));
      const worst = Math.min(...gap);
      return [
        ratioRow(`random forest predict, ${ours![0]!.report!.check!.split(' ')[2]} digits, 100 trees`, (m) => m.report!.ms!, ms, ours!, [
          { label: 'sklearn n_jobs=1', runs: s1! },
          { label: 'sklearn n_jobs=2', runs: s2! },
        ], 1.0),
        {
          work: 'same, test accuracy minus scikit-learn, seeds 0 1 2 (points)',
          ours: gap.map((g) => (g >= 0 ? '+' : '') + g.toFixed(2)).join(' '),
          peers: s1!.slice(0, 3).map((m) => (100 * m.report!.accuracy!).toFixed(2) + ' %').join(' '),
          ratio: `worst ${worst.toFixed(2)}`,
          goal: '≥ -0.5 in every seed',
          met: worst >= -0.5,
        },
      ];
    },
  },
  {
    name: 'filters-all',
    prepare: async () => {
      if (!existsSync(LARGE_H5)) await generateLargeH5(LARGE_H5);
    },
    rows() {
      const out = mkdtempSync(join(tmpdir(), 'convscope-bench-filters-'));
      try {
        const [ours, peer] = interleave(
          [
            node('convscope', () => [CLI, 'filters', LARGE_H5, '--layer', 'all', '--out', out]),
            python('h5py', () => [join(BENCH, 'peers', 'read-kernels.py'), LARGE_H5]),
          ],
          Math.min(ROUNDS, 3),
        );
        const largestMiB = peer![0]!.report!.largest! / 2 ** 20;
        const bound = 1.2 * largestMiB + 150;
        const o = median(ours!.map((m) => m.rssMiB));
        return [
          {
            work: '`filters --layer all` on the VGG16-like h5: peak RSS (from outside)',
            ours: `${mib(o)} (${ms(median(ours!.map((m) => m.wallMs)))})`,
            peers: `h5py reading each kernel once ${mib(median(peer!.map((m) => m.rssMiB)))}; largest layer ${mib(largestMiB)}`,
            ratio: `${(o / largestMiB).toFixed(2)}x largest layer`,
            goal: `≤ 1.2x largest + 150 MiB = ${mib(bound)}`,
            met: o <= bound,
          },
        ];
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  },
  {
    name: 'onnx-forward',
    prepare: () => {
      if (!existsSync(VGG16_ONNX)) run(PYTHON, [join(BENCH, 'peers', 'make-vgg16-onnx.py'), VGG16_ONNX]);
    },
    rows() {
      const out = mkdtempSync(join(tmpdir(), 'convscope-bench-activations-'));
      try {
        const [ours, t1, t2] = interleave(
          [
            node('convscope', () => [CLI, 'activations', VGG16_ONNX, '--image', IMAGE, '--out', out]),
            python('PyTorch 1 thr', () => [join(BENCH, 'peers', 'forward-vgg16.py'), IMAGE, '1'], 1),
            python('PyTorch 2 thr', () => [join(BENCH, 'peers', 'forward-vgg16.py'), IMAGE, '2'], 2),
          ],
          Math.min(ROUNDS, 3),
        );
        const file = `${(statSync(VGG16_ONNX).size / 1e6).toFixed(0)} MB`;
        return [
          ratioRow(`\`activations\` of VGG16 exported to ONNX (${file}) on one image: peak RSS (from outside; PyTorch runs the same network eagerly)`, (m) => m.rssMiB, mib, ours!, [
            { label: 'PyTorch 1 thr', runs: t1! },
            { label: 'PyTorch 2 thr', runs: t2! },
          ], 1.2, 'best'),
        ];
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    },
  },
];

function run(command: string, args: string[]): void {
  const r = spawnSync(command, args, { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
}

async function writeDigitsSplits(): Promise<void> {
  mkdirSync(DIGITS, { recursive: true });
  for (const seed of [0, 1, 2]) {
    const data = await loadDataset('digits', { seed });
    const files = { xtr: data.train.images, ytr: data.train.labels, xte: data.test.images, yte: data.test.labels };
    for (const [name, values] of Object.entries(files)) {
      writeFileSync(join(DIGITS, `${name}-${seed}.npy`), encodeNpy(values, name.startsWith('x') ? [values.length / 64, 64] : [values.length]));
    }
  }
}

async function main(): Promise<void> {
  if (spawnSync(PYTHON, ['-c', 'import h5py, torch, torchvision, sklearn'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`${PYTHON} cannot import h5py, torch, torchvision and sklearn: the peers are missing, nothing to compare with.`);
  }
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: peak RSS cannot be measured from outside the child.`);
  mkdirSync(DATA, { recursive: true });
  if (argv.includes('--no-build')) {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (or drop --no-build).`);
  } else {
    console.log('building dist/ ...');
    run('npm', ['run', '--silent', 'build']);
  }
  await writeDigitsSplits();
  const chosen = scenarios.filter((s) => !ONLY || ONLY.includes(s.name));
  for (const s of chosen) await s.prepare?.();
  const startLoad = load();
  const rows: TableRow[] = [];
  for (const s of chosen) {
    const before = load();
    const t = performance.now();
    const got = s.rows();
    console.log(`${s.name}: ${((performance.now() - t) / 1000).toFixed(0)} s, load ${before} -> ${load()}`);
    for (const r of got) console.log(`  ${r.work}: ${r.ours} vs ${r.peers} = ${r.ratio} (goal ${r.goal}) ${r.met ? 'met' : 'NOT met'}`);
    rows.push(...got);
  }
  const header = `convscope benchmarks, ${new Date().toISOString()}: medians of ${ROUNDS} interleaved rounds on ${cpus().length} cores; ` +
    `/proc/loadavg at start ${startLoad}, at end ${load()}`;
  const table = [
    '| work | convscope | peer | ratio | goal | met |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.work} | ${r.ours} | ${r.peers} | ${r.ratio} | ${r.goal} | ${r.met ? 'yes' : 'NO'} |`),
  ].join('\n');
  const text = `${header}\n\n${table}\n\nchecks (both sides must read the same values):\n${notes.map((n) => `- ${n}`).join('\n')}\n`;
  console.log(`\n${text}`);
  writeFileSync(join(DATA, 'results.md'), text);
  console.log(`written to ${join(DATA, 'results.md')}`);
  if (ONLY) return;
  for (const extra of EXTRAS) {
    console.log(`\n== bench/${extra} (load ${load()}) ==`);
    run(NODE, ['--import', 'tsx', join(BENCH, extra)]);
  }
}

await main();
