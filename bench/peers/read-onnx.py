# onnx.load + numpy_helper.to_array of every initializer, median of `runs` after one warm-up. argv: <file> <runs>
import json, statistics, sys, time
import onnx
from onnx import numpy_helper
path, runs = sys.argv[1], int(sys.argv[2])
def once():
    m = onnx.load(path)
    return sum(numpy_helper.to_array(t).size for t in m.graph.initializer)
once()
times = []
for _ in range(runs):
    t = time.perf_counter(); values = once(); times.append((time.perf_counter() - t) * 1000)
print(json.dumps({'ms': statistics.median(times), 'check': '%d values' % values}))
