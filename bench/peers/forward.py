"""The PyTorch side of bench/forward.ts: exports the benchmark networks to ONNX, then times passes on request.

usage: forward.py OUT_DIR
Writes OUT_DIR/<name>.onnx for vgg16, resnet18 and cifar (random weights, seed 0; torch.onnx.export in
eval mode, as users export) and prints 'ready'. Then reads lines '<name> forward|hooks' and answers
each with the milliseconds of one pass: 'forward' under torch.no_grad(); 'hooks' the same with a forward
hook on every leaf module keeping its output (PyTorch's way to get every layer's activation).
"""
import sys
import time

import torch
import torch.nn as nn
import torchvision

torch.set_num_threads(2)
torch.manual_seed(0)
out = sys.argv[1]


def cifar():
    return nn.Sequential(nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(64 * 8 * 8, 10))


nets = {
    'vgg16': (torchvision.models.vgg16().eval(), (1, 3, 224, 224)),
    'resnet18': (torchvision.models.resnet18().eval(), (1, 3, 224, 224)),
    'cifar': (cifar().eval(), (64, 3, 32, 32)),
}
inputs = {}
for name, (net, shape) in nets.items():
    x = torch.rand(*shape)
    inputs[name] = x
    torch.onnx.export(net, x, f'{out}/{name}.onnx', opset_version=13, input_names=['input'], output_names=['output'])

kept = []


def keep(module, args, output):
    kept.append(output)


print('ready', flush=True)
with torch.no_grad():
    for line in sys.stdin:
        name, mode = line.split()
        net, _ = nets[name]
        handles = [m.register_forward_hook(keep) for m in net.modules() if len(list(m.children())) == 0] if mode == 'hooks' else []
        t0 = time.perf_counter()
        net(inputs[name])
        ms = (time.perf_counter() - t0) * 1000
        for h in handles:
            h.remove()
        kept.clear()
        print(f'{ms:.3f}', flush=True)
