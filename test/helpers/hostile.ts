/**
 * Hostile files written in TypeScript alone (no python), so the bomb tests and the fuzzer's hostile
 * set run on any machine: zip archives with hand-made deflate streams, minimal PyTorch checkpoints
 * with a hand-written pickle, decompression bombs.
 */
import { deflateRawSync, constants } from 'node:zlib';

/**
 * A raw deflate stream that inflates to `mib` MiB of zeros, about 1 KiB per MiB: one 1 MiB block
 * compressed fresh, then the same block compressed against a window of zeros repeated (valid because
 * the window is all zeros wherever it starts), then an empty final block.
 */
export function zeroBomb(mib: number): Uint8Array {
  const block = Buffer.alloc(1 << 20);
  const first = deflateRawSync(block, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
  const next = deflateRawSync(block, { finishFlush: constants.Z_SYNC_FLUSH, level: 9, dictionary: Buffer.alloc(32768) });
  return Buffer.concat([first, ...Array<Buffer>(Math.max(0, mib - 1)).fill(next), Buffer.from([0x03, 0x00])]);
}

export interface ZipInput {
  name: string;
  /** Stored bytes (method 0), or a raw deflate stream with the size it declares (method 8). */
  data: Uint8Array | { deflated: Uint8Array; size: number };
}

/** A minimal zip archive (no CRCs checked by convscope; CRC fields are 0). */
export function writeZip(entries: readonly ZipInput[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const stored = e.data instanceof Uint8Array;
    const body = Buffer.from(stored ? (e.data as Uint8Array) : (e.data as { deflated: Uint8Array }).deflated);
    const size = stored ? body.length : (e.data as { size: number }).size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(stored ? 0 : 8, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(stored ? 0 : 8, 10);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    parts.push(local, name, body);
    offset += 30 + name.length + body.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/** Pickle protocol 2 pieces. */
const P = {
  str: (s: string) => Buffer.concat([Buffer.from([0x58]), u32(Buffer.byteLength(s)), Buffer.from(s)]),
  int: (n: number) => Buffer.concat([Buffer.from([0x4a]), i32(n)]),
  global: (module: string, name: string) => Buffer.from(`c${module}\n${name}\n`),
};
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}
function tuple(items: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from('('), ...items, Buffer.from('t')]);
}

/** One tensor of a hand-written checkpoint: a strided view of storage `storage` holding `numel` float32 values. */
export interface PickledTensor {
  key: string;
  storage: string;
  numel: number;
  shape: readonly number[];
  stride: readonly number[];
}

function pickledTensor(t: PickledTensor): Buffer {
  const storage = Buffer.concat([tuple([P.str('storage'), P.global('torch', 'FloatStorage'), P.str(t.storage), P.str('cpu'), P.int(t.numel)]), Buffer.from('Q')]);
  const args = tuple([
    storage,
    P.int(0),
    tuple(t.shape.map(P.int)),
    tuple(t.stride.map(P.int)),
    Buffer.from([0x89]),
    Buffer.concat([P.global('collections', 'OrderedDict'), Buffer.from(')R')]),
  ]);
  return Buffer.concat([P.str(t.key), P.global('torch._utils', '_rebuild_tensor_v2'), args, Buffer.from('R')]);
}

/**
 * data.pkl of `torch.save(state_dict)` as torch writes it (protocol 2): each tensor is
 * `_rebuild_tensor_v2(persistent_load(('storage', FloatStorage, key, 'cpu', numel)), 0, shape, stride,
 * False, OrderedDict())`.
 */
export function torchStateDictPickle(tensors: readonly PickledTensor[]): Uint8Array {
  return Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from('}('), ...tensors.map(pickledTensor), Buffer.from('u.')]);
}

/** data.pkl of `torch.save({'w': tensor})` over storage '0'. */
export function torchPickle(numel: number, shape: readonly number[], stride: readonly number[]): Uint8Array {
  return torchStateDictPickle([{ key: 'w', storage: '0', numel, shape, stride }]);
}

/** A PyTorch zip checkpoint holding one float32 tensor 'w' over storage '0'. */
export function torchZip(pickle: Uint8Array, storage: ZipInput['data']): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: pickle },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    { name: 'archive/data/0', data: storage },
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}
