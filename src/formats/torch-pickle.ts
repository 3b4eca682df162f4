import type { DType } from '../model/dtype.js';
import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';
import { PyGlobal, PyTuple, type AllowedCall, type PickleValue } from '../io/pickle.js';

/**
 * The allow-list of PyTorch globals a torch.save pickle may call, each a pure JS stand-in that only
 * records what the file says: where a tensor's storage is, its offset, shape and strides.
 */

/** A storage named by a persistent id: the zip entry `data/<key>` holding `numel` elements of `dtype`. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly key: string;
  readonly dtype: DType;
  readonly numel: number;
}

/** A tensor as torch._utils._rebuild_tensor_v2 describes it: a strided view of a storage. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  /** In elements. */
  readonly offset: number;
  readonly shape: readonly number[];
  /** In elements. */
  readonly stride: readonly number[];
}

export function isTensorRef(v: unknown): v is TensorRef {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'tensor';
}

const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

/** A view with zero strides (torch.expand) can name far more elements than its storage holds. */
const MAX_EXPANDED = 2 ** 27;

function naturals(v: PickleValue | undefined, what: string, file: string): number[] {
  const items = v instanceof PyTuple ? v.items : Array.isArray(v) ? v : undefined;
  if (!items || !items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
    throw new ModelFormatError(`${file}: a tensor's ${what} must be a tuple of non-negative integers, but the pickle holds something else.`);
  }
  return items as number[];
}

function rebuildTensor(args: PickleValue[], file: string): TensorRef {
  const storage = args[0] as StorageRef;
  if (typeof storage !== 'object' || storage === null || (storage as { kind?: unknown }).kind !== 'storage') {
    throw new ModelFormatError(`${file}: _rebuild_tensor_v2 expects a storage as its first argument, but received something else.`);
  }
  const offset = args[1];
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ModelFormatError(`${file}: a tensor's storage offset must be a non-negative integer, but received ${quote(offset)}.`);
  }
  const shape = naturals(args[2], 'size', file);
  const stride = naturals(args[3], 'stride', file);
  if (stride.length !== shape.length) {
    throw new ModelFormatError(`${file}: a tensor of size (${shape.join(', ')}) has ${stride.length} strides.`);
  }
  const empty = shape.some((d) => d === 0);
  const last = empty ? 0 : offset + shape.reduce((a, d, i) => a + (d - 1) * stride[i]!, 0) + 1;
  if (last > storage.numel) {
    throw new ModelFormatError(
      `${file}: a tensor of size (${shape.join(', ')}) at offset ${offset} needs ${last} elements, but its storage '${storage.key}' holds ${storage.numel}.`,
    );
  }
  const count = shape.reduce((a, d) => a * d, 1);
  if (count > storage.numel && count > MAX_EXPANDED) {
    throw new ModelFormatError(
      `${file}: a tensor of size (${shape.join(', ')}) repeats the ${storage.numel} elements of storage '${storage.key}' into ${count}, more than convscope materialises (${MAX_EXPANDED}).`,
    );
  }
  return { kind: 'tensor', storage, offset, shape, stride };
}

const passTensor: AllowedCall = (args, file) => {
  if (!isTensorRef(args[0])) throw new ModelFormatError(`${file}: _rebuild_parameter expects a tensor, but received something else.`);
  return args[0];
};

/** Callables a checkpoint pickle may use; values numpy and argparse leave in training checkpoints stay opaque. */
export const TORCH_CALLS: Readonly<Record<string, AllowedCall>> = {
  'torch._utils._rebuild_tensor_v2': (args, file) => rebuildTensor(args, file),
  'torch._utils._rebuild_tensor': (args, file) => rebuildTensor(args, file),
  'torch._utils._rebuild_parameter': passTensor,
  'torch._utils._rebuild_parameter_with_state': passTensor,
  'torch.device': (args) => String(args[0]),
  // TorchScript's typed lists and type tags: the list itself, or the tagged value unchanged.
  'torch.jit._pickle.build_intlist': (args) => args[0] ?? [],
  'torch.jit._pickle.build_doublelist': (args) => args[0] ?? [],
  'torch.jit._pickle.build_boollist': (args) => args[0] ?? [],
  'torch.jit._pickle.build_tensorlist': (args) => args[0] ?? [],
  'torch.jit._pickle.build_complexlist': (args) => args[0] ?? [],
  'torch.jit._pickle.restore_type_tag': (args) => args[0] ?? null,
  'torch.Size': (args) => args[0] ?? new PyTuple([]),
};

/** The StorageRef a persistent id ('storage', <storage type>, key, location, numel) names. */
export function storageFromPid(pid: PickleValue, file: string): StorageRef {
  const items = pid instanceof PyTuple ? pid.items : [];
  const [tag, type, key, , numel] = items;
  if (tag !== 'storage' || !(type instanceof PyGlobal) || typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
    throw new ModelFormatError(`${file}: a persistent id is not a ('storage', type, key, location, size) tuple.`);
  }
  const dtype = type.module === 'torch' && Object.hasOwn(STORAGE_DTYPES, type.name) ? STORAGE_DTYPES[type.name] : undefined;
  if (!dtype) throw new UnsupportedError(`${file}: storage ${quote(key)} has type ${quote(type.qualified)}, which convscope does not support.`);
  return { kind: 'storage', key, dtype, numel };
}
