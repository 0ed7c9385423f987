"""Build small ONNX models, run them through ONNX Runtime and `sparqgen net`
(mac8x8), and hold sparqgen to the importer's rule: the output equals ONNX
Runtime's bit for bit, or sparqgen refuses with exit 2 and one error line,
never a panic. Used by test_net_ort.py (hand-built hostile models and the
quantize_static matrix)."""

import subprocess
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EXACT = "name: exact\npe: {kind: mac8x8}\narray: {kind: single}\n"


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def scalar(name, v, dtype):
    return numpy_helper.from_array(np.array(v, dtype=dtype), name)


class G:
    """A graph under construction: nodes and initializers, unique names."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}{self.n}"

    def init(self, arr, base="c"):
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), nm))
        return nm

    def node(self, op, inputs, domain="", name=None, outputs=1, **attrs):
        outs = [self.name(op.lower() + "_y") for _ in range(outputs)]
        self.nodes.append(
            helper.make_node(op, inputs, outs, name=name or self.name(op), domain=domain, **attrs)
        )
        return outs[0]

    def q(self, x, s, zp, **attrs):
        return self.node(
            "QuantizeLinear",
            [x, self.init(np.float32(s)), self.init(np.uint8(zp))],
            **attrs,
        )

    def dq(self, x, s, zp):
        return self.node(
            "DequantizeLinear", [x, self.init(np.float32(s)), self.init(np.uint8(zp))]
        )

    def qdq(self, x, s, zp):
        return self.dq(self.q(x, s, zp), s, zp)

    def wdq(self, w, scale, axis=None, zp=None):
        """int8 weights through a DequantizeLinear (per-tensor or per-axis)."""
        scale = np.asarray(scale, np.float32)
        zp = np.zeros(scale.shape, np.int8) if zp is None else np.asarray(zp, np.int8)
        attrs = {} if axis is None else {"axis": axis}
        return self.node(
            "DequantizeLinear",
            [self.init(np.asarray(w, np.int8), "w"), self.init(scale), self.init(zp)],
            **attrs,
        )

    def bdq(self, b, scale):
        scale = np.asarray(scale, np.float32)
        attrs = {"axis": 0} if scale.ndim else {}
        return self.node(
            "DequantizeLinear",
            [self.init(np.asarray(b, np.int32), "b"), self.init(scale),
             self.init(np.zeros(scale.shape, np.int32))],
            **attrs,
        )

    def model(self, x_shape, out, opset=13, out_type=TensorProto.UINT8, ms_opset=True):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
        y = helper.make_tensor_value_info(out, out_type, None)
        g = helper.make_graph(self.nodes, "g", [x], [y], self.inits)
        ops = [helper.make_opsetid("", opset)]
        if ms_opset:
            ops.append(helper.make_opsetid("com.microsoft", 1))
        m = helper.make_model(g, opset_imports=ops)
        m.ir_version = 8 if opset < 21 else 10
        return m


def ort_run(model, x):
    """ONNX Runtime's output, or the exception when it refuses the model."""
    import onnxruntime as ort

    try:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        return s.run(None, {s.get_inputs()[0].name: x})[0], None
    except Exception as e:  # noqa: BLE001 - any refusal counts
        return None, e


def out_quant(model):
    """The (scale, zero point) of the QuantizeLinear writing the graph's
    output, or None for a float output."""
    m = model
    out = m.graph.output[0].name
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    for n in m.graph.node:
        if out in n.output and n.op_type == "QuantizeLinear":
            s = inits[n.input[1]].reshape(-1)[0]
            zp = inits[n.input[2]].reshape(-1)[0] if len(n.input) > 2 and n.input[2] else 0
            return np.float32(s), int(zp)
        if out in n.output and n.op_type.startswith("QLinear") or (out in n.output and n.op_type == "QGemm"):
            names = {"QLinearConv": (6, 7), "QLinearMatMul": (6, 7), "QLinearAdd": (6, 7),
                     "QGemm": (7, 8), "QLinearConcat": (0, 1), "QLinearAveragePool": (3, 4),
                     "QLinearGlobalAveragePool": (3, 4)}
            i, j = names[n.op_type]
            return np.float32(inits[n.input[i]].reshape(-1)[0]), int(inits[n.input[j]].reshape(-1)[0])
    return None


def sparqgen(cli, tmp: Path, model, x, extra=()):
    tmp.mkdir(parents=True, exist_ok=True)
    mp, xp, yp = tmp / "m.onnx", tmp / "x.npy", tmp / "y.npy"
    if isinstance(model, bytes):
        mp.write_bytes(model)
    else:
        onnx.save(model, mp)
    np.save(xp, x)
    (tmp / "exact.yaml").write_text(EXACT)
    if yp.exists():
        yp.unlink()
    r = subprocess.run(
        [str(cli), "net", str(mp), "--input", str(xp), "--design", str(tmp / "exact.yaml"),
         "--out", str(yp), *extra],
        capture_output=True, text=True, timeout=120,
    )
    y = np.load(yp) if r.returncode == 0 else None
    return r, y


def check(cli, tmp, model, x, extra=(), ort_ok=True, per_image=False, ulps=0, chunk=None):
    """The rule. Returns "exact" or "refused" (for tables). `ulps`: float
    outputs of Softmax may differ from ONNX Runtime's by that many units in
    the last place (MLAS computes exp with its own polynomial, per CPU).
    `per_image`/`chunk`: ORT runs the images one (or `chunk`) at a time, as
    a graph with a declared batch takes them."""
    if per_image:
        chunk = 1
    r, y = sparqgen(cli, tmp, model, x, extra)
    err = r.stderr.strip()
    assert "panicked" not in err and "RUST_BACKTRACE" not in err, err
    assert r.returncode in (0, 2), f"exit {r.returncode}: {err}"
    if r.returncode == 2:
        lines = [l for l in err.splitlines() if l.strip()]
        assert len(lines) == 1, f"one error line, got: {err}"
        return "refused"
    if not ort_ok:
        raise AssertionError(f"sparqgen ran a model it should refuse: {r.stdout}")
    if chunk:
        outs = [ort_run(model, x[i : i + chunk]) for i in range(0, x.shape[0], chunk)]
        assert all(e is None for _, e in outs), f"sparqgen ran, ORT refused: {outs[0][1]}"
        want = np.concatenate([o for o, _ in outs])
    else:
        want, e = ort_run(model, x)
        assert e is None, f"sparqgen ran (exit 0), but ONNX Runtime refuses: {e}"
    q = out_quant(model)
    if q is not None and want.dtype == np.uint8:
        s, zp = q
        want = (want.astype(np.int32) - zp).astype(np.float32) * s
    want = want.astype(np.float32)
    assert y.shape == want.shape, f"shape {y.shape} vs ORT {want.shape}"
    dist = np.abs(y.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    bad = np.flatnonzero(dist > ulps)
    assert bad.size == 0, (
        f"{bad.size} of {y.size} values differ from ORT, first at {bad[0]}: "
        f"{y.flat[bad[0]]!r} vs {want.flat[bad[0]]!r} ({dist.max()} ulp at most)"
    )
    return "exact"
