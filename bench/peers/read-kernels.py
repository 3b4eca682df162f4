# Reference for `filters --layer all`: h5py reading every kernel of a Keras h5, one layer at a time
# (what a script drawing each layer with matplotlib holds at least). argv: <file.h5>
import json, sys
import h5py, numpy as np
f = h5py.File(sys.argv[1], 'r')
root = f['model_weights']
largest = 0
for name in root.attrs['layer_names']:
    name = name.decode() if isinstance(name, bytes) else name
    for w in root[name].attrs['weight_names']:
        w = w.decode() if isinstance(w, bytes) else w
        if 'kernel' in w:
            k = root[name][w][()]
            largest = max(largest, k.nbytes)
            del k
print(json.dumps({'largest': largest, 'check': 'largest kernel %d bytes' % largest}))
