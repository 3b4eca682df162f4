import { basename, extname } from 'node:path';
import { SingleBar } from 'cli-progress';
import { attribute, attributeOnnx, type Attribution, type AttributeOptions } from '../analyze/attribute.js';
import { loadOnnxNet } from '../compute/onnx-activations.js';
import { onnxGraph } from '../formats/onnx-graph.js';
import { backendNote, withKernelFallback } from '../compute/backend.js';
import { buildModel } from '../compute/build.js';
import type { PreparedInput } from '../compute/inputs.js';
import { classLabels } from '../views/activations.js';
import { writeFileAtomic } from '../io/write.js';
import { UsageError } from '../model/errors.js';
import { sceneToPng } from '../render/scene-png.js';
import { encodeNpy } from '../model/npy.js';
import type { AttributeCliOptions } from './attribute.js';
import { formatNumber } from '../model/format.js';
import { arrayPicture, attributionScene, completenessLine, describeAttribution, emptyMapNote, mapExtent, METHOD_NAMES, topClasses } from '../views/attribution-view.js';
import { withModel } from './open-model.js';
import { flaggedInput } from './input-flags.js';

/** The work of `convscope attribute`, loaded only when the command runs (it imports TensorFlow.js). */

function outputPath(options: AttributeCliOptions): string {
  if (options.out) {
    if (extname(options.out).toLowerCase() !== `.${options.format}`) throw new UsageError(`--out '${options.out}' does not end in .${options.format}, the --format.`);
    return options.out;
  }
  const source = options.image ?? options.input!;
  return `${basename(source, extname(source))}-${options.method}.${options.format}`;
}

function settingsOf(options: AttributeCliOptions, onProgress: (done: number, total: number) => void): AttributeOptions {
  return {
    method: options.method,
    ...(options.class !== undefined ? { classIndex: options.class } : {}),
    ...(options.layer ? { layer: options.layer } : {}),
    steps: options.steps,
    baseline: options.baseline,
    ...(options.window ? { window: options.window } : {}),
    ...(options.stride ? { stride: options.stride } : {}),
    samples: options.samples,
    noise: options.noise,
    seed: options.seed,
    onProgress,
  };
}

/** A progress bar for methods with several passes (shown on a terminal only). */
function progress(options: AttributeCliOptions): { update: (done: number, total: number) => void; stop: () => void } {
  const bar = process.stderr.isTTY ? new SingleBar({ format: `${METHOD_NAMES[options.method]} [{bar}] {value}/{total} passes, ETA {eta}s`, hideCursor: true }) : undefined;
  let started = false;
  return {
    update: (done, total) => {
      if (!bar || total < 2) return;
      if (!started) bar.start(total, 0);
      started = true;
      bar.update(done);
    },
    stop: () => {
      if (started) bar?.stop();
    },
  };
}

/** Prints what was explained and writes the figure or the raw map. */
async function report(r: Attribution, input: PreparedInput, channelsFirst: boolean, labels: readonly string[] | undefined, options: AttributeCliOptions, out: string): Promise<string[]> {
  const top = topClasses(r, labels, options.top);
  const completeness = completenessLine(r);
  const [min, max] = mapExtent(r);
  const empty = emptyMapNote(r);
  const text = [
    ...input.description.map((d) => `input: ${d}`),
    `top ${top.length} outputs: ${top.join(', ')}`,
    describeAttribution(r, labels),
    `settings: ${r.settings}`,
    `ran on ${r.engine}`,
    ...(completeness ? [completeness] : []),
    `map ${r.map.height}x${r.map.width}, range [${formatNumber(min)}, ${formatNumber(max)}] -> ${out}`,
    ...(empty ? [`note: ${empty} (--layer, --method)`] : []),
  ];
  if (options.format === 'npy') {
    await writeFileAtomic(out, encodeNpy(r.map.data, [r.map.height, r.map.width]));
  } else {
    const picture = input.images?.[0] ?? arrayPicture(input, channelsFirst);
    const scene = attributionScene(r, picture, labels, { source: basename(options.image ?? options.input!), top: options.top, ...(options.cmap ? { colormap: options.cmap } : {}) });
    await writeFileAtomic(out, sceneToPng(scene));
  }
  return text;
}

/** Runs `convscope attribute`: gradients on ONNX Runtime where the graph's backward pass can be built (else TensorFlow.js for Keras / TF.js models). */
export async function runAttribute(path: string, options: AttributeCliOptions): Promise<void> {
  const out = outputPath(options);
  await withModel(path, options, async (model) => {
    const labels = await classLabels(model, options.labels);
    const graph = onnxGraph(model);
    const bar = progress(options);
    if (graph) {
      const net = await loadOnnxNet(path, graph);
      try {
        const input = await flaggedInput(net, model, options);
        const r = await attributeOnnx(net, input.batch, settingsOf(options, bar.update));
        bar.stop();
        process.stdout.write(`${(await report(r, input, true, labels, options, out)).join('\n')}\n`);
      } finally {
        await net.release();
      }
      return;
    }
    const lines = await withKernelFallback(async () => {
      const net = await buildModel(model);
      try {
        const input = await flaggedInput(net, model, options);
        const r = await attribute(net, input.batch, settingsOf(options, bar.update));
        bar.stop();
        return report(r, input, net.channelsFirst, labels, options, out);
      } finally {
        net.dispose();
      }
    });
    const note = backendNote();
    process.stdout.write(`${lines.join('\n')}\n${note ? `note: ${note}\n` : ''}`);
  });
}
