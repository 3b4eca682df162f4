import { fileSource } from '../io/node-source.js';
import { resolveModelPath } from '../io/model-path.js';
import { readJson } from '../io/source.js';
import { openSource } from './index.js';
import { kerasArchitecture } from './json-kinds.js';
import { memoryModel } from './memory.js';
import type { OpenOptions } from './reader.js';
import type { Model } from '../model/model.js';

export interface OpenModelOptions extends Omit<OpenOptions, 'config'> {
  /** Architecture JSON for weights-only files: a path, or the parsed JSON. */
  config?: string | object;
  /** What Lambda layers compute, as the user states it (Model.lambdas). */
  lambdas?: Readonly<Record<string, string>>;
}

/**
 * Opens a model file from disk (or a TensorFlow SavedModel / checkpoint directory or prefix). Only
 * metadata is read; `weight.read()` reads one tensor. `close()` also closes the file descriptors the
 * reads share.
 */
export async function openModel(path: string, options: OpenModelOptions = {}): Promise<Model> {
  const source = await fileSource(await resolveModelPath(path));
  const configSource = typeof options.config === 'string' ? await fileSource(options.config) : undefined;
  const config = configSource ?? options.config;
  try {
    const { lambdas, ...rest } = options;
    const model: Model = await openSource(source, { ...rest, config });
    if (lambdas) Object.assign(model, { lambdas });
    const closeModel = model.close.bind(model);
    model.close = () => {
      closeModel();
      source.close?.();
    };
    return model;
  } catch (e) {
    source.close?.();
    throw e;
  } finally {
    configSource?.close?.();
  }
}

/**
 * A bare Keras architecture file (model.to_json(): layers, no weights) as a Model without weights whose
 * call graph can be built and trained from the layers' initialisers; undefined for any other file.
 */
export async function openArchitecture(path: string): Promise<Model | undefined> {
  if (!path.toLowerCase().endsWith('.json')) return undefined;
  const source = await fileSource(path);
  let json: unknown;
  try {
    json = await readJson(source);
  } finally {
    source.close?.();
  }
  if (!kerasArchitecture(json)) return undefined;
  return memoryModel({ source: path, format: 'keras-h5', framework: 'keras', config: typeof json === 'string' ? JSON.parse(json) : json, layers: [] });
}
