"""Exports CNNs with random weights (fixed seed) to ONNX and records what PyTorch's forward hooks see.

usage: onnx_exports.py OUT_DIR

For each network writes OUT_DIR/<net>.onnx (torch.onnx.export, opset 13, batch norms kept as nodes),
OUT_DIR/<net>.input.bin (the float32 input, C order) and per module call OUT_DIR/<net>/<k>.bin with the
hook's output; OUT_DIR/manifest.json lists {net: {input: shape, modules: [{module, call, class, shape, file}],
logits: shape}}. The image net also gets <net>.photo.npy: the torchvision-preprocessed photo given
as argv[2] (if any) and its logits.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torchvision

out = sys.argv[1]
torch.manual_seed(0)


def vgg_style():
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 16 * 16, 64), nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 10),
    )


def randomize_batch_norms(net):
    # Fresh batch norms are identities (mean 0, var 1, gamma 1, beta 0): give them statistics so a
    # wrong epsilon, axis or missing node would show.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


nets = {
    'resnet18': (torchvision.models.resnet18(), (1, 3, 224, 224)),
    'mobilenet_v2': (torchvision.models.mobilenet_v2(), (1, 3, 224, 224)),
    'vgg_style': (vgg_style(), (2, 3, 64, 64)),
}
manifest = {}
for name, (net, shape) in nets.items():
    randomize_batch_norms(net)
    net.eval()
    x = torch.randn(*shape)
    x.numpy().astype('<f4').tofile(os.path.join(out, f'{name}.input.bin'))
    torch.onnx.export(net, x, os.path.join(out, f'{name}.onnx'), opset_version=13, input_names=['input'],
                      output_names=['logits'], training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    seen = {}
    records = []
    os.makedirs(os.path.join(out, name), exist_ok=True)

    def hook(module_name):
        def record(module, inputs, output):
            call = seen.get(module_name, 0)
            seen[module_name] = call + 1
            file = os.path.join(name, f'{len(records)}.bin')
            value = output.detach().clone().numpy().astype('<f4')
            value.tofile(os.path.join(out, file))
            records.append({'module': module_name, 'call': call, 'class': type(module).__name__, 'shape': list(value.shape), 'file': file})
        return record

    handles = [module.register_forward_hook(hook(module_name)) for module_name, module in net.named_modules() if module_name != '']
    with torch.no_grad():
        logits = net(x)
    for h in handles:
        h.remove()
    logits.numpy().astype('<f4').tofile(os.path.join(out, f'{name}.logits.bin'))
    manifest[name] = {'input': list(shape), 'modules': records, 'logits': list(logits.shape)}

if len(sys.argv) > 2:
    from PIL import Image
    import torchvision.transforms as T
    image = Image.open(sys.argv[2]).convert('RGB').resize((224, 224), Image.BILINEAR)
    x = T.Compose([T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])(image).unsqueeze(0)
    np.save(os.path.join(out, 'photo.npy'), x.numpy().astype('<f4'))
    with torch.no_grad():
        manifest['photo'] = nets['resnet18'][0](x)[0].numpy().astype(float).tolist()

with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f)
