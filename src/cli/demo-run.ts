import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSlice } from '../analyze/slice.js';
import { summarizeModel } from '../views/model-summary.js';
import { runLayers } from '../compute/activations.js';
import { withKernelFallback, backendNote } from '../compute/backend.js';
import { buildModel } from '../compute/build.js';
import { CHECKPOINT_FILES, tfjsLayersFiles, writeDirectoryAtomic } from '../compute/checkpoint.js';
import { DEMO_SEED, questionNetwork } from '../compute/demo-model.js';
import { imageInput } from '../compute/inputs.js';
import { defaultResize } from '../compute/default-preprocessing.js';
import { writeFileAtomic } from '../io/write.js';
import type { Model } from '../model/model.js';
import { openModel } from '../formats/open.js';
import { DEFAULT_MAP_COLORMAP } from '../render/choices.js';
import { demoPage, type DemoPageSection } from '../render/demo-page.js';
import { filterFigure } from '../render/filters.js';
import { activationPngs } from '../views/activations.js';
import { runStory } from './demo-story.js';
import { formatAxes, formatNumber, formatShape, frameworkName } from '../model/format.js';
import { renderSummary } from './inspect-run.js';

/**
 * The steps of `convscope demo`: the classic question answered end to end on a built-in network.
 * Each step is a function returning the lines it prints, so later issues can add steps (training)
 * to `STEPS`. Loaded only when the command runs (it imports TensorFlow.js).
 */

const PHOTO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'assets', 'images', 'rocket.jpg');
const LAYER = 'conv_1';
const FILTER = 6;

interface DemoContext {
  out: string;
  modelPath: string;
  model?: Model;
  /** What the index page shows, step by step. */
  sections: DemoPageSection[];
}

type Step = (ctx: DemoContext) => Promise<string[]>;

const build: Step = async (ctx) => {
  const net = await questionNetwork();
  try {
    const { modelJson, weights } = await tfjsLayersFiles(net);
    await writeDirectoryAtomic(dirname(ctx.modelPath), { [CHECKPOINT_FILES.modelJson]: modelJson, [CHECKPOINT_FILES.weights]: weights });
  } finally {
    net.dispose();
  }
  return [
    '1. Built in TensorFlow.js, as the question defines it in Keras:',
    `   Conv2D(96, (5, 5), activation='relu', input_shape=(64, 160, 1), kernel_initializer=glorot_normal(${DEMO_SEED}),`,
    `          bias_initializer=glorot_uniform(${DEMO_SEED}), padding='same', name='${LAYER}')`,
    `   saved as ${ctx.modelPath} (+ ${CHECKPOINT_FILES.weights})`,
  ];
};

const inspect: Step = async (ctx) => {
  ctx.model = await openModel(ctx.modelPath);
  const table = renderSummary(await summarizeModel(ctx.model), false);
  return ['', `2. Opened with convscope (convscope inspect ${ctx.modelPath}):`, '', ...table.split('\n').map((l) => `   ${l}`)];
};

const oneFilter: Step = async (ctx) => {
  const slice = await readSlice(ctx.model!, { layer: LAYER, filter: FILTER });
  const t = slice.tensor.toAxes(['kh', 'kw', 'in']);
  const rows = Array.from({ length: t.shape[0]! }, (_, i) =>
    Array.from({ length: t.shape[1]! }, (_, j) => formatNumber(t.at({ kh: i, kw: j, in: 0 })).padStart(10)).join(''),
  );
  return [
    '',
    `3. Filter ${FILTER}, the way to get filter j:`,
    `   ${slice.what}: shape ${formatShape(t.shape)} ${formatAxes(t.axes)} = ${slice.expression} in ${frameworkName(ctx.model!.framework)}`,
    `   (convscope weights ${ctx.modelPath} --layer ${LAYER} --filter ${FILTER} --format npy)`,
    ...rows.map((r) => `   ${r}`),
  ];
};

const filters: Step = async (ctx) => {
  const layer = ctx.model!.layers.find((l) => l.name === LAYER)!;
  const kernel = layer.weights.find((w) => w.role === 'kernel')!;
  const figure = filterFigure(await kernel.read(), { title: `${LAYER} kernel ${formatShape(kernel.shape)} ${formatAxes(kernel.axes)}`, layer: LAYER });
  const path = join(ctx.out, `${LAYER}-filters.png`);
  await writeFileAtomic(path, figure.png());
  ctx.sections.push({
    heading: `The question's Conv2D(96, 5x5): every filter of ${LAYER}`,
    lines: [`filter j is kernel[:, :, :, j] in Keras; ${figure.info.filterCount} tiles of 5x5, one shared symmetric scale`],
    images: [{ alt: `${LAYER} filters`, src: `${LAYER}-filters.png` }],
  });
  return ['', `4. All ${figure.info.filterCount} filters, each a 5x5 tile (yes, these squares are the filters): ${path}`];
};

const featureMaps: Step = async (ctx) => {
  const lines = await withKernelFallback(async () => {
    const net = await buildModel(ctx.model!);
    try {
      const input = await imageInput(net, [PHOTO], { preset: 'unit', resize: defaultResize(ctx.model!) });
      const written: string[] = [];
      const node = net.graph.nodes.find((n) => n.layer.name === LAYER)!;
      await runLayers(net, [input.batch], {
        want: (n) => n.id === node.id,
        onActivation: async (a) => {
          for (const { png } of activationPngs(a, ['rocket.jpg'], { cmap: DEFAULT_MAP_COLORMAP, normalize: 'per-channel' })) {
            const path = join(ctx.out, `${LAYER}-activations.png`);
            await writeFileAtomic(path, png);
            ctx.sections.push({
              heading: `What ${LAYER} outputs for a photograph`,
              lines: ['one tile per filter, per-channel scale'],
              images: [{ alt: `${LAYER} feature maps`, src: `${LAYER}-activations.png` }],
            });
            written.push(`${a.name} output ${formatShape(a.shape)}: ${path}`);
          }
        },
      });
      return [`   input: ${input.description[0]}`, ...written.map((w) => `   ${w}`)];
    } finally {
      net.dispose();
    }
  });
  const note = backendNote();
  return ['', `5. What ${LAYER} outputs for a photograph (one tile per filter):`, ...lines, ...(note ? [`   note: ${note}`] : [])];
};

const STEPS: readonly Step[] = [build, inspect, oneFilter, filters, featureMaps];

export async function runDemo(out: string, print: (lines: string[]) => void): Promise<void> {
  const ctx: DemoContext = { out, modelPath: join(out, 'model', CHECKPOINT_FILES.modelJson), sections: [] };
  try {
    for (const step of STEPS) print(await step(ctx));
  } finally {
    ctx.model?.close();
  }
  await runStory(ctx, print);
  const index = join(out, 'index.html');
  await writeFileAtomic(index, demoPage('convscope demo: how to correctly get (and see) the weights of a Conv2D layer', ctx.sections));
  print(['', `10. Everything above, on one page: ${index}`]);
}
