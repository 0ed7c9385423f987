"""The ONNX backend node tests for quantized operators (from the pinned
`onnx==1.22.0` wheel, installed without dependencies into a test-only
virtual environment under target/) through `sparqgen net` (mac8x8): each
case equals the expected output bit for bit or is refused cleanly (exit 2,
one line). The README's table lists which run and which are refused.

Harness transforms (they keep each case's meaning): inputs after the first
become initializers holding the case's values; a uint8 first input whose op
states its scale and zero point (QLinearConv, QLinearMatMul,
DequantizeLinear) is fed as the
float `(x - zp) * scale` through a QuantizeLinear that gives back exactly
`x` (sparqgen feeds float images)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from netcheck import out_quant, sparqgen

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "target" / "onnx-1.22.0-venv"
QUANT = re.compile(r"quantiz|qlinear|integer|dynamicquant")


def node_tests() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV)], check=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
             "onnx==1.22.0"],
            check=True,
        )
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return Path(site) / "onnx" / "backend" / "test" / "data" / "node"


def cases():
    try:
        d = node_tests()
    except (subprocess.CalledProcessError, OSError) as e:
        pytest.fail(f"cannot install onnx==1.22.0 into {VENV} ({e}); needs pip >= 23.1 and PyPI")
    return sorted(p for p in d.iterdir() if QUANT.search(p.name))


def load_case(case: Path):
    m = onnx.load(case / "model.onnx")
    data = case / "test_data_set_0"
    read = lambda p: numpy_helper.to_array(onnx.load_tensor(str(p)))  # noqa: E731
    ins = [read(p) for p in sorted(data.glob("input_*.pb"))]
    outs = [read(p) for p in sorted(data.glob("output_*.pb"))]
    return m, ins, outs


def prepare(m, ins):
    """Fold inputs 1.. into initializers; a stated-quantization uint8 first
    input becomes float through an exact QuantizeLinear."""
    g = m.graph
    real = [i for i in g.input if i.name not in {t.name for t in g.initializer}]
    for vi, v in zip(real[1:], ins[1:]):
        g.initializer.append(numpy_helper.from_array(v, vi.name))
    del g.input[1:]
    x = ins[0]
    first = g.input[0]
    if x.dtype == np.uint8 and g.node[0].op_type in ("QLinearConv", "QLinearMatMul",
                                                     "DequantizeLinear"):
        vals = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        n0 = g.node[0]
        s, z = vals[n0.input[1]], vals[n0.input[2]]
        if s.dtype == np.float32 and s.size == 1 and z.size == 1:
            xf = ((x.astype(np.int32) - int(z.reshape(-1)[0])).astype(np.float32)
                  * np.float32(s.reshape(-1)[0]))
            q = helper.make_node("QuantizeLinear", ["x_float", n0.input[1], n0.input[2]],
                                 [first.name], name="harness_quantize")
            g.node.insert(0, q)
            new = helper.make_tensor_value_info("x_float", TensorProto.FLOAT,
                                                [d.dim_value or None for d in first.type.tensor_type.shape.dim])
            del g.input[:]
            g.input.append(new)
            return m, xf
    if x.dtype == np.uint8 and g.node[0].op_type in ("MatMulInteger", "ConvInteger"):
        # the integer ops state a zero point but no scale: scale 1
        vals = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        n0 = g.node[0]
        z = int(vals[n0.input[2]].reshape(-1)[0]) if len(n0.input) > 2 and n0.input[2] else 0
        xf = (x.astype(np.int32) - z).astype(np.float32)
        g.initializer.extend([numpy_helper.from_array(np.float32(1.0), "harness_scale"),
                              numpy_helper.from_array(np.uint8(z), "harness_zp")])
        q = helper.make_node("QuantizeLinear", ["x_float", "harness_scale", "harness_zp"],
                             [first.name], name="harness_quantize")
        g.node.insert(0, q)
        new = helper.make_tensor_value_info("x_float", TensorProto.FLOAT,
                                            [d.dim_value or None for d in first.type.tensor_type.shape.dim])
        del g.input[:]
        g.input.append(new)
        return m, xf
    return m, x


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_backend_node_case_equals_expected_or_is_refused(cli, tmp_path, case):
    m, ins, outs = load_case(case)
    m, x = prepare(m, ins)
    r, y = sparqgen(cli, tmp_path, m, x)
    err = r.stderr.strip()
    assert "panicked" not in err, err
    assert r.returncode in (0, 2), f"exit {r.returncode}: {err}"
    if r.returncode == 2:
        assert len(err.splitlines()) == 1, err
        return
    want = outs[0]
    q = out_quant(m)
    dynamic = m.graph.node[-1].op_type == "DynamicQuantizeLinear" and len(outs) == 3
    if dynamic:
        # y is written dequantized with its own scale and zero point; those
        # two are checked as the graph's first output below
        q = (outs[1].reshape(-1)[0], int(outs[2].reshape(-1)[0]))
    if want.dtype == np.uint8 and q is not None:
        want = (want.astype(np.int32) - q[1]).astype(np.float32) * q[0]
    want = want.astype(np.float32)
    assert y.shape == want.shape
    assert np.array_equal(y.view(np.uint32), want.view(np.uint32)), (y, want)
    if dynamic:
        for i in (1, 2):
            outputs = list(m.graph.output)
            del m.graph.output[:]
            m.graph.output.extend([outputs[i]] + outputs[:i] + outputs[i + 1:])
            r, y = sparqgen(cli, tmp_path / f"out{i}", m, x)
            assert r.returncode == 0, r.stderr
            assert np.array_equal(y, outs[i].astype(np.float32)), (i, y, outs[i])
            del m.graph.output[:]
            m.graph.output.extend(outputs)
