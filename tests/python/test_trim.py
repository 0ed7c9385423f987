"""trim: the activations the multipliers see, consistent with gemm."""

import numpy as np
import pytest

import sparqgen


def test_trim_is_what_gemm_multiplies():
    rng = np.random.default_rng(9)
    a = rng.integers(0, 256, size=(6, 11)).astype(np.uint8)
    a[rng.random(a.shape) < 0.3] = 0
    b = rng.integers(-128, 128, size=(5, 11)).astype(np.int8)
    exact = sparqgen.Design({"pe": {"kind": "mac8x8"}})
    values, _ = sparqgen.trim(a)
    np.testing.assert_array_equal(sparqgen.gemm(a, b), sparqgen.gemm(values, b, design=exact))
    # Any leading shape: pairs run along the last axis.
    v3, w3 = sparqgen.trim(a.reshape(2, 3, 11))
    np.testing.assert_array_equal(v3.reshape(6, 11), values)
    assert w3.shape == (2, 3, 11)


def test_baseline_is_identity_and_stc_is_refused():
    a = np.arange(256, dtype=np.uint8).reshape(16, 16)
    v, w = sparqgen.trim(a, design={"pe": {"kind": "mac8x8"}})
    np.testing.assert_array_equal(v, a)
    assert not w.any()
    with pytest.raises(ValueError, match="pe.stc"):
        sparqgen.trim(a, design={"pe": {"kind": "sparq", "stc": True}})
