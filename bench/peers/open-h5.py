# h5py in-process: import + open + list every weight + read one kernel. argv: <file.h5> <layer>
import time
t0 = time.perf_counter()
import json, sys
import h5py, numpy as np
path, layer = sys.argv[1], sys.argv[2]
f = h5py.File(path, 'r')
root = f['model_weights'] if 'model_weights' in f else f
listed = []
kernel_path = None
for name in root.attrs['layer_names']:
    name = name.decode() if isinstance(name, bytes) else name
    g = root[name]
    for w in g.attrs['weight_names']:
        w = w.decode() if isinstance(w, bytes) else w
        d = g[w]
        listed.append('%s %s %s %s' % (name, w, d.shape, d.dtype))
        if name == layer and kernel_path is None and 'kernel' in w:
            kernel_path = name + '/' + w
t1 = time.perf_counter()
k = root[kernel_path][()]
t2 = time.perf_counter()
f.close()
print(json.dumps({'ms': (t2 - t0) * 1e3, 'parts': {'open+list': (t1 - t0) * 1e3, 'kernel': (t2 - t1) * 1e3},
                  'check': '%d weights, kernel %s sum %.3f' % (len(listed), 'x'.join(map(str, k.shape)), float(k.astype(np.float64).sum()))}))
