"""onnxruntime.quantization.quantize_dynamic outputs through `sparqgen net`
(mac8x8) against ONNX Runtime: DynamicQuantizeLinear -> MatMulInteger /
ConvInteger -> Cast -> Mul by the scales (-> Add of the float bias). The
float outputs must equal ORT's bit for bit (every float op here is one f32
multiply or add, as ORT's; ORT's fused DynamicQuantizeMatMul gives the same
bits, checked at both optimization levels). Each case either equals ORT or
is refused cleanly (exit 2, one line); the README's table lists which."""

import itertools

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from netcheck import G, check, ort_run, sparqgen

pytest.importorskip("onnxruntime.quantization")
import onnxruntime as ort  # noqa: E402
from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: E402

RNG = np.random.default_rng(7331)


def w(*shape, scale=0.3):
    return RNG.normal(0, scale, shape).astype(np.float32)


def float_model(kind, opset):
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(op, ins, out, **a):
        nodes.append(helper.make_node(op, ins, [out], name=out, **a))
        return out

    if kind == "conv":
        shape = [None, 3, 8, 8]
        y = node("Conv", ["x", init("w1", w(6, 3, 3, 3)), init("b1", w(6))], "conv1",
                 pads=[1, 0, 2, 1], strides=[2, 1])
        y = node("Relu", [y], "relu1")
        y = node("Conv", [y, init("w2", w(6, 1, 3, 3)), init("b2", w(6))], "dw", group=6,
                 pads=[1, 1, 1, 1])
        y = node("Conv", [y, init("w3", w(4, 6, 1, 1))], "conv3")
        y = node("Flatten", [y], "flatten")
        out = node("MatMul", [y, init("wf", w(4 * 5 * 7, 5))], "fc")
    elif kind == "mlp":
        shape = [None, 20]
        y = node("MatMul", ["x", init("w1", w(20, 16))], "fc1")
        y = node("Add", [y, init("b1", w(16))], "fc1_bias")
        y = node("Relu", [y], "relu")
        y = node("MatMul", [y, init("w2", w(16, 7))], "fc2")
        y = node("Add", [y, init("b2", w(7))], "fc2_bias")
        out = node("Softmax", [y], "softmax", axis=-1)
    else:  # a MatMul whose bias Add ORT fuses into DynamicQuantizeMatMul
        shape = [None, 33]
        y = node("MatMul", ["x", init("w1", w(33, 9, scale=2.0))], "fc1")
        out = node("Add", [y, init("b1", w(9))], "fc1_bias")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    yv = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
    m = helper.make_model(helper.make_graph(nodes, kind, [x], [yv], inits),
                          opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8 if opset < 21 else 10
    return m


def inputs(kind, n=6):
    shape = {"conv": (n, 3, 8, 8), "mlp": (n, 20), "fused": (n, 33)}[kind]
    return RNG.uniform(-1.5, 2.5, shape).astype(np.float32)


CASES = list(itertools.product(["conv", "mlp", "fused"], [False, True], [False, True],
                               [QuantType.QInt8, QuantType.QUInt8], [13, 17, 21]))


def quantized(tmp_path, kind, per_channel, reduce_range, wtype, opset):
    f, q = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(float_model(kind, opset), f)
    quantize_dynamic(str(f), str(q), per_channel=per_channel, reduce_range=reduce_range,
                     weight_type=wtype)
    return onnx.load(q)


def ort_level(model, x, level):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = level
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("kind,per_channel,reduce_range,wtype,opset", CASES,
                         ids=lambda v: str(v).replace("QuantType.", ""))
def test_quantize_dynamic_equals_ort_or_is_refused(cli, tmp_path, kind, per_channel,
                                                   reduce_range, wtype, opset):
    m = quantized(tmp_path, kind, per_channel, reduce_range, wtype, opset)
    x = inputs(kind)
    res = check(cli, tmp_path / "run", m, x, ulps=16 if kind == "mlp" else 0)
    if wtype == QuantType.QUInt8:
        # SPARQ weights are symmetric int8: uint8 weights are refused
        assert res == "refused"
        return
    assert res == "exact"
    if kind == "mlp":
        # the Softmax's float output: within 16 ulp (MLAS's exp); the rest
        # of the graph exactly, checked on the logits below
        m.graph.output[0].name = "fc2_bias"
        m.graph.node.remove(next(n for n in m.graph.node if n.op_type == "Softmax"))
    assert check(cli, tmp_path / "run2", m, x) == "exact"
    # ORT's unfused graph (no optimizations) gives the same bits
    _, y = sparqgen(cli, tmp_path / "run3", m, x)
    want = ort_level(m, x, ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    assert np.array_equal(y.view(np.uint32), want.astype(np.float32).view(np.uint32))


def dq_matmul(a_zp_source="dyn", b_zp=0, cast_to=TensorProto.FLOAT, tail=None):
    """x -> DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul (-> tail)."""
    g = G()
    nodes = g.nodes
    dql = helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql")
    nodes.append(dql)
    wq = g.init(RNG.integers(-127, 128, (12, 5)).astype(np.int8), "w")
    a_zp = {"dyn": "xz", "const": g.init(np.uint8(17)), "none": "", "other": "xs"}[a_zp_source]
    ins = ["xq", wq, a_zp, g.init(np.int8(b_zp))]
    nodes.append(helper.make_node("MatMulInteger", ins, ["acc"], name="mmi"))
    nodes.append(helper.make_node("Cast", ["acc"], ["accf"], name="cast", to=cast_to))
    s = g.node("Mul", ["xs", g.init(np.float32(0.0123))])
    y = g.node("Mul", ["accf", s])
    if tail == "relu_int32":
        nodes[-3:-2] = [helper.make_node("Relu", ["acc"], ["acc_r"], name="relu_int"),
                        helper.make_node("Cast", ["acc_r"], ["accf"], name="cast", to=cast_to)]
    return g.model([None, 12], y, out_type=TensorProto.FLOAT, ms_opset=False)


@pytest.mark.parametrize("variant", ["dyn", "const", "none"])
def test_hand_built_dynamic_matmul_equals_ort(cli, tmp_path, variant):
    x = RNG.normal(0, 1, (4, 12)).astype(np.float32)
    assert check(cli, tmp_path, dq_matmul(variant), x) == "exact"


@pytest.mark.parametrize("model,word", [
    (lambda: dq_matmul(b_zp=3), "weight zero point 3"),
    (lambda: dq_matmul(cast_to=TensorProto.DOUBLE), "Cast to float64"),
    (lambda: dq_matmul(tail="relu_int32"), "int32 output of MatMulInteger"),
])
def test_integer_ops_refuse_what_they_cannot_run_exactly(cli, tmp_path, model, word):
    x = RNG.normal(0, 1, (4, 12)).astype(np.float32)
    r, _ = sparqgen(cli, tmp_path, model(), x)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert word in r.stderr, r.stderr


def test_dynamic_quantization_runs_all_images_at_once(cli, tmp_path):
    """The scale comes from the whole batch: --batch 1 must not split it."""
    x = RNG.normal(0, 1, (5, 12)).astype(np.float32)
    x[3] *= 40  # one image sets the range of all
    assert check(cli, tmp_path, dq_matmul(), x, extra=("--batch", "1")) == "exact"


def test_dynamic_quantize_of_nan_is_refused(cli, tmp_path):
    x = RNG.normal(0, 1, (2, 12)).astype(np.float32)
    x[1, 3] = np.nan
    r, _ = sparqgen(cli, tmp_path, dq_matmul(), x)
    assert r.returncode == 2 and "NaN" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
