/**
 * Seed files for the fuzzer, per format: files the project writes itself (so a fresh machine has seeds
 * for every format, no python needed) plus the shared fixtures and ONNX test data where present.
 * A seed is a small folder: the model file and the files it names (TF.js shards, index shards).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { encodeSafetensors } from '../src/formats/safetensors-write.js';
import { torchStateDictPickle, torchZip, writeZip, type PickledTensor } from '../test/helpers/hostile.js';
import { values, writeDenseWeightsH5, writeKeras1ThH5, writeKeras2FullH5, writeKeras2WeightsH5, writeKeras3WeightsH5, writeKerasZip, writeTfjsModel } from '../test/helpers/keras-writers.js';

export const FORMATS = ['keras-h5', 'keras-weights-h5', 'keras-v3', 'tfjs', 'pytorch', 'safetensors', 'onnx', 'tf-checkpoint'] as const;
export type FuzzFormat = (typeof FORMATS)[number];

export interface Seed {
  readonly format: FuzzFormat;
  readonly name: string;
  /** File name -> bytes; `main` is the one opened. */
  readonly files: Readonly<Record<string, Uint8Array>>;
  readonly main: string;
}

const FIXTURES = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'shared', 'fixtures');
const ONNX_TESTDATA = '/usr/share/libonnx-testdata/data/pytorch-converted';

function folderSeed(format: FuzzFormat, name: string, path: string): Seed {
  const dir = dirname(path);
  const files: Record<string, Uint8Array> = { [basename(path)]: readFileSync(path) };
  if (format === 'tfjs') for (const f of readdirSync(dir)) if (f.endsWith('.bin')) files[f] = readFileSync(join(dir, f));
  return { format, name, files, main: basename(path) };
}

/** Protobuf wire encoding, just enough to write an ONNX ModelProto. */
function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
}
const pbInt = (field: number, n: number) => [...varint(field << 3), ...varint(n)];
const pbBytes = (field: number, bytes: ArrayLike<number>) => [...varint((field << 3) | 2), ...varint(bytes.length), ...Array.from(bytes)];
const pbStr = (field: number, s: string) => pbBytes(field, new TextEncoder().encode(s));

/** A Conv -> BatchNormalization -> Gemm ONNX model with float32 initializers in raw_data and float_data. */
function onnxModel(): Uint8Array {
  const init = (name: string, dims: number[], seed: number, typed = false) => {
    const data = values(dims.reduce((a, b) => a * b, 1), seed);
    const body = [...dims.flatMap((d) => pbInt(1, d)), ...pbInt(2, 1), ...pbStr(8, name)];
    if (typed) body.push(...pbBytes(4, new Uint8Array(data.buffer)));
    else body.push(...pbBytes(9, new Uint8Array(data.buffer)));
    return pbBytes(5, body);
  };
  const node = (op: string, name: string, inputs: string[], outputs: string[], attrs: number[][] = []) =>
    pbBytes(1, [...inputs.flatMap((i) => pbStr(1, i)), ...outputs.flatMap((o) => pbStr(2, o)), ...pbStr(3, name), ...pbStr(4, op), ...attrs.flat()]);
  const intsAttr = (name: string, ints: number[]) => pbBytes(5, [...pbStr(1, name), ...ints.flatMap((i) => pbInt(8, i)), ...pbInt(20, 7)]);
  const valueInfo = (field: number, name: string, dims: number[]) =>
    pbBytes(field, [...pbStr(1, name), ...pbBytes(2, pbBytes(1, [...pbInt(1, 1), ...pbBytes(2, dims.flatMap((d) => pbBytes(1, pbInt(1, d))))]))]);
  const graph = [
    ...node('Conv', 'conv', ['x', 'conv.weight', 'conv.bias'], ['c'], [intsAttr('kernel_shape', [3, 3]), intsAttr('pads', [1, 1, 1, 1])]),
    ...node('BatchNormalization', 'bn', ['c', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'], ['b']),
    ...node('Flatten', 'flat', ['b'], ['f']),
    ...node('Gemm', 'fc', ['f', 'fc.weight', 'fc.bias'], ['y'], [pbBytes(5, [...pbStr(1, 'transB'), ...pbInt(3, 1), ...pbInt(20, 2)])]),
    ...pbStr(2, 'fuzz-seed'),
    ...init('conv.weight', [4, 2, 3, 3], 1),
    ...init('conv.bias', [4], 2, true),
    ...init('bn.weight', [4], 3),
    ...init('bn.bias', [4], 4),
    ...init('bn.running_mean', [4], 5, true),
    ...init('bn.running_var', [4], 6),
    ...init('fc.weight', [3, 64], 7),
    ...init('fc.bias', [3], 8),
    ...valueInfo(11, 'x', [1, 2, 4, 4]),
    ...valueInfo(12, 'y', [1, 3]),
  ];
  return Uint8Array.from([...pbInt(1, 8), ...pbStr(2, 'convscope-fuzz'), ...pbBytes(7, graph), ...pbBytes(8, pbInt(2, 13))]);
}

function torchSeed(): Uint8Array {
  const tensors: PickledTensor[] = [
    { key: 'conv.weight', storage: '0', numel: 72, shape: [4, 2, 3, 3], stride: [18, 9, 3, 1] },
    { key: 'conv.bias', storage: '1', numel: 4, shape: [4], stride: [1] },
    { key: 'bn.weight', storage: '2', numel: 4, shape: [4], stride: [1] },
    { key: 'bn.running_mean', storage: '3', numel: 4, shape: [4], stride: [1] },
    { key: 'fc.weight', storage: '4', numel: 192, shape: [3, 64], stride: [1, 3] },
  ];
  const zip = torchZip(torchStateDictPickle(tensors), new Uint8Array(values(72, 9).buffer));
  const storages = tensors.slice(1).map((t, i) => ({ name: `archive/data/${t.storage}`, data: new Uint8Array(values(t.numel, 10 + i).buffer) }));
  return writeZip([...readZipEntries(zip), ...storages]);
}

/** The entries of a stored zip written by writeZip (to extend it). */
function readZipEntries(zip: Uint8Array): { name: string; data: Uint8Array }[] {
  const out: { name: string; data: Uint8Array }[] = [];
  const view = Buffer.from(zip);
  let p = 0;
  while (view.readUInt32LE(p) === 0x04034b50) {
    const size = view.readUInt32LE(p + 18);
    const nameLength = view.readUInt16LE(p + 26);
    const name = view.subarray(p + 30, p + 30 + nameLength).toString();
    out.push({ name, data: view.subarray(p + 30 + nameLength, p + 30 + nameLength + size) });
    p += 30 + nameLength + size;
  }
  return out;
}

function safetensorsSeeds(): Seed[] {
  const tensors = [
    { name: 'conv.weight', shape: [4, 2, 3, 3], data: values(72, 21) },
    { name: 'conv.bias', shape: [4], data: values(4, 22) },
    { name: 'bn.running_var', shape: [4], data: Float64Array.from(values(4, 23)) },
    { name: 'fc.weight', shape: [3, 8], data: Int16Array.from(values(24, 24), (v) => Math.round(v * 1000)) },
  ];
  const single = encodeSafetensors(tensors, { format: 'pt' });
  const index = new TextEncoder().encode(
    JSON.stringify({ metadata: { total_size: 400 }, weight_map: { 'conv.weight': 'a.safetensors', 'conv.bias': 'a.safetensors', 'fc.weight': 'b.safetensors' } }),
  );
  return [
    { format: 'safetensors', name: 'generated single', files: { 'model.safetensors': single }, main: 'model.safetensors' },
    {
      format: 'safetensors',
      name: 'generated sharded',
      files: { 'model.safetensors.index.json': index, 'a.safetensors': encodeSafetensors(tensors.slice(0, 2)), 'b.safetensors': encodeSafetensors(tensors.slice(3)) },
      main: 'model.safetensors.index.json',
    },
  ];
}

/** Every seed: generated ones always, fixtures and ONNX test data where this machine has them. */
export async function makeSeeds(): Promise<Seed[]> {
  const dir = mkdtempSync(join(tmpdir(), 'convscope-fuzz-seeds-'));
  try {
    const seeds: Seed[] = [];
    const h5 = async (format: FuzzFormat, name: string, write: (d: string) => Promise<{ path: string }>) => {
      const sub = mkdtempSync(join(dir, 's-'));
      seeds.push(folderSeed(format, name, (await write(sub)).path));
    };
    await h5('keras-h5', 'generated Keras 2 full model', writeKeras2FullH5);
    await h5('keras-h5', 'generated Keras 1 th', writeKeras1ThH5);
    await h5('keras-weights-h5', 'generated Keras 2 save_weights', writeKeras2WeightsH5);
    await h5('keras-weights-h5', 'generated Keras 3 .weights.h5', writeKeras3WeightsH5);
    await h5('keras-weights-h5', 'generated dense-storage weights (libver v108)', writeDenseWeightsH5);
    await h5('keras-v3', 'generated .keras stored', (d) => writeKerasZip(d, 0));
    await h5('keras-v3', 'generated .keras deflated', (d) => writeKerasZip(d, 6));
    const tfjs = mkdtempSync(join(dir, 's-'));
    seeds.push(folderSeed('tfjs', 'generated TF.js', writeTfjsModel(tfjs).path));
    seeds.push({ format: 'pytorch', name: 'generated state_dict', files: { 'model.pt': torchSeed() }, main: 'model.pt' });
    seeds.push(...safetensorsSeeds());
    seeds.push({ format: 'onnx', name: 'generated conv-bn-gemm', files: { 'model.onnx': onnxModel() }, main: 'model.onnx' });
    const fixtures: [FuzzFormat, string][] = [
      ['keras-h5', '05_dl4j_weight_layout/conv2d_tensorflow_2.h5'],
      ['keras-h5', '03_dl4j_cnn_batchnorm/cnn_batch_norm.h5'],
      ['keras-h5', '04_dl4j_keras1_cnn/cnn_tf_model.h5'],
      ['keras-weights-h5', '04_dl4j_keras1_cnn/cnn_tf_weights.h5'],
      ['tfjs', '08_xfmt_keras2h5_tfjs/model/model.json'],
    ];
    for (const [format, rel] of fixtures) {
      const path = join(FIXTURES, rel);
      if (existsSync(path)) seeds.push(folderSeed(format, `fixture ${rel}`, path));
    }
    // TensorFlow checkpoints: every file of the bundle (index, data shards, .meta, checkpoint state) is a mutation target.
    const bundles: [string, string][] = [
      ['14_tf_savedmodel_checkpoints/dotnet_cifar_tf1_ckpt/cifar_model', 'model.ckpt.index'],
      ['14_tf_savedmodel_checkpoints/tfserving_half_plus_two_snappy/saved_model_half_plus_two_tf2_cpu/00000123/variables', 'variables.index'],
      ['14_tf_savedmodel_checkpoints/tfnet_keras_lstm_sequential/lstm_from_sequential/variables', 'variables.index'],
    ];
    for (const [rel, main] of bundles) {
      const folder = join(FIXTURES, rel);
      if (!existsSync(folder)) continue;
      const files = Object.fromEntries(readdirSync(folder).map((f) => [f, readFileSync(join(folder, f))]));
      seeds.push({ format: 'tf-checkpoint', name: `fixture ${rel}`, files, main });
    }
    const conv = join(ONNX_TESTDATA, 'test_Conv2d', 'model.onnx');
    if (existsSync(conv)) seeds.push(folderSeed('onnx', 'onnx test data Conv2d', conv));
    return seeds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
