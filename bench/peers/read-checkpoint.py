# torch.load(weights_only=True) of every tensor, median of `runs` after one warm-up. argv: <file> <runs> <threads>
import json, statistics, sys, time
import torch
path, runs = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(sys.argv[3]))
def once():
    sd = torch.load(path, weights_only=True)
    return sum(t.contiguous().numel() for t in sd.values())
once()
times = []
for _ in range(runs):
    t = time.perf_counter(); values = once(); times.append((time.perf_counter() - t) * 1000)
print(json.dumps({'ms': statistics.median(times), 'check': '%d values' % values}))
