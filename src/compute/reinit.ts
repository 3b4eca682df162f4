import * as tfl from '@tensorflow/tfjs-layers';
import { shortName } from '../model/lookup.js';
import { tf } from './backend.js';
import type { RunnableModel } from './build.js';

/** tfjs-layers does not export its Initializer base class; this is its public shape. */
type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** The config key of each weight's initializer, as Keras stores it. */
const CONFIG_KEY: Record<string, string> = {
  kernel: 'kernel_initializer',
  bias: 'bias_initializer',
  gamma: 'gamma_initializer',
  beta: 'beta_initializer',
  moving_mean: 'moving_mean_initializer',
  moving_variance: 'moving_variance_initializer',
  depthwise_kernel: 'depthwise_initializer',
  pointwise_kernel: 'pointwise_initializer',
};

const ONES = new Set(['gamma', 'moving_variance']);

type Args = Record<string, unknown>;

const camel = (s: unknown): string => String(s).replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
const num = (v: unknown, fallback: number): number => (typeof v === 'number' ? v : fallback);

/** Keras initializer classes (and Keras 1 names) as tfjs initializers with a given seed. */
const FACTORIES: Record<string, (c: Args, seed: number) => Initializer> = {
  GlorotUniform: (_, seed) => tfl.initializers.glorotUniform({ seed }),
  GlorotNormal: (_, seed) => tfl.initializers.glorotNormal({ seed }),
  HeUniform: (_, seed) => tfl.initializers.heUniform({ seed }),
  HeNormal: (_, seed) => tfl.initializers.heNormal({ seed }),
  LecunUniform: (_, seed) => tfl.initializers.leCunUniform({ seed }),
  LecunNormal: (_, seed) => tfl.initializers.leCunNormal({ seed }),
  Zeros: () => tfl.initializers.zeros(),
  Ones: () => tfl.initializers.ones(),
  Constant: (c) => tfl.initializers.constant({ value: num(c.value, 0) }),
  RandomNormal: (c, seed) => tfl.initializers.randomNormal({ mean: num(c.mean, 0), stddev: num(c.stddev, 0.05), seed }),
  RandomUniform: (c, seed) => tfl.initializers.randomUniform({ minval: num(c.minval, -0.05), maxval: num(c.maxval, 0.05), seed }),
  TruncatedNormal: (c, seed) => tfl.initializers.truncatedNormal({ mean: num(c.mean, 0), stddev: num(c.stddev, 0.05), seed }),
  VarianceScaling: (c, seed) =>
    tfl.initializers.varianceScaling({
      scale: num(c.scale, 1),
      mode: camel(c.mode ?? 'fan_in') as 'fanIn',
      distribution: (c.distribution === 'untruncated_normal' ? 'normal' : c.distribution === 'uniform' ? 'uniform' : 'truncatedNormal') as 'normal',
      seed,
    }),
  Orthogonal: (c, seed) => tfl.initializers.orthogonal({ gain: num(c.gain, 1), seed }),
};

/** `glorot_uniform` (Keras 1 / string form) -> `GlorotUniform`. */
function className(identifier: string): string {
  const pascal = identifier.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase());
  return { Zero: 'Zeros', One: 'Ones', Normal: 'RandomNormal', Uniform: 'RandomUniform' }[pascal] ?? pascal;
}

/** The stored initializer for `role` in a layer config (Keras 1/2/3 spellings), re-created with `seed`. */
function seededInitializer(config: Readonly<Args>, role: string, seed: number): Initializer {
  const stored = config[CONFIG_KEY[role] ?? ''] ?? (role === 'kernel' ? config.init : undefined);
  const spec = typeof stored === 'string' ? { class_name: className(stored), config: {} } : (stored as { class_name?: string; config?: Args } | undefined);
  const factory = spec?.class_name ? FACTORIES[spec.class_name] : undefined;
  if (factory) return factory(spec?.config ?? {}, seed);
  if (role.endsWith('kernel')) return tfl.initializers.glorotUniform({ seed });
  return ONES.has(role) ? tfl.initializers.ones() : tfl.initializers.zeros();
}

/**
 * Replaces every weight of a built network with a fresh draw from the initializer its stored config
 * names (Keras' defaults where it names none), seeded so the "same architecture, untrained" baseline
 * is the same on every run.
 */
export function reinitialize(net: RunnableModel, seed = 0): void {
  let index = 0;
  for (const leaf of net.graph.layers) {
    const layer = net.net.getLayer(leaf.name);
    for (const variable of layer.weights) {
      const role = shortName(variable.originalName);
      const init = seededInitializer(leaf.config, role, seed * 7919 + index++);
      const value = tf.tidy(() => init.apply(variable.shape, 'float32'));
      variable.write(value);
      value.dispose();
    }
  }
}
