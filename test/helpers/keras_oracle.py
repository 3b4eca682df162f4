"""Keras layer semantics re-computed in PyTorch (float64), as Keras documents and implements them.

Reads a JSON list of cases {id, className, config, inputs: [{shape, data}], weights: {role: {shape, data}}}
from argv[1] and writes [{id, shape, data}] to argv[2]. Weights come in Keras layout; every layer is
written here from Keras' definition, independently of convscope's TypeScript.
"""
import json
import math
import sys

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def t(entry):
    return torch.tensor(entry["data"], dtype=torch.float64).reshape(entry["shape"])


def tup(v, rank):
    return [v] * rank if isinstance(v, (int, float)) else list(v)


def activation(name, x):
    name = name or "linear"
    if name == "linear":
        return x
    if name == "relu":
        return torch.relu(x)
    if name == "relu6":
        return torch.clamp(x, 0, 6)
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "tanh":
        return torch.tanh(x)
    if name == "softmax":
        return torch.softmax(x, -1)
    if name == "log_softmax":
        return torch.log_softmax(x, -1)
    if name == "softplus":
        return torch.log1p(torch.exp(x))
    if name == "softsign":
        return x / (1 + x.abs())
    if name == "elu":
        return torch.where(x > 0, x, torch.expm1(x))
    if name == "selu":
        return 1.0507009873554805 * torch.where(x > 0, x, 1.6732632423543772 * torch.expm1(x))
    if name in ("swish", "silu"):
        return x * torch.sigmoid(x)
    if name == "gelu":
        return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
    if name == "mish":
        return x * torch.tanh(torch.log1p(torch.exp(x)))
    raise ValueError(name)


def channels_first(x, cfg):
    """Keras tensors -> (N, C, spatial...)."""
    if cfg.get("data_format", "channels_last") == "channels_first":
        return x
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def back(y, cfg):
    if cfg.get("data_format", "channels_last") == "channels_first":
        return y
    return y.permute(0, *range(2, y.dim()), 1)


def same_pads(length, k, s, d):
    """TensorFlow 'SAME': output ceil(L / s), the extra padding going after."""
    k_eff = (k - 1) * d + 1
    out = -(-length // s)
    total = max((out - 1) * s + k_eff - length, 0)
    return total // 2, total - total // 2


def spatial_pad(x, cfg, rank, ks, ss, ds, value=0.0):
    padding = cfg.get("padding", "valid")
    pads = []
    for i in reversed(range(rank)):
        length = x.shape[2 + i]
        if padding == "same":
            pads += list(same_pads(length, ks[i], ss[i], ds[i]))
        elif padding == "causal":
            pads += [(ks[i] - 1) * ds[i], 0]
        else:
            pads += [0, 0]
    return F.pad(x, pads, value=value)


def conv(x, w, b, cfg, rank):
    ks = tup(cfg["kernel_size"], rank)
    ss = tup(cfg.get("strides", 1), rank)
    ds = tup(cfg.get("dilation_rate", 1), rank)
    x = spatial_pad(channels_first(x, cfg), cfg, rank, ks, ss, ds)
    weight = w.permute(rank + 1, rank, *range(rank))  # [k..., in, out] -> [out, in, k...]
    y = [F.conv1d, F.conv2d, F.conv3d][rank - 1](x, weight, b, stride=ss, dilation=ds, groups=cfg.get("groups", 1))
    return activation(cfg.get("activation"), back(y, cfg))


def depthwise(x, w, cfg):
    ks, ss, ds = tup(cfg["kernel_size"], 2), tup(cfg.get("strides", 1), 2), tup(cfg.get("dilation_rate", 1), 2)
    x = spatial_pad(channels_first(x, cfg), cfg, 2, ks, ss, ds)
    kh, kw, cin, mult = w.shape
    weight = w.permute(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)  # output channel c * mult + m
    return F.conv2d(x, weight, None, stride=ss, dilation=ds, groups=cin)


def conv_transpose(x, w, b, cfg):
    ks, ss, ds = tup(cfg["kernel_size"], 2), tup(cfg.get("strides", 1), 2), tup(cfg.get("dilation_rate", 1), 2)
    x = channels_first(x, cfg)
    weight = w.permute(3, 2, 0, 1)  # [kh, kw, out, in] -> [in, out, kh, kw]
    full = F.conv_transpose2d(x, weight, None, stride=ss, dilation=ds)
    same = cfg.get("padding", "valid") == "same"
    extra = cfg.get("output_padding")
    for i in range(2):
        k_eff = (ks[i] - 1) * ds[i] + 1
        n, length = x.shape[2 + i], full.shape[2 + i]
        if extra is None:
            target = n * ss[i] if same else length
        else:  # keras conv_utils.deconv_output_length
            target = (n - 1) * ss[i] + k_eff - 2 * (k_eff // 2 if same else 0) + tup(extra, 2)[i]
        # tf.nn.conv2d_transpose is the gradient of a SAME conv2d from the output: it starts at that conv's leading pad
        begin = max(length - target, 0) // 2 if same else 0
        full = full.narrow(2 + i, begin, min(target, length - begin))
        if full.shape[2 + i] < target:
            pad = [0, 0, 0, 0]
            pad[2 * (1 - i) + 1] = target - full.shape[2 + i]
            full = F.pad(full, pad)
    if b is not None:
        full = full + b.reshape(1, -1, 1, 1)
    return activation(cfg.get("activation"), back(full, cfg))


def pool(x, cfg, rank, kind):
    ps = tup(cfg.get("pool_size", 2), rank)
    strides = cfg.get("strides")
    ss = ps if strides is None else tup(strides, rank)
    x = channels_first(x, cfg)
    ones = torch.ones_like(x[:, :1])
    if kind == "max":
        xp = spatial_pad(x, cfg, rank, ps, ss, [1] * rank, value=-math.inf)
        y = [F.max_pool1d, F.max_pool2d, F.max_pool3d][rank - 1](xp, ps, ss)
    else:
        avg = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][rank - 1]
        # TensorFlow averages over the window's real elements only
        y = avg(spatial_pad(x, cfg, rank, ps, ss, [1] * rank), ps, ss) / avg(spatial_pad(ones, cfg, rank, ps, ss, [1] * rank), ps, ss)
    return back(y, cfg)


def keras_relu(x, cfg):
    slope, max_value, threshold = cfg.get("negative_slope", 0), cfg.get("max_value"), cfg.get("threshold", 0)
    y = x * (x > threshold) if threshold != 0 else torch.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0, max_value)
    if slope != 0:
        y = y - slope * torch.relu(threshold - x)
    return y


def axis_shape(x, axes):
    return [x.shape[a] if a in axes else 1 for a in range(x.dim())]


def norm_axes(axis, rank):
    axes = axis if isinstance(axis, list) else [axis]
    return [a % rank for a in axes]


def two_pairs(v):
    if isinstance(v, int):
        return [[v, v], [v, v]]
    if isinstance(v[0], int):
        return [[v[0], v[0]], [v[1], v[1]]]
    return v


def compute(case):
    cls, cfg = case["className"], case["config"]
    xs = [t(i) for i in case["inputs"]]
    x = xs[0]
    w = {k: t(v) for k, v in case["weights"].items()}
    bias = w.get("bias")
    if cls in ("Conv1D", "Conv2D", "Conv3D"):
        return conv(x, w["kernel"], bias, cfg, int(cls[4]))
    if cls == "Conv2DTranspose":
        return conv_transpose(x, w["kernel"], bias, cfg)
    if cls == "DepthwiseConv2D":
        y = depthwise(x, w["depthwise_kernel"], cfg)
        if bias is not None:
            y = y + bias.reshape(1, -1, 1, 1)
        return activation(cfg.get("activation"), back(y, cfg))
    if cls == "SeparableConv2D":
        y = depthwise(x, w["depthwise_kernel"], cfg)
        y = F.conv2d(y, w["pointwise_kernel"].permute(3, 2, 0, 1), bias)
        return activation(cfg.get("activation"), back(y, cfg))
    if cls == "Dense":
        y = x @ w["kernel"]
        return activation(cfg.get("activation"), y + bias if bias is not None else y)
    if cls == "Activation":
        return activation(cfg["activation"], x)
    if cls.startswith("MaxPooling") or cls.startswith("AveragePooling"):
        return pool(x, cfg, int(cls[-2]), "max" if cls.startswith("Max") else "avg")
    if cls.startswith("Global"):
        xc = channels_first(x, cfg)
        dims = tuple(range(2, xc.dim()))
        keep = cfg.get("keepdims", False)
        y = xc.amax(dims, keepdim=keep) if "Max" in cls else xc.mean(dims, keepdim=keep)
        return back(y, cfg) if keep else y
    if cls == "BatchNormalization":
        shape = axis_shape(x, norm_axes(cfg.get("axis", -1), x.dim()))
        y = (x - w["moving_mean"].reshape(shape)) / torch.sqrt(w["moving_variance"].reshape(shape) + cfg.get("epsilon", 1e-3))
        if cfg.get("scale", True):
            y = y * w["gamma"].reshape(shape)
        if cfg.get("center", True):
            y = y + w["beta"].reshape(shape)
        return y
    if cls == "LayerNormalization":
        axes = norm_axes(cfg.get("axis", -1), x.dim())
        mean = x.mean(axes, keepdim=True)
        var = ((x - mean) ** 2).mean(axes, keepdim=True)
        y = (x - mean) / torch.sqrt(var + cfg.get("epsilon", 1e-3))
        shape = axis_shape(x, axes)
        if cfg.get("scale", True):
            y = y * w["gamma"].reshape(shape)
        if cfg.get("center", True):
            y = y + w["beta"].reshape(shape)
        return y
    if cls == "ReLU":
        return keras_relu(x, cfg)
    if cls == "LeakyReLU":
        slope = cfg.get("negative_slope", cfg.get("alpha", 0.3))
        return torch.where(x > 0, x, slope * x)
    if cls == "PReLU":
        return torch.where(x > 0, x, w["alpha"] * x)
    if cls == "ELU":
        return torch.where(x > 0, x, cfg.get("alpha", 1.0) * torch.expm1(x))
    if cls == "ThresholdedReLU":
        return x * (x > cfg.get("theta", 1.0))
    if cls == "Softmax":
        return torch.softmax(x, cfg.get("axis", -1))
    if cls == "Flatten":
        if cfg.get("data_format") == "channels_first":
            x = x.permute(0, *range(2, x.dim()), 1)
        return x.reshape(x.shape[0], -1)
    if cls == "Reshape":
        return x.reshape(x.shape[0], *cfg["target_shape"])
    if cls == "Permute":
        return x.permute(0, *cfg["dims"])
    if cls == "RepeatVector":
        return x.unsqueeze(1).repeat(1, cfg["n"], 1)
    if cls == "ZeroPadding2D":
        (top, bottom), (left, right) = two_pairs(cfg.get("padding", 1))
        return back(F.pad(channels_first(x, cfg), [left, right, top, bottom]), cfg)
    if cls == "Cropping2D":
        (top, bottom), (left, right) = two_pairs(cfg.get("cropping", 0))
        xc = channels_first(x, cfg)
        return back(xc[:, :, top : xc.shape[2] - bottom, left : xc.shape[3] - right], cfg)
    if cls == "UpSampling2D":
        sh, sw = tup(cfg.get("size", 2), 2)
        xc = channels_first(x, cfg)
        if cfg.get("interpolation", "nearest") == "nearest":
            y = xc.repeat_interleave(sh, 2).repeat_interleave(sw, 3)
        else:
            y = F.interpolate(xc, scale_factor=(sh, sw), mode="bilinear", align_corners=False)
        return back(y, cfg)
    if cls[:-2] in ("ZeroPadding", "Cropping", "UpSampling") and cls[-2] in "13":
        rank = int(cls[-2])
        fmt = {"data_format": "channels_last"} if rank == 1 else cfg
        xc = channels_first(x, fmt)
        kind = cls[:-2]
        key = {"ZeroPadding": "padding", "Cropping": "cropping", "UpSampling": "size"}[kind]
        default = {"ZeroPadding": 1, "Cropping": [1, 1] if rank == 1 else [[1, 1]] * 3, "UpSampling": 2}[kind]
        value = cfg.get(key, default)
        if kind == "UpSampling":
            for i, s in enumerate(tup(value, rank)):
                xc = xc.repeat_interleave(s, 2 + i)
            return back(xc, fmt)
        if isinstance(value, int):
            amounts = [(value, value)] * rank
        elif rank == 1:
            amounts = [tuple(value)]
        else:
            amounts = [(v, v) if isinstance(v, int) else tuple(v) for v in value]
        if kind == "ZeroPadding":
            flat = []
            for a, b in reversed(amounts):
                flat += [a, b]
            return back(F.pad(xc, flat), fmt)
        for i, (a, b) in enumerate(amounts):
            xc = xc.narrow(2 + i, a, xc.shape[2 + i] - a - b)
        return back(xc, fmt)
    if cls == "Add":
        return sum(xs)
    if cls == "Subtract":
        return xs[0] - xs[1]
    if cls == "Multiply":
        y = xs[0]
        for other in xs[1:]:
            y = y * other
        return y
    if cls == "Average":
        return sum(xs) / len(xs)
    if cls == "Maximum":
        return torch.stack(xs).amax(0)
    if cls == "Minimum":
        return torch.stack(xs).amin(0)
    if cls == "Concatenate":
        return torch.cat(xs, cfg.get("axis", -1))
    if cls == "Rescaling":
        return x * cfg["scale"] + cfg.get("offset", 0)
    if cls == "Normalization":
        mean = torch.tensor(cfg["mean"]) if cfg.get("mean") is not None else w["mean"]
        var = torch.tensor(cfg["variance"]) if cfg.get("variance") is not None else w["variance"]
        shape = axis_shape(x, norm_axes(cfg.get("axis", -1), x.dim()))
        return (x - mean.reshape(shape)) / torch.clamp(torch.sqrt(var.reshape(shape)), min=1e-7)
    raise ValueError(f"no oracle for {cls}")


def main():
    cases = json.load(open(sys.argv[1]))
    out = []
    for case in cases:
        y = compute(case)
        out.append({"id": case["id"], "shape": list(y.shape), "data": y.flatten().tolist()})
    json.dump(out, open(sys.argv[2], "w"))


main()
