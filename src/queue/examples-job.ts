import { buildModel } from '../compute/build.js';
import { withKernelFallback } from '../compute/backend.js';
import { chooseResize, defaultPreprocessing } from '../compute/default-preprocessing.js';
import type { ResizeMode } from '../io/image-fit.js';
import { loadAllImages } from '../data/index.js';
import { folderFit } from '../compute/inputs.js';
import { openModel } from '../formats/open.js';
import { rankExamples, type ExamplesResult, type ExampleStatistic } from '../analyze/examples.js';
import { withExamplesRunner, type RankedNet } from '../analyze/examples-runner.js';
import { loadOnnxNet } from '../compute/onnx-activations.js';
import { onnxGraph } from '../formats/onnx-graph.js';
import type { Model } from '../model/model.js';
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
  /** The forward engine of a Keras / TF.js network: ort (converted in memory, the default) or tfjs; ONNX models run on ort. */
  engine?: 'ort' | 'tfjs';
  shard?: { index: number; of: number };
}

/** The built network of the job's model: ONNX Runtime for an ONNX model, else TensorFlow.js (ranked on ONNX Runtime when it converts). */
async function openNet(model: Model, path: string): Promise<RankedNet> {
  const graph = onnxGraph(model);
  // Not lean: an arena and a plan of activation buffers pay off over a data set's many batches; idle threads sleep, as in withExamplesRunner.
  if (graph) return { engine: 'onnx', net: await loadOnnxNet(path, graph, { lean: false, spinning: false }) };
  return { engine: 'tfjs', net: await buildModel(model) };
}

/** Opens the model and the data, ranks (one shard of) the examples, and closes everything. */
export async function runExamplesJob(job: ExamplesJob, onProgress?: (done: number, total: number) => void): Promise<ExamplesResult> {
  const model = await openModel(job.model, job.config ? { config: job.config } : {});
  try {
    return await withKernelFallback(async () => {
      const target = await openNet(model, job.model);
      try {
        const data = await loadAllImages(job.data, folderFit(target.net, chooseResize(model, job.resize)));
        return await withExamplesRunner(target, job.layer, (runner) =>
          rankExamples(runner, data, {
            model: job.model,
            top: job.top,
            statistic: job.statistic,
            scale: job.scale ?? defaultPreprocessing(model).preset,
            batchSize: job.batchSize,
            ...(job.shard ? { shard: job.shard } : {}),
            ...(onProgress ? { onProgress } : {}),
          }),
          job.engine,
        );
      } finally {
        if (target.engine === 'onnx') await target.net.release();
        else target.net.dispose();
      }
    });
  } finally {
    model.close();
  }
}
