"""Writes TensorFlow tensor bundles the way TensorFlow's BundleWriter lays them out, without TensorFlow:
a TF2 Keras-style checkpoint (object graph, Conv2D + BatchNormalization + Dense) whose data is split over
two shards, plus hostile variants. Independent of convscope's reader: the SSTable, protobuf and masked
CRC-32C encodings are written from their specifications here.

Run as: python3 tf_bundle.py <out_dir>; writes ckpt.index, ckpt.data-0000{0,1}-of-00002, values.json,
and hostile/*.index with their shards.
"""
import json
import os
import struct
import sys

import numpy as np

OUT = sys.argv[1]

CRC_TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (0x82F63B78 ^ (c >> 1)) if c & 1 else c >> 1
    CRC_TABLE.append(c)


def crc32c(data, crc=0):
    c = crc ^ 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(num, wire, payload):
    tag = varint((num << 3) | wire)
    if wire == 0:
        return tag + varint(payload)
    if wire == 2:
        return tag + varint(len(payload)) + payload
    if wire == 5:
        return tag + struct.pack("<I", payload)
    raise ValueError(wire)


def shape_proto(shape):
    return b"".join(field(2, 2, field(1, 0, d)) for d in shape)


def entry(dtype, shape, shard, offset, size, crc):
    msg = field(1, 0, dtype) + field(2, 2, shape_proto(shape))
    if shard:
        msg += field(3, 0, shard)
    if offset:
        msg += field(4, 0, offset)
    return msg + field(5, 0, size) + field(6, 5, crc)


def block(entries, compress=False, declared=None):
    """A table block (no prefix sharing), its trailer, as bytes; `declared` fakes a snappy length."""
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in entries)
    body += struct.pack("<I", 0) + struct.pack("<I", 1)
    kind = 0
    if compress:
        n = len(body)
        literal = (bytes([(n - 1) << 2]) if n <= 60 else bytes([61 << 2]) + struct.pack("<H", n - 1)) + body
        body = varint(declared if declared is not None else n) + literal
        kind = 1
    return body + bytes([kind]) + struct.pack("<I", mask(crc32c(body + bytes([kind]))))


def table(entries, compress=False, declared=None):
    data = block(entries, compress, declared)
    meta = block([])
    index = block([(entries[-1][0], varint(0) + varint(len(data) - 5))])
    handles = varint(len(data)) + varint(len(meta) - 5) + varint(len(data) + len(meta)) + varint(len(index) - 5)
    footer = handles + b"\0" * (40 - len(handles)) + struct.pack("<Q", 0xDB4775248B80FB57)
    return data + meta + index + footer


def object_graph(layers):
    """TrackableObjectGraph: root -> layer_with_weights-i -> variable nodes with VARIABLE_VALUE attributes."""
    nodes = []
    root_children = b""
    next_id = 1
    layer_nodes = []
    for i, (layer, variables) in enumerate(layers):
        root_children += field(1, 2, field(1, 0, next_id) + field(2, 2, f"layer_with_weights-{i}".encode()))
        layer_id = next_id
        next_id += 1
        children = b""
        var_nodes = []
        for role in variables:
            children += field(1, 2, field(1, 0, next_id) + field(2, 2, role.encode()))
            key = f"layer_with_weights-{i}/{role}/.ATTRIBUTES/VARIABLE_VALUE"
            attr = field(1, 2, b"VARIABLE_VALUE") + field(2, 2, f"{layer}/{role}".encode()) + field(3, 2, key.encode())
            var_nodes.append(field(2, 2, attr))
            next_id += 1
        layer_nodes.append((layer_id, children, var_nodes))
    nodes.append(root_children)
    for _, children, var_nodes in layer_nodes:
        nodes.append(children)
        nodes.extend(var_nodes)
    return b"".join(field(1, 2, n) for n in nodes)


def string_tensor(value):
    """A scalar DT_STRING tensor as BundleWriter stores it, and the entry's crc."""
    length = len(value)
    crc = crc32c(struct.pack("<I", length))
    length_crc = struct.pack("<I", mask(crc))
    crc = crc32c(length_crc, crc)
    crc = crc32c(value, crc)
    return varint(length) + length_crc + value, mask(crc)


rng = np.random.default_rng(11)
layers = [
    ("conv2d", {"kernel": rng.standard_normal((3, 3, 1, 4)), "bias": rng.standard_normal(4)}),
    ("batch_normalization", {"gamma": rng.random(4) + 0.5, "beta": rng.standard_normal(4), "moving_mean": rng.standard_normal(4), "moving_variance": rng.random(4) + 0.5}),
    ("dense", {"kernel": rng.standard_normal((64, 3)), "bias": rng.standard_normal(3)}),
]
header = field(1, 0, 2) + field(3, 2, field(1, 0, 1))
shards = [bytearray(), bytearray()]
entries = {}
values = {}
for i, (layer, variables) in enumerate(layers):
    for role, array in variables.items():
        data = array.astype("<f4").tobytes()
        shard = 0 if layer == "conv2d" else 1
        key = f"layer_with_weights-{i}/{role}/.ATTRIBUTES/VARIABLE_VALUE"
        entries[key] = entry(1, array.shape, shard, len(shards[shard]), len(data), mask(crc32c(data)))
        shards[shard] += data
        values[f"{layer}/{role}"] = array.astype(np.float32).reshape(-1).tolist()
graph_bytes, graph_crc = string_tensor(object_graph([(name, list(v)) for name, v in layers]))
entries["_CHECKPOINTABLE_OBJECT_GRAPH"] = entry(7, [], 0, len(shards[0]), len(graph_bytes), graph_crc)
shards[0] += graph_bytes
ordered = [(b"", header)] + sorted((k.encode(), v) for k, v in entries.items())


def write(prefix, index_bytes, shard_bytes):
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    with open(prefix + ".index", "wb") as f:
        f.write(index_bytes)
    for i, data in enumerate(shard_bytes):
        with open(f"{prefix}.data-{i:05d}-of-{len(shard_bytes):05d}", "wb") as f:
            f.write(data)


write(os.path.join(OUT, "ckpt"), table(ordered, compress=True), shards)
with open(os.path.join(OUT, "values.json"), "w") as f:
    json.dump(values, f)

# Hostile bundles: a snappy block that declares 1 GiB, an entry past the end of its shard, a missing shard.
one = [(b"", field(1, 0, 1) + field(3, 2, field(1, 0, 1))), (b"w", entry(1, [4], 0, 0, 16, mask(crc32c(b"\0" * 16))))]
write(os.path.join(OUT, "hostile", "bomb"), table(one, compress=True, declared=1 << 30), [b"\0" * 16])
past = [one[0], (b"w", entry(1, [4], 0, 8, 16, mask(crc32c(b"\0" * 16))))]
write(os.path.join(OUT, "hostile", "past"), table(past), [b"\0" * 16])
write(os.path.join(OUT, "hostile", "missing"), table([(b"", header), (b"w", entry(1, [4], 1, 0, 16, 0))]), [b"\0" * 16])
