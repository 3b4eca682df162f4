import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encode } from 'fast-png';
import { runLayers, type Activation } from '../../src/compute/activations.js';
import { buildModel } from '../../src/compute/build.js';
import { imageInput } from '../../src/compute/inputs.js';
import { kerasOnOrt, runLayersOrt } from '../../src/compute/keras-ort.js';
import { UsageError } from '../../src/model/errors.js';
import { parseLambda } from '../../src/model/expression.js';
import type { Model } from '../../src/model/model.js';
import { decodeNpy, encodeNpy } from '../../src/model/npy.js';
import { runCli } from '../helpers/cli.js';
import { needsPython, runPython } from '../helpers/python.js';
import { prng } from '../helpers/random.js';
import { memoryModel } from './memory-model.js';

/**
 * Lambda layers run as the user states them (never as their stored code), checked against NumPy
 * functions written out by hand for each statement; inference-time identity layers; a 2-D input
 * model fed a grey image.
 */

const dir = mkdtempSync(join(tmpdir(), 'convscope-lambda-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function lambdaModel(shape: number[], lambdas: Record<string, string>, extra: { class_name: string; config: object }[] = []): Model {
  const config = {
    class_name: 'Sequential',
    config: {
      name: 's',
      layers: [
        { class_name: 'Lambda', config: { name: 'lambda_1', function: ['4wEAAAAAAAAAAAAAAAAB', null, null], function_type: 'lambda', batch_input_shape: [null, ...shape] } },
        ...extra,
      ],
    },
  };
  return Object.assign(memoryModel(config, {}), { lambdas });
}

/** Statement -> the same computation written in NumPy by hand (not parsed from the statement). */
const STATEMENTS: [string, string][] = [
  ['x / 127.5 - 1', 'x / 127.5 - 1'],
  ['-x ** 2 + 3 * abs(x)', '-(x ** 2) + 3 * np.abs(x)'],
  ['2 ** -x / (1 + exp(-x))', '2.0 ** (-x) / (1 + np.exp(-x))'],
  ['maximum(x, 0.5) * sigmoid(x) - sqrt(abs(x))', 'np.maximum(x, 0.5) * (1 / (1 + np.exp(-x))) - np.sqrt(np.abs(x))'],
  ['tanh(x) + log(square(x) + 1) - minimum(x, relu(x)) * .5e1', 'np.tanh(x) + np.log(x * x + 1) - np.minimum(x, np.maximum(x, 0)) * 5.0'],
  ['(x - 0.5) / 0.25 ** 0.5', '(x - 0.5) / 0.5'],
  ['x[:, 1:-1, 2:, :]', 'x[:, 1:-1, 2:, :]'],
  ['x[:, :3]', 'x[:, :3]'],
  ['x[:, -2:, 1:4, 1:2]', 'x[:, -2:, 1:4, 1:2]'],
  ['identity', 'x'],
];

test('stated Lambda layers match NumPy within 1e-5 relative on both engines: arithmetic with precedence, functions, crops, identity', needsPython('numpy'), async () => {
  const shape = [2, 5, 6, 3];
  const random = prng(11);
  const data = Float32Array.from({ length: 2 * 5 * 6 * 3 }, () => random() * 4 - 2);
  writeFileSync(join(dir, 'x.npy'), encodeNpy(data, shape));
  const script = `
import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float64)
for i, f in enumerate([${STATEMENTS.map(([, py]) => `lambda x: ${py}`).join(', ')}]):
    np.save(f"{sys.argv[2]}/expected{i}.npy", f(x))
`;
  runPython(script, [join(dir, 'x.npy'), dir]);
  for (const [i, [statement]] of STATEMENTS.entries()) {
    const expected = decodeNpy(readFileSync(join(dir, `expected${i}.npy`)), 'expected');
    const want = expected.data as Float64Array;
    const scale = Math.max(...Array.from(want, Math.abs));
    const check = (engine: string, out: Activation): void => {
      assert.deepEqual(out.shape, expected.shape, `${statement} on ${engine}`);
      let worst = 0;
      want.forEach((e, j) => (worst = Math.max(worst, Math.abs(e - out.data[j]!))));
      assert.ok(worst <= 1e-5 * scale, `${statement} on ${engine}: max error ${worst} > 1e-5 x ${scale}`);
    };
    const net = await buildModel(lambdaModel(shape.slice(1), { lambda_1: statement }));
    try {
      check('tfjs', (await runLayers(net, [{ shape, data }]))[0]!);
      const ort = await kerasOnOrt(net, { threads: 1 });
      assert.ok(!('reason' in ort), `${statement}: ${'reason' in ort ? ort.reason : ''}`);
      try {
        check('ort', (await runLayersOrt(ort, [{ shape, data }]))[0]!);
      } finally {
        await ort.onnx.release();
      }
    } finally {
      net.dispose();
    }
  }
});

test('statements that are not the grammar are refused with a sentence, never run', () => {
  const bad: [string, RegExp][] = [
    ['__import__(x)', /'__import__' is neither x nor one of the functions abs, sqrt/],
    ["system('id')", /unexpected character ''' at position 8/],
    ['x.shape', /unexpected character '\.' at position 2/],
    ['lambda x: x', /'lambda' is neither x nor one of the functions/],
    ['x / ', /it ends too early/],
    ['maximum(x)', /maximum takes 2 arguments, but received 1/],
    ['x[:, 1]', /a crop takes start:stop ranges, not single indices \(axis 1\)/],
    ['x[:, ::2]', /a slice bound must be an integer|expected ']'/],
    ['x[:, 1:2] + 1', /a crop must be the whole statement/],
    ['3 + 4', /it does not use x/],
    ['x'.repeat(501), /longer than 500 characters/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseLambda('lambda_1', text),
      (e: Error) => e instanceof UsageError && e.concept === 'lambda' && e.message.startsWith(`The expression '${text}' stated for Lambda layer 'lambda_1' cannot be used: `) && message.test(e.message),
      text,
    );
  }
});

test('--lambda for a layer that is no Lambda layer, or a bad statement, stops the build naming the layer', async () => {
  await assert.rejects(buildModel(lambdaModel([4, 4, 1], { lambda_1: 'x', dense: 'x' })), /An expression is stated for layer 'dense', which this model does not have; its Lambda layers are 'lambda_1'\./);
  await assert.rejects(buildModel(lambdaModel([4, 4, 1], { lambda_1: 'open(x)' })), /The expression 'open\(x\)' stated for Lambda layer 'lambda_1' cannot be used: 'open' is neither x/);
});

test('a 28x28 model without a channel axis takes a grey image, fed exactly as the same image with the axis', async () => {
  const pixels = Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 37) % 256);
  const png = join(dir, 'digit.png');
  writeFileSync(png, encode({ width: 28, height: 28, channels: 1, data: pixels }));
  const options = { preset: 'unit' as const, resize: { mode: 'stretch' as const } };
  const flat = await imageInput({ source: 'mnist', inputShapes: [[null, 28, 28]], channelsFirst: false }, [png], options);
  const withAxis = await imageInput({ source: 'mnist', inputShapes: [[null, 28, 28, 1]], channelsFirst: false }, [png], options);
  assert.deepEqual(flat.batch.shape, [1, 28, 28]);
  assert.deepEqual([...flat.batch.data], [...withAxis.batch.data]);
  assert.deepEqual([...flat.batch.data], Array.from(pixels, (p) => Math.fround(p / 255)));
});

test('convscope activations runs a Lambda model with --lambda and writes what NumPy computes', needsPython('numpy'), async () => {
  const modelPath = join(dir, 'lambda.json');
  writeFileSync(
    modelPath,
    JSON.stringify({
      format: 'layers-model',
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 's',
          layers: [
            { class_name: 'Lambda', config: { name: 'scale', function: ['4wEA', null, null], batch_input_shape: [null, 6, 6, 1] } },
            { class_name: 'RandomRotation', config: { name: 'augment', factor: 0.2, fill_mode: 'reflect' } },
            { class_name: 'Lambda', config: { name: 'crop', function: ['4wEA', null, null] } },
          ],
        },
      },
      weightsManifest: [{ paths: [], weights: [] }],
    }),
  );
  const random = prng(3);
  const input = Float32Array.from({ length: 36 }, () => Math.round(random() * 255));
  writeFileSync(join(dir, 'in.npy'), encodeNpy(input, [1, 6, 6, 1]));
  const out = join(dir, 'out');
  const r = await runCli(['activations', modelPath, '--input', join(dir, 'in.npy'), '--lambda', 'scale=x / 127.5 - 1', '--lambda', 'crop=x[:, 1:-1, 1:-1, :]', '--layer', 'crop', '--format', 'npy', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const worst = runPython(
    `import sys, numpy as np
x = np.load(sys.argv[1]).astype(np.float64)
print(float(np.abs((x / 127.5 - 1)[:, 1:-1, 1:-1, :] - np.load(sys.argv[2])).max()))`,
    [join(dir, 'in.npy'), join(out, 'crop.npy')],
  );
  assert.ok(Number(worst) <= 1e-6, `max abs error ${worst}`);
});
