import { buildModel } from '../compute/build.js';
import { withKernelFallback } from '../compute/backend.js';
import { chooseResize, defaultPreprocessing } from '../compute/default-preprocessing.js';
import type { ResizeMode } from '../io/image-fit.js';
import { loadAllImages } from '../data/index.js';
import { folderFit } from '../compute/inputs.js';
import { openModel } from '../formats/open.js';
import { rankExamples, type ExamplesResult, type ExampleStatistic } from '../analyze/examples.js';
import type { Preset } from '../compute/choices.js';

/**
 * One examples run described as plain JSON, so that it can travel as a queue job: the model and the
 * data are named by path and spec, which must mean the same files on the machine that runs it.
 */
export interface ExamplesJob {
  model: string;
  config?: string;
  layer: string;
  data: string;
  top: number;
  statistic: ExampleStatistic;
  /** The preprocessing preset; without one, the model's own (compute/default-preprocessing.ts), decided where the model is. */
  scale?: Preset;
  /** How a folder's photographs are fitted to the input size; without one, the model's own, decided where the model is. */
  resize?: ResizeMode;
  batchSize: number;
  shard?: { index: number; of: number };
}

/** Opens the model and the data, ranks (one shard of) the examples, and closes everything. */
export async function runExamplesJob(job: ExamplesJob, onProgress?: (done: number, total: number) => void): Promise<ExamplesResult> {
  const model = await openModel(job.model, job.config ? { config: job.config } : {});
  try {
    return await withKernelFallback(async () => {
      const net = await buildModel(model);
      try {
        const data = await loadAllImages(job.data, folderFit(net, chooseResize(model, job.resize)));
        return await rankExamples(net, data, {
          model: job.model,
          layer: job.layer,
          top: job.top,
          statistic: job.statistic,
          scale: job.scale ?? defaultPreprocessing(model).preset,
          batchSize: job.batchSize,
          ...(job.shard ? { shard: job.shard } : {}),
          ...(onProgress ? { onProgress } : {}),
        });
      } finally {
        net.dispose();
      }
    });
  } finally {
    model.close();
  }
}
