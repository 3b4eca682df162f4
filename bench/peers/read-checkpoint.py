# torch.load(weights_only=True) of every tensor, median of `runs` after one warm-up, in wall time and in
# CPU time of the process (user + system). argv: <file> <runs> <threads>
import json, statistics, sys, time
import torch
path, runs = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(sys.argv[3]))
def once():
    sd = torch.load(path, weights_only=True)
    return sum(t.contiguous().numel() for t in sd.values())
once()
times, cpu = [], []
for _ in range(runs):
    t, c = time.perf_counter(), time.process_time()
    values = once()
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
print(json.dumps({'ms': statistics.median(times), 'cpu': statistics.median(cpu), 'check': '%d values' % values}))
