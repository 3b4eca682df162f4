"""Exports networks whose backward pass needs the newer gradient rules, with torch autograd's answers.

usage: gradient_rules.py OUT_DIR

Torchvision models (weights=None, seed 0, batch-norm statistics randomised, exported in eval mode at
opset 17, one also at 13, with a free batch axis; ConvNeXt's code with two small stages): OUT_DIR/<net>.onnx, <net>.x.npy (the float32 input), <net>.grad.npy
(d logit[class] / d x) and <net>.layer.npy (d mean(layer output[channel]) / d x), both computed by
autograd on the same weights in float64. Small graphs of one operator each (a 3x3 conv in front, a
Linear behind, so that every value of the operator's output reaches the score): <op>.onnx, <op>.x.npy,
<op>.grad.npy. Prints {name: {class, score, layer?, channel?, shape?}} as JSON.
"""
import json
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.convnext import CNBlockConfig, ConvNeXt

out = sys.argv[1]
torch.manual_seed(0)
manifest = {}


def randomise_batch_norm(net):
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def export(name, net, x, opset=17, free_size=False):
    """free_size: height and width are free too (AdaptiveMaxPool2d(1) is written as GlobalMaxPool then)."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    free = {0: 'n', 2: 'h', 3: 'w'} if free_size else {0: 'n'}
    torch.onnx.export(net, x, f'{out}/{name}.onnx', input_names=['x'], output_names=['logits'], opset_version=opset,
                      dynamic_axes={'x': free, 'logits': {0: 'n'}})
    np.save(f'{out}/{name}.x.npy', x.numpy())
    net.double()
    xd = x.double().requires_grad_(True)
    logits = net(xd)[0]
    c = int(logits.argmax())
    logits[c].backward()
    np.save(f'{out}/{name}.grad.npy', xd.grad.numpy())
    manifest[name] = {'class': c, 'score': logits[c].item()}
    return xd.detach()


def grad_cam(name, net, module, x):
    """Grad-CAM of the top class at `module`'s output (the map before any upsampling), as pytorch-grad-cam computes it."""
    store = {}

    def keep(m, i, o):
        o.retain_grad()
        store['a'] = o

    hook = module.register_forward_hook(keep)
    xd = x.clone().requires_grad_(True)
    logits = net(xd)[0]
    hook.remove()
    logits[manifest[name]['class']].backward()
    a, g = store['a'][0].detach(), store['a'].grad[0]
    cam = torch.relu((a * g.mean(dim=(1, 2), keepdim=True)).sum(0))
    np.save(f'{out}/{name}.cam.npy', cam.numpy())


def layer_objective(name, net, module_path, x):
    """d mean(output of module `module_path`, channel) / d x, on the float64 net, for its most active channel."""
    store = {}
    module = net.get_submodule(module_path)
    hook = module.register_forward_hook(lambda m, i, o: store.__setitem__('a', o))
    xd = x.clone().requires_grad_(True)
    net(xd)
    hook.remove()
    a = store['a']
    channel = int(a[0].mean((1, 2)).abs().argmax())
    a[:, channel].mean().backward()
    np.save(f'{out}/{name}.layer.npy', xd.grad.numpy())
    manifest[name].update({'layer': module_path, 'channel': channel, 'shape': list(a.shape)})


def convnext_mini():
    """torchvision's ConvNeXt code with two small stages: LayerNorm (also channels-first, between Permutes), GELU, layer scale."""
    return ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], layer_scale=0.5, num_classes=10)


for name, make, size, layer, opset in [
    ('mobilenet_v3_small', torchvision.models.mobilenet_v3_small, 64, 'features.5', 17),  # SE (HardSigmoid gate, broadcast Mul), HardSwish, residual Add
    ('squeezenet1_1', torchvision.models.squeezenet1_1, 66, 'features.6', 17),  # ceil-mode MaxPool with partial windows (66 -> 32 -> 16 -> 8 -> 4), Concat
    ('efficientnet_b0', torchvision.models.efficientnet_b0, 64, 'features.3', 17),  # SiLU (Sigmoid * x), SE with a Sigmoid gate
    ('shufflenet_v2_x0_5', torchvision.models.shufflenet_v2_x0_5, 64, 'stage3', 17),  # channel shuffle (Reshape / Transpose on computed shapes), Slice, Concat
    ('convnext_mini', convnext_mini, 32, 'features.3', 17),  # LayerNormalization, GELU as Erf
    ('convnext_mini_opset13', convnext_mini, 32, 'features.3', 13),  # layer norm spelled out: ReduceMean, Sub, Pow, Sqrt, Div
]:
    net = make(weights=None) if make is not convnext_mini else make()
    randomise_batch_norm(net)
    x = torch.rand(1, 3, size, size) * 2 - 1
    xd = export(name, net, x, opset=opset)
    layer_objective(name, net, layer, xd)
    if name == 'mobilenet_v3_small':  # Grad-CAM at the last feature map, after the SE blocks' pooled gates
        grad_cam(name, net, net.features, xd)


class Single(nn.Module):
    """conv 3x3 -> op -> flatten -> Linear(10): the operator's whole output reaches each logit."""

    def __init__(self, op, x):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.op = op
        with torch.no_grad():
            features = self.op(self.conv(x)).numel()
        self.fc = nn.Linear(features, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.op(self.conv(x)), 1))


class Fn(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)


def se(x):  # squeeze-and-excitation's gate: [N, C, 1, 1] times [N, C, H, W]
    return x * torch.sigmoid(x.mean((2, 3), keepdim=True) * 3)


def broadcast_all(x):  # every elementwise operator broadcasting both ways, with live divisors
    m = x.mean(1, keepdim=True)                     # [N, 1, H, W]
    r = x.amax((2, 3), keepdim=True)                # [N, C, 1, 1]
    return (x + m) * r - m / (1.5 + r * r) + x[:, :1] / (2 + m.abs())


singles = {
    'broadcast_mul': Fn(se),
    'broadcast_ops': Fn(broadcast_all),
    'maxpool_ceil_pad': nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),              # 7x9 -> 4x5 (partial last windows)
    'avgpool_ceil_pad': nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True),
    'avgpool_ceil_nopadcount': nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    'avgpool_ceil': nn.AvgPool2d(2, stride=2, ceil_mode=True),
    'resize_nearest2': nn.Upsample(scale_factor=2, mode='nearest'),
    'resize_nearest_size': nn.Upsample(size=(10, 20), mode='nearest'),
    'resize_bilinear': nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),
    'resize_bilinear_corners': nn.Upsample(scale_factor=1.5, mode='bilinear', align_corners=True),
    'resize_bilinear_down': nn.Upsample(size=(4, 5), mode='bilinear', align_corners=False),
    'resize_bilinear_opset11': nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False),  # roi and scales inputs
    'resize_size_opset11': nn.Upsample(size=(10, 20), mode='nearest'),                                # an empty scales and sizes
    'resize_bicubic': nn.Upsample(scale_factor=2, mode='bicubic', align_corners=False),
    'slice_steps': Fn(lambda x: x[:, 1:, 1:-1:2, ::3]),
    'flip': Fn(lambda x: torch.flip(x, [-1, -2])),
    'split': Fn(lambda x: torch.cat(torch.split(x, [1, 3], 1)[::-1], 1) * x.chunk(2, 1)[1].sum(1, keepdim=True)),
    'global_max': nn.AdaptiveMaxPool2d(1),
    'unary': Fn(lambda x: F.elu(x) + F.selu(x) * 0.5 + F.softplus(x) + F.softsign(x) + torch.exp(x * 0.3) + torch.log(x * x + 1)
                + torch.sqrt(x * x + 0.5) - torch.reciprocal(x * x + 2) + x.pow(3) * 0.1 + torch.erf(x) + F.mish(x)),
    'prelu': nn.PReLU(4, 0.2),
    'instance_norm': nn.InstanceNorm2d(4, affine=True),
    'group_norm': nn.GroupNorm(2, 4),               # Reshape, InstanceNormalization, Reshape, Mul, Add
    'softmax_inner': Fn(lambda x: torch.softmax(x, 1) * torch.log_softmax(x, -1)),
    'softmax_inner_opset11': Fn(lambda x: torch.softmax(x, 1) * torch.log_softmax(x, -1)),  # Softmax on the axes from 1 on, flattened
    'broadcast_opset11': Fn(broadcast_all),
}
for name, op in singles.items():
    x = torch.rand(1, 3, 7, 9) * 2 - 1
    net = Single(op, x)
    with torch.no_grad():
        net.fc.weight.mul_(10)
        for p in op.parameters():  # affine normalisations: not the identity scale
            p.uniform_(0.5, 1.5)
    export(name, net, x, opset=11 if name.endswith('opset11') else 17, free_size=name == 'global_max')

print(json.dumps(manifest))
