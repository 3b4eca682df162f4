import { accuracy, RandomForest } from './forest.js';
import { pixelFactor, type Dataset, type ImageSet } from '../data/index.js';
import { pixelsPerImage } from '../data/dataset.js';
import type { Model } from '../model/model.js';
import { buildModel, type RunnableModel } from '../compute/build.js';
import type { Preset } from '../compute/choices.js';
import { extractFeatures, type FeatureMode, type Features } from '../compute/features.js';
import { fitLogistic } from '../compute/logistic.js';
import { pixelTransform, presetPixels } from '../compute/preprocess.js';
import { reinitialize } from '../compute/reinit.js';

export type ClassifierName = 'random-forest' | 'logistic';

export interface ProbeOptions {
  layer: string;
  features: FeatureMode;
  classifier: ClassifierName;
  /** How the data set's pixels become the network input (the model's own: compute/default-preprocessing.ts). */
  preset: Preset;
  /** Seed of the untrained baseline's initialization and of the forest (default 0). */
  seed?: number;
  trees?: number;
  /** Progress of the long stages: feature extraction per batch, then each fit. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ProbeResult {
  layer: string;
  dataset: string;
  trainCount: number;
  testCount: number;
  features: FeatureMode;
  featureDim: number;
  classifier: ClassifierName;
  /** How the pixels were fed (to the network and as the raw-pixel baseline). */
  preset: Preset;
  seed: number;
  /** Test accuracy of the classifier on each kind of input. */
  accuracy: { rawPixels: number; untrained: number; trained: number };
  /** Features of the trained network: train rows, then test rows. */
  trainedFeatures: Features;
}

async function classify(name: ClassifierName, train: Features, trainLabels: Uint8Array, test: Features, testLabels: Uint8Array, classes: number, options: ProbeOptions): Promise<number> {
  if (name === 'random-forest') {
    const forest = new RandomForest({ trees: options.trees ?? 100, seed: options.seed ?? 0 }).fit(train.data, trainLabels, classes);
    return accuracy(forest.predict(test.data), testLabels);
  }
  const model = await fitLogistic(train.data, trainLabels, classes);
  try {
    return accuracy(await model.predict(test.data), testLabels);
  } finally {
    model.dispose();
  }
}

/** The pixels as the network is fed them (the same preprocessing), one row per image. */
function rawPixels(data: Dataset, set: ImageSet, preset: Preset): Features {
  const pixels = presetPixels(set.images, set.count, data.channels, pixelTransform({ preset }, data.channels), { scale: pixelFactor(data, 'raw') });
  return { data: pixels, count: set.count, dim: pixelsPerImage(data) };
}

async function layerFeatures(net: RunnableModel, data: Dataset, options: ProbeOptions, label: string): Promise<[Features, Features]> {
  const run = (set: ImageSet, part: string) =>
    extractFeatures(net, data, set, {
      layer: options.layer,
      mode: options.features,
      preset: options.preset,
      onProgress: (done, total) => options.onProgress?.(`${label} features (${part})`, done, total),
    });
  return [await run(data.train, 'train'), await run(data.test, 'test')];
}

function concat(a: Features, b: Features): Features {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { data, count: a.count + b.count, dim: a.dim };
}

/**
 * Do a layer's features help a classifier? Fits the classifier on the train split and scores it on
 * the test split for three inputs: raw pixels, the layer's output in the same architecture
 * re-initialized with a fixed seed (untrained), and the layer's output in the trained network.
 */
export async function probeLayer(model: Model, data: Dataset, options: ProbeOptions): Promise<ProbeResult> {
  const classes = data.classes.length;
  const seed = options.seed ?? 0;
  const net = await buildModel(model);
  try {
    const [trainedTrain, trainedTest] = await layerFeatures(net, data, options, 'trained');
    reinitialize(net, seed);
    const [untrainedTrain, untrainedTest] = await layerFeatures(net, data, options, 'untrained');
    const fits: [string, Features, Features][] = [
      ['raw pixels', rawPixels(data, data.train, options.preset), rawPixels(data, data.test, options.preset)],
      ['untrained', untrainedTrain, untrainedTest],
      ['trained', trainedTrain, trainedTest],
    ];
    const scores: number[] = [];
    for (const [i, [name, train, test]] of fits.entries()) {
      options.onProgress?.(`fitting ${options.classifier} on ${name}`, i, fits.length);
      scores.push(await classify(options.classifier, train, data.train.labels, test, data.test.labels, classes, options));
    }
    options.onProgress?.('done', fits.length, fits.length);
    return {
      layer: options.layer,
      dataset: data.name,
      trainCount: data.train.count,
      testCount: data.test.count,
      features: options.features,
      featureDim: trainedTrain.dim,
      classifier: options.classifier,
      preset: options.preset,
      seed,
      accuracy: { rawPixels: scores[0]!, untrained: scores[1]!, trained: scores[2]! },
      trainedFeatures: concat(trainedTrain, trainedTest),
    };
  } finally {
    net.dispose();
  }
}
