# Writes a seeded torchvision resnet18 as a state_dict (.pt) and as ONNX (.onnx). argv: <out.pt> <out.onnx>
import os, sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None).eval()
torch.save(m.state_dict(), sys.argv[1] + '.partial')
os.replace(sys.argv[1] + '.partial', sys.argv[1])
torch.onnx.export(m, torch.randn(1, 3, 224, 224), sys.argv[2] + '.partial', opset_version=13)
os.replace(sys.argv[2] + '.partial', sys.argv[2])
