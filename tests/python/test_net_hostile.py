"""Hostile ONNX models (issue #22): every one either gives ONNX Runtime's
output bit for bit through `sparqgen net` (mac8x8) or is refused with exit 2
and one error line; never a panic, never a model ONNX Runtime rejects."""

import subprocess

import numpy as np
import pytest
from onnx import TensorProto, helper

from netcheck import G, check

RNG = np.random.default_rng(22)
XS, XZ = 0.02, 10  # input quantization
YS, YZ = 0.05, 128  # conv output quantization
# Softmax's float output against ONNX Runtime's MLAS kernel (its own exp
# polynomial and vector sums): the one place sparqgen is not bit for bit.
SOFTMAX_ULPS = 16


def images(n=3, c=2, h=6, w=6, lo=-0.1, hi=4.0):
    return RNG.uniform(lo, hi, (n, c, h, w)).astype(np.float32)


def conv(g, x, cin=2, cout=3, k=(3, 3), per_channel=False, bias=True, w_axis=None, **attrs):
    """Q -> DQ -> Conv (int8 weights, int32 bias) -> Q -> DQ."""
    w = RNG.integers(-127, 128, (cout, cin // max(attrs.get("group", 1), 1), *k))
    ws = RNG.uniform(0.001, 0.01, cout).astype(np.float32) if per_channel else np.float32(0.005)
    wn = g.wdq(w, ws, axis=0 if per_channel and w_axis is None else w_axis)
    ins = [g.qdq(x, XS, XZ), wn]
    if bias:
        ins.append(g.bdq(RNG.integers(-500, 500, cout), np.float32(XS) * np.asarray(ws, np.float32)))
    y = g.node("Conv", ins, **attrs)
    return g.qdq(y, YS, YZ)


def run_conv(tmp_path, cli, x=None, tail=None, opset=13, extra=(), per_image=False, **attrs):
    g = G()
    x = images() if x is None else x
    y = conv(g, "x", cin=x.shape[1], **attrs)
    if tail:
        y = tail(g, y)
    out = g.q(y, YS, YZ)
    m = g.model([None, *x.shape[1:]], out, opset=opset)
    return check(cli, tmp_path, m, x, extra=extra, per_image=per_image)


def test_plain_conv_equals_ort(cli, tmp_path):
    assert run_conv(tmp_path, cli, pads=[1, 0, 2, 1], strides=[2, 1]) == "exact"
    assert run_conv(tmp_path / "pc", cli, per_channel=True) == "exact"


def test_clip_min_above_max_gives_max(cli, tmp_path):
    def tail(g, y):
        return g.node("Clip", [y, g.init(np.float32(3.0)), g.init(np.float32(1.0))])

    assert run_conv(tmp_path, cli, tail=tail) == "exact"


@pytest.mark.parametrize(
    "attrs",
    [
        {"strides": [0, 1]},
        {"strides": [-1, 1]},
        {"pads": [-1, 0, 0, 0]},
        {"kernel_shape": [2, 2]},
        {"dilations": [2, 2]},
        {"group": 0},
        {"auto_pad": "BOGUS"},
        {"pads": [30000, 30000, 30000, 30000]},
        {"pads": [1 << 20, 0, 0, 0]},
    ],
    ids=str,
)
def test_invalid_or_huge_conv_attributes_are_refused(cli, tmp_path, attrs):
    assert run_conv(tmp_path, cli, **attrs) == "refused"


@pytest.mark.parametrize(
    "key,value",
    [("group", [1]), ("strides", 1), ("pads", 0), ("kernel_shape", 3), ("auto_pad", 1)],
    ids=str,
)
def test_attributes_of_the_wrong_type_are_refused(cli, tmp_path, key, value):
    from netcheck import sparqgen

    g = G()
    out = g.q(conv(g, "x"), YS, YZ)
    conv_node = next(n for n in g.nodes if n.op_type == "Conv")
    conv_node.attribute.append(helper.make_attribute(key, value))
    r, _ = sparqgen(cli, tmp_path, g.model([None, 2, 6, 6], out), images())
    assert r.returncode == 2 and f"attribute {key} must be" in r.stderr, r.stderr


def test_kernel_larger_than_the_padded_input_is_named(cli, tmp_path):
    x = images(h=2, w=2)
    g = G()
    conv(g, "x", k=(3, 3))
    from netcheck import sparqgen

    g = G()
    out = g.q(conv(g, "x", k=(3, 3)), YS, YZ)
    r, _ = sparqgen(cli, tmp_path, g.model([None, 2, 2, 2], out), x)
    assert r.returncode == 2
    assert "larger than the padded input" in r.stderr, r.stderr


def test_zero_size_weights_are_refused(cli, tmp_path):
    g = G()
    w = g.wdq(np.zeros((0, 2, 3, 3)), np.float32(0.01))
    y = g.node("Conv", [g.qdq("x", XS, XZ), w])
    m = g.model([None, 2, 6, 6], g.q(g.qdq(y, YS, YZ), YS, YZ))
    assert check(cli, tmp_path, m, images()) == "refused"


@pytest.mark.parametrize(
    "op,attrs",
    [
        ("AveragePool", {"kernel_shape": [2, 2], "pads": [2, 2, 2, 2]}),
        ("MaxPool", {"kernel_shape": [2, 2], "pads": [3, 0, 0, 0]}),
        ("AveragePool", {"kernel_shape": [0, 2]}),
        ("MaxPool", {"kernel_shape": [2, 2], "strides": [0, 1]}),
        ("AveragePool", {"kernel_shape": [2, 2], "strides": [-2, 1]}),
        ("AveragePool", {"kernel_shape": [2, 2], "count_include_pad": 5}),
    ],
    ids=str,
)
def test_invalid_pool_attributes_are_refused(cli, tmp_path, op, attrs):
    assert run_conv(tmp_path, cli, tail=lambda g, y: g.node(op, [y], **attrs)) == "refused"


@pytest.mark.parametrize("cip", [0, 1])
@pytest.mark.parametrize("zp", [0, 3, 128])
def test_average_pool_rounds_like_ort_at_ties(cli, tmp_path, cip, zp):
    # codes whose 2x2 window sums are odd multiples of 2: averages at .5
    x = (np.arange(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) % 7 * 2 + 1).astype(np.float32) * 0.5

    def build(tail_op, **attrs):
        g = G()
        y = g.node(tail_op, [g.qdq("x", 0.5, zp)], **attrs)
        return g.model([None, 2, 6, 6], g.q(y, 1.0, zp))

    m = build("AveragePool", kernel_shape=[2, 2], pads=[1, 1, 0, 1], count_include_pad=cip)
    assert check(cli, tmp_path / "a", m, x, extra=("--design", "/dev/null")[:0]) in ("exact", "refused")
    # these must run: the layer makes it a network sparqgen accepts
    g = G()
    y = conv(g, "x", cin=2)
    y = g.node("AveragePool", [y], kernel_shape=[2, 2], pads=[1, 1, 0, 1], count_include_pad=cip)
    y = g.qdq(y, YS * 0.5, zp)
    y = g.node("GlobalAveragePool", [y])
    m = g.model([None, 2, 6, 6], g.q(y, YS * 0.25, zp))
    assert check(cli, tmp_path / "b", m, images()) == "exact"


@pytest.mark.parametrize("opset", [11, 12, 13])
def test_softmax_follows_the_opset(cli, tmp_path, opset):
    def tail(g, y):
        y = g.node("Reshape", [y, g.init(np.array([0, 3, -1], np.int64))])
        s = g.node("Softmax", [y], axis=1)
        return s

    g = G()
    y = tail(g, conv(g, "x"))
    m = g.model([None, 2, 6, 6], y, opset=opset, out_type=TensorProto.FLOAT)
    assert check(cli, tmp_path, m, images(), ulps=SOFTMAX_ULPS) == "exact"


@pytest.mark.parametrize(
    "tail",
    [
        lambda g, y: g.node("Flatten", [y], axis=0),
        lambda g, y: g.node("Concat", [y, g.node("Relu", [y])], axis=0),
        lambda g, y: g.node("Softmax", [g.node("Flatten", [y])], axis=0),
        lambda g, y: g.node("Reshape", [y, g.init(np.array([-1], np.int64))]),
    ],
    ids=["flatten0", "concat0", "softmax0", "reshape-1"],
)
def test_graphs_that_mix_images_are_not_split_by_batch(cli, tmp_path, tail):
    g = G()
    y = tail(g, conv(g, "x"))
    m = g.model([None, 2, 6, 6], y, out_type=TensorProto.FLOAT)
    assert check(cli, tmp_path, m, images(n=5), extra=("--batch", "2"), ulps=SOFTMAX_ULPS) == "exact"


def test_a_declared_batch_runs_that_many_images_at_a_time(cli, tmp_path):
    g = G()
    y = g.node("Softmax", [g.node("Flatten", [conv(g, "x")])], axis=0)
    m = g.model([1, 2, 6, 6], y, out_type=TensorProto.FLOAT)
    assert check(cli, tmp_path, m, images(n=3), per_image=True, ulps=SOFTMAX_ULPS) == "exact"
    g = G()
    y = g.q(conv(g, "x"), YS, YZ)
    m = g.model([2, 2, 6, 6], y)
    assert check(cli, tmp_path / "b", m, images(n=3)) == "refused"


def test_bias_with_a_foreign_scale(cli, tmp_path):
    g = G()
    w = g.wdq(RNG.integers(-127, 128, (3, 2, 3, 3)), np.float32(0.005))
    b = g.bdq(RNG.integers(-500, 500, 3), np.float32(0.5))
    y = g.node("Conv", [g.qdq("x", XS, XZ), w, b])
    m = g.model([None, 2, 6, 6], g.q(g.qdq(y, YS, YZ), YS, YZ))
    assert check(cli, tmp_path, m, images()) in ("exact", "refused")


@pytest.mark.parametrize("dtype", [3, 4, 17])
def test_quantize_output_dtype_other_than_uint8(cli, tmp_path, dtype):
    g = G()
    y = conv(g, "x")
    q = g.node("QuantizeLinear", [y, g.init(np.float32(YS))], output_dtype=dtype)
    y2 = g.node("DequantizeLinear", [q, g.init(np.float32(YS))])
    out = g.q(y2, YS, YZ)
    m = g.model([None, 2, 6, 6], out, opset=21)
    assert check(cli, tmp_path, m, images()) == "refused"


@pytest.mark.parametrize(
    "case",
    ["scale-len", "zp-len", "axis1", "axis-out-of-range"],
)
def test_bad_per_channel_weight_quantization(cli, tmp_path, case):
    g = G()
    w = RNG.integers(-127, 128, (4, 2, 3, 3))
    if case == "scale-len":
        wn = g.wdq(w, np.full(3, 0.01, np.float32), axis=0)
    elif case == "zp-len":
        wn = g.wdq(w, np.full(4, 0.01, np.float32), axis=0, zp=np.zeros(3))
    elif case == "axis1":
        wn = g.wdq(RNG.integers(-127, 128, (2, 2, 3, 3)), np.full(2, 0.01, np.float32), axis=1)
    else:
        wn = g.wdq(w, np.full(4, 0.01, np.float32), axis=7)
    y = g.node("Conv", [g.qdq("x", XS, XZ), wn])
    m = g.model([None, 2, 6, 6], g.q(g.qdq(y, YS, YZ), YS, YZ))
    assert check(cli, tmp_path, m, images()) == "refused"


def test_per_channel_weights_on_axis_one_of_matmul_run(cli, tmp_path):
    g = G()
    f = g.node("Flatten", [g.qdq("x", XS, XZ)])
    wn = g.wdq(RNG.integers(-127, 128, (72, 5)), RNG.uniform(0.001, 0.01, 5).astype(np.float32), axis=1)
    y = g.node("MatMul", [f, wn])
    m = g.model([None, 2, 6, 6], g.q(y, YS, YZ))
    assert check(cli, tmp_path, m, images()) == "exact"


@pytest.mark.parametrize(
    "shape,allowzero", [([0, -1], 1), ([0, 3, 12], 1), ([-2, 108], 0), ([-1, -1], 0)], ids=str
)
def test_invalid_reshapes_are_refused(cli, tmp_path, shape, allowzero):
    def tail(g, y):
        return g.node("Reshape", [y, g.init(np.array(shape, np.int64))], allowzero=allowzero)

    assert run_conv(tmp_path, cli, tail=tail, opset=14) == "refused"


def test_an_unsorted_graph_is_sorted_and_cycles_and_duplicates_are_named(cli, tmp_path):
    from netcheck import sparqgen

    g = G()
    out = g.q(conv(g, "x"), YS, YZ)
    g.nodes.reverse()
    m = g.model([None, 2, 6, 6], out)
    assert check(cli, tmp_path / "sorted", m, images()) == "exact"
    # a cycle: the first QuantizeLinear reads the last node's output
    g = G()
    out = g.q(conv(g, "x"), YS, YZ)
    g.nodes[0].input[0] = g.nodes[-2].output[0]
    r, _ = sparqgen(cli, tmp_path / "cycle", g.model([None, 2, 6, 6], out), images())
    assert r.returncode == 2 and "cycle" in r.stderr, r.stderr
    g = G()
    out = g.q(conv(g, "x"), YS, YZ)
    g.nodes[-2].output[0] = g.nodes[-3].output[0]
    r, _ = sparqgen(cli, tmp_path / "dup", g.model([None, 2, 6, 6], out), images())
    assert r.returncode == 2 and "produced by two nodes" in r.stderr, r.stderr


def test_acts_names_never_collide(cli, tmp_path):
    from netcheck import sparqgen

    g = G()
    # a Relu between the layers: Q -> DQ -> Q -> DQ with two scales is
    # refused (ORT's optimizer merges the pairs)
    a = conv(g, "x", cout=2, pads=[1, 1, 1, 1])
    g.nodes[-3].name = "a/b"
    b = conv(g, g.node("Relu", [a]), cin=2, cout=2, pads=[1, 1, 1, 1])
    g.nodes[-3].name = "a_b"
    c = conv(g, g.node("Relu", [b]), cin=2, cout=2, pads=[1, 1, 1, 1])
    g.nodes[-3].name = "ä"
    d = conv(g, g.node("Relu", [c]), cin=2, cout=2, pads=[1, 1, 1, 1])
    g.nodes[-3].name = "ö"
    m = g.model([None, 2, 6, 6], g.q(d, YS, YZ))
    r, _ = sparqgen(cli, tmp_path, m, images(), extra=("--acts", str(tmp_path / "acts")))
    assert r.returncode == 0, r.stderr
    files = sorted(p.name for p in (tmp_path / "acts").glob("*.npy"))
    assert len(files) == 4, files


def test_labels_outside_the_classes_and_batch_zero_are_refused(cli, tmp_path):
    from netcheck import sparqgen

    g = G()
    out = g.q(g.node("Flatten", [conv(g, "x")]), YS, YZ)
    m = g.model([None, 2, 6, 6], out)
    np.save(tmp_path / "l.npy", np.array([0, 1, 48], np.int32))
    r, _ = sparqgen(cli, tmp_path, m, images(), extra=("--labels", str(tmp_path / "l.npy")))
    assert r.returncode == 2 and "outside the model's 48 classes" in r.stderr, r.stderr
    r, _ = sparqgen(cli, tmp_path, m, images(), extra=("--batch", "0"))
    assert r.returncode == 2 and "--batch 0" in r.stderr, r.stderr


def test_hcm_refuses_an_empty_activation_file(cli, tmp_path, root):
    import subprocess

    g = G()
    y = conv(g, "x", pads=[1, 1, 1, 1])
    g.nodes[-3].name = "c1"
    out = g.q(y, YS, YZ)
    import onnx

    onnx.save(g.model([1, 2, 6, 6], out), tmp_path / "m.onnx")
    (tmp_path / "acts").mkdir()
    np.save(tmp_path / "acts" / "c1.npy", np.zeros((0, 2, 6, 6), np.uint8))
    r = subprocess.run(
        [str(cli), "hcm", str(tmp_path / "m.onnx"), "--acts", str(tmp_path / "acts"),
         "--design", str(root / "configs" / "default.yaml"), "--area-model", "none"],
        capture_output=True, text=True, timeout=60,
    )
    assert r.returncode == 2 and "holds no images" in r.stderr, r.stderr


def random_model(seed):
    """A conv and a tail op with attributes drawn from valid and invalid
    values alike; returns (model, images, extra CLI flags)."""
    rng = np.random.default_rng(seed)
    pick = lambda xs: xs[rng.integers(len(xs))]  # noqa: E731
    opset = int(pick([11, 12, 13, 17, 19, 21]))
    c, h, w = int(pick([1, 2, 4])), int(pick([1, 2, 5, 7])), int(pick([1, 3, 6]))
    k = (int(pick([1, 2, 3, 4])), int(pick([1, 2, 3])))
    attrs = {}
    if rng.random() < 0.6:
        attrs["strides"] = [int(pick([-1, 0, 1, 2, 3])), int(pick([1, 2]))]
    if rng.random() < 0.6:
        attrs["pads"] = [int(pick([-1, 0, 1, 2, 5])) for _ in range(4)]
    if rng.random() < 0.3:
        attrs["group"] = int(pick([0, 1, 2, c]))
    if rng.random() < 0.2:
        attrs["kernel_shape"] = [int(pick([1, 2, 3])), k[1]]
    g = G()
    cout = 2 * int(pick([1, 2]))
    group = attrs.get("group", 1)
    cin_w = c // group if group and c % max(group, 1) == 0 else c
    wq = g.wdq(rng.integers(-127, 128, (cout, cin_w, *k)), np.float32(0.01))
    y = g.node("Conv", [g.qdq("x", XS, int(pick([0, 7, 128]))), wq], **attrs)
    y = g.qdq(y, YS, int(pick([0, 100, 255])))
    tail = pick(["pool", "avg", "softmax", "flatten", "concat", "reshape", "clip", "gap", "none"])
    if tail in ("pool", "avg"):
        pa = {"kernel_shape": [int(pick([0, 1, 2, 3])), int(pick([1, 2]))]}
        if rng.random() < 0.5:
            pa["pads"] = [int(pick([-1, 0, 1, 2])) for _ in range(4)]
        if rng.random() < 0.5:
            pa["strides"] = [int(pick([0, 1, 2])), 1]
        if tail == "avg":
            pa["count_include_pad"] = int(pick([0, 1]))
        y = g.node("MaxPool" if tail == "pool" else "AveragePool", [y], **pa)
    elif tail == "softmax":
        y = g.node("Softmax", [y], axis=int(pick([-4, -1, 0, 1, 2, 3, 4])))
    elif tail == "flatten":
        y = g.node("Flatten", [y], axis=int(pick([-5, -1, 0, 1, 2, 4, 5])))
    elif tail == "concat":
        y = g.node("Concat", [y, y], axis=int(pick([-4, 0, 1, 3, 4])))
    elif tail == "reshape":
        shape = [int(pick([-2, -1, 0, 1, 2, 6])) for _ in range(int(pick([1, 2, 3])))]
        y = g.node("Reshape", [y, g.init(np.array(shape, np.int64))],
                   **({"allowzero": int(pick([0, 1]))} if opset >= 14 else {}))
    elif tail == "clip":
        y = g.node("Clip", [y, g.init(np.float32(rng.uniform(-1, 3))), g.init(np.float32(rng.uniform(-1, 3)))])
    elif tail == "gap":
        y = g.node("GlobalAveragePool", [y])
    out = g.q(y, YS, int(pick([0, 3, 128])))
    declared = [None, 1, 2][int(rng.integers(3))] if rng.random() < 0.3 else None
    m = g.model([declared, c, h, w], out, opset=opset)
    n = int(pick([1, 2, 3, 4]))
    x = rng.uniform(-0.5, 3.0, (n, c, h, w)).astype(np.float32)
    return m, x, ("--batch", str(int(pick([1, 2, 3]))))


@pytest.mark.parametrize("seed", range(60))
def test_random_hostile_models_equal_ort_or_are_refused(cli, tmp_path, seed):
    m, x, extra = random_model(seed)
    declared = m.graph.input[0].type.tensor_type.shape.dim[0].dim_value
    got = check(cli, tmp_path, m, x, extra=extra, ulps=16, chunk=declared or None)
    OUTCOMES[seed] = got


OUTCOMES = {}


def test_random_hostile_models_run_some_and_refuse_some():
    # the generator is not vacuous: both outcomes occur (runs after the above)
    if len(OUTCOMES) == 60:
        vals = list(OUTCOMES.values())
        assert vals.count("exact") >= 10 and vals.count("refused") >= 10, vals


def test_hcm_names_open_input_dims_plainly(cli, tmp_path):
    # an input whose height is left open: hcm needs fixed C x H x W and says
    # which dims are open, without Rust's Option debug text
    g = G()
    y = conv(g, "x")
    m = g.model([None, 2, "H", 6], g.q(y, YS, YZ))
    path = tmp_path / "open.onnx"
    path.write_bytes(m.SerializeToString())
    r = subprocess.run([cli, "hcm", str(path)], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "[?, 2, ?, 6]" in r.stderr, r.stderr
    assert "Some(" not in r.stderr and "None" not in r.stderr, r.stderr
