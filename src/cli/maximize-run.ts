import { extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { choosePreprocessing, describePreprocessing } from '../compute/default-preprocessing.js';
import type { MaximizeNet, MaximizeResult } from '../compute/maximize.js';
import { writeFileAtomic } from '../io/write.js';
import { encodeNpy } from '../model/npy.js';
import { UsageError } from '../model/errors.js';
import { formatNumber } from '../model/format.js';
import { parseRange, type MaximizeCliOptions } from './maximize.js';
import { withModel } from './open-model.js';

/** The work of `convscope maximize`, loaded only when the command runs. */

function summary(r: MaximizeResult, out: string, notes: readonly string[]): string {
  const first = r.trace.slice(0, Math.max(1, Math.floor(r.trace.length / 10)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return [
    `${r.layer}: ${r.filters.length} filter${r.filters.length > 1 ? 's' : ''}, ${r.objective} objective, ${r.trace.length} steps, ${r.width}x${r.height}x${r.channels} images`,
    `mean objective: first tenth of the steps ${formatNumber(mean(first))}, final images ${formatNumber(mean(r.final))}`,
    `the network's gradient ran on ${r.engine}`,
    ...notes,
    `-> ${out}`,
  ].join('\n');
}

export async function runMaximize(path: string, options: MaximizeCliOptions): Promise<void> {
  if (options.filter !== undefined && options.filters) throw new UsageError('Give --filter j or --filters first-last, not both.');
  const out = options.out ?? `${options.layer.replace(/[^\w.@-]+/g, '_')}-maximize.${options.format}`;
  if (extname(out).toLowerCase() !== `.${options.format}`) throw new UsageError(`--out '${out}' does not end in .${options.format}, the --format.`);
  await withModel(path, options, async (model) => {
    const { maximize, layerFilterCount } = await import('../compute/maximize.js');
    const { preset: pixels, reason } = choosePreprocessing(model, options.preprocess);
    const run = async (net: MaximizeNet): Promise<MaximizeResult> => {
      const filters = options.filter !== undefined ? [options.filter] : (options.filters ?? parseRange(`0-${Math.min(16, await layerFilterCount(net, options.layer)) - 1}`));
      const bar = process.stderr.isTTY ? new SingleBar({ format: 'maximize [{bar}] {value}/{total} steps, objective {objective}, ETA {eta}s', hideCursor: true }) : undefined;
      bar?.start(options.steps, 0, { objective: '-' });
      try {
        return await maximize(net, {
          layer: options.layer,
          filters,
          objective: options.objective,
          steps: options.steps,
          learningRate: options.lr,
          seed: options.seed,
          transforms: options.transforms === 'on',
          tv: options.tv,
          l2: options.l2,
          pixels,
          onStep: (step, _steps, value) => bar?.update(step, { objective: formatNumber(value) }),
        });
      } finally {
        bar?.stop();
      }
    };
    const { onnxGraph } = await import('../formats/onnx-graph.js');
    const graph = onnxGraph(model);
    const { withKernelFallback } = await import('../compute/backend.js');
    const result = await withKernelFallback(async () => {
      if (graph) {
        const { loadOnnxNet } = await import('../compute/onnx-activations.js');
        const net = await loadOnnxNet(path, graph);
        try {
          return await run(net);
        } finally {
          await net.release();
        }
      }
      const { buildModel } = await import('../compute/build.js');
      const net = await buildModel(model);
      try {
        return await run(net);
      } finally {
        net.dispose();
      }
    });
    const { maximizeNotes, maximizeScene } = await import('../views/maximize-view.js');
    if (options.format === 'npy') await writeFileAtomic(out, encodeNpy(result.images, [result.filters.length, result.height, result.width, result.channels]));
    else {
      const { sceneToPng } = await import('../render/scene-png.js');
      await writeFileAtomic(out, sceneToPng(maximizeScene(result, { transforms: options.transforms, tv: options.tv, l2: options.l2, seed: options.seed })));
    }
    process.stdout.write(`${summary(result, out, maximizeNotes(result))}\n${reason ? `pixels: ${describePreprocessing({ preset: pixels, reason })}\n` : ''}`);
  });
}
