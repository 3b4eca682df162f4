import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from './backend.js';

/**
 * The network of the classic question ("How do I get the weights of a Conv2D layer in Keras?"),
 * built in TensorFlow.js exactly as the question defines it in Keras:
 *   Conv2D(96, (5, 5), activation='relu', input_shape=(64, 160, 1),
 *          kernel_initializer=glorot_normal(seed), bias_initializer=glorot_uniform(seed),
 *          padding='same', name='conv_1')
 */
export const QUESTION_INPUT = { height: 64, width: 160, channels: 1 } as const;
export const QUESTION_FILTERS = 96;
export const DEMO_SEED = 2017;

export async function questionNetwork(seed = DEMO_SEED): Promise<tfl.Sequential> {
  await initBackend();
  const model = tfl.sequential({ name: 'question' });
  model.add(
    tfl.layers.conv2d({
      filters: QUESTION_FILTERS,
      kernelSize: [5, 5],
      activation: 'relu',
      inputShape: [QUESTION_INPUT.height, QUESTION_INPUT.width, QUESTION_INPUT.channels],
      kernelInitializer: tfl.initializers.glorotNormal({ seed }),
      biasInitializer: tfl.initializers.glorotUniform({ seed }),
      padding: 'same',
      name: 'conv_1',
    }),
  );
  return model;
}

/** The digits network of the demo's training story: the question's Conv2D + ReLU idea, sized for 8x8 digits. */
export const DIGITS_CONV_LAYERS = ['conv_1', 'conv_2'] as const;

/**
 * A small CNN for the built-in 8x8 digits, seeded so every run starts from the same weights:
 * Conv2D(16, 3x3, relu, same) -> MaxPooling2D(2) -> Conv2D(32, 3x3, relu, same) -> Flatten -> Dense(10, softmax).
 * He-uniform kernels, the usual choice before ReLU.
 */
export async function digitsNetwork(seed = DEMO_SEED): Promise<tfl.Sequential> {
  await initBackend();
  const model = tfl.sequential({ name: 'digits_cnn' });
  model.add(tfl.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', inputShape: [8, 8, 1], name: 'conv_1', kernelInitializer: tfl.initializers.heUniform({ seed }) }));
  model.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool_1' }));
  model.add(tfl.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv_2', kernelInitializer: tfl.initializers.heUniform({ seed: seed + 1 }) }));
  model.add(tfl.layers.flatten({ name: 'flatten' }));
  model.add(tfl.layers.dense({ units: 10, activation: 'softmax', name: 'dense', kernelInitializer: tfl.initializers.glorotUniform({ seed: seed + 2 }) }));
  return model;
}
