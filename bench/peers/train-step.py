# The same SGD step in PyTorch: median of `steps` steps after 2 warm-up steps. argv: <steps> <threads>
import json, sys, time
import torch
steps = int(sys.argv[1])
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                        torch.nn.Conv2d(64, 64, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                        torch.nn.Flatten(), torch.nn.Linear(64 * 8 * 8, 10))
opt = torch.optim.SGD(m.parameters(), lr=0.01)
x = torch.rand(64, 3, 32, 32); y = torch.randint(0, 10, (64,))
times = []
for i in range(2 + steps):
    t = time.perf_counter()
    opt.zero_grad(); loss = torch.nn.functional.cross_entropy(m(x), y); loss.backward(); opt.step()
    if i >= 2: times.append((time.perf_counter() - t) * 1000)
times.sort()
print(json.dumps({'ms': times[len(times) // 2], 'check': 'threads %d, loss %.3f' % (torch.get_num_threads(), loss.item())}))
