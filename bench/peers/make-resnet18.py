# Writes a seeded torchvision resnet18 state_dict. argv: <out.pt>
import os, sys, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None).eval()
torch.save(m.state_dict(), sys.argv[1] + '.partial')
os.replace(sys.argv[1] + '.partial', sys.argv[1])
