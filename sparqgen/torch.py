"""Quantized linear and conv layers through the SPARQ model, on PyTorch tensors.

Import it on demand (``import sparqgen.torch``); it needs PyTorch, which
sparqgen itself does not depend on. Inputs are integer codes: activations
0..=255 (uint8 or any integer dtype, or a ``torch.quint8`` tensor with zero
point 0, i.e. post-ReLU), weights -128..=127 (int8 or any integer dtype, or a
``torch.qint8`` tensor with zero point 0). Integer inputs give the int32
accumulator output; when both inputs are quantized tensors the result is
float32, ``acc * x_scale * w_scale`` plus ``bias``. The model runs on the
CPU; the result is moved back to the input's device.
"""

import torch

from . import conv2d as _conv2d
from . import gemm as _gemm

__all__ = ["linear", "conv2d"]


def _codes(t, what):
    """(NumPy integer codes, scale or None) of a tensor."""
    if t.is_quantized:
        if t.qscheme() not in (torch.per_tensor_affine, torch.per_tensor_symmetric):
            raise ValueError(f"{what}: only per-tensor quantization is supported, got {t.qscheme()}")
        if t.q_zero_point() != 0:
            raise ValueError(
                f"{what}: zero point {t.q_zero_point()}; the model takes codes with zero point 0"
            )
        return t.int_repr().detach().cpu().numpy(), float(t.q_scale())
    if t.is_floating_point() or t.is_complex():
        raise ValueError(f"{what}: dtype {t.dtype}; pass integer codes or a quantized tensor")
    return t.detach().cpu().numpy(), None


def _finish(acc, sx, sw, bias, bias_shape, device):
    y = torch.from_numpy(acc)
    if sx is not None and sw is not None:
        y = y.to(torch.float32) * (sx * sw)
    if bias is not None:
        y = y + bias.detach().cpu().reshape(bias_shape).to(y.dtype)
    return y.to(device)


def linear(x, weight, bias=None, design=None):
    """``x @ weight.T`` through the design: x (..., K) activations, weight
    (N, K); returns (..., N)."""
    xc, sx = _codes(x, "x")
    wc, sw = _codes(weight, "weight")
    lead = xc.shape[:-1]
    acc = _gemm(xc.reshape(-1, xc.shape[-1]), wc, design=design)
    acc = acc.reshape(*lead, wc.shape[0])
    return _finish(acc, sx, sw, bias, (-1,), x.device)


def conv2d(x, weight, bias=None, stride=1, padding=0, design=None):
    """2-D convolution through the design: x (N, C, H, W), weight
    (O, C, kh, kw), dilation 1, groups 1; returns (N, O, H_out, W_out)."""
    xc, sx = _codes(x, "x")
    wc, sw = _codes(weight, "weight")
    acc = _conv2d(xc, wc, stride=stride, padding=padding, design=design)
    return _finish(acc, sx, sw, bias, (1, -1, 1, 1), x.device)
