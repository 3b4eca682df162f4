"""PyTorch side of bench/attribute.ts: Grad-CAM on a VGG16 (13 convs, 224x224, GAP + Linear 1000 head),
saliency on torchvision's ResNet18, conv_2 dataset examples of the digits CNN; median ms of N after 2
warm-ups, as JSON. argv: <work> <runs> <threads> [<digits npy dir> | <export dir>]"""
import json, sys, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
import torchvision

work, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)


def timed(fn):
    times = []
    for i in range(2 + runs):
        t = time.perf_counter()
        out = fn()
        if i >= 2:
            times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), out


if work == 'export':
    # the two networks below as ONNX files (opset 13), for convscope to run the same graphs
    d = sys.argv[4]
    features = torchvision.models.vgg16().features.eval()
    vgg = nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)).eval()
    x = torch.rand(1, 3, 224, 224)
    torch.onnx.export(vgg, x, f'{d}/vgg16.onnx', input_names=['x'], output_names=['logits'], opset_version=13)
    torch.onnx.export(torchvision.models.resnet18().eval(), x, f'{d}/resnet18.onnx', input_names=['x'], output_names=['logits'], opset_version=13)
    print(json.dumps({'ms': 0}))
elif work == 'gradcam-vgg16':
    features = torchvision.models.vgg16().features.eval()
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000)).eval()
    for p in list(features.parameters()) + list(head.parameters()):
        p.requires_grad_(False)
    x = torch.rand(1, 3, 224, 224)
    convs = features[:-1]  # up to block5_conv3's ReLU, before the last max pool

    def gradcam():
        a = convs(x).detach().requires_grad_(True)
        score = head(features[-1](a))[0]
        c = int(score.argmax())
        score[c].backward()
        return F.relu((a.grad.mean(dim=(2, 3), keepdim=True) * a).sum(1))[0]

    ms, cam = timed(gradcam)
    print(json.dumps({'ms': ms, 'check': f'cam {tuple(cam.shape)}'}))
elif work == 'saliency-resnet18':
    net = torchvision.models.resnet18().eval()
    for p in net.parameters():
        p.requires_grad_(False)
    x0 = torch.rand(1, 3, 224, 224)

    def saliency():
        x = x0.clone().requires_grad_(True)
        score = net(x)[0]
        score[int(score.argmax())].backward()
        return x.grad.abs().amax(1)[0]

    ms, m = timed(saliency)
    print(json.dumps({'ms': ms, 'check': f'map {tuple(m.shape)}'}))
else:
    d = sys.argv[4]
    L = lambda n: torch.tensor(np.load(f'{d}/{n}.npy'))
    k1, b1, k2, b2, x = [L(n) for n in ['k1', 'b1', 'k2', 'b2', 'x']]
    w1, w2 = k1.permute(3, 2, 0, 1).contiguous(), k2.permute(3, 2, 0, 1).contiguous()

    def examples():
        with torch.no_grad():
            a = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
            a = F.relu(F.conv2d(a, w2, b2, padding=1)).flatten(2).amax(2)
            return torch.topk(a, 9, dim=0)

    ms, top = timed(examples)
    print(json.dumps({'ms': ms, 'check': f'top {tuple(top.indices.shape)}'}))
