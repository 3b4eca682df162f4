import type { ExamplesResult } from '../analyze/examples.js';
import type { ImageCollection } from '../data/index.js';
import { formatNumber } from '../model/format.js';
import { examplesFigure, type ExampleRow } from '../render/examples.js';
import type { Scene } from '../render/scene.js';

/**
 * What a dataset-examples figure shows: per filter, the receptive-field crop of each top image at its
 * strongest position, with the score. Shared by `convscope examples`, `merge` and the report.
 */

/** The crops of each filter's top images, stretched from the data set's 0..maxValue to 0..255. */
export function exampleRows(result: ExamplesResult, data: ImageCollection, filters?: readonly number[]): ExampleRow[] {
  const wanted = filters ?? Array.from({ length: result.filters }, (_, f) => f);
  const perImage = data.height * data.width * data.channels;
  return wanted.map((filter) => ({
    label: `filter ${filter}`,
    crops: result.ranking
      .filter((e) => e.filter === filter)
      .map((e) => {
        const { top, left, height, width } = e.crop;
        const pixels = new Uint8Array(height * width * data.channels);
        const image = data.images.images.subarray(e.index * perImage, (e.index + 1) * perImage);
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            for (let c = 0; c < data.channels; c++) {
              const v = image[((top + y) * data.width + left + x) * data.channels + c]!;
              pixels[(y * width + x) * data.channels + c] = Math.round((v * 255) / data.maxValue);
            }
          }
        }
        return { height, width, channels: data.channels, data: pixels, caption: formatNumber(e.score, 3) };
      }),
  }));
}

/** The figure of a result: title, what was ranked and how, one row per filter. */
export function examplesScene(result: ExamplesResult, data: ImageCollection, filters?: readonly number[]): Scene {
  return examplesFigure(exampleRows(result, data, filters), {
    title: `top ${keptPerFilter(result)} ${result.data} images per filter of ${result.layer} (${result.statistic} over positions)`,
    lines: [`${result.count} images ranked; ${describeCrops(result)}; number = score`],
  });
}

/** How many images each filter's row holds: the top asked for, or the whole data set when it is smaller. */
export function keptPerFilter(result: ExamplesResult): number {
  return Math.min(result.top, result.count);
}

/** What each crop of a result is: the receptive field of the strongest position, or the whole image and why. */
export function describeCrops(result: ExamplesResult): string {
  const rf = result.receptiveField;
  if (!rf) return `each crop is the whole image: the receptive field is unknown (${result.receptiveFieldUnknown ?? 'not computed'})`;
  return `each crop is the receptive field (${rf.size[0]}x${rf.size[1]} px) of the ${result.statistic === 'max' ? 'strongest' : 'strongest (ranked by the mean)'} position`;
}
