import { trackTemporary } from '../io/temp-files.js';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { encodeSafetensors } from '../formats/safetensors-write.js';
import { tf } from './backend.js';
import { layerWeights } from './model-weights.js';
import { toTorchTensor } from './torch-layout.js';

/** File names inside a checkpoint directory. */
export const CHECKPOINT_FILES = { modelJson: 'model.json', weights: 'weights.bin', safetensors: 'model.safetensors' } as const;

/**
 * Writes files into `dir` all or nothing: they go to a hidden sibling directory first, which then
 * replaces `dir` in one rename, so a reader never sees a model.json without its weights.
 */
export async function writeDirectoryAtomic(dir: string, files: Readonly<Record<string, Uint8Array | string>>): Promise<void> {
  const tmp = join(dirname(dir), `.${basename(dir)}.${process.pid}.${Date.now()}.tmp`);
  const done = trackTemporary(tmp);
  await mkdir(tmp, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) await writeFile(join(tmp, name), data);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    done();
  }
}

/**
 * The TF.js layers-format files (model.json + one weights.bin shard) of a model, via tfjs' own
 * serializer; `metadata` goes into model.json's `userDefinedMetadata` (TF.js keeps it there).
 */
export async function tfjsLayersFiles(model: tfl.LayersModel, metadata: Readonly<Record<string, string>> = {}): Promise<{ modelJson: string; weights: Uint8Array }> {
  let files: { modelJson: string; weights: Uint8Array } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? new ArrayBuffer(0)));
      const modelJson = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`./${CHECKPOINT_FILES.weights}`], weights: artifacts.weightSpecs ?? [] }],
        ...(Object.keys(metadata).length > 0 ? { userDefinedMetadata: metadata } : {}),
      };
      files = { modelJson: JSON.stringify(modelJson), weights };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  return files!;
}

/** Every weight of the model as a PyTorch-layout safetensors file (see torch-layout.ts). */
export function safetensorsBytes(model: tfl.LayersModel, metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const tensors = layerWeights(model).map((w) =>
    toTorchTensor(w.layer, w.className, w.role, w.value.shape, w.value.dataSync() as Float32Array),
  );
  return encodeSafetensors(tensors, { format: 'pt', ...metadata });
}

/**
 * Saves a checkpoint directory readable by TF.js (`tf.loadLayersModel`), by convscope (either
 * file) and by Python's safetensors: model.json + weights.bin, and model.safetensors. Both files
 * carry `metadata` (the training run's facts, such as the pixel scale it was fed).
 */
export async function saveCheckpoint(model: tfl.LayersModel, dir: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> {
  const { modelJson, weights } = await tfjsLayersFiles(model, metadata);
  await writeDirectoryAtomic(dir, {
    [CHECKPOINT_FILES.modelJson]: modelJson,
    [CHECKPOINT_FILES.weights]: weights,
    [CHECKPOINT_FILES.safetensors]: safetensorsBytes(model, metadata),
  });
}
