"""A second hostile-model generator (issue #22), written after the importer:
random chains of 1 to 5 ops drawn from everything `net` reads (static QDQ
Conv/MatMul, the dynamic integer ops, pools, Softmax, Flatten, Reshape,
Concat, Clip, Relu, Add/Mul by constants, Cast, Identity) and some it does
not (Transpose, Sigmoid), each attribute drawn from valid and invalid
values, on float or quantized values, opsets 11-21, 2-D or 4-D inputs,
1-4 images and `--batch` 1-3. Every model must give ONNX Runtime's output
(bit for bit; a float Softmax within 16 ulp) or be refused with exit 2 and
one line; never a panic, never a model ORT rejects. Plus the reproducers
the generator found, as regression tests."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from netcheck import G, check, sparqgen

SEEDS = range(1000, 1150)


def chain_model(seed):
    rng = np.random.default_rng(seed)
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    opset = int(pick([11, 12, 13, 17, 19, 21]))
    four = rng.random() < 0.6
    shape = ([int(pick([1, 2, 3])), int(pick([1, 3, 5])), int(pick([1, 4, 6]))] if four
             else [int(pick([1, 5, 8]))])
    g = G()
    y, cur = "x", list(shape)  # cur: the shape after the batch, when known
    quant = False  # y holds uint8 codes (a QuantizeLinear output)

    def to_float(y):
        return g.node("DequantizeLinear", [y, g.init(np.float32(0.04)), g.init(np.uint8(9))])

    for _ in range(int(rng.integers(1, 6))):
        op = pick(["conv", "matmul", "dynconv", "dynmatmul", "relu", "clip", "maxpool",
                   "avgpool", "gap", "softmax", "flatten", "reshape", "concat", "addc", "mulc",
                   "identity", "cast", "transpose", "sigmoid", "quant"])
        if quant and op != "quant":
            y, quant = to_float(y), False
        if op == "quant":
            y, quant = g.q(y, 0.04, 9), True
        elif op in ("conv", "dynconv") and len(cur) == 3 and cur[0]:
            cout, k = int(pick([1, 2, 4])), [int(pick([0, 1, 2, 3])), int(pick([1, 2]))]
            attrs = {}
            if rng.random() < 0.5:
                attrs["pads"] = [int(pick([-1, 0, 1, 2])) for _ in range(4)]
            if rng.random() < 0.4:
                attrs["strides"] = [int(pick([0, 1, 2])), int(pick([1, 2]))]
            if rng.random() < 0.2:
                attrs["dilations"] = [int(pick([1, 2])), 1]
            if rng.random() < 0.2:
                attrs["group"] = int(pick([1, cur[0], 2]))
            cin = cur[0] // attrs.get("group", 1) if cur[0] % attrs.get("group", 1) == 0 else cur[0]
            w = rng.integers(-127, 128, (cout, cin, *k)).astype(np.int8)
            if op == "conv":
                wd = g.wdq(w, np.float32(0.01))
                y = g.node("Conv", [g.qdq(y, 0.03, int(pick([0, 5, 128]))), wd], **attrs)
                y = g.qdq(y, 0.05, int(pick([0, 128])))
            else:
                y = dyn_integer(g, y, w, "ConvInteger", rng, **attrs)
            cur = [cout, None, None]
        elif op in ("matmul", "dynmatmul") and len(cur) == 1 and cur[0]:
            nout = int(pick([1, 3, 7]))
            w = rng.integers(-127, 128, (cur[0] if rng.random() < 0.9 else cur[0] + 1, nout))
            w = w.astype(np.int8)
            if op == "matmul":
                y = g.node("MatMul", [g.qdq(y, 0.03, 128), g.wdq(w, np.float32(0.02))])
                y = g.qdq(y, 0.05, int(pick([0, 128])))
            else:
                y = dyn_integer(g, y, w, "MatMulInteger", rng)
            cur = [nout]
        elif op == "relu":
            y = g.node("Relu", [y])
        elif op == "clip":
            lo, hi = rng.uniform(-2, 2, 2).astype(np.float32)
            y = g.node("Clip", [y, g.init(np.float32(lo)), g.init(np.float32(hi))])
        elif op in ("maxpool", "avgpool") and len(cur) == 3:
            pa = {"kernel_shape": [int(pick([0, 1, 2, 3])), int(pick([1, 2]))]}
            if rng.random() < 0.5:
                pa["pads"] = [int(pick([-1, 0, 1, 2])) for _ in range(4)]
            if rng.random() < 0.5:
                pa["strides"] = [int(pick([0, 1, 2])), 1]
            if op == "avgpool" and rng.random() < 0.5:
                pa["count_include_pad"] = int(pick([0, 1]))
            y = g.qdq(y, 0.05, 7)
            y = g.node("MaxPool" if op == "maxpool" else "AveragePool", [y], **pa)
            cur = [cur[0], None, None]
        elif op == "gap" and len(cur) == 3:
            y = g.node("GlobalAveragePool", [g.qdq(y, 0.05, 7)])
            cur = [cur[0], 1, 1]
        elif op == "softmax":
            y = g.node("Softmax", [y], axis=int(pick([-5, -1, 0, 1, 2, 3, 4])))
        elif op == "flatten":
            y = g.node("Flatten", [y], axis=int(pick([-3, -1, 0, 1, 2, 5])))
            cur = [None]
        elif op == "reshape":
            spec = [int(pick([-2, -1, 0, 1, 2, 3])) for _ in range(int(pick([1, 2, 3])))]
            y = g.node("Reshape", [y, g.init(np.array(spec, np.int64))])
            cur = [None] * (len(spec) - 1)
        elif op == "concat":
            y = g.node("Concat", [y, y], axis=int(pick([-2, 0, 1, 2, 4])))
            cur = [None] * len(cur)
        elif op == "addc":
            c = rng.normal(0, 1, pick([(1,), (2,), ((cur[-1] if cur else None) or 1,)])).astype(np.float32)
            y = g.node("Add", [y, g.init(c)])
        elif op == "mulc":
            c = rng.normal(0, 1, pick([(1,), (3,), ((cur[-1] if cur else None) or 1,)])).astype(np.float32)
            y = g.node("Mul", [g.init(c), y])
        elif op == "identity":
            y = g.node("Identity", [y])
        elif op == "cast":
            y = g.node("Cast", [y], to=int(pick([TensorProto.FLOAT, TensorProto.INT32,
                                                 TensorProto.UINT8])))
        elif op == "transpose":
            y = g.node("Transpose", [y])
        elif op == "sigmoid":
            y = g.node("Sigmoid", [y])
    out_type = TensorProto.UINT8 if quant else TensorProto.FLOAT
    declared = pick([None, None, None, 1, 2])
    m = g.model([declared, *shape], y, opset=opset, out_type=out_type)
    n = int(pick([1, 2, 3, 4]))
    x = rng.uniform(-2.0, 3.0, (n, *shape)).astype(np.float32)
    return m, x, ("--batch", str(int(pick([1, 2, 3])))), declared


def dyn_integer(g, y, w, op, rng, **attrs):
    """DynamicQuantizeLinear -> op -> Cast -> Mul by the scales, as
    quantize_dynamic writes it; sometimes with a stated or foreign zero
    point or a non-zero weight zero point."""
    pick = lambda xs: xs[int(rng.integers(len(xs)))]  # noqa: E731
    q = g.nodes.append(helper.make_node("DynamicQuantizeLinear", [y],
                                        [y + "_q", y + "_s", y + "_z"], name=g.name("dql")))
    del q
    zp = pick([y + "_z", y + "_z", y + "_z", g.init(np.uint8(3)), ""])
    wz = g.init(np.int8(pick([0, 0, 0, 1])))
    acc = g.node(op, [y + "_q", g.init(w, "w"), zp, wz], **attrs)
    f = g.node("Cast", [acc], to=TensorProto.FLOAT)
    s = g.node("Mul", [y + "_s", g.init(np.float32(0.01))])
    return g.node("Mul", [f, s])


OUTCOMES = {}


@pytest.mark.parametrize("seed", SEEDS)
def test_random_op_chains_equal_ort_or_are_refused(cli, tmp_path, seed):
    m, x, extra, declared = chain_model(seed)
    OUTCOMES[seed] = check(cli, tmp_path, m, x, extra=extra, ulps=16, chunk=declared or None)


def test_random_op_chains_run_some_and_refuse_some():
    if len(OUTCOMES) == len(SEEDS):
        vals = list(OUTCOMES.values())
        assert vals.count("exact") >= 20 and vals.count("refused") >= 20, vals


def test_scalar_graph_output_is_not_a_crash(cli, tmp_path):
    """Found by the generator's first run: a graph whose output is a scalar
    (here DynamicQuantizeLinear's y_scale) made the top-1 count index an
    empty shape (exit 101)."""
    g = G()
    g.nodes.append(helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"], name="dql"))
    m = g.model([None, 6], "s", out_type=TensorProto.FLOAT, ms_opset=False)
    x = np.linspace(-3, 2, 12, dtype=np.float32).reshape(2, 6)
    assert check(cli, tmp_path, m, x) == "exact"


def test_wrapping_weight_shape_is_refused(cli, tmp_path):
    """Dims whose product wraps around 2^64 matched an empty data field
    and the weights were indexed out of bounds (exit 101)."""
    g = G()
    g.inits.append(TensorProto(name="wbig", data_type=TensorProto.INT8, dims=[2**32, 2**32]))
    wd = g.node("DequantizeLinear", ["wbig", g.init(np.float32(0.1)), g.init(np.int8(0))])
    y = g.node("MatMul", [g.qdq("x", 0.1, 128), wd])
    m = g.model([None, 4], g.q(y, 0.1, 128))
    r, _ = sparqgen(cli, tmp_path, m, np.zeros((1, 4), np.float32))
    assert r.returncode == 2, r.stderr
    assert "shape [4294967296, 4294967296]" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def refused(cli, tmp_path, m, x, word):
    r, _ = sparqgen(cli, tmp_path, m, x)
    assert r.returncode == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert word in r.stderr, r.stderr


def test_quantize_of_uint8_codes_is_refused(cli, tmp_path):
    """Found by the generator (seeds 2028, 2334 of its first version):
    QuantizeLinear of a QuantizeLinear's uint8 output ran; ORT rejects the
    model (a type error)."""
    g = G()
    m = g.model([None, 5], g.q(g.q("x", 0.04, 9), 0.04, 9))
    refused(cli, tmp_path, m, np.ones((2, 5), np.float32), "input 0 is uint8 codes")


def test_float_average_pool_is_refused_outside_the_qlinear_form(cli, tmp_path):
    """Found by the generator (seed 2016): DequantizeLinear ->
    GlobalAveragePool -> Mul: ORT sums the floats in its own order, sparqgen
    summed the integers (-0.0 vs -5e-9)."""
    g = G()
    y = g.node("GlobalAveragePool", [g.qdq("x", 0.04, 9)])
    m = g.model([None, 3, 3, 1], g.node("Mul", [g.init(np.float32(0.7)), y]),
                out_type=TensorProto.FLOAT)
    x = np.random.default_rng(1).uniform(-2, 3, (2, 3, 3, 1)).astype(np.float32)
    refused(cli, tmp_path, m, x, "must read a DequantizeLinear and feed only QuantizeLinear")
    # the QLinear form itself still runs exactly
    g = G()
    y = g.node("GlobalAveragePool", [g.qdq("x", 0.04, 9)])
    m = g.model([None, 3, 3, 1], g.q(y, 0.02, 3))
    assert check(cli, tmp_path / "q", m, x) == "exact"


def test_requantizing_qdq_pairs_are_refused(cli, tmp_path):
    """Found by the generator (seeds 2009, 2088): Q -> DQ -> Q -> DQ with
    two scales before a MatMul: ORT's optimizer merges the pairs into one
    quantization and its answer moves by one step (-0.3 vs -0.25)."""
    x = np.random.default_rng(2).uniform(-2, 3, (4, 1)).astype(np.float32)

    def model(s2, z2):
        g = G()
        y = g.dq(g.q(g.dq(g.q("x", 0.04, 9), 0.04, 9), s2, z2), s2, z2)
        w = g.wdq(np.array([[-60, -13, 41]], np.int8), np.float32(0.02))
        return g.model([None, 1], g.q(g.node("MatMul", [y, w]), 0.05, 128))

    refused(cli, tmp_path, model(0.03, 128), x, "ONNX Runtime's optimizer merges")
    assert check(cli, tmp_path / "same", model(0.04, 9), x) == "exact"


@pytest.mark.parametrize("opset", [11, 12])
def test_maxpool_of_codes_follows_the_opset(cli, tmp_path, opset):
    """uint8 MaxPool exists from opset 12; ORT rejects it before."""
    g = G()
    y = g.node("MaxPool", [g.q("x", 0.04, 9)], kernel_shape=[2, 2])
    m = g.model([None, 2, 4, 4], g.dq(y, 0.04, 9), opset=opset, out_type=TensorProto.FLOAT)
    x = np.random.default_rng(3).uniform(-1, 3, (2, 2, 4, 4)).astype(np.float32)
    if opset < 12:
        refused(cli, tmp_path, m, x, "needs opset 12")
    else:
        assert check(cli, tmp_path, m, x) == "exact"
