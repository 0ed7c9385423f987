"""Softmax at the end of a quantized graph against ONNX Runtime: after a
DequantizeLinear, its float output within 16 units in the last place of
ORT's (MLAS's own exp polynomial and vector-lane sums; sparqgen sums in
f64, so the difference is ORT's rounding, not a long f32 running sum), for
rows of up to 1,000 classes; followed by a QuantizeLinear, uint8 codes
equal to ORT's bit for bit, for any output scale and zero point."""

import itertools

import numpy as np
import pytest
from onnx import TensorProto

from netcheck import G, check

ULPS = 16
RNG = np.random.default_rng(4242)


def model(shape, axis, x_scale, opset, y_q=None):
    g = G()
    s = g.node("Softmax", [g.qdq("x", x_scale, 128)], axis=axis)
    if y_q is None:
        return g.model([None, *shape[1:]], s, opset=opset, out_type=TensorProto.FLOAT)
    return g.model([None, *shape[1:]], g.q(s, *y_q), opset=opset)


@pytest.mark.parametrize(
    "opset,shape,axis,x_scale",
    list(itertools.product([11, 13, 21], [(32, 10), (8, 1000), (6, 4, 37)], [1, -1],
                           [0.02, 0.2, 1.0])),
)
def test_float_softmax_after_dequantize_within_16_ulp(cli, tmp_path, opset, shape, axis, x_scale):
    x = RNG.normal(0, 3, shape).astype(np.float32)
    assert check(cli, tmp_path, model(shape, axis, x_scale, opset), x, ulps=ULPS) == "exact"


@pytest.mark.parametrize(
    "opset,shape,axis,y_q",
    list(itertools.product([11, 13, 21], [(16, 10), (4, 3, 5)], [1, -1],
                           [(1 / 256, 0), (0.003, 0), (1 / 255, 7), (0.01, 200)])),
)
def test_softmax_then_quantize_equals_ort(cli, tmp_path, opset, shape, axis, y_q):
    x = RNG.normal(0, 3, shape).astype(np.float32)
    assert check(cli, tmp_path, model(shape, axis, 0.05, opset, y_q), x) == "exact"
