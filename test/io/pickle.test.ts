import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PyDict, PyGlobal, PyObject, PySet, PyTuple, unpickle, type PickleValue } from '../../src/io/pickle.js';
import { ModelFormatError, UnsupportedError } from '../../src/model/errors.js';
import { needsPython, runPython } from '../helpers/python.js';

/** The JSON Python's side prints for the same value (see PY_TO_JSON). */
function toJson(v: PickleValue): unknown {
  if (typeof v === 'bigint') return { int: v.toString() };
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof PyTuple) return { tuple: v.items.map(toJson) };
  if (v instanceof PySet) return { set: v.items.map(toJson).sort() };
  if (v instanceof PyDict) return Object.fromEntries([...v.entries].map(([k, x]) => [String(k), toJson(x)]));
  return v;
}

const PY_TO_JSON = `
import json, pickle, sys, collections
def conv(v):
    if isinstance(v, bool) or v is None or isinstance(v, (float, str)): return v
    if isinstance(v, int): return v if abs(v) <= 2**53 - 1 else {'int': str(v)}
    if isinstance(v, bytes): return {'bytes': v.hex()}
    if isinstance(v, list): return [conv(x) for x in v]
    if isinstance(v, tuple): return {'tuple': [conv(x) for x in v]}
    if isinstance(v, (set, frozenset)): return {'set': sorted(conv(x) for x in v)}
    if isinstance(v, dict): return {str(k): conv(x) for k, x in v.items()}
    raise TypeError(type(v))
shared = [1, 2]
value = {
    'small': 7, 'i2': 300, 'i4': 70000, 'neg': -5, 'big': 2**70, 'negbig': -(2**64) + 3, 'f': 1.5, 'tiny': -2.5e-300,
    'text': 'h\\u00e9llo \\u2603', 'long': 'x' * 300, 'raw': b'\\x00\\x01\\xff', 'empty': (), 't1': (4,), 't3': (1, 2, 3), 't5': (1, 2, 3, 4, 5),
    'nested': [1, [2, (3, None)]], 'flags': {'y': True, 'n': False, 'none': None}, 'set': {3, 1, 2}, 'frozen': frozenset({7}),
    'a': shared, 'b': shared, 'od': collections.OrderedDict([('k', 1), ('j', 2)]), 7: 'int key',
}
print(json.dumps({'expected': conv(value), 'pickles': {str(p): pickle.dumps(value, protocol=p).hex() for p in range(0, 6)}}))
`;

function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** Pickle bytes written as text, one character per byte. */
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => ch.charCodeAt(0));
}

describe('safe unpickler', () => {
  it('decodes the same value from Python pickles of protocols 0 to 5 (memo, frames, big ints, bytes, sets)', needsPython('pickle'), () => {
    const { expected, pickles } = JSON.parse(runPython(PY_TO_JSON)) as { expected: unknown; pickles: Record<string, string> };
    for (const [protocol, hex] of Object.entries(pickles)) {
      const { value } = unpickle(fromHex(hex), { name: `protocol ${protocol}` });
      assert.deepEqual(toJson(value), expected, `protocol ${protocol}`);
      const d = value as PyDict;
      assert.equal(d.entries.get('a'), d.entries.get('b'), `protocol ${protocol}: a memoised object is shared, not copied`);
    }
  });

  it('refuses os.system, builtins.eval and subprocess.Popen by name before anything runs', () => {
    const cases: [string, string][] = [
      ['cposix\nsystem\n(Vtouch /tmp/x\ntR.', 'posix.system'],
      ['cos\nsystem\n(Vtouch /tmp/x\ntR.', 'os.system'],
      ['c__builtin__\neval\n(V1+1\ntR.', 'builtins.eval'],
      ['cbuiltins\ngetattr\n.', 'builtins.getattr'],
      ['csubprocess\nPopen\n.', 'subprocess.Popen'],
      ['ccommands\ngetoutput\n.', 'subprocess.getoutput'],
    ];
    for (const [text, name] of cases) {
      assert.throws(
        () => unpickle(latin1(text), { name: 'evil.pkl' }),
        (e: Error) => e instanceof UnsupportedError && e.message.includes(`'${name}'`) && e.message.includes('nothing was executed'),
        name,
      );
    }
  });

  it('refuses to call an unknown global, but instantiates an unknown class as an opaque object', () => {
    assert.throws(
      () => unpickle(latin1('cmylib\nrun\n(tR.'), { name: 'm.pkl' }),
      /m\.pkl asks to call the Python global 'mylib\.run', which is not on convscope's allow-list/,
    );
    const { value, opaqueClasses } = unpickle(latin1('\x80\x02cmymodels\nNet\n)\x81}X\x01\x00\x00\x00wK\x05sb.'), { name: 'n.pkl' });
    assert.ok(value instanceof PyObject);
    assert.equal(value.className, 'mymodels.Net');
    assert.equal((value.state as PyDict).entries.get('w'), 5);
    assert.deepEqual([...opaqueClasses], ['mymodels.Net']);
  });

  it('allow-listed calls are pure JS functions that receive the arguments', () => {
    const bytes = latin1('ctorch\nSize\n((K\x02K\x03ttR.');
    const { value } = unpickle(bytes, { name: 's.pkl', calls: { 'torch.Size': (args) => args[0]! } });
    assert.deepEqual(toJson(value), { tuple: [2, 3] });
    assert.ok(unpickle(latin1('ctorch\nSize\n.'), { name: 's.pkl' }).value instanceof PyGlobal);
  });

  it('checks every declared length against the remaining bytes before allocating', () => {
    const cases = [
      [0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x61], // BINUNICODE of 2 GiB
      [0x80, 0x04, 0x8d, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x61], // BINUNICODE8 of 2^60
      [0x80, 0x04, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], // FRAME of 2^63
      [0x80, 0x02, 0x8b, 0xff, 0xff, 0xff, 0xff], // LONG4 of 4 GiB
    ];
    for (const c of cases) {
      const before = process.memoryUsage().arrayBuffers;
      assert.throws(() => unpickle(new Uint8Array(c), { name: 'big.pkl' }), (e: Error) => e instanceof ModelFormatError && /big\.pkl: the pickle is damaged at byte \d+ \(.*(declares \d+ bytes, but only \d+ remain|larger than the whole file)\)/.test(e.message));
      assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20, 'nothing large was allocated');
    }
    assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0x4e]), { name: 't.pkl' }), /t\.pkl: the pickle is damaged at byte 3 \(the pickle ends without a STOP opcode\)/);
    assert.throws(() => unpickle(new Uint8Array([0x80, 0x02, 0x68, 0x05, 0x2e]), { name: 'm.pkl' }), /memo entry 5 was never stored/);
  });
});
