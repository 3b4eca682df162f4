"""
HDF5 files in every form the TypeScript HDF5 reader (src/io/hdf5-native.ts) must read, written by h5py,
and what h5py reads back from them: the oracle of test/io/hdf5-native.test.ts.

Run as: python3 hdf5_variants.py <out_dir> [extra.h5 ...]. Writes <out_dir>/*.h5 and
<out_dir>/expected.json: per file, every object h5py reaches from the root (path, kind, member order,
attribute order, each attribute as text or null when it is not text, dataset shape, dtype and the sha256 of
its values as little-endian bytes, float16 widened to float32). Extra files (the shared Keras fixtures,
the model.weights.h5 inside a .keras zip) are described too, under their own paths.
"""
import sys, os, json, hashlib, zipfile
import h5py, numpy as np
out = sys.argv[1]
rng = np.random.default_rng(7)
manifest = {}

def keras_like(f, n_layers=3, dtype='<f4', **ds):
    mw = f.create_group('model_weights')
    names = [('conv2d_%d' % i).encode() for i in range(n_layers)]
    mw.attrs['layer_names'] = np.array(names)
    f.attrs['keras_version'] = b'2.4.0'
    f.attrs['backend'] = 'tensorflow'  # vlen str
    f.attrs['model_config'] = json.dumps({'class_name': 'Sequential', 'config': {'layers': []}})
    for i, n in enumerate(names):
        g = mw.create_group(n.decode())
        g.attrs['weight_names'] = np.array([n + b'/kernel:0', n + b'/bias:0'])
        inner = g.create_group(n.decode())
        inner.create_dataset('kernel:0', data=rng.standard_normal((3, 3, 2 + i, 5)).astype(dtype), **ds)
        inner.create_dataset('bias:0', data=rng.standard_normal((5,)).astype(dtype), **ds)

def make(name, libver=None, **kw):
    path = os.path.join(out, name)
    f = h5py.File(path, 'w', libver=libver, **kw) if libver else h5py.File(path, 'w', **kw)
    return path, f

# 1. superblock 0, symbol tables (what Keras writes)
p, f = make('sb0.h5'); keras_like(f); f.close()
# 1b. a user block before the superblock: every address is relative to the base address
p, f = make('userblock.h5', userblock_size=1024); keras_like(f); f.close()
with open(p, 'r+b') as u: u.write(b'a user block that is not HDF5')
# 2. superblock 2 and 3, link messages; 12 layers -> dense group storage
for lv in ['v108', 'latest']:
    p, f = make('sb-%s.h5' % lv, libver=(lv, lv) if lv != 'latest' else 'latest'); keras_like(f, n_layers=12); f.close()
# 3. creation order tracked and indexed
p, f = make('track-order.h5', libver='latest', track_order=True)
g = f.create_group('g', track_order=True)
for n in ['zeta', 'alpha', 'mid', 'beta']: g.create_dataset(n, data=np.arange(3, dtype='<i4'))
for n in ['z_attr', 'a_attr', 'm_attr']: g.attrs[n] = n
f.close()
# 4. many members in an old-style group: several symbol table nodes, a two-level B-tree
p, f = make('many-old.h5')
g = f.create_group('many')
for i in range(300): g.create_dataset('d%03d' % i, data=np.array([i], dtype='<i2'))
f.close()
# 4b. many members and attributes in new-style groups: dense storage whose name index is a deep v2 B-tree
p, f = make('many-new.h5', libver='latest')
g = f.create_group('many')
for i in range(300): g.create_dataset('d%03d' % ((i * 7) % 300), data=np.array([i], dtype='<i2'))
for i in range(300): g.attrs['a%03d' % ((i * 11) % 300)] = 'v%d' % i
t = f.create_group('ordered', track_order=True)
for i in range(120): t.create_dataset('n%03d' % ((i * 13) % 120), data=np.array([i], dtype='<i2'))
for i in range(120): t.attrs['b%03d' % ((i * 17) % 120)] = np.int32(i)
f.close()
# 5. chunked, gzip + shuffle, edge chunks, v1 B-tree (earliest) and new chunk indexes (latest)
for lv in [None, 'latest']:
    p, f = make('chunked-%s.h5' % (lv or 'earliest'), libver=lv)
    f.create_dataset('gz', data=rng.standard_normal((37, 23)).astype('<f4'), chunks=(8, 5), compression='gzip', shuffle=True)
    f.create_dataset('gz3', data=rng.integers(-1000, 1000, (5, 6, 7)).astype('<i4'), chunks=(2, 4, 3), compression='gzip')
    f.create_dataset('shuffle', data=rng.standard_normal((100,)).astype('<f8'), chunks=(7,), shuffle=True)
    f.create_dataset('plain', data=rng.standard_normal((64, 33)).astype('<f4'), chunks=(64, 33))
    f.create_dataset('single', data=rng.standard_normal((10, 4)).astype('<f4'), chunks=(10, 4), compression='gzip')
    f.create_dataset('many-chunks', data=rng.standard_normal((400, 3)).astype('<f4'), chunks=(1, 3))
    f.create_dataset('fletcher', data=rng.standard_normal((20,)).astype('<f4'), chunks=(5,), fletcher32=True)
    f.create_dataset('sparse', shape=(10,), dtype='<f4', chunks=(2,), fillvalue=3.5)[0:2] = [1, 2]
    f.close()
# 6. dtypes: float16, float64, ints, big-endian, scalars, empty
p, f = make('dtypes.h5')
for dt in ['<f2', '<f4', '<f8', '>f4', '>f8', '>f2', '<i1', '<i2', '<i4', '<i8', '>i4', '>i8', '<u1', '<u2', '>u2']:
    f.create_dataset('t' + dt.replace('<', 'le_').replace('>', 'be_'), data=(rng.standard_normal((4, 5)) * 50).astype(dt))
f['scalar'] = np.float32(2.5)
f['scalar_i'] = np.int64(-7)
f.create_dataset('empty', shape=(0, 3), dtype='<f4')
f.create_dataset('unwritten', shape=(4,), dtype='<f4')
x = f.create_group('exotic')  # attributes of types that are never text
x.attrs['f16'] = np.arange(3, dtype='<f2')
x.attrs['compound'] = np.array([(1, 2.5)], dtype=[('a', '<i4'), ('b', '<f8')])
x.attrs.create('vlen_int', np.array([np.arange(3, dtype='<i4'), np.arange(5, dtype='<i4')], dtype=object), dtype=h5py.vlen_dtype(np.dtype('<i4')))
x.attrs.create('enum', np.array([0, 1, 1], dtype='i1'), dtype=h5py.enum_dtype({'OFF': 0, 'ON': 1}, basetype='i1'))
f.close()
# 7. compact layout
p, f = make('compact.h5')
dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
dcpl.set_layout(h5py.h5d.COMPACT)
arr = rng.standard_normal((6, 7)).astype('<f4')
sid = h5py.h5s.create_simple(arr.shape)
ds = h5py.h5d.create(f.id, b'compact', h5py.h5t.IEEE_F32LE, sid, dcpl=dcpl)
ds.write(h5py.h5s.ALL, h5py.h5s.ALL, arr)
f.close()
# 8. attributes: vlen and fixed strings, utf-8, arrays, scalars, numbers, many (dense) and large
for lv in [None, 'latest']:
    p, f = make('attrs-%s.h5' % (lv or 'earliest'), libver=lv)
    g = f.create_group('g')
    g.attrs['vlen'] = 'héllo wörld'
    g.attrs['vlen_list'] = np.array(['a', 'bcd', '', 'ü'], dtype=h5py.string_dtype())
    g.attrs['fixed'] = np.bytes_(b'fixed text')
    g.attrs['fixed_list'] = np.array([b'one', b'two22', b'3'])
    g.attrs['ascii_vlen'] = np.array('plain', dtype=h5py.string_dtype('ascii'))
    g.attrs['ascii_long'] = np.array('0123456789' * 20000, dtype=h5py.string_dtype('ascii'))
    g.attrs['utf8_fixed'] = np.array('ñandú'.encode(), dtype=h5py.string_dtype('utf-8', 6))
    g.attrs['nums'] = np.arange(4, dtype='<f8')
    g.attrs['empty'] = np.zeros((0,), dtype='<f8')
    g.attrs['bytes_u8'] = np.frombuffer(b'layer_a', dtype='<u1')
    g.attrs['int_scalar'] = np.int32(5)
    g.attrs['ünïcode_name'] = 'x'
    h = f.create_group('dense')
    for i in range(20): h.attrs['attr%02d' % i] = 'value %d' % i
    if lv:
        f.create_group('big').attrs['model_config'] = 'x' * 70000
    f.close()

def text(v):
    if isinstance(v, bytes): return [v.decode('utf-8', 'replace')]
    if isinstance(v, str): return [v]
    if isinstance(v, np.ndarray):
        if v.dtype.kind == 'O' and not all(isinstance(x, (bytes, str)) for x in v.ravel()): return None
        if v.dtype.kind in 'SO' or v.dtype.kind == 'U':
            return [x.decode('utf-8', 'replace') if isinstance(x, bytes) else str(x) for x in v.ravel()]
        if v.dtype == np.uint8 and v.ndim == 1: return [v.tobytes().decode('utf-8', 'replace')]
        if v.size == 0: return []
    return None

def wide(v):
    a = np.asarray(v)
    if a.dtype.kind == 'f' and a.dtype.itemsize == 2: a = a.astype('<f4')
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes()

files = [os.path.join(out, n) for n in sorted(os.listdir(out)) if n.endswith('.h5')]
for extra in sys.argv[2:]:
    if extra.endswith('.keras'):
        inner = os.path.join(out, os.path.basename(extra) + '.weights.h5')
        with zipfile.ZipFile(extra) as z, open(inner, 'wb') as w: w.write(z.read('model.weights.h5'))
        files.append(inner)
    else:
        files.append(extra)
for name in files:
    objs = []
    with h5py.File(name, 'r') as f:
        def visit(path, obj):
            o = {'path': path, 'kind': 'group' if isinstance(obj, h5py.Group) else 'dataset', 'attrs': {k: text(obj.attrs[k]) for k in obj.attrs.keys()}, 'attrOrder': list(obj.attrs.keys())}
            if isinstance(obj, h5py.Group): o['keys'] = list(obj.keys())
            else:
                o['shape'] = list(obj.shape); o['dtype'] = obj.dtype.str
                o['sha256'] = hashlib.sha256(wide(obj[()])).hexdigest()
            objs.append(o)
            if isinstance(obj, h5py.Group):
                for k in obj.keys(): visit((path + '/' + k) if path else k, obj[k])
        visit('', f)
    manifest[name] = objs
json.dump(manifest, open(os.path.join(out, 'expected.json'), 'w'), indent=0)
