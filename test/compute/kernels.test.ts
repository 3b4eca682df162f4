import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initBackend, tf } from '../../src/compute/backend.js';
import { TRAINING_KERNELS } from '../../src/compute/kernels/index.js';
import { prng as rng } from '../helpers/random.js';

/**
 * Every gradient kernel convscope registers on wasm, checked against tfjs' reference `cpu` backend
 * on randomized NHWC shapes, strides, dilations and paddings (valid, same, explicit).
 * Tolerance: max |wasm - cpu| <= 1e-4 * (1 + max |cpu|).
 * cpu's depthwise gradient kernels ignore dilation, so dilated cases are checked through the exact
 * identity "a dilated kernel is the undilated kernel with zeros inserted": the cpu oracle runs with
 * the zero-inserted kernel shape at dilation 1 (and its filter gradient is sampled back at the taps).
 */
const TOLERANCE = 1e-4;

type Pad = 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
}

function outSize(size: number, k: number, stride: number, dilation: number, pad: Pad, axis: 1 | 2): number {
  const ek = (k - 1) * dilation + 1;
  if (pad === 'same') return Math.ceil(size / stride);
  const total = pad === 'valid' ? 0 : pad[axis][0] + pad[axis][1];
  return Math.floor((size + total - ek) / stride) + 1;
}

function drawCase(random: () => number, depthwise: boolean, withDilation: boolean): Case {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  for (;;) {
    const x: Case['x'] = [int(1, 3), int(3, 10), int(3, 10), int(1, 4)];
    const filter: Case['filter'] = [int(1, 4), int(1, 4), x[3], depthwise ? int(1, 3) : int(1, 5)];
    const dilate = withDilation && random() < 0.5;
    const strides: [number, number] = dilate ? [1, 1] : [int(1, 3), int(1, 3)];
    const dilations: [number, number] = dilate ? [int(1, 3), int(1, 3)] : [1, 1];
    const kind = random();
    const pad: Pad =
      kind < 0.33 ? 'valid' : kind < 0.66 ? 'same' : [[0, 0], [int(0, 2), int(0, 2)], [int(0, 2), int(0, 2)], [0, 0]];
    const oh = outSize(x[1], filter[0], strides[0], dilations[0], pad, 1);
    const ow = outSize(x[2], filter[1], strides[1], dilations[1], pad, 2);
    if (oh >= 1 && ow >= 1) return { x, filter, strides, dilations, pad };
  }
}

interface Values {
  shape: number[];
  data: Float32Array;
}

function randomData(random: () => number, shape: readonly number[]): Float32Array {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = random() * 2 - 1;
  return data;
}

/** Runs one kernel on a backend with fresh tensors made from the same arrays. */
async function runOn(backend: 'cpu' | 'wasm', kernelName: string, inputs: Record<string, Values>, attrs: object): Promise<Values> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, tf.tensor(v.data, v.shape)]));
    const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
    return { shape: out.shape, data: out.dataSync() as Float32Array };
  });
}

function assertClose(got: Values, want: Values, label: string): void {
  assert.deepEqual(got.shape, want.shape, `${label}: shape`);
  let scale = 0;
  let worst = 0;
  for (let i = 0; i < want.data.length; i++) {
    scale = Math.max(scale, Math.abs(want.data[i]!));
    worst = Math.max(worst, Math.abs(want.data[i]! - got.data[i]!));
  }
  assert.ok(worst <= TOLERANCE * (1 + scale), `${label}: max error ${worst} exceeds ${TOLERANCE} * (1 + ${scale})`);
}

async function assertMatchesCpu(kernelName: string, inputs: Record<string, Values>, attrs: object, label: string): Promise<void> {
  assertClose(await runOn('wasm', kernelName, inputs, attrs), await runOn('cpu', kernelName, inputs, attrs), label);
}

/** The kernel shape once dilation's gaps are filled with zero taps. */
function dilatedShape(c: Case): [number, number, number, number] {
  const [kh, kw, inC, m] = c.filter;
  return [(kh - 1) * c.dilations[0] + 1, (kw - 1) * c.dilations[1] + 1, inC, m];
}

/** A kernel with zeros inserted between its taps: undilated, it computes what the dilated kernel does. */
function insertZeros(filter: Values, c: Case): Values {
  const shape = dilatedShape(c);
  const [kh, kw, inC, m] = c.filter;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const inner = inC * m;
  for (let p = 0; p < kh; p++)
    for (let q = 0; q < kw; q++)
      data.set(filter.data.subarray((p * kw + q) * inner, (p * kw + q + 1) * inner), (p * c.dilations[0] * shape[1] + q * c.dilations[1]) * inner);
  return { shape, data };
}

/** The gradient at the real taps of a dilated kernel, read from the gradient of its zero-filled form. */
function sampleTaps(wide: Values, c: Case): Float32Array {
  const [kh, kw, inC, m] = c.filter;
  const inner = inC * m;
  const out = new Float32Array(kh * kw * inner);
  for (let p = 0; p < kh; p++)
    for (let q = 0; q < kw; q++) {
      const from = (p * c.dilations[0] * wide.shape[1]! + q * c.dilations[1]) * inner;
      out.set(wide.data.subarray(from, from + inner), (p * kw + q) * inner);
    }
  return out;
}

function describeCase(c: Case): string {
  return `x ${c.x} filter ${c.filter} strides ${c.strides} dilations ${c.dilations} pad ${JSON.stringify(c.pad)}`;
}

/** The forward output shape, taken from tfjs itself so dy always fits. */
function dyShape(c: Case, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad, undefined, depthwise);
  return info.outShape;
}

const CASES = 40;

describe('wasm gradient kernels match the cpu backend', () => {
  before(async () => {
    await initBackend('wasm');
  });

  it('Conv2DBackpropFilter', async () => {
    const random = rng(1);
    for (let k = 0; k < CASES; k++) {
      const c = drawCase(random, false, false);
      const dy = dyShape(c, false);
      await assertMatchesCpu(
        'Conv2DBackpropFilter',
        { x: { shape: c.x, data: randomData(random, c.x) }, dy: { shape: dy, data: randomData(random, dy) } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
        describeCase(c),
      );
    }
  });

  it('Conv2DBackpropInput', async () => {
    const random = rng(2);
    for (let k = 0; k < CASES; k++) {
      const c = drawCase(random, false, false);
      const dy = dyShape(c, false);
      await assertMatchesCpu(
        'Conv2DBackpropInput',
        { dy: { shape: dy, data: randomData(random, dy) }, filter: { shape: c.filter, data: randomData(random, c.filter) } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
        describeCase(c),
      );
    }
  });

  it('DepthwiseConv2dNativeBackpropFilter', async () => {
    const random = rng(3);
    for (let k = 0; k < CASES; k++) {
      const c = drawCase(random, true, true);
      const dy = dyShape(c, true);
      const inputs = { x: { shape: c.x, data: randomData(random, c.x) }, dy: { shape: dy, data: randomData(random, dy) } };
      const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, filterShape: c.filter };
      const got = await runOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
      const wide = await runOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', inputs, { ...attrs, dilations: [1, 1], filterShape: dilatedShape(c) });
      assertClose(got, { shape: c.filter, data: sampleTaps(wide, c) }, describeCase(c));
    }
  });

  it('DepthwiseConv2dNativeBackpropInput', async () => {
    const random = rng(4);
    for (let k = 0; k < CASES; k++) {
      const c = drawCase(random, true, true);
      const dy = dyShape(c, true);
      const filter = { shape: c.filter, data: randomData(random, c.filter) };
      const attrs = { strides: c.strides, dilations: c.dilations, pad: c.pad, inputShape: c.x };
      const dyValues = { shape: dy, data: randomData(random, dy) };
      const got = await runOn('wasm', 'DepthwiseConv2dNativeBackpropInput', { dy: dyValues, filter }, attrs);
      const want = await runOn('cpu', 'DepthwiseConv2dNativeBackpropInput', { dy: dyValues, filter: insertZeros(filter, c) }, {
        ...attrs,
        dilations: [1, 1],
      });
      assertClose(got, want, describeCase(c));
    }
  });

  it('MaxPoolGrad (ties go to the first maximum, as on cpu)', async () => {
    const random = rng(6);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    for (let k = 0; k < CASES; k++) {
      const size = int(1, 3);
      const divisible = random() < 0.6;
      const strides = divisible ? size : int(1, 3);
      const x = [int(1, 3), divisible ? size * int(1, 4) : int(size, 9), divisible ? size * int(1, 4) : int(size, 9), int(1, 4)];
      const pad = divisible ? 'valid' : random() < 0.5 ? 'valid' : 'same';
      // Few distinct values, so windows hold tied maxima.
      const xData = randomData(random, x).map((v) => Math.round(v * 2));
      await tf.setBackend('cpu');
      const y = tf.tidy(() => tf.maxPool(tf.tensor4d(xData, x as [number, number, number, number]), size, strides, pad));
      const output = { shape: y.shape, data: y.dataSync() as Float32Array };
      y.dispose();
      await assertMatchesCpu(
        'MaxPoolGrad',
        { dy: { shape: output.shape, data: randomData(random, output.shape) }, input: { shape: x, data: xData }, output },
        { filterSize: size, strides, pad },
        `x ${x} pool ${size} strides ${strides} pad ${pad}`,
      );
    }
  });

  it('Sum (bias-gradient fast path and every other reduction)', async () => {
    const random = rng(7);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    for (let k = 0; k < CASES; k++) {
      const shape = Array.from({ length: int(1, 4) }, () => int(1, 6));
      const leading = random() < 0.5;
      const axis = leading ? shape.slice(0, -1).map((_, i) => i) : shape.map((_, i) => i).filter(() => random() < 0.5);
      const keepDims = random() < 0.5;
      await assertMatchesCpu('Sum', { x: { shape, data: randomData(random, shape) } }, { axis, keepDims }, `shape ${shape} axis ${axis} keepDims ${keepDims}`);
    }
  });

  it('UnsortedSegmentSum (the gradient of gather; out-of-range ids dropped)', async () => {
    const random = rng(8);
    const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    for (let k = 0; k < CASES; k++) {
      const ids = int(1, 30);
      const inner = Array.from({ length: int(0, 2) }, () => int(1, 4));
      const numSegments = int(1, 12);
      const segmentIds = { shape: [ids], data: Float32Array.from({ length: ids }, () => int(-1, numSegments)) };
      const x = { shape: [ids, ...inner], data: randomData(random, [ids, ...inner]) };
      const run = async (backend: 'cpu' | 'wasm'): Promise<Values> => {
        await tf.setBackend(backend);
        return tf.tidy(() => {
          const out = tf.unsortedSegmentSum(tf.tensor(x.data, x.shape), tf.tensor1d(segmentIds.data, 'int32'), numSegments);
          return { shape: out.shape, data: out.dataSync() as Float32Array };
        });
      };
      assertClose(await run('wasm'), await run('cpu'), `ids ${ids} inner ${inner} segments ${numSegments}`);
    }
  });

  it('are the kernels wasm runs, and free every intermediate', async () => {
    await tf.setBackend('wasm');
    for (const config of TRAINING_KERNELS) assert.equal(tf.getKernel(config.kernelName, 'wasm'), config, config.kernelName);
    const backend = tf.engine().backend;
    const x = tf.randomNormal([2, 9, 9, 3]);
    const dy = tf.randomNormal([2, 5, 5, 4]);
    const before = backend.numDataIds();
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] });
    assert.equal(backend.numDataIds(), before + 1);
    tf.dispose([x, dy, dw as tf.Tensor]);
  });
});

describe('saliency: input gradients through fused convolutions on wasm match cpu', () => {
  const random = rng(5);
  const x = { shape: [2, 7, 7, 3], data: randomData(random, [2, 7, 7, 3]) };
  const kernel = { shape: [3, 3, 3, 4], data: randomData(random, [3, 3, 3, 4]) };
  const depthKernel = { shape: [3, 3, 3, 2], data: randomData(random, [3, 3, 3, 2]) };
  const bias = { shape: [6], data: randomData(random, [6]) };

  async function saliency(backend: 'cpu' | 'wasm', depthwise: boolean): Promise<Values> {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const filter = depthwise ? tf.tensor(depthKernel.data, depthKernel.shape) : tf.tensor(kernel.data, kernel.shape);
      const b = tf.tensor(bias.data.subarray(0, depthwise ? 6 : 4));
      const input = tf.tensor(x.data, x.shape);
      const f = (t: tf.Tensor) => {
        const y = depthwise
          ? tf.fused.depthwiseConv2d({ x: t as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 2, pad: 'same', bias: b })
          : tf.fused.conv2d({ x: t as tf.Tensor4D, filter: filter as tf.Tensor4D, strides: 2, pad: 'same', bias: b });
        return tf.sum(tf.square(y));
      };
      const g = tf.grad(f)(input);
      return { shape: g.shape, data: g.dataSync() as Float32Array };
    });
  }

  before(async () => {
    await initBackend('wasm');
  });

  it('Conv2D with bias, no activation', async () => {
    assertClose(await saliency('wasm', false), await saliency('cpu', false), 'fused conv2d');
  });

  it('DepthwiseConv2D with bias, no activation', async () => {
    assertClose(await saliency('wasm', true), await saliency('cpu', true), 'fused depthwise conv2d');
  });
});
