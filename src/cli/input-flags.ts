import { choosePreprocessing, chooseResize } from '../compute/default-preprocessing.js';
import { arrayInput, imageInput, type InputSpec, type PreparedInput } from '../compute/inputs.js';
import type { Preset } from '../compute/choices.js';
import type { ResizeMode } from '../io/image-fit.js';
import type { Model } from '../model/model.js';

/** The input flags of `activations` and `attribute` (`--image` or `--input`, and what `addPreprocessOptions` declares). */
export interface InputFlags {
  image?: string | string[];
  input?: string;
  preprocess?: Preset;
  resize?: ResizeMode;
  mean?: number[];
  std?: number[];
}

/**
 * The network input the flags name: the images, preprocessed as the flags say (else as the model's own
 * default), fitted to the input size as the flags say (else as the model's default), or the .npy array fed as is.
 */
export function flaggedInput(net: InputSpec, model: Model, options: InputFlags): Promise<PreparedInput> {
  if (!options.image) return arrayInput(net, options.input!);
  const images = typeof options.image === 'string' ? [options.image] : options.image;
  return imageInput(net, images, { ...choosePreprocessing(model, options.preprocess), resize: chooseResize(model, options.resize), mean: options.mean, std: options.std });
}
