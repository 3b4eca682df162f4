import { ModelFormatError, UnsupportedError } from '../model/errors.js';
import { quote } from '../model/quote.js';

/**
 * A pickle reader that never executes anything. Python's own unpickler imports and calls whatever
 * globals a file names (`os.system`, `builtins.eval`, ...); this one only interprets opcodes into
 * plain values. A global is either on the caller's allow-list (a pure JS function building a value
 * from its arguments), a harmless container class, or unknown: an unknown global may be instantiated
 * through NEWOBJ / BUILD as an opaque PyObject (no code runs, its state stays readable), but calling
 * it (REDUCE) is refused with an error naming it. Every length an opcode declares is checked against
 * the bytes that remain before anything is allocated.
 */

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** A Python dict or OrderedDict (insertion ordered). Keys are compared by JS identity / value. */
export class PyDict {
  readonly entries = new Map<PickleValue, PickleValue>();
}

/** A Python set or frozenset. */
export class PySet {
  constructor(readonly items: PickleValue[]) {}
}

/** A reference to a module-level name (`GLOBAL module name`). Nothing is imported. */
export class PyGlobal {
  /** `module.name`. */
  readonly qualified: string;

  constructor(
    readonly module: string,
    readonly name: string,
  ) {
    this.qualified = `${module}.${name}`;
  }
}

/** An instance of a class convscope does not rebuild (a user's nn.Module, argparse.Namespace, ...). */
export class PyObject {
  state: PickleValue = null;
  constructor(
    readonly className: string,
    readonly args: PickleValue[],
  ) {}
}

/** A value an allow-listed global builds (a tensor or storage reference), tagged by `kind`. */
export interface BuiltValue {
  readonly kind: string;
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | PyDict
  | PySet
  | PyGlobal
  | PyObject
  | BuiltValue;

/** A pure function standing in for an allow-listed Python callable: it receives the REDUCE arguments. */
export type AllowedCall = (args: PickleValue[], context: string) => PickleValue;

export interface UnpickleOptions {
  /** For messages: the file (and entry) being read. */
  name: string;
  /** Extra allow-listed callables by qualified name (`torch._utils._rebuild_tensor_v2`). */
  calls?: Readonly<Record<string, AllowedCall>>;
  /** Resolves a persistent id (PERSID / BINPERSID); without it such opcodes are refused. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

export interface UnpickleResult {
  value: PickleValue;
  /** Classes instantiated as opaque PyObjects, by qualified name. */
  opaqueClasses: Set<string>;
  /** Byte offset just after the STOP opcode (a file may hold several pickles). */
  end: number;
}

/** Python 2 module names that protocol 2 pickles write (Python's own fix_imports mapping, in part). */
const MODULE_ALIASES: Record<string, string> = {
  __builtin__: 'builtins',
  exceptions: 'builtins',
  copy_reg: 'copyreg',
  commands: 'subprocess',
  cPickle: 'pickle',
};

/** Python 2 names that protocol 2 pickles write for Python 3 types (pickle's own NAME_MAPPING, in part). */
const NAME_ALIASES: Record<string, string> = {
  '__builtin__.long': 'int',
  '__builtin__.unicode': 'str',
  '__builtin__.basestring': 'str',
};

/** Containers the VM builds itself. */
const CONTAINER_CALLS: Record<string, AllowedCall> = {
  'collections.OrderedDict': (args) => {
    const d = new PyDict();
    const items = args[0];
    if (Array.isArray(items)) {
      for (const pair of items) if (pair instanceof PyTuple && pair.items.length === 2) d.entries.set(pair.items[0]!, pair.items[1]!);
    }
    return d;
  },
  // defaultdict(factory) then SETITEMS: the factory (a type such as list or int) is never called.
  'collections.defaultdict': () => new PyDict(),
  'builtins.set': (args) => new PySet(Array.isArray(args[0]) ? [...args[0]] : []),
  'builtins.frozenset': (args) => new PySet(Array.isArray(args[0]) ? [...args[0]] : []),
  // Protocols 0-2 pickle bytes as _codecs.encode(text, 'latin1').
  '_codecs.encode': (args, file) => {
    const [text, encoding] = args;
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
      throw new UnsupportedError(`${file} encodes bytes as ${quote(encoding)}; convscope reads only latin1-encoded bytes.`);
    }
    return Uint8Array.from(text, (ch) => ch.charCodeAt(0) & 0xff);
  },
};

/**
 * Data constructors that training checkpoints carry beside the weights (NumPy scalars such as
 * best_acc, NumPy arrays): calling them is represented, never performed, as an opaque PyObject.
 */
const INERT_CALLS = new Set([
  'numpy.dtype',
  'numpy.ndarray',
  'numpy.core.multiarray.scalar',
  'numpy.core.multiarray._reconstruct',
  'numpy._core.multiarray.scalar',
  'numpy._core.multiarray._reconstruct',
]);

/**
 * Modules whose globals are refused on sight, before any REDUCE: they exist to run code, touch the
 * system or load more pickles. (Every other unknown global is still refused when called.)
 */
const REFUSED_MODULES = new Set([
  'os', 'posix', 'nt', 'subprocess', 'sys', 'shutil', 'socket', 'importlib', 'runpy', 'pty', 'code',
  'pickle', '_pickle', 'marshal', 'ctypes', 'webbrowser', 'operator', 'functools', 'types', 'io', 'pathlib',
  'tempfile', 'multiprocessing', 'threading', 'signal', 'asyncio', 'platform', 'inspect', 'pdb',
]);

/**
 * Builtins that are plain containers or value types (a defaultdict's factory names one); they are only
 * referred to, never called. Any other builtins global (eval, exec, getattr, __import__) is refused.
 */
const SAFE_BUILTINS = new Set(['set', 'frozenset', 'dict', 'list', 'tuple', 'object', 'int', 'float', 'str', 'bool', 'bytes', 'complex']);

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

const TEXT = new TextDecoder('utf-8', { fatal: false });
const LATIN1 = new TextDecoder('latin1');

function describeValue(v: unknown): string {
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof PyObject) return `an instance of ${v.className}`;
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyDict) return 'a dict';
  return typeof v === 'object' ? 'an object' : `${typeof v} ${quote(v)}`;
}

/** Interprets one pickle starting at `start`. Throws ModelFormatError / UnsupportedError; never runs code. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions, start = 0): UnpickleResult {
  const { name } = options;
  const calls: Record<string, AllowedCall> = { ...CONTAINER_CALLS, ...(options.calls ?? {}) };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const opaqueClasses = new Set<string>();
  let p = start;

  const fail = (what: string): never => {
    throw new ModelFormatError(`${name}: the pickle is damaged at byte ${p} (${what}).`);
  };
  const need = (n: number, what: string): void => {
    if (!Number.isSafeInteger(n) || n < 0 || n > bytes.length - p) {
      fail(`${what} declares ${n} bytes, but only ${bytes.length - p} remain`);
    }
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(p, p + n);
    p += n;
    return out;
  };
  const u8 = () => (need(1, 'a 1-byte argument'), bytes[p++]!);
  /** `n` bytes of UTF-8 text: short ASCII (names, keys: nearly every string of a checkpoint) without TextDecoder's trip into C++. */
  const text = (n: number, what: string): string => {
    need(n, what);
    const end = p + n;
    if (n <= 64) {
      let ascii = '';
      let i = p;
      for (; i < end; i++) {
        const c = bytes[i]!;
        if (c >= 0x80) break;
        ascii += String.fromCharCode(c);
      }
      if (i === end) {
        p = end;
        return ascii;
      }
    }
    const out = TEXT.decode(bytes.subarray(p, end));
    p = end;
    return out;
  };
  const u16 = () => (need(2, 'a 2-byte argument'), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4, 'a 4-byte argument'), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4, 'a 4-byte argument'), (p += 4), view.getInt32(p - 4, true));
  const u64 = () => {
    need(8, 'an 8-byte argument');
    const v = view.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(bytes.length)) fail(`a length of ${v} bytes, larger than the whole file`);
    return Number(v);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) fail('a text argument has no end of line');
    const text = LATIN1.decode(bytes.subarray(p, end));
    p = end + 1;
    return text;
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined || v === MARK) fail('an opcode needs a value, but the stack is empty');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) fail('an opcode needs a value, but the stack is empty');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no MARK to close');
    const items = stack.slice(m! + 1) as PickleValue[];
    stack.length = m!;
    return items;
  };
  const littleInt = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const textInt = (s: string): number | bigint | boolean => {
    const t = s.trim().replace(/L$/, '');
    if (t === '00') return false;
    if (t === '01') return true;
    if (!/^[-+]?\d+$/.test(t)) fail(`'${s}' is not an integer`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const resolveGlobal = (module: string, qualname: string): PyGlobal => {
    const renamed = NAME_ALIASES[`${module}.${qualname}`];
    const mod = renamed ? 'builtins' : MODULE_ALIASES[module] ?? module;
    const g = new PyGlobal(mod, renamed ?? qualname);
    if (calls[g.qualified] || INERT_CALLS.has(g.qualified)) return g;
    const root = mod.split('.')[0]!;
    if (REFUSED_MODULES.has(root) || (mod === 'builtins' && !SAFE_BUILTINS.has(g.name))) {
      throw new UnsupportedError(
        `${name} refers to the Python global ${quote(g.qualified)}, which convscope refuses to load: a model file must not run code, and nothing was executed.`,
      );
    }
    return g;
  };
  const memoGet = (key: number): PickleValue => {
    if (!memo.has(key)) fail(`memo entry ${key} was never stored`);
    return memo.get(key)!;
  };
  const setItems = (target: PickleValue, items: PickleValue[]): void => {
    if (items.length % 2 !== 0) fail('SETITEMS needs key/value pairs');
    if (target instanceof PyDict) {
      for (let i = 0; i < items.length; i += 2) target.entries.set(items[i]!, items[i + 1]!);
    } else if (target instanceof PyObject) {
      const d = target.state instanceof PyDict ? target.state : new PyDict();
      for (let i = 0; i < items.length; i += 2) d.entries.set(items[i]!, items[i + 1]!);
      target.state = d;
    } else {
      fail(`SETITEMS applies to a dict, but received ${describeValue(target)}`);
    }
  };
  const appendItems = (target: PickleValue, items: PickleValue[]): void => {
    if (Array.isArray(target)) target.push(...items);
    else if (target instanceof PySet) target.items.push(...items);
    else if (target instanceof PyObject) target.args.push(...items);
    else fail(`APPEND applies to a list, but received ${describeValue(target)}`);
  };
  const call = (callable: PickleValue, args: PickleValue[]): PickleValue => {
    if (!(callable instanceof PyGlobal)) {
      return fail(`REDUCE calls ${describeValue(callable)}, which is not callable`);
    }
    const fn = calls[callable.qualified];
    if (!fn && INERT_CALLS.has(callable.qualified)) return new PyObject(callable.qualified, args);
    if (!fn) {
      throw new UnsupportedError(
        `${name} asks to call the Python global ${quote(callable.qualified)}, which is not on convscope's allow-list of tensor and container constructors; it was refused and nothing was executed.`,
      );
    }
    return fn(args, name);
  };
  const instantiate = (cls: PickleValue, args: PickleValue[]): PickleValue => {
    if (!(cls instanceof PyGlobal)) return fail(`NEWOBJ needs a class, but received ${describeValue(cls)}`);
    const builtin = calls[cls.qualified];
    if (builtin) return builtin(args, name);
    if (cls.qualified === 'builtins.dict') return new PyDict();
    if (cls.qualified === 'builtins.list') return [];
    opaqueClasses.add(cls.qualified);
    return new PyObject(cls.qualified, args);
  };

  for (;;) {
    if (p >= bytes.length) fail('the pickle ends without a STOP opcode');
    const at = p;
    const op = bytes[p++]!;
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        return { value: pop(), opaqueClasses, end: p };
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack[stack.length - 1] === MARK) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new PyTuple([]));
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new PySet([]));
        break;
      case 0x91: // FROZENSET
        stack.push(new PySet(popMark()));
        break;
      case 0x74: // TUPLE
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push(new PyTuple([pop(), b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(new PyTuple([pop(), b, c]));
        break;
      }
      case 0x6c: // LIST
        stack.push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x49: // INT
      case 0x4c: // LONG
        stack.push(textInt(line()));
        break;
      case 0x8a: // LONG1
        stack.push(littleInt(take(u8(), 'LONG1')));
        break;
      case 0x8b: // LONG4
        stack.push(littleInt(take(u32(), 'LONG4')));
        break;
      case 0x47: // BINFLOAT
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x46: {
        // FLOAT
        const s = line();
        const v = Number(s);
        if (Number.isNaN(v) && !/nan/i.test(s)) fail(`'${s}' is not a float`);
        stack.push(v);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32(), 'BINUNICODE'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8(), 'SHORT_BINUNICODE'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64(), 'BINUNICODE8'));
        break;
      case 0x56: // UNICODE, raw-unicode-escape: latin1 text with \uXXXX / \UXXXXXXXX escapes
        stack.push(
          line().replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (_, u4: string | undefined, u8: string | undefined) =>
            String.fromCodePoint(parseInt(u4 ?? u8!, 16)),
          ),
        );
        break;
      case 0x54: // BINSTRING
        stack.push(LATIN1.decode(take(i32(), 'BINSTRING')));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(LATIN1.decode(take(u8(), 'SHORT_BINSTRING')));
        break;
      case 0x53: // STRING
        stack.push(line().replace(/^(['"])(.*)\1$/, '$2'));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32(), 'BINBYTES'));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8(), 'SHORT_BINBYTES'));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(take(u64(), 'BINBYTES8'));
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const qualname = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof qualname !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(resolveGlobal(module as string, qualname as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!(args instanceof PyTuple)) fail(`REDUCE needs an argument tuple, but received ${describeValue(args)}`);
        stack.push(call(callable, (args as PyTuple).items));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        const cls = pop();
        stack.push(instantiate(cls, args instanceof PyTuple ? args.items : []));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop();
        const args = pop();
        const cls = pop();
        stack.push(instantiate(cls, args instanceof PyTuple ? args.items : []));
        break;
      }
      case 0x69: {
        // INST
        const module = line();
        const cls = resolveGlobal(module, line());
        stack.push(instantiate(cls, popMark()));
        break;
      }
      case 0x6f: {
        // OBJ
        const items = popMark();
        const cls = items.shift();
        stack.push(instantiate(cls ?? null, items));
        break;
      }
      case 0x62: {
        // BUILD: state goes onto an opaque object; dict attributes (OrderedDict._metadata) are dropped.
        const state = pop();
        const target = top();
        if (target instanceof PyObject) target.state = state;
        else if (!(target instanceof PyDict) && (target === null || typeof target !== 'object')) {
          fail(`BUILD applies to an object, but received ${describeValue(target)}`);
        }
        break;
      }
      case 0x70: // PUT
        memo.set(Number(textInt(line())), top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x67: // GET
        stack.push(memoGet(Number(textInt(line()))));
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x50: // PERSID
      case 0x51: {
        // BINPERSID
        const pid = op === 0x50 ? line() : pop();
        if (!options.persistentLoad) fail('a persistent id appears outside a checkpoint archive');
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new UnsupportedError(`${name} uses the pickle extension registry (opcode 0x${op.toString(16)} at byte ${at}), which convscope does not support.`);
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        throw new UnsupportedError(`${name} uses out-of-band pickle buffers (opcode 0x${op.toString(16)} at byte ${at}), which convscope does not support.`);
      default:
        fail(`unknown opcode 0x${op.toString(16)}`);
    }
  }
}
