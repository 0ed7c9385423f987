#!/usr/bin/env python3
"""Train a small CNN on scikit-learn's handwritten digits with NumPy, export
it to ONNX, quantize it with onnxruntime's quantize_static and write what
`sparqgen net` and its tests read:

  networks/digits/digits_int8.onnx   QDQ int8 model (per-channel symmetric int8
                                     weights, uint8 activations, reduce_range)
  networks/digits/digits_qop.onnx    the same model in QOperator form
                                     (QLinearConv / QLinearMatMul ...)
  networks/digits/x_test.npy         held-out images, float32 N x 1 x 8 x 8
  networks/digits/y_test.npy         their labels, int64
  networks/digits/ort_out.npy        ONNX Runtime's output of the QDQ model
  networks/digits/ort_out_qop.npy    ... and of the QOperator model
  networks/digits/float.json         float accuracy on the test split
  networks/digits/ops_int8.onnx      a random-weight model that exercises the
  networks/digits/ops_x.npy          other supported ops (groups, depthwise,
  networks/digits/ops_ort_out.npy    Clip, AveragePool, Concat, GAP, Softmax)

Needs: pip install numpy scikit-learn onnx onnxruntime (only this script;
the Rust crate and its tests do not). Runs in a few seconds:

  python3 scripts/make_digits_net.py [--out networks/digits]

reduce_range=True: on AVX2 machines ONNX Runtime's u8 x s8 kernels saturate
int16 pair sums unless weights use 7 bits; with reduce_range its optimized
and unoptimized sessions agree exactly, so its output is a usable reference.
"""
import argparse
import json
import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                      QuantType, quantize_static)
from sklearn.datasets import load_digits

# ---------------------------------------------------------------- NumPy CNN


def im2col(x, k, pad):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = h + 2 * pad - k + 1, w + 2 * pad - k + 1
    cols = np.empty((n, c, k, k, ho, wo), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + ho, j:j + wo]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * k * k), (ho, wo)


def col2im(dcols, xshape, k, pad, ho, wo):
    n, c, h, w = xshape
    dcols = dcols.reshape(n, ho, wo, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + ho, j:j + wo] += dcols[:, :, i, j]
    return dxp[:, :, pad:pad + h, pad:pad + w]


class Conv:
    def __init__(self, rng, cin, cout, k=3, pad=1):
        self.k, self.pad = k, pad
        self.w = rng.normal(0, np.sqrt(2.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        self.b = np.zeros(cout, np.float32)

    def fwd(self, x):
        cols, (ho, wo) = im2col(x, self.k, self.pad)
        self.cache = (x.shape, cols, ho, wo)
        y = cols @ self.w.reshape(len(self.b), -1).T + self.b
        return y.reshape(x.shape[0], ho, wo, -1).transpose(0, 3, 1, 2)

    def bwd(self, dy):
        xshape, cols, ho, wo = self.cache
        dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, len(self.b))
        self.dw = (dy2.T @ cols).reshape(self.w.shape)
        self.db = dy2.sum(0)
        return col2im(dy2 @ self.w.reshape(len(self.b), -1), xshape, self.k, self.pad, ho, wo)

    def params(self):
        return [(self.w, "dw"), (self.b, "db")]


def relu_f(x):
    return np.maximum(x, 0)


def pool_fwd(x, kind):
    n, c, h, w = x.shape
    v = x.reshape(n, c, h // 2, 2, w // 2, 2)
    if kind == "max":
        y = v.max(axis=(3, 5))
        mask = (v == y[:, :, :, None, :, None])
        return y, mask
    return v.mean(axis=(3, 5)), None


def pool_bwd(dy, mask, shape, kind):
    n, c, h, w = shape
    d = np.broadcast_to(dy[:, :, :, None, :, None], (n, c, h // 2, 2, w // 2, 2))
    if kind == "max":
        d = d * mask / mask.sum(axis=(3, 5), keepdims=True)
    else:
        d = d / 4.0
    return d.reshape(shape)


class Net:
    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.c1 = Conv(rng, 1, 16)
        self.c2 = Conv(rng, 16, 16)
        self.c3 = Conv(rng, 16, 32)
        self.fw = rng.normal(0, np.sqrt(1.0 / 128), (10, 128)).astype(np.float32)
        self.fb = np.zeros(10, np.float32)

    def forward(self, x):
        h1 = relu_f(self.c1.fwd(x))
        z2 = self.c2.fwd(h1)
        h2 = relu_f(z2)
        s = h1 + h2                                  # the residual Add
        p1, m1 = pool_fwd(s, "max")
        z3 = self.c3.fwd(p1)
        h3 = relu_f(z3)
        p2, _ = pool_fwd(h3, "avg")
        f = p2.reshape(len(x), -1)
        self.cache = (h1, z2, s, m1, p1, z3, h3, f)
        return f @ self.fw.T + self.fb

    def backward(self, dlogits):
        h1, z2, s, m1, p1, z3, h3, f = self.cache
        self.dfw = dlogits.T @ f
        self.dfb = dlogits.sum(0)
        df = dlogits @ self.fw
        dp2 = df.reshape(h3.shape[0], h3.shape[1], 2, 2)
        dh3 = pool_bwd(dp2, None, h3.shape, "avg")
        dp1 = self.c3.bwd(dh3 * (z3 > 0))
        ds = pool_bwd(dp1, m1, s.shape, "max")
        dh1 = ds + self.c2.bwd(ds * (z2 > 0))
        self.c1.bwd(dh1 * (h1 > 0))

    def params(self):
        ps = []
        for c in (self.c1, self.c2, self.c3):
            ps += [(c.w, lambda c=c: c.dw), (c.b, lambda c=c: c.db)]
        ps += [(self.fw, lambda: self.dfw), (self.fb, lambda: self.dfb)]
        return ps


def train(xtr, ytr, epochs=40, batch=64, lr=3e-3, seed=0):
    net = Net(seed)
    rng = np.random.default_rng(seed + 1)
    params = net.params()
    m = [np.zeros_like(p) for p, _ in params]
    v = [np.zeros_like(p) for p, _ in params]
    t = 0
    for _ in range(epochs):
        order = rng.permutation(len(xtr))
        for i in range(0, len(xtr), batch):
            idx = order[i:i + batch]
            logits = net.forward(xtr[idx])
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            prob[np.arange(len(idx)), ytr[idx]] -= 1
            net.backward(prob / len(idx))
            t += 1
            for j, (p, g) in enumerate(params):
                gj = g()
                m[j] = 0.9 * m[j] + 0.1 * gj
                v[j] = 0.999 * v[j] + 0.001 * gj * gj
                p -= lr * (m[j] / (1 - 0.9 ** t)) / (np.sqrt(v[j] / (1 - 0.999 ** t)) + 1e-8)
    return net


# ---------------------------------------------------------------- ONNX export


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def conv_node(name, x, y, pad=1, group=1):
    return helper.make_node("Conv", [x, name + ".w", name + ".b"], [y], name=name,
                            kernel_shape=[3, 3], pads=[pad] * 4, group=group)


def export(net, path):
    nodes = [
        conv_node("conv1", "input", "c1"),
        helper.make_node("Relu", ["c1"], ["h1"], name="relu1"),
        conv_node("conv2", "h1", "c2"),
        helper.make_node("Relu", ["c2"], ["h2"], name="relu2"),
        helper.make_node("Add", ["h1", "h2"], ["s"], name="residual"),
        helper.make_node("MaxPool", ["s"], ["p1"], name="maxpool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        conv_node("conv3", "p1", "c3"),
        helper.make_node("Relu", ["c3"], ["h3"], name="relu3"),
        helper.make_node("AveragePool", ["h3"], ["p2"], name="avgpool", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["logits"], name="fc", transB=1),
    ]
    inits = []
    for name, c in (("conv1", net.c1), ("conv2", net.c2), ("conv3", net.c3)):
        inits += [init(name + ".w", c.w), init(name + ".b", c.b)]
    inits += [init("fc.w", net.fw), init("fc.b", net.fb)]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def ops_model(path, seed=5):
    """Random weights; every other op `net` supports, for coverage."""
    rng = np.random.default_rng(seed)
    w = lambda *s: rng.normal(0, 0.3, s).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "a.w", "a.b"], ["a"], name="conv_s2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Clip", ["a", "zero", "six"], ["ar"], name="relu6"),
        helper.make_node("Conv", ["ar", "dw.w", "dw.b"], ["d"], name="depthwise",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=6),
        helper.make_node("Relu", ["d"], ["dr"], name="relu_dw"),
        helper.make_node("Conv", ["dr", "g.w", "g.b"], ["g"], name="grouped_1x1",
                         kernel_shape=[1, 1], group=2),
        helper.make_node("Relu", ["g"], ["gr"], name="relu_g"),
        helper.make_node("Concat", ["gr", "ar"], ["cat"], name="concat", axis=1),
        helper.make_node("AveragePool", ["cat"], ["ap"], name="avgpool3",
                         kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
        helper.make_node("Reshape", ["gap", "shape"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "mm.w"], ["mm"], name="matmul"),
        helper.make_node("Softmax", ["mm"], ["prob"], name="softmax", axis=1),
    ]
    inits = [init("a.w", w(6, 3, 3, 3)), init("a.b", w(6)), init("dw.w", w(6, 1, 3, 3)),
             init("dw.b", w(6)), init("g.w", w(8, 3, 1, 1)), init("g.b", w(8)),
             init("mm.w", w(14, 5)), init("zero", np.float32(0)), init("six", np.float32(6)),
             init("shape", np.array([-1, 14], np.int64))]
    graph = helper.make_graph(
        nodes, "ops_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 9, 9])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["N", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return rng.uniform(0, 2, (64, 3, 9, 9)).astype(np.float32)


# ---------------------------------------------------------------- quantization


class Reader(CalibrationDataReader):
    def __init__(self, x, batch=64):
        self.batches = iter([{"input": x[i:i + batch]} for i in range(0, len(x), batch)])

    def get_next(self):
        return next(self.batches, None)


# Every op but Softmax: onnxruntime's uint8 QLinearSoftmax uses its own
# approximation, so the ops model keeps Softmax in float (ONNX semantics).
OPS_QUANTIZED = ["Conv", "Gemm", "MatMul", "Add", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "Concat", "Reshape", "Flatten", "Relu", "Clip"]


def quantize(src, dst, calib, fmt, op_types=None):
    quantize_static(src, dst, Reader(calib), quant_format=fmt, per_channel=True,
                    reduce_range=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, op_types_to_quantize=op_types)


def run_ort(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "networks",
                                                  "digits"))
    ap.add_argument("--epochs", type=int, default=40)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]
    y = d.target.astype(np.int64)
    perm = np.random.default_rng(42).permutation(len(x))
    tr, te = perm[:1297], perm[1297:]
    net = train(x[tr], y[tr], epochs=args.epochs)
    float_acc = float((net.forward(x[te]).argmax(1) == y[te]).mean())
    print(f"float accuracy on {len(te)} held-out digits: {float_acc:.4f}")

    with tempfile.TemporaryDirectory() as tmp:
        fpath = os.path.join(tmp, "digits_float.onnx")
        export(net, fpath)
        ort_float = run_ort(fpath, x[te])
        float_acc_ort = float((ort_float.argmax(1) == y[te]).mean())
        calib = x[tr][:256]
        out = lambda n: os.path.join(args.out, n)
        quantize(fpath, out("digits_int8.onnx"), calib, QuantFormat.QDQ)
        quantize(fpath, out("digits_qop.onnx"), calib, QuantFormat.QOperator)
        opath = os.path.join(tmp, "ops_float.onnx")
        ox = ops_model(opath)
        quantize(opath, out("ops_int8.onnx"), ox[:32], QuantFormat.QDQ, OPS_QUANTIZED)

    np.save(out("x_test.npy"), x[te])
    np.save(out("y_test.npy"), y[te])
    q = run_ort(out("digits_int8.onnx"), x[te])
    np.save(out("ort_out.npy"), q)
    np.save(out("ort_out_qop.npy"), run_ort(out("digits_qop.onnx"), x[te]))
    np.save(out("ops_x.npy"), ox)
    np.save(out("ops_ort_out.npy"), run_ort(out("ops_int8.onnx"), ox))
    int8_acc = float((q.argmax(1) == y[te]).mean())
    print(f"ONNX Runtime int8 accuracy: {int8_acc:.4f}")
    with open(out("float.json"), "w") as f:
        json.dump({"test_images": int(len(te)), "float_top1": float_acc_ort,
                   "ort_int8_top1": int8_acc,
                   "onnxruntime": ort.__version__, "onnx": onnx.__version__}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
