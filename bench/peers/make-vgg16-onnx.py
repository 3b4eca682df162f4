# Writes torchvision vgg16 (random weights, seeded) exported to ONNX (opset 13): 553 MB. argv: <out.onnx>
import os, sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.vgg16(weights=None).eval()
torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[1] + '.partial', opset_version=13)
os.replace(sys.argv[1] + '.partial', sys.argv[1])
