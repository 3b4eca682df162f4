/**
 * A Keras 2 h5 whose memory is one wide Dense layer: 32x32x3 input -> Conv2D 3x3x3x8 (same, relu) ->
 * Flatten (8192) -> Dense `units` (relu) -> Dense 10. With units = 2048 the Dense kernel is 64 MiB, big
 * enough that a pass holding it more than once shows in the peak RSS. Written by h5py, with NumPy's
 * forward pass of the same network (float64) as the oracle for its outputs.
 */
import { runPython } from './python.js';

const WRITE = `
import sys, json, h5py, numpy as np
out, units = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
layers = [("input_1", "InputLayer", {"batch_input_shape": [None, 32, 32, 3], "dtype": "float32"}, []),
          ("conv", "Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same", "activation": "relu", "data_format": "channels_last"}, [("kernel", (3, 3, 3, 8)), ("bias", (8,))]),
          ("flatten", "Flatten", {}, []),
          ("wide", "Dense", {"units": units, "activation": "relu"}, [("kernel", (8192, units)), ("bias", (units,))]),
          ("out", "Dense", {"units": 10}, [("kernel", (units, 10)), ("bias", (10,))])]
config = {"class_name": "Functional", "config": {"name": "wide_dense", "layers": [
    {"name": n, "class_name": c, "config": {"name": n, **cfg}, "inbound_nodes": [] if i == 0 else [[[layers[i - 1][0], 0, 0, {}]]]}
    for i, (n, c, cfg, w) in enumerate(layers)], "input_layers": [["input_1", 0, 0]], "output_layers": [["out", 0, 0]]}}
with h5py.File(out, "w") as f:
    f.attrs["keras_version"] = "2.4.0"
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = json.dumps(config)
    g = f.create_group("model_weights")
    g.attrs["layer_names"] = [n.encode() for n, *_ in layers]
    for n, c, cfg, ws in layers:
        lg = g.create_group(n)
        lg.attrs["weight_names"] = [f"{n}/{r}:0".encode() for r, _ in ws]
        for r, shape in ws:
            lg.create_dataset(f"{n}/{r}:0", data=(rng.standard_normal(shape) * 0.05).astype("float32"))
`;

const FORWARD = `
import sys, json, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")["model_weights"]
w = lambda n, r: f[n][n + "/" + r + ":0"][...].astype(np.float64)
x = np.load(sys.argv[2]).astype(np.float64)
p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
k = w("conv", "kernel")
conv = sum(np.einsum("nhwc,cf->nhwf", p[:, i:i + 32, j:j + 32, :], k[i, j]) for i in range(3) for j in range(3)) + w("conv", "bias")
h = np.maximum(conv, 0).reshape(x.shape[0], -1)
wide = np.maximum(h @ w("wide", "kernel") + w("wide", "bias"), 0)
print(json.dumps({"wide": wide[0, :16].tolist(), "out": (wide @ w("out", "kernel") + w("out", "bias"))[0].tolist()}))
`;

/** Writes the model to `path` with a Dense layer of `units` units. */
export function writeWideDenseH5(path: string, units: number): void {
  runPython(WRITE, [path, String(units)]);
}

/** NumPy's float64 forward pass of the model at `path` on the (1, 32, 32, 3) input in `inputNpy`: the wide layer's first 16 outputs and the 10 outputs. */
export function numpyForward(path: string, inputNpy: string): { wide: number[]; out: number[] } {
  return JSON.parse(runPython(FORWARD, [path, inputNpy])) as { wide: number[]; out: number[] };
}
