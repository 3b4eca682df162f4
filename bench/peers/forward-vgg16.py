# VGG16 (torchvision, random weights) forward on one 224x224 image, as `convscope activations` runs the
# ONNX export of the same network: the peak memory of one forward pass. argv: <image> <threads>
import json, sys
import numpy as np
import torch, torchvision
from PIL import Image
torch.set_num_threads(int(sys.argv[2]))
net = torchvision.models.vgg16(weights=None).eval()
image = np.asarray(Image.open(sys.argv[1]).convert('RGB').resize((224, 224), Image.BILINEAR), dtype=np.float32) / 255
x = torch.from_numpy(((image - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).astype(np.float32).transpose(2, 0, 1)[None])
with torch.no_grad():
    y = net(x)
print(json.dumps({'check': 'logits %s' % list(y.shape)}))
