import { dirname, basename, extname, join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { ProbeResult } from '../analyze/probe.js';
import { networkInput } from '../compute/build.js';
import { choosePreprocessing, chooseResize, describePreprocessing, describeResize } from '../compute/default-preprocessing.js';
import { folderFit } from '../compute/inputs.js';
import { loadDataset, parseDataSpec } from '../data/index.js';
import { writeFileAtomic } from '../io/write.js';
import { encodeNpy } from '../model/npy.js';
import { formatNumber, formatPercent } from '../model/format.js';
import { table } from './format.js';
import { withModel } from './open-model.js';
import type { ProbeCliOptions } from './probe.js';

/** The work of `convscope probe`, loaded only when the command runs. */

export function renderProbe(r: ProbeResult): string {
  const classifier = r.classifier === 'random-forest' ? 'random forest' : 'logistic regression';
  return [
    `probe of layer ${r.layer} on ${r.dataset}: ${r.trainCount} train / ${r.testCount} test images, ` +
      `${r.features} features (${r.featureDim} per image), ${classifier}`,
    '',
    table([
      ['input to the classifier', 'test accuracy'],
      ['raw pixels', formatPercent(r.accuracy.rawPixels)],
      [`${r.layer}, untrained (re-initialized, seed ${r.seed})`, formatPercent(r.accuracy.untrained)],
      [`${r.layer}, trained`, formatPercent(r.accuracy.trained)],
    ]),
    '',
    `trained minus untrained: ${formatNumber((r.accuracy.trained - r.accuracy.untrained) * 100, 3)} points`,
  ].join('\n');
}

function exportPaths(path: string): { features: string; labels: string } {
  const ext = extname(path) || '.npy';
  const base = join(dirname(path), basename(path, extname(path)));
  return { features: `${base}${ext}`, labels: `${base}.labels${ext}` };
}

export async function runProbe(path: string, options: ProbeCliOptions): Promise<void> {
  await withModel(path, options, async (model) => {
    // A folder's photographs are fitted to the network's input as every other surface fits a photo.
    const fit = parseDataSpec(options.data).kind === 'folder' ? chooseResize(model, options.resize) : undefined;
    const size = fit ? folderFit(await networkInput(model), fit) : undefined;
    const data = await loadDataset(options.data, { seed: options.seed, ...(size ? { size } : {}) });
    if (fit && size && !options.json) process.stdout.write(`photographs fitted to ${size.width}x${size.height}: ${describeResize(fit)}\n`);
    const preprocessing = choosePreprocessing(model, options.scale);
    if (!options.json) process.stdout.write(`pixels: ${describePreprocessing(preprocessing)}\n`);
    const bar = process.stderr.isTTY && !options.json ? new SingleBar({ format: '{stage} [{bar}] {value}/{total}', hideCursor: true }) : undefined;
    let stage = '';
    const { probeLayer } = await import('../analyze/probe.js');
    const result = await probeLayer(model, data, {
      layer: options.layer,
      features: options.features,
      classifier: options.classifier,
      preset: preprocessing.preset,
      seed: options.seed,
      trees: options.trees,
      onProgress: (name, done, total) => {
        if (!bar) return;
        if (name !== stage) {
          if (stage) bar.stop();
          stage = name;
          bar.start(total, done, { stage: name });
        } else bar.update(done);
      },
    });
    bar?.stop();
    if (options.export) {
      const paths = exportPaths(options.export);
      const f = result.trainedFeatures;
      await writeFileAtomic(paths.features, encodeNpy(f.data, [f.count, f.dim]));
      await writeFileAtomic(paths.labels, encodeNpy(new Int32Array([...data.train.labels, ...data.test.labels]), [f.count]));
      process.stderr.write(
        `wrote ${paths.features} (${f.count} x ${f.dim}; rows 0-${result.trainCount - 1} train, ${result.trainCount}-${f.count - 1} test) and ${paths.labels}\n`,
      );
    }
    if (options.json) {
      const { trainedFeatures: _omit, ...rest } = result;
      process.stdout.write(`${JSON.stringify(rest, null, 2)}\n`);
    } else {
      process.stdout.write(`${renderProbe(result)}\n`);
    }
  });
}
