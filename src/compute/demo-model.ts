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
