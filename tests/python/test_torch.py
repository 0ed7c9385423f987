"""sparqgen.torch, only where PyTorch is installed (it is not a dependency)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import sparqgen  # noqa: E402
import sparqgen.torch as st  # noqa: E402


def test_linear_and_conv_on_integer_tensors():
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, 256, (2, 3, 20), generator=g, dtype=torch.uint8)
    w = torch.randint(-128, 128, (5, 20), generator=g, dtype=torch.int8)
    y = st.linear(x, w)
    want = sparqgen.gemm(x.numpy().reshape(6, 20), w.numpy()).reshape(2, 3, 5)
    assert y.dtype == torch.int32 and tuple(y.shape) == (2, 3, 5)
    np.testing.assert_array_equal(y.numpy(), want)
    xi = torch.randint(0, 256, (1, 3, 7, 7), generator=g, dtype=torch.uint8)
    wi = torch.randint(-128, 128, (4, 3, 3, 3), generator=g, dtype=torch.int8)
    yc = st.conv2d(xi, wi, stride=2, padding=1)
    np.testing.assert_array_equal(
        yc.numpy(), sparqgen.conv2d(xi.numpy(), wi.numpy(), stride=2, padding=1))


def test_quantized_tensors_scale_the_accumulator():
    g = torch.Generator().manual_seed(2)
    xf = torch.rand((4, 16), generator=g) * 3
    wf = torch.randn((3, 16), generator=g)
    xq = torch.quantize_per_tensor(xf, 0.02, 0, torch.quint8)
    wq = torch.quantize_per_tensor(wf, 0.03, 0, torch.qint8)
    bias = torch.randn(3, generator=g)
    y = st.linear(xq, wq, bias=bias, design={"pe": {"kind": "mac8x8"}})
    acc = xq.int_repr().int() @ wq.int_repr().int().T
    torch.testing.assert_close(y, acc.float() * (0.02 * 0.03) + bias)
    with pytest.raises(ValueError, match="zero point"):
        st.linear(torch.quantize_per_tensor(xf, 0.02, 3, torch.quint8), wq)
    with pytest.raises(ValueError, match="integer codes"):
        st.linear(xf, wq)
