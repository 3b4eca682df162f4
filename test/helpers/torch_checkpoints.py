"""Writes real PyTorch / ONNX / safetensors test files and a manifest of what each tensor holds.

Run by the tests as: python3 torch_checkpoints.py <what> <out_dir> [keras.h5], what in {torch, onnx,
safetensors, malicious}; with a Keras h5 (conv2d_1), `torch` also saves its kernel in PyTorch layout. The manifest (manifest.json in out_dir) maps file -> tensor name -> shape, dtype and the
sha256 of the values widened to float64 in C order (exact for every stored dtype), so a reader's values
are compared bit for bit without dumping every tensor.
"""
import collections
import hashlib
import json
import os
import pickle
import struct
import sys

import numpy as np
import torch

WHAT, OUT = sys.argv[1], sys.argv[2]
MANIFEST = {}


def digest(array):
    a = np.ascontiguousarray(np.asarray(array, dtype=np.float64))
    return hashlib.sha256(a.tobytes()).hexdigest()


def record(file, name, array, dtype):
    MANIFEST.setdefault(file, {})[name] = {
        "shape": list(array.shape),
        "dtype": dtype,
        "sha256": digest(array),
    }


TORCH_DTYPES = {
    torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float64: "float64",
    torch.int64: "int64", torch.int32: "int32", torch.int16: "int16", torch.int8: "int8",
    torch.uint8: "uint8", torch.bool: "bool",
}


def torch_record(file, name, t):
    record(file, name, t.detach().to(torch.float64).numpy(), TORCH_DTYPES[t.dtype])


class Custom(torch.nn.Module):
    """Every kind of layer convscope names axes for; whole-model pickles name this class as __main__.Custom."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.conv1d = nn.Conv1d(3, 5, 4)
        self.conv2d = nn.Conv2d(3, 8, (3, 5))
        self.bn = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, groups=8)
        self.grouped = nn.Conv2d(8, 6, 3, groups=2)
        self.up = nn.ConvTranspose2d(6, 4, 2, stride=2)
        self.conv3d = nn.Conv3d(2, 3, (2, 3, 3))
        self.fc = nn.Linear(12, 7)
        # Plain Python state real models carry: whole-model pickles must still open without running anything.
        self.history = collections.defaultdict(list)
        self.history["loss"].append(0.5)
        self.seen_labels = {"cat", "dog"}

    def forward(self, x):
        x = self.bn(torch.relu(self.conv2d(x)))
        x = self.up(self.grouped(self.depthwise(x)))
        return self.fc(torch.flatten(x[:, :, :1, :3], 1))


def custom_net():
    torch.manual_seed(7)
    net = Custom()
    with torch.no_grad():
        net.bn.weight.normal_()
        net.bn.bias.normal_()
        net.bn.running_mean.normal_()
        net.bn.running_var.uniform_(0.5, 2.0)
        net.bn.num_batches_tracked.fill_(5)
    return net.eval()


def write_torch():
    import torchvision

    net = custom_net()
    sd = net.state_dict()
    g = torch.Generator().manual_seed(3)
    sd["extras.half"] = torch.randn(4, 3, generator=g).half()
    sd["extras.bf16"] = torch.randn(5, 2, generator=g).bfloat16()
    sd["extras.f64"] = torch.randn(3, generator=g).double()
    sd["extras.noncontig"] = torch.arange(24.0).reshape(4, 6)[:, 1::2]
    sd["extras.transposed"] = torch.randn(3, 4, generator=g).t()
    sd["extras.expanded"] = torch.arange(3.0).expand(4, 3)
    sd["extras.i32"] = torch.arange(-5, 5, dtype=torch.int32)
    sd["extras.i16"] = torch.arange(-300, 300, 100, dtype=torch.int16)
    sd["extras.i8"] = torch.arange(-4, 4, dtype=torch.int8).reshape(2, 4)
    sd["extras.u8"] = torch.arange(250, 256, dtype=torch.uint8)
    sd["extras.mask"] = torch.tensor([True, False, True])
    torch.save(sd, os.path.join(OUT, "custom.pt"))
    for k, v in sd.items():
        torch_record("custom.pt", k, v)
    MANIFEST["values"] = {k: sd[k].float().flatten().tolist() for k in ["extras.half", "extras.bf16", "extras.noncontig", "extras.transposed"]}
    MANIFEST["values"]["up.weight[5, 3]"] = sd["up.weight"][5, 3].flatten().tolist()
    torch.save({"state_dict": net.state_dict(), "epoch": 3, "best_acc": np.float64(0.5), "tag": b"v1"}, os.path.join(OUT, "wrapped.pt"))
    torch.save({"encoder": {"conv": net.conv2d.state_dict()}, "head": net.fc.state_dict()}, os.path.join(OUT, "nested.pt"))
    torch.save(net, os.path.join(OUT, "whole.pt"))
    # The legacy serialization (torch < 1.6), TorchScript archives and a legacy whole-model pickle.
    torch.save(sd, os.path.join(OUT, "custom-legacy.pt"), _use_new_zipfile_serialization=False)
    for k, v in sd.items():
        torch_record("custom-legacy.pt", k, v)
    torch.save({"state_dict": net.state_dict(), "epoch": 3, "history": collections.defaultdict(int, {"seen": 2}), "tags": {"a"}},
               os.path.join(OUT, "wrapped-legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(net, os.path.join(OUT, "whole-legacy.pt"), _use_new_zipfile_serialization=False)
    torch.jit.save(torch.jit.script(net), os.path.join(OUT, "scripted.pt"))
    torch.jit.save(torch.jit.trace(net, torch.randn(1, 3, 10, 12)), os.path.join(OUT, "traced.pt"))
    for file in ["wrapped-legacy.pt", "whole-legacy.pt", "scripted.pt", "traced.pt"]:
        for k, v in net.state_dict().items():
            torch_record(file, k, v)
    for name, make in [("resnet18", torchvision.models.resnet18), ("mobilenet_v2", torchvision.models.mobilenet_v2)]:
        torch.manual_seed(1)
        model = make(weights=None)
        torch.save(model.state_dict(), os.path.join(OUT, f"{name}.pt"))
        for k, v in model.state_dict().items():
            torch_record(f"{name}.pt", k, v)
        if name == "mobilenet_v2":
            MANIFEST["values"]["features.0.0.weight[6]"] = model.state_dict()["features.0.0.weight"][6].flatten().tolist()
    keras_h5 = sys.argv[3] if len(sys.argv) > 3 else ""
    if os.path.exists(keras_h5):
        import h5py

        with h5py.File(keras_h5) as f:
            kernel = np.array(f["model_weights/conv2d_1/conv2d_1/kernel:0"])
        torch.save({"conv2d_1.weight": torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous()}, os.path.join(OUT, "from-keras.pt"))


def write_onnx():
    import onnx
    from onnx import helper, numpy_helper, TensorProto

    net = custom_net()
    path = os.path.join(OUT, "custom.onnx")
    torch.onnx.export(net, torch.randn(1, 3, 8, 10), path, opset_version=13)

    def record_model(file, model):
        for init in model.graph.initializer:
            a = numpy_helper.to_array(init)
            record(file, init.name, a, str(a.dtype))
        for node in model.graph.node:
            if node.op_type == "Constant":
                for attr in node.attribute:
                    if attr.name == "value":
                        a = numpy_helper.to_array(attr.t)
                        record(file, node.output[0], a, str(a.dtype))

    record_model("custom.onnx", onnx.load(path))
    MANIFEST["values"] = {f"torch:{k}": v.flatten().tolist() for k, v in net.state_dict().items() if v.dtype == torch.float32}

    external = onnx.load(path)
    onnx.save_model(external, os.path.join(OUT, "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.weights", size_threshold=0)
    record_model("external.onnx", onnx.load(os.path.join(OUT, "external.onnx")))

    rng = np.random.default_rng(5)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    typed = [
        helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.flatten().tolist()),
        helper.make_tensor("b", TensorProto.DOUBLE, [4], rng.standard_normal(4).tolist()),
        helper.make_tensor("half", TensorProto.FLOAT16, [3], np.array([1.5, -2.25, 65504], dtype=np.float16)),
        helper.make_tensor("steps", TensorProto.INT64, [3], [-(2 ** 40), 0, 7]),
        helper.make_tensor("small", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        helper.make_tensor("flags", TensorProto.BOOL, [3], [True, False, True]),
        helper.make_tensor("i32", TensorProto.INT32, [2], [-70000, 70000]),
    ]
    const = helper.make_node("Constant", [], ["shift"], value=numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "c"))
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="typed_conv", group=1, pads=[1, 1, 1, 1], strides=[2, 2])
    # A STRING attribute whose optional bytes field `s` is absent: protobuf's default, empty bytes.
    conv.attribute.append(onnx.AttributeProto(name="auto_pad", type=onnx.AttributeProto.STRING))
    assert helper.get_attribute_value(conv.attribute[-1]) == b""
    add = helper.make_node("Add", ["y", "shift"], ["z"])
    graph = helper.make_graph([const, conv, add], "typed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)], typed)
    typed_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(typed_model, os.path.join(OUT, "typed.onnx"))
    record_model("typed.onnx", onnx.load(os.path.join(OUT, "typed.onnx")))

    bad = TensorProto()
    bad.name = "bad"
    bad.data_type = TensorProto.FLOAT
    bad.dims.extend([-2, 3])
    bad.raw_data = b"\0" * 24
    node = helper.make_node("Conv", ["x", "bad"], ["y"], name="conv")
    graph = helper.make_graph([node], "neg", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [bad])
    with open(os.path.join(OUT, "negative-dim.onnx"), "wb") as f:
        f.write(helper.make_model(graph).SerializeToString())


def safetensors_bytes(tensors, metadata=None):
    """The safetensors layout: u64 LE header length, JSON header, then the data (offsets relative to it)."""
    header = {"__metadata__": metadata} if metadata else {}
    data = b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def write_safetensors():
    st = {
        torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
        torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL",
    }
    net = custom_net()
    sd = dict(net.state_dict())
    g = torch.Generator().manual_seed(11)
    sd["extras.half"] = torch.randn(4, 3, generator=g).half()
    sd["extras.bf16"] = torch.randn(5, 2, generator=g).bfloat16()
    sd["extras.f64"] = torch.randn(3, generator=g).double()
    sd["extras.i32"] = torch.arange(-5, 5, dtype=torch.int32)
    sd["extras.i16"] = torch.arange(-300, 300, 100, dtype=torch.int16)
    sd["extras.i8"] = torch.arange(-4, 4, dtype=torch.int8)
    sd["extras.u8"] = torch.arange(250, 256, dtype=torch.uint8)
    sd["extras.mask"] = torch.tensor([True, False, True])

    def raw(t):
        t = t.contiguous()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().tobytes()
        return t.numpy().tobytes()

    entries = {k: (st[v.dtype], list(v.shape), raw(v)) for k, v in sd.items()}
    with open(os.path.join(OUT, "custom.safetensors"), "wb") as f:
        f.write(safetensors_bytes(entries, {"format": "pt", "source": "convscope test"}))
    for k, v in sd.items():
        torch_record("custom.safetensors", k, v)
    keys = sorted(entries)
    half = len(keys) // 2
    shards = {"model-00001-of-00002.safetensors": keys[:half], "model-00002-of-00002.safetensors": keys[half:]}
    for file, names in shards.items():
        with open(os.path.join(OUT, file), "wb") as f:
            f.write(safetensors_bytes({k: entries[k] for k in names}, {"format": "pt"}))
    with open(os.path.join(OUT, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(len(e[2]) for e in entries.values())},
                   "weight_map": {k: file for file, names in shards.items() for k in names}}, f)

    four = struct.pack("<4f", 1, 2, 3, 4)
    with open(os.path.join(OUT, "past-end.safetensors"), "wb") as f:
        f.write(safetensors_bytes({"w": ("F32", [4], four)})[:-4])
    text = json.dumps({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}).encode()
    with open(os.path.join(OUT, "overlap.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + four)
    with open(os.path.join(OUT, "huge-header.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", 2 ** 60) + b'{"w": {}}' + four)
    text = json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 16]}}).encode()
    with open(os.path.join(OUT, "wrong-length.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + four)


class Payload:
    """Unpickling this with Python's pickle would run the command: the file must be refused instead."""

    def __init__(self, call, arg):
        self.call, self.arg = call, arg

    def __reduce__(self):
        return (self.call, (self.arg,))


def write_malicious():
    marker = os.path.join(OUT, "PWNED")
    touch = f"touch {marker}"
    with open(os.path.join(OUT, "system-raw.pt"), "wb") as f:
        pickle.dump(Payload(os.system, touch), f, protocol=2)
    with open(os.path.join(OUT, "eval-raw.pt"), "wb") as f:
        pickle.dump(Payload(eval, f"__import__('os').system('{touch}')"), f, protocol=4)
    torch.save({"conv.weight": torch.ones(2, 1, 3, 3), "hook": Payload(os.system, touch)}, os.path.join(OUT, "system-zip.pt"))
    torch.save({"conv.weight": torch.ones(2, 1, 3, 3), "hook": Payload(eval, f"__import__('os').system('{touch}')")},
               os.path.join(OUT, "eval-zip.pt"))
    import subprocess

    torch.save({"hook": Payload(subprocess.Popen, ["touch", marker])}, os.path.join(OUT, "popen-zip.pt"))
    torch.save({"w": torch.ones(2), "hook": Payload(os.system, touch)}, os.path.join(OUT, "legacy-system.pt"),
               _use_new_zipfile_serialization=False)
    torch.save({"w": torch.ones(2), "hook": Payload(eval, f"__import__('os').system('{touch}')")},
               os.path.join(OUT, "legacy-eval.pt"), _use_new_zipfile_serialization=False)
    torch.save({"big": torch.zeros(1).expand(2 ** 28)}, os.path.join(OUT, "expanded.pt"))
    with open(os.path.join(OUT, "huge-string.pt"), "wb") as f:
        f.write(b"\x80\x02X\xff\xff\xff\x7f" + b"x" * 16)


{"torch": write_torch, "onnx": write_onnx, "safetensors": write_safetensors, "malicious": write_malicious}[WHAT]()
with open(os.path.join(OUT, "manifest.json"), "w") as f:
    json.dump(MANIFEST, f)
