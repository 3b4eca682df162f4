import { openModel } from '../formats/open.js';
import type { ReadLimits } from '../io/limits.js';
import type { Model } from '../model/model.js';
import type { ModelOptions } from './model-options.js';

/** Opening the model a command names, as model-options.ts's flags say; loaded only when a command runs. */

/** The read limits the options raise (io/limits.ts), or undefined for the defaults. */
function limitsOf(options: ModelOptions): Partial<ReadLimits> | undefined {
  const limits = {
    ...(options.maxTensorMb ? { maxTensorBytes: Math.round(options.maxTensorMb * 2 ** 20) } : {}),
    ...(options.maxInflateRatio ? { maxInflateRatio: options.maxInflateRatio } : {}),
  };
  return Object.keys(limits).length > 0 ? limits : undefined;
}

/** Opens the model at `path` as the options say (the caller closes it). */
export function withModelOptions(path: string, options: ModelOptions): Promise<Model> {
  return openModel(path, {
    ...(options.config ? { config: options.config } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
    ...(options.lambda ? { lambdas: options.lambda } : {}),
    ...(limitsOf(options) ? { limits: limitsOf(options)! } : {}),
  });
}

/** Opens the model at `path` as the options say, runs `work` on it and closes it whatever happens. */
export async function withModel<T>(path: string, options: ModelOptions, work: (model: Model) => Promise<T>): Promise<T> {
  const model = await withModelOptions(path, options);
  try {
    return await work(model);
  } finally {
    model.close();
  }
}
