"""Writes a TF.js graph model (model.json in the graph-model format + one weight shard) for a small CNN
and the outputs NumPy computes for it in float64, as the oracle for convscope's reader and runner.

The graph uses the ops TensorFlow.js' converter emits for a Keras CNN: _FusedConv2D (BiasAdd + Relu),
DepthwiseConv2dNative + BiasAdd + Relu, Mean, MatMul + BiasAdd, Softmax.
Run as: python3 tfjs_graph.py <out_dir>
"""
import base64
import json
import os
import sys

import numpy as np

OUT = sys.argv[1]
rng = np.random.default_rng(5)
W = {
    "conv/kernel": rng.standard_normal((3, 3, 3, 4)).astype(np.float32),
    "conv/bias": rng.standard_normal(4).astype(np.float32),
    "dw/depthwise_kernel": rng.standard_normal((3, 3, 4, 2)).astype(np.float32),
    "dw/bias": rng.standard_normal(8).astype(np.float32),
    "pool/axes": np.array([1, 2], dtype=np.int32),
    "fc/kernel": rng.standard_normal((8, 5)).astype(np.float32),
    "fc/bias": rng.standard_normal(5).astype(np.float32),
}
x = rng.random((2, 8, 8, 3)).astype(np.float32)


def b64(text):
    return base64.b64encode(text.encode()).decode()


def dims(shape):
    return {"dim": [{"size": str(d)} for d in shape]}


DT = {np.float32: "DT_FLOAT", np.int32: "DT_INT32"}
conv_attr = {"T": {"type": "DT_FLOAT"}, "strides": {"list": {"i": ["1", "1", "1", "1"]}}, "padding": {"s": b64("VALID")},
             "data_format": {"s": b64("NHWC")}, "dilations": {"list": {"i": ["1", "1", "1", "1"]}}}
nodes = [{"name": "input", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}, "shape": {"shape": dims([-1, 8, 8, 3])}}}]
for name, value in W.items():
    dt = DT[value.dtype.type]
    nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": dt}, "value": {"tensor": {"dtype": dt, "tensorShape": dims(value.shape)}}}})
nodes += [
    {"name": "conv/Relu", "op": "_FusedConv2D", "input": ["input", "conv/kernel", "conv/bias"],
     "attr": {**conv_attr, "num_args": {"i": "1"}, "fused_ops": {"list": {"s": [b64("BiasAdd"), b64("Relu")]}}, "epsilon": {"f": 0}}},
    {"name": "dw/depthwise", "op": "DepthwiseConv2dNative", "input": ["conv/Relu", "dw/depthwise_kernel"], "attr": conv_attr},
    {"name": "dw/BiasAdd", "op": "BiasAdd", "input": ["dw/depthwise", "dw/bias"], "attr": {"T": {"type": "DT_FLOAT"}, "data_format": {"s": b64("NHWC")}}},
    {"name": "dw/Relu", "op": "Relu", "input": ["dw/BiasAdd"], "attr": {"T": {"type": "DT_FLOAT"}}},
    {"name": "pool/Mean", "op": "Mean", "input": ["dw/Relu", "pool/axes"], "attr": {"T": {"type": "DT_FLOAT"}, "Tidx": {"type": "DT_INT32"}, "keep_dims": {"b": False}}},
    {"name": "fc/MatMul", "op": "MatMul", "input": ["pool/Mean", "fc/kernel"], "attr": {"T": {"type": "DT_FLOAT"}, "transpose_a": {"b": False}, "transpose_b": {"b": False}}},
    {"name": "fc/BiasAdd", "op": "BiasAdd", "input": ["fc/MatMul", "fc/bias"], "attr": {"T": {"type": "DT_FLOAT"}, "data_format": {"s": b64("NHWC")}}},
    {"name": "Identity", "op": "Softmax", "input": ["fc/BiasAdd"], "attr": {"T": {"type": "DT_FLOAT"}}},
]
manifest = [{"paths": ["group1-shard1of1.bin"],
             "weights": [{"name": k, "shape": list(v.shape), "dtype": "int32" if v.dtype == np.int32 else "float32"} for k, v in W.items()]}]
with open(os.path.join(OUT, "group1-shard1of1.bin"), "wb") as f:
    for v in W.values():
        f.write(v.astype(v.dtype.newbyteorder("<")).tobytes())
model = {"format": "graph-model", "generatedBy": "2.15.0", "convertedBy": "TensorFlow.js Converter v4.22.0",
         "modelTopology": {"node": nodes, "library": {}, "versions": {"producer": 1645}}, "weightsManifest": manifest}
with open(os.path.join(OUT, "model.json"), "w") as f:
    json.dump(model, f)

# The oracle, in float64.
w = {k: v.astype(np.float64) for k, v in W.items()}
xd = x.astype(np.float64)


def conv(a, k):
    kh, kw = k.shape[:2]
    h, wd = a.shape[1] - kh + 1, a.shape[2] - kw + 1
    out = np.zeros((a.shape[0], h, wd, k.shape[3]))
    for i in range(kh):
        for j in range(kw):
            out += a[:, i:i + h, j:j + wd, :] @ k[i, j]
    return out


def depthwise(a, k):
    kh, kw, c, m = k.shape
    h, wd = a.shape[1] - kh + 1, a.shape[2] - kw + 1
    out = np.zeros((a.shape[0], h, wd, c, m))
    for i in range(kh):
        for j in range(kw):
            out += a[:, i:i + h, j:j + wd, :, None] * k[i, j]
    return out.reshape(a.shape[0], h, wd, c * m)


c1 = np.maximum(conv(xd, w["conv/kernel"]) + w["conv/bias"], 0)
d1 = np.maximum(depthwise(c1, w["dw/depthwise_kernel"]) + w["dw/bias"], 0)
z = d1.mean(axis=(1, 2)) @ w["fc/kernel"] + w["fc/bias"]
p = np.exp(z - z.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump({"input": x.reshape(-1).tolist(), "input_shape": list(x.shape), "weights": {k: v.reshape(-1).tolist() for k, v in W.items()},
               "outputs": {"conv/Relu": c1.reshape(-1).tolist(), "dw/Relu": d1.reshape(-1).tolist(), "Identity": p.reshape(-1).tolist()}}, f)
