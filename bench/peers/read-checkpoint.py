# torch.load(weights_only=True) of every tensor, in wall time and in CPU time of the process (user +
# system), with the minor page faults of the load. runs > 0: the median of `runs` loads after one warm-up
# (a warm loop); runs = 0: the first load in this process, after `import torch`.
# argv: <file> <runs> <threads>
import json, resource, statistics, sys, time
import torch
path, runs = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(int(sys.argv[3]))
def once():
    sd = torch.load(path, weights_only=True)
    return sum(t.contiguous().numel() for t in sd.values())
if runs > 0:
    once()
times, cpu, faults = [], [], []
for _ in range(max(runs, 1)):
    t, c, f = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    values = once()
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.process_time() - c) * 1000)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f)
print(json.dumps({'ms': statistics.median(times), 'cpu': statistics.median(cpu), 'faults': statistics.median(faults), 'check': '%d values' % values}))
