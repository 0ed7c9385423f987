"""onnxruntime.quantization.quantize_static outputs through `sparqgen net`
(mac8x8) against ONNX Runtime, bit for bit: QDQ and QOperator, per-tensor
and per-channel weights, reduce_range on and off, opsets 13 to 21, on small
float models covering Conv (strided, asymmetric pads, depthwise), Gemm,
MatMul, Add, Concat, pools, Clip/Relu and Softmax. Each case either equals
ORT or is refused cleanly (exit 2, one line); the refused ones are listed in
the README's table. Every case runs today."""

import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from netcheck import check

pytest.importorskip("onnxruntime.quantization")
from onnxruntime.quantization import (  # noqa: E402
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

RNG = np.random.default_rng(2022)
X = RNG.uniform(-1.0, 2.0, (6, 3, 8, 8)).astype(np.float32)


def w(*shape, scale=0.3):
    return RNG.normal(0, scale, shape).astype(np.float32)


def float_model(kind, opset):
    """A small float network with the ops of `kind`."""
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(op, ins, out, **a):
        nodes.append(helper.make_node(op, ins, [out], name=out, **a))
        return out

    if kind == "convs":
        y = node("Conv", ["x", init("w1", w(6, 3, 3, 3)), init("b1", w(6))], "conv1",
                 pads=[1, 0, 2, 1], strides=[2, 1])
        y = node("Relu", [y], "relu1")
        y = node("Conv", [y, init("w2", w(6, 1, 3, 3)), init("b2", w(6))], "dw", group=6, pads=[1, 1, 1, 1])
        y = node("Clip", [y, init("lo", np.float32(0.0)), init("hi", np.float32(6.0))], "clip")
        a = node("MaxPool", [y], "maxpool", kernel_shape=[2, 2], strides=[2, 2])
        b = node("AveragePool", [y], "avgpool", kernel_shape=[2, 2], strides=[2, 2])
        y = node("Concat", [a, b], "concat", axis=1)
        y = node("Conv", [y, init("w3", w(4, 12, 1, 1)), init("b3", w(4))], "conv3")
        y = node("GlobalAveragePool", [y], "gap")
        y = node("Flatten", [y], "flatten")
        y = node("Gemm", [y, init("wf", w(5, 4)), init("bf", w(5))], "fc", transB=1)
        out = node("Softmax", [y], "softmax", axis=1)
    else:
        y = node("Flatten", ["x"], "flatten")
        y = node("MatMul", [y, init("wm", w(192, 16, scale=0.05))], "mm")
        y = node("Add", [y, init("bm", w(16))], "bias")
        r = node("Relu", [y], "relu")
        y = node("Add", [y, r], "res")
        y = node("Gemm", [y, init("wg", w(16, 10)), init("bg", w(10))], "gemm")
        out = node("Clip", [y, init("lo", np.float32(-1.0)), init("hi", np.float32(1.0))], "clip")
    g = helper.make_graph(
        nodes, kind,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 8, 8])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 21 else 10
    return m


class Reader(CalibrationDataReader):
    def __init__(self):
        self.it = iter([{"x": X[i : i + 1]} for i in range(X.shape[0])])

    def get_next(self):
        return next(self.it, None)


CASES = list(
    itertools.product(
        ["convs", "dense"], ["QDQ", "QOperator"], [False, True], [False, True], [13, 17, 21]
    )
)
RESULTS = {}


@pytest.mark.parametrize("kind,fmt,per_channel,reduce_range,opset", CASES, ids=str)
def test_quantize_static_equals_ort(cli, tmp_path, kind, fmt, per_channel, reduce_range, opset):
    fp = tmp_path / "f.onnx"
    qp = tmp_path / "q.onnx"
    onnx.save(float_model(kind, opset), fp)
    quantize_static(
        str(fp), str(qp), Reader(),
        quant_format=QuantFormat.QDQ if fmt == "QDQ" else QuantFormat.QOperator,
        per_channel=per_channel, reduce_range=reduce_range,
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
    )
    m = onnx.load(qp)
    got = check(cli, tmp_path / "run", m, X, ulps=16 if kind == "convs" else 0)
    RESULTS[(kind, fmt, per_channel, reduce_range, opset)] = got
    assert got == "exact", f"sparqgen refuses a quantize_static model of {kind}"


def random_float_model(seed):
    """One Conv (random kernel, groups, strides, asymmetric pads) and a random
    tail op; the images to calibrate and run."""
    rng = np.random.default_rng(seed)
    c, h, wd = int(rng.choice([1, 3, 4])), int(rng.integers(4, 10)), int(rng.integers(4, 10))
    x = rng.uniform(-1, 2, (4, c, h, wd)).astype(np.float32)
    inits = []

    def init(n, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32), n))
        return n

    k, g = int(rng.choice([1, 2, 3])), int(rng.choice([1, c]))
    co = int(rng.choice([2, 4])) * g
    nodes = [helper.make_node(
        "Conv", ["x", init("w", rng.normal(0, 0.3, (co, c // g, k, k))), init("b", rng.normal(0, 0.3, co))],
        ["c"], group=g, pads=[int(v) for v in rng.integers(0, 3, 4)],
        strides=[int(v) for v in rng.integers(1, 3, 2)])]
    tail = str(rng.choice(["relu", "avg", "max", "gap", "clip", "softmax", "add"]))
    mk = lambda op, ins, **a: nodes.append(helper.make_node(op, ins, ["t"], **a))  # noqa: E731
    if tail == "relu":
        mk("Relu", ["c"])
    elif tail == "avg":
        mk("AveragePool", ["c"], kernel_shape=[2, 2], pads=[int(v) for v in rng.integers(0, 2, 4)],
           count_include_pad=int(rng.integers(2)))
    elif tail == "max":
        mk("MaxPool", ["c"], kernel_shape=[2, 2], strides=[2, 2])
    elif tail == "gap":
        mk("GlobalAveragePool", ["c"])
    elif tail == "clip":
        mk("Clip", ["c", init("lo", 0.0), init("hi", rng.uniform(0.5, 3))])
    elif tail == "softmax":
        mk("Softmax", ["c"], axis=1)
    else:
        mk("Add", ["c", "c"])
    opset = int(rng.choice([13, 17, 21]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, c, h, wd])],
        [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 21 else 10
    opts = dict(
        quant_format=QuantFormat.QDQ if rng.integers(2) else QuantFormat.QOperator,
        per_channel=bool(rng.integers(2)), reduce_range=bool(rng.integers(2)),
    )
    return m, x, opts


@pytest.mark.parametrize("seed", range(24))
def test_random_quantize_static_models_equal_ort(cli, tmp_path, seed):
    m, x, opts = random_float_model(seed)
    onnx.save(m, tmp_path / "f.onnx")

    class R(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": x[i : i + 1]} for i in range(x.shape[0])])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(tmp_path / "f.onnx"), str(tmp_path / "q.onnx"), R(),
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, **opts)
    assert check(cli, tmp_path / "run", onnx.load(tmp_path / "q.onnx"), x, ulps=16) == "exact"
