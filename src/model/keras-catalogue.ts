/**
 * The audited catalogue of Keras layers: every layer class with an inference meaning (Keras 1, 2 and
 * 3 spellings) and every config option that changes a layer's output, each either run by an engine
 * or refused with a sentence naming the layer, the option and the value. Engines consult it before
 * building anything, so no class or option outside it is accepted silently; the README's catalogue
 * section is generated from it (scripts/keras-catalogue.ts).
 *
 * Options are given in their Keras 2 spelling, after the Keras 1 renames (`border_mode` ->
 * `padding`, `nb_filter` -> `filters`, ...) and the Keras 3 object wrappers are removed.
 */

/** The engines that run Keras networks: TensorFlow.js (forward, gradients, training), ONNX Runtime (forward). */
export type Engine = 'tfjs' | 'ort';

export type Group =
  | 'core'
  | 'convolution'
  | 'pooling'
  | 'normalization'
  | 'activation'
  | 'reshaping'
  | 'merging'
  | 'preprocessing'
  | 'regularization'
  | 'recurrent'
  | 'other';

/** Which values of an option run. */
export type Rule =
  | { readonly kind: 'any'; readonly text: string }
  | { readonly kind: 'values'; readonly values: readonly unknown[] }
  | { readonly kind: 'check'; readonly text: string; readonly test: (value: unknown) => boolean };

export interface OptionEntry {
  readonly name: string;
  /** The value Keras uses when the config leaves the option out. */
  readonly default: unknown;
  /** The values that run. */
  readonly runs: Rule;
  /** What the option does, where the name does not say. */
  readonly note?: string;
}

export type Status =
  /** Computed by an engine, options audited one by one. */
  | 'runs'
  /** Acts only while training; passes its input through at inference (every option is training-only). */
  | 'identity'
  /** Holds Python code: refused unless the user states what it computes (Concept 'lambda'). */
  | 'lambda'
  /** Not run; `refusal` says why. */
  | 'refused';

export interface LayerEntry {
  /** The class name Keras 2 and 3 save. */
  readonly className: string;
  /** Other class names that mean this layer (Keras 1 `Convolution2D`, ...). */
  readonly keras1?: readonly string[];
  /** Whether Keras 3 still has the class (false: Keras 1/2 only). */
  readonly keras3: boolean;
  readonly group: Group;
  readonly status: Status;
  /** Why a refused class is not run, completing "layer 'x' is a Foo layer, ...". */
  readonly refusal?: string;
  /** Engines that run the layer (status runs / identity / lambda with a stated expression). */
  readonly engines: readonly Engine[];
  readonly options: readonly OptionEntry[];
  /** Options with no effect on the output at inference (training-only, or bookkeeping). */
  readonly ignored: readonly string[];
  /** Holds code the user may state instead (an expression in x; model/expression.ts). */
  readonly statable?: boolean;
}

const any = (text: string): Rule => ({ kind: 'any', text });
const values = (...list: unknown[]): Rule => ({ kind: 'values', values: list });
const check = (text: string, test: (value: unknown) => boolean): Rule => ({ kind: 'check', text, test });
const opt = (name: string, dflt: unknown, runs: Rule, note?: string): OptionEntry => ({ name, default: dflt, runs, ...(note ? { note } : {}) });

const isInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const positiveInts = (rank: number) => (v: unknown): boolean =>
  (typeof v === 'number' && Number.isInteger(v) && v > 0) || (Array.isArray(v) && v.length === rank && v.every((x) => Number.isInteger(x) && x > 0));
const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const finiteOrNull = (v: unknown): boolean => v === null || finite(v);
const isAxis = (v: unknown): boolean => Number.isInteger(v);

/**
 * Activation functions (the `activation` option and the Activation layer) that run, with Keras'
 * meaning. `hard_sigmoid` is refused: it is clip(0.2x + 0.5) in Keras 2 but clip(x / 6 + 0.5) in
 * Keras 3, and a file does not reliably say which Keras wrote it.
 */
export const ACTIVATIONS: readonly string[] = [
  'linear',
  'relu',
  'relu6',
  'sigmoid',
  'tanh',
  'softmax',
  'softplus',
  'softsign',
  'elu',
  'selu',
  'swish',
  'silu',
  'gelu',
  'mish',
  'log_softmax',
];

const activation = opt('activation', 'linear', values(...ACTIVATIONS), 'applied after the layer; names outside the list are refused');
const useBias = opt('use_bias', true, values(true, false));
const dataFormat = (rank: number): OptionEntry =>
  opt('data_format', 'channels_last', values('channels_last', 'channels_first'), rank === 1 ? 'channels_first means (batch, channels, steps)' : undefined);

const TRAINING_ONLY_CONV = ['kernel_initializer', 'bias_initializer', 'kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint'];

function conv(rank: 1 | 2 | 3, extra: { causal?: boolean; grouped?: boolean } = {}): OptionEntry[] {
  return [
    opt('filters', null, check('any positive integer', (v) => Number.isInteger(v) && (v as number) > 0)),
    opt('kernel_size', null, check(`a positive integer or ${rank}-tuple`, positiveInts(rank))),
    opt('strides', 1, check(`a positive integer or ${rank}-tuple`, positiveInts(rank))),
    opt('padding', 'valid', extra.causal ? values('valid', 'same', 'causal') : values('valid', 'same'), extra.causal ? "causal pads (kernel_size - 1) * dilation_rate steps on the left" : undefined),
    dataFormat(rank),
    opt('dilation_rate', 1, check(`a positive integer or ${rank}-tuple`, positiveInts(rank))),
    extra.grouped
      ? opt('groups', 1, check('a positive integer dividing the input channels and filters', (v) => Number.isInteger(v) && (v as number) > 0), 'input channels and filters split into groups convolved apart')
      : opt('groups', 1, values(1), 'grouped transposed convolution is refused'),
    activation,
    useBias,
  ];
}

function pool(rank: 1 | 2 | 3, kind: 'max' | 'average'): OptionEntry[] {
  return [
    opt('pool_size', 2, check(`a positive integer or ${rank}-tuple`, positiveInts(rank))),
    opt('strides', null, check(`null (= pool_size), a positive integer or ${rank}-tuple`, (v) => v === null || positiveInts(rank)(v))),
    rank === 3 && kind === 'max'
      ? opt('padding', 'valid', values('valid'), "padding='same' is refused (TensorFlow.js pads 3-D max pooling with zeros)")
      : opt('padding', 'valid', values('valid', 'same')),
    dataFormat(rank),
  ];
}

const globalPool = (rank: number): OptionEntry[] => [dataFormat(rank), opt('keepdims', false, values(false, true), 'True keeps the pooled axes with length 1')];

const RUNS: readonly Engine[] = ['tfjs'];
const BOTH: readonly Engine[] = ['tfjs', 'ort'];

/**
 * Classes compute/keras-to-onnx.ts converts to ONNX operators, with every option value listed here
 * (test/compute/ort-keras.test.ts runs each on both engines); the rest run on TensorFlow.js only.
 */
const ORT_CONVERTS = new Set([
  'InputLayer', 'Dense', 'Activation', 'Flatten', 'Reshape', 'Permute',
  'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'DepthwiseConv2D', 'SeparableConv2D',
  'MaxPooling1D', 'MaxPooling2D', 'MaxPooling3D', 'AveragePooling1D', 'AveragePooling2D', 'AveragePooling3D',
  'GlobalMaxPooling1D', 'GlobalMaxPooling2D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D',
  'BatchNormalization', 'ReLU', 'LeakyReLU', 'PReLU', 'ELU', 'ThresholdedReLU', 'Softmax',
  'ZeroPadding2D', 'Cropping2D', 'UpSampling2D', 'Add', 'Subtract', 'Multiply', 'Average', 'Maximum', 'Minimum', 'Concatenate', 'Rescaling',
]);

function runs(className: string, group: Group, options: OptionEntry[], more: Partial<LayerEntry> = {}): LayerEntry {
  return { className, keras3: true, group, status: 'runs', engines: ORT_CONVERTS.has(className) ? BOTH : RUNS, options, ignored: [], ...more };
}

/** Identity layers run on both engines: ONNX's Identity. */
function identity(className: string, group: Group, more: Partial<LayerEntry> = {}): LayerEntry {
  return { className, keras3: true, group, status: 'identity', engines: BOTH, options: [], ignored: [], ...more };
}

function refused(className: string, group: Group, refusal: string, more: Partial<LayerEntry> = {}): LayerEntry {
  return { className, keras3: true, group, status: 'refused', refusal, engines: [], options: [], ignored: [], ...more };
}

const RNN = 'a recurrent layer; convscope runs convolutional networks and has no tested recurrent layers yet';
const NOT_IMAGE = 'a preprocessing layer for text or categories, which convscope has no tested implementation of';

export const KERAS_CATALOGUE: readonly LayerEntry[] = [
  // core
  runs('InputLayer', 'core', [opt('sparse', false, values(false, null)), opt('ragged', false, values(false, null))], { ignored: ['optional', 'input_tensor'] }),
  runs('Dense', 'core', [opt('units', null, check('any positive integer', (v) => Number.isInteger(v) && (v as number) > 0)), activation, useBias], {
    ignored: TRAINING_ONLY_CONV,
  }),
  runs('Activation', 'activation', [opt('activation', null, values(...ACTIVATIONS))]),
  runs('Flatten', 'reshaping', [dataFormat(2)]),
  runs('Reshape', 'reshaping', [opt('target_shape', null, check('a tuple of integers (one may be -1)', (v) => Array.isArray(v) && v.every((x) => Number.isInteger(x))))]),
  runs('Permute', 'reshaping', [opt('dims', null, check('a permutation of 1..rank', (v) => Array.isArray(v) && v.every((x) => isInt(x) && x > 0)))]),
  runs('RepeatVector', 'reshaping', [opt('n', null, check('any positive integer', (v) => Number.isInteger(v) && (v as number) > 0))]),
  { className: 'Lambda', keras3: true, group: 'core', status: 'lambda', engines: BOTH, options: [], ignored: [], statable: true },
  refused('TFOpLambda', 'core', 'a TensorFlow operation recorded by tf.keras, which convscope has no tested implementation of; state what it computes as an expression in x if it is elementwise', { keras3: false, statable: true }),
  refused('SlicingOpLambda', 'core', "a tensor slice recorded by tf.keras; state it as a crop expression 'x[...]' to run it", { keras3: false, statable: true }),
  identity('Identity', 'core'),
  refused('Masking', 'core', 'a mask for recurrent layers, which convscope does not run'),
  refused('Embedding', 'core', 'a lookup table for integer tokens, which convscope has no tested implementation of'),
  refused('EinsumDense', 'core', 'an einsum, which convscope has no tested implementation of'),
  refused('MaxoutDense', 'core', 'a Keras 1 layer convscope has no tested implementation of', { keras3: false }),
  refused('Highway', 'core', 'a Keras 1 layer convscope has no tested implementation of', { keras3: false }),
  refused('TimeDistributedDense', 'core', 'a Keras 1 layer convscope has no tested implementation of', { keras3: false }),
  refused('TFSMLayer', 'core', 'a wrapped TensorFlow SavedModel (executable graph), which convscope does not run'),
  refused('TorchModuleWrapper', 'core', 'a wrapped PyTorch module (Python code), which convscope does not run'),

  // convolution
  runs('Conv1D', 'convolution', conv(1, { causal: true, grouped: true }), { keras1: ['Convolution1D', 'AtrousConvolution1D'], ignored: TRAINING_ONLY_CONV }),
  runs('Conv2D', 'convolution', conv(2, { grouped: true }), { keras1: ['Convolution2D', 'AtrousConvolution2D'], ignored: TRAINING_ONLY_CONV }),
  runs('Conv3D', 'convolution', conv(3, { grouped: true }), { keras1: ['Convolution3D'], ignored: TRAINING_ONLY_CONV }),
  runs(
    'Conv2DTranspose',
    'convolution',
    [
      ...conv(2),
      opt('output_padding', null, check('None, or a non-negative integer or 2-tuple (each below its stride)', (v) => v === null || isInt(v) || (Array.isArray(v) && v.length === 2 && v.every(isInt))), "output length (in - 1) * strides + k_eff - 2 * pad + output_padding, pad = k_eff // 2 for 'same'"),
      opt('output_shape', null, values(null), "Keras 1 Deconvolution2D's explicit output_shape is refused"),
    ],
    { keras1: ['Deconvolution2D'], ignored: TRAINING_ONLY_CONV },
  ),
  refused('Conv1DTranspose', 'convolution', 'a transposed 1-D convolution, which convscope has no tested implementation of'),
  refused('Conv3DTranspose', 'convolution', 'a transposed 3-D convolution, which convscope has no tested implementation of'),
  runs(
    'DepthwiseConv2D',
    'convolution',
    [
      opt('kernel_size', null, check('a positive integer or 2-tuple', positiveInts(2))),
      opt('strides', 1, check('a positive integer or 2-tuple', positiveInts(2))),
      opt('padding', 'valid', values('valid', 'same')),
      dataFormat(2),
      opt('dilation_rate', 1, check('a positive integer or 2-tuple (Keras allows dilation only with strides 1)', positiveInts(2))),
      opt('depth_multiplier', 1, check('any positive integer', (v) => Number.isInteger(v) && (v as number) > 0)),
      activation,
      useBias,
    ],
    { ignored: ['depthwise_initializer', 'depthwise_regularizer', 'depthwise_constraint', ...TRAINING_ONLY_CONV] },
  ),
  refused('DepthwiseConv1D', 'convolution', 'a depthwise 1-D convolution, which convscope has no tested implementation of'),
  runs('SeparableConv2D', 'convolution', [...conv(2).filter((o) => o.name !== 'groups'), opt('depth_multiplier', 1, check('any positive integer', (v) => Number.isInteger(v) && (v as number) > 0))], {
    keras1: ['SeparableConvolution2D'],
    ignored: ['depthwise_initializer', 'pointwise_initializer', 'depthwise_regularizer', 'pointwise_regularizer', 'depthwise_constraint', 'pointwise_constraint', ...TRAINING_ONLY_CONV],
  }),
  refused('SeparableConv1D', 'convolution', 'a separable 1-D convolution, which convscope has no tested implementation of'),
  refused('LocallyConnected1D', 'convolution', 'an unshared-weights convolution, which convscope has no tested implementation of', { keras3: false }),
  refused('LocallyConnected2D', 'convolution', 'an unshared-weights convolution, which convscope has no tested implementation of', { keras3: false }),
  refused('ConvLSTM1D', 'recurrent', RNN),
  refused('ConvLSTM2D', 'recurrent', RNN),
  refused('ConvLSTM3D', 'recurrent', RNN),

  // pooling
  runs('MaxPooling1D', 'pooling', pool(1, 'max')),
  runs('MaxPooling2D', 'pooling', pool(2, 'max')),
  runs('MaxPooling3D', 'pooling', pool(3, 'max')),
  runs('AveragePooling1D', 'pooling', pool(1, 'average')),
  runs('AveragePooling2D', 'pooling', pool(2, 'average')),
  runs('AveragePooling3D', 'pooling', pool(3, 'average')),
  runs('GlobalMaxPooling1D', 'pooling', globalPool(1)),
  runs('GlobalMaxPooling2D', 'pooling', globalPool(2)),
  refused('GlobalMaxPooling3D', 'pooling', 'a 3-D global pooling, which convscope has no tested implementation of'),
  runs('GlobalAveragePooling1D', 'pooling', globalPool(1)),
  runs('GlobalAveragePooling2D', 'pooling', globalPool(2)),
  refused('GlobalAveragePooling3D', 'pooling', 'a 3-D global pooling, which convscope has no tested implementation of'),

  // normalization
  runs(
    'BatchNormalization',
    'normalization',
    [
      opt('axis', -1, check('one integer axis', isAxis)),
      opt('epsilon', 1e-3, check('a finite number', finite)),
      opt('center', true, values(true, false)),
      opt('scale', true, values(true, false)),
      opt('renorm', false, values(false), 'batch renormalization is refused'),
      opt('virtual_batch_size', null, values(null), 'ghost batch normalization is refused'),
      opt('adjustment', null, values(null)),
    ],
    {
      ignored: ['momentum', 'synchronized', 'fused', 'renorm_clipping', 'renorm_momentum', 'beta_initializer', 'gamma_initializer', 'moving_mean_initializer', 'moving_variance_initializer', 'beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'],
    },
  ),
  runs(
    'LayerNormalization',
    'normalization',
    [
      opt('axis', -1, check('one integer axis, or a list of them', (v) => isAxis(v) || (Array.isArray(v) && v.every(isAxis)))),
      opt('epsilon', 1e-3, check('a finite number', finite)),
      opt('center', true, values(true, false)),
      opt('scale', true, values(true, false)),
      opt('rms_scaling', false, values(false), 'RMS scaling is refused'),
    ],
    { ignored: ['beta_initializer', 'gamma_initializer', 'beta_regularizer', 'gamma_regularizer', 'beta_constraint', 'gamma_constraint'] },
  ),
  refused('GroupNormalization', 'normalization', 'a group normalization, which convscope has no tested implementation of'),
  refused('UnitNormalization', 'normalization', 'a unit normalization, which convscope has no tested implementation of'),
  refused('SpectralNormalization', 'normalization', 'a weight-normalizing wrapper, which convscope has no tested implementation of'),

  // activation layers
  runs(
    'ReLU',
    'activation',
    [
      opt('max_value', null, check('null or a finite number', finiteOrNull)),
      opt('negative_slope', 0, check('a finite number', finite)),
      opt('threshold', 0, check('a finite number', finite)),
    ],
  ),
  runs('LeakyReLU', 'activation', [opt('alpha', 0.3, check('a finite number', finite)), opt('negative_slope', 0.3, check('a finite number', finite), 'Keras 3 name of alpha')]),
  runs('PReLU', 'activation', [opt('shared_axes', null, check('null or a list of axes', (v) => v === null || (Array.isArray(v) && v.every(isInt))))], {
    ignored: ['alpha_initializer', 'alpha_regularizer', 'alpha_constraint'],
  }),
  runs('ELU', 'activation', [opt('alpha', 1, check('a finite number', finite))]),
  runs('ThresholdedReLU', 'activation', [opt('theta', 1, check('a finite number', finite))], { keras3: false }),
  runs('Softmax', 'activation', [opt('axis', -1, check('one integer axis', isAxis))]),
  refused('SReLU', 'activation', 'a Keras 1 layer convscope has no tested implementation of', { keras3: false }),
  refused('ParametricSoftplus', 'activation', 'a Keras 1 layer convscope has no tested implementation of', { keras3: false }),

  // reshaping
  runs('ZeroPadding2D', 'reshaping', [opt('padding', 1, any('an integer, 2-tuple or ((top, bottom), (left, right))')), dataFormat(2)]),
  runs('ZeroPadding1D', 'reshaping', [opt('padding', 1, any('an integer or (before, after)'))]),
  runs('ZeroPadding3D', 'reshaping', [opt('padding', 1, any('an integer, 3-tuple or three (before, after) pairs')), dataFormat(3)]),
  runs('Cropping2D', 'reshaping', [opt('cropping', 0, any('an integer, 2-tuple or ((top, bottom), (left, right))')), dataFormat(2)]),
  runs('Cropping1D', 'reshaping', [opt('cropping', [1, 1], any('an integer or (before, after)'))]),
  runs('Cropping3D', 'reshaping', [opt('cropping', [[1, 1], [1, 1], [1, 1]], any('an integer, 3-tuple or three (before, after) pairs')), dataFormat(3)]),
  runs('UpSampling2D', 'reshaping', [
    opt('size', 2, check('a positive integer or 2-tuple', positiveInts(2))),
    dataFormat(2),
    opt('interpolation', 'nearest', values('nearest'), 'bilinear is refused: Keras on TensorFlow 1 and 2 sample it at different points'),
  ]),
  runs('UpSampling1D', 'reshaping', [opt('size', 2, check('a positive integer', (v) => Number.isInteger(v) && (v as number) > 0))]),
  runs('UpSampling3D', 'reshaping', [opt('size', [2, 2, 2], check('a positive integer or 3-tuple', positiveInts(3))), dataFormat(3)]),

  // merging
  runs('Add', 'merging', [], { keras1: ["Merge(mode='sum')"] }),
  runs('Subtract', 'merging', []),
  runs('Multiply', 'merging', [], { keras1: ["Merge(mode='mul')"] }),
  runs('Average', 'merging', [], { keras1: ["Merge(mode='ave')"] }),
  runs('Maximum', 'merging', [], { keras1: ["Merge(mode='max')"] }),
  runs('Minimum', 'merging', []),
  runs('Concatenate', 'merging', [opt('axis', -1, check('one integer axis', isAxis))], { keras1: ["Merge(mode='concat')"] }),
  refused('Dot', 'merging', 'a batched dot product, which convscope has no tested implementation of'),

  // preprocessing that matters at inference
  runs('Rescaling', 'preprocessing', [opt('scale', null, check('a number', finite)), opt('offset', 0, check('a number', finite))]),
  runs(
    'Normalization',
    'preprocessing',
    [
      opt('axis', -1, check('one integer axis', isAxis)),
      opt('mean', null, check('null (the stored weights) or numbers', (v) => v === null || finite(v) || (Array.isArray(v) && v.every(finite)))),
      opt('variance', null, check('null (the stored weights) or numbers', (v) => v === null || finite(v) || (Array.isArray(v) && v.every(finite)))),
      opt('invert', false, values(false), 'the inverse normalization is refused'),
    ],
    { ignored: ['mean_initializer', 'variance_initializer'] },
  ),
  refused('Resizing', 'preprocessing', 'an image resize, which convscope has no tested implementation of (resize the image before feeding it)'),
  refused('CenterCrop', 'preprocessing', 'a centre crop, which convscope has no tested implementation of (crop the image before feeding it)'),
  refused('RandomCrop', 'preprocessing', 'a random crop, which at inference crops and resizes the centre; convscope has no tested implementation of it'),
  ...[
    'RandomFlip',
    'RandomRotation',
    'RandomZoom',
    'RandomContrast',
    'RandomTranslation',
    'RandomHeight',
    'RandomWidth',
    'RandomBrightness',
    'RandomGrayscale',
    'RandomHue',
    'RandomSaturation',
    'RandomSharpness',
    'RandomShear',
    'RandomColorJitter',
    'RandomColorDegeneration',
    'RandomPerspective',
    'RandomErasing',
    'RandomGaussianBlur',
    'RandomInvert',
    'RandomPosterization',
    'RandomElasticTransform',
  ].map((name) => identity(name, 'preprocessing')),
  ...['AutoContrast', 'Equalization', 'Solarization', 'MixUp', 'CutMix', 'AugMix', 'RandAugment'].map((name) =>
    refused(name, 'preprocessing', 'an image augmentation convscope has no tested implementation of'),
  ),
  ...['CategoryEncoding', 'Hashing', 'HashedCrossing', 'StringLookup', 'IntegerLookup', 'TextVectorization', 'Discretization'].map((name) =>
    refused(name, 'preprocessing', NOT_IMAGE),
  ),

  // training-only regularization: identity at inference
  identity('Dropout', 'regularization'),
  identity('SpatialDropout1D', 'regularization'),
  identity('SpatialDropout2D', 'regularization'),
  identity('SpatialDropout3D', 'regularization'),
  identity('GaussianNoise', 'regularization'),
  identity('GaussianDropout', 'regularization'),
  identity('AlphaDropout', 'regularization'),
  identity('ActivityRegularization', 'regularization'),

  // recurrent and attention
  ...['SimpleRNN', 'LSTM', 'GRU', 'RNN', 'Bidirectional', 'TimeDistributed', 'CuDNNLSTM', 'CuDNNGRU', 'StackedRNNCells'].map((name) =>
    refused(name, 'recurrent', RNN, { keras3: !name.startsWith('CuDNN') }),
  ),
  ...['Attention', 'AdditiveAttention', 'MultiHeadAttention', 'GroupQueryAttention'].map((name) =>
    refused(name, 'other', 'an attention layer, which convscope has no tested implementation of'),
  ),
];

/** Options no layer's inference output depends on: naming, dtype, input shape, training-only settings. */
const ALWAYS_IGNORED = new Set([
  'name',
  'trainable',
  'dtype',
  'batch_input_shape',
  'batch_shape',
  'batch_size',
  'input_shape',
  'input_dim',
  'input_length',
  'input_dtype',
  'seed',
  'dynamic',
  'autocast',
  'init',
  'inner_init',
  'activity_regularizer',
]);
const TRAINING_ONLY_KEY = /(_initializer|_regularizer|_constraint)$/;

const byName = new Map<string, LayerEntry>();
for (const entry of KERAS_CATALOGUE) {
  byName.set(entry.className, entry);
  for (const old of entry.keras1 ?? []) if (!old.includes('(')) byName.set(old, entry);
}

/** The catalogue entry of a stored class name (Keras 1, 2 or 3 spelling), or undefined. */
export function catalogueEntry(className: string): LayerEntry | undefined {
  return byName.get(className);
}

/** The Keras 2 / 3 class name of a stored class name (Keras 1 `Convolution2D` -> `Conv2D`). */
export function canonicalClass(className: string): string {
  return byName.get(className)?.className ?? className;
}

/** A config value as Python shows it: 'causal', 0.2, True, None, (2, 2). */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `(${value.map(formatValue).join(', ')}${value.length === 1 ? ',' : ''})`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `value` passes `rule`. */
export function ruleAccepts(rule: Rule, value: unknown): boolean {
  if (rule.kind === 'any') return true;
  if (rule.kind === 'values') return rule.values.some((v) => sameValue(v, value));
  return rule.test(value);
}

/** What a rule runs, for messages and the README: "'valid', 'same'" or "a finite number". */
export function describeRule(rule: Rule): string {
  if (rule.kind === 'values') return rule.values.map(formatValue).join(', ');
  return rule.text;
}

const ENGINE_NAMES: Record<Engine, string> = { tfjs: 'TensorFlow.js', ort: 'ONNX Runtime' };

/**
 * Why `engine` cannot run the layer `name` of class `className` with this (Keras 2 spelled) config:
 * one sentence without its final full stop, naming the layer, the option and the value ("layer 'c'
 * (Conv2D) uses groups=3, ..."); undefined when it runs. Lambda layers are the caller's to resolve
 * (with a user-stated expression) before asking.
 */
export function refusal(name: string, className: string, config: Readonly<Record<string, unknown>>, engine: Engine): string | undefined {
  const entry = catalogueEntry(className);
  const layer = `layer '${name}'`;
  if (!entry) return `${layer} is a '${className}' layer, a class convscope's Keras catalogue does not list, so convscope cannot run this network; its weights can still be inspected`;
  if (entry.status === 'refused') return `${layer} is a ${className} layer, ${entry.refusal}`;
  if (!entry.engines.includes(engine)) return `${layer} is a ${className} layer, which the ${ENGINE_NAMES[engine]} engine cannot run yet`;
  if (entry.status === 'lambda') {
    return `${layer} is a Lambda layer (stored Python code, which convscope never runs); state what it computes as an expression in x (for example 'x / 127.5 - 1', or a crop 'x[:, 2:-2, 2:-2, :]') or as identity`;
  }
  if (entry.status === 'identity') return undefined;
  const known = new Map(entry.options.map((o) => [o.name, o]));
  for (const [key, value] of Object.entries(config)) {
    const option = known.get(key);
    if (option) {
      if (!ruleAccepts(option.runs, value)) {
        return `${layer} (${className}) uses ${key}=${formatValue(value)}, which convscope cannot run (it runs ${key}: ${describeRule(option.runs)})`;
      }
      continue;
    }
    if (ALWAYS_IGNORED.has(key) || TRAINING_ONLY_KEY.test(key) || entry.ignored.includes(key)) continue;
    return `${layer} (${className}) has the option ${key}=${formatValue(value)}, which convscope's Keras catalogue does not list for ${className}, so convscope cannot know what it does`;
  }
  return undefined;
}

/** Catalogue size for reports: classes (with Keras 1 spellings counted once) and audited options. */
export function catalogueSize(): { classes: number; spellings: number; options: number; running: number; identity: number; refused: number } {
  const spellings = KERAS_CATALOGUE.reduce((n, e) => n + 1 + (e.keras1?.length ?? 0), 0);
  return {
    classes: KERAS_CATALOGUE.length,
    spellings,
    options: KERAS_CATALOGUE.reduce((n, e) => n + e.options.length, 0),
    running: KERAS_CATALOGUE.filter((e) => e.status === 'runs').length,
    identity: KERAS_CATALOGUE.filter((e) => e.status === 'identity').length,
    refused: KERAS_CATALOGUE.filter((e) => e.status === 'refused').length,
  };
}
