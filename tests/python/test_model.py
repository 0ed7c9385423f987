"""The module against the CLI (`sparqgen model gemm/conv`) on random cases."""

import threading

import numpy as np
import pytest

import sparqgen

DESIGNS = ["default.yaml", "sparq_pe.yaml", "sparq_3b_dot16.yaml", "mac8x8_sa8x8.yaml",
           "mac4x8_sa8x8.yaml", "sparq_stc_sa16x16.yaml"]


def activations(rng, shape, design):
    top = 16 if "mac4x8" in design else 256
    a = rng.integers(0, top, size=shape)
    a[rng.random(shape) < 0.4] = 0  # post-ReLU: many zeros, so pairs share
    return a.astype(np.uint8)


def weights(rng, shape, design, axis=-1):
    w = rng.integers(-128, 128, size=shape).astype(np.int8)
    if "stc" in design:  # 2:4: at most two non-zeros per group of four along K
        flat = np.moveaxis(w, axis, -1).reshape(-1, shape[axis])
        for row in flat:
            for g in range(0, row.size, 4):
                grp = row[g:g + 4]
                grp[rng.permutation(grp.size)[:max(0, grp.size - 2)]] = 0
        w = np.moveaxis(flat.reshape(np.moveaxis(w, axis, -1).shape), -1, axis).copy()
    return w


@pytest.mark.parametrize("design", DESIGNS)
def test_gemm_equals_cli(design, root, run_cli):
    path = root / "configs" / design
    d = sparqgen.Design(str(path))
    rng = np.random.default_rng(abs(hash(design)) % 2**32)
    for _ in range(3):
        m, k, n = (int(v) for v in rng.integers(1, 40, size=3))
        a = activations(rng, (m, k), design)
        b = weights(rng, (n, k), design)
        code, _, err, want = run_cli("gemm", {"a": a, "b": b}, extra=["--design", str(path)])
        assert code == 0, err
        got = sparqgen.gemm(a, b, design=d)
        assert got.dtype == np.int32 and got.shape == (m, n)
        np.testing.assert_array_equal(got, want)
        # The same design given as a path, and as its YAML text.
        np.testing.assert_array_equal(sparqgen.gemm(a, b, design=path), want)
        np.testing.assert_array_equal(sparqgen.gemm(a, b, design=path.read_text()), want)


@pytest.mark.parametrize("design", ["default.yaml", "mac8x8_sa8x8.yaml", "sparq_stc_sa16x16.yaml"])
def test_conv2d_equals_cli(design, root, run_cli):
    path = root / "configs" / design
    rng = np.random.default_rng(7 + len(design))
    for stride, padding in [(1, 0), (2, 1), (1, 2)]:
        nb, c, h, w_, o = 2, int(rng.integers(1, 6)), int(rng.integers(3, 9)), \
            int(rng.integers(3, 9)), int(rng.integers(1, 5))
        kh = kw = 3
        x = activations(rng, (nb, c, h, w_), design)
        w = weights(rng, (o, c, kh, kw), design, axis=1) if "stc" not in design else None
        if w is None:
            # 2:4 groups run along the im2col K order (kh, kw, C): thin each
            # kernel position's channel vector by fours of that order.
            w = rng.integers(-128, 128, size=(o, kh, kw, c)).astype(np.int8)
            flat = w.reshape(o, -1)
            for row in flat:
                for g in range(0, row.size, 4):
                    grp = row[g:g + 4]
                    grp[rng.permutation(grp.size)[:max(0, grp.size - 2)]] = 0
            w = np.ascontiguousarray(flat.reshape(o, kh, kw, c).transpose(0, 3, 1, 2))
        code, _, err, want = run_cli(
            "conv", {"x": x, "w": w},
            extra=["--design", str(path), "--stride", str(stride), "--padding", str(padding)])
        assert code == 0, err
        got = sparqgen.conv2d(x, w, stride=stride, padding=padding, design=path)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want)


def test_any_integer_dtype_and_layout(run_cli):
    rng = np.random.default_rng(3)
    a = activations(rng, (17, 33), "default")
    b = weights(rng, (9, 33), "default")
    want = sparqgen.gemm(a, b)
    for at, bt in [(np.int64, np.int16), (np.uint16, np.int32), (np.int32, np.int64)]:
        np.testing.assert_array_equal(sparqgen.gemm(a.astype(at), b.astype(bt)), want)
    # Non-contiguous views and plain lists convert to the same operands.
    wide = np.zeros((17, 66), np.uint8)
    wide[:, ::2] = a
    np.testing.assert_array_equal(sparqgen.gemm(wide[:, ::2], b), want)
    np.testing.assert_array_equal(sparqgen.gemm(np.asfortranarray(a), b), want)
    np.testing.assert_array_equal(sparqgen.gemm(a.tolist(), b.tolist()), want)
    # The CLI agrees on the wide dtypes too.
    code, _, err, cli = run_cli("gemm", {"a": a.astype(np.int64), "b": b.astype(np.int32)})
    assert code == 0, err
    np.testing.assert_array_equal(cli, want)


def cli_message(stderr):
    assert stderr.startswith("error: "), stderr
    return stderr


@pytest.mark.parametrize("case", ["range_a", "range_b", "range_u64", "dtype", "k_mismatch",
                                  "mac4x8_range", "stc", "ndim"])
def test_errors_carry_the_cli_message(case, root, run_cli):
    rng = np.random.default_rng(11)
    a = activations(rng, (4, 8), "default")
    b = weights(rng, (3, 8), "default")
    design = None
    if case == "range_a":
        a = a.astype(np.int32)
        a[2, 5] = 256
        key = "value 256 at flat index 21 (position [2, 5]) is out of range (allowed: 0..=255)"
    elif case == "range_b":
        b = b.astype(np.int64)
        b[1, 3] = -129
        key = "value -129 at flat index 11 (position [1, 3]) is out of range (allowed: -128..=127)"
    elif case == "range_u64":
        # a uint64 above i64::MAX is named exactly (it was shown saturated)
        a = a.astype(np.uint64)
        a[2, 5] = 2**64 - 1
        key = "value 18446744073709551615 at flat index 21 (position [2, 5]) is out of range"
    elif case == "dtype":
        a = a.astype(np.float32)
        key = "is not allowed for A (activations, M x K)"
    elif case == "k_mismatch":
        b = b[:, :7].copy()
        key = "B: expected N x 8 (K must match A's 4 x 8), got shape [3, 7]"
    elif case == "mac4x8_range":
        design = root / "configs" / "mac4x8_sa8x8.yaml"
        a = activations(rng, (4, 8), "mac4x8")
        a[1, 2] = 200
        key = "A[1][2] = 200 is out of range for pe.kind mac4x8"
    elif case == "stc":
        design = root / "configs" / "sparq_stc_sa16x16.yaml"
        b[:] = 1
        key = "non-zero weights at k = [0, 1, 2, 3]; a 2:4 (stc) weight group allows at most 2"
    else:
        a = a.reshape(2, 2, 8)
        key = "A (activations, M x K) must be 2-D, got shape [2, 2, 8]"
    with pytest.raises(ValueError) as e:
        sparqgen.gemm(a, b, design=design)
    msg = str(e.value)
    assert key in msg
    extra = ["--design", str(design)] if design else []
    code, _, err, _ = run_cli("gemm", {"a": a, "b": b}, extra=extra)
    assert code == 2
    # The module's message is the CLI's, less the CLI's file-path prefix.
    assert msg.split(": ", 1)[1] in err if msg.startswith(("a: ", "b: ")) else msg in err


def test_design_forms_and_errors(root, tmp_path):
    yaml = "pe: {kind: sparq, window_bits: 3, placements: 6, rounding: truncate}"
    as_dict = {"pe": {"kind": "sparq", "window_bits": 3, "placements": 6, "rounding": "truncate"}}
    f = tmp_path / "d.yaml"
    f.write_text(yaml)
    hashes = {sparqgen.Design(x).hash for x in (yaml, as_dict, f, str(f))}
    assert len(hashes) == 1
    assert sparqgen.Design().hash == sparqgen.Design(root / "configs" / "default.yaml").hash
    d = sparqgen.Design(as_dict)
    assert d.kind == "sparq" and "window_bits: 3" in d.yaml
    with pytest.raises(ValueError, match=r"pe.kind: \"bogus\" is not allowed \(allowed: sparq"):
        sparqgen.Design({"pe": {"kind": "bogus"}})
    with pytest.raises(ValueError, match="cannot read design file"):
        sparqgen.gemm(np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int8),
                      design=str(tmp_path / "missing.yaml"))
    with pytest.raises(ValueError, match="expected a sparqgen.Design"):
        sparqgen.Design(42)


def test_threads_share_a_design():
    """The GIL is released while computing: threads run and agree."""
    rng = np.random.default_rng(5)
    a = activations(rng, (512, 256), "default")
    b = weights(rng, (32, 256), "default")
    d = sparqgen.Design()
    want = sparqgen.gemm(a, b, design=d)
    out = [None] * 4

    def work(i):
        out[i] = sparqgen.gemm(a, b, design=d)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for o in out:
        np.testing.assert_array_equal(o, want)


def test_conv_arguments_are_checked():
    x = np.ones((1, 1, 4, 4), np.uint8)
    w = np.ones((1, 1, 3, 3), np.int8)
    with pytest.raises(ValueError, match=r"stride = -1 is out of range \(allowed: 1 or more\)"):
        sparqgen.conv2d(x, w, stride=-1)
    with pytest.raises(ValueError, match=r"padding = -2 is out of range"):
        sparqgen.conv2d(x, w, padding=-2)
    with pytest.raises(ValueError, match="must be at least 1"):
        sparqgen.conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="kernel 3x3 does not fit the 2x2 input with padding 0"):
        sparqgen.conv2d(x[:, :, :2, :2], w)


def test_edge_shapes_and_readonly_input():
    b = np.ones((3, 5), np.int8)
    assert sparqgen.gemm(np.zeros((0, 5), np.uint8), b).shape == (0, 3)
    np.testing.assert_array_equal(
        sparqgen.gemm(np.zeros((2, 0), np.uint8), np.zeros((3, 0), np.int8)), np.zeros((2, 3)))
    r = np.ones((2, 5), np.uint8)
    r.flags.writeable = False
    np.testing.assert_array_equal(sparqgen.gemm(r, b), np.full((2, 3), 5))
    with pytest.raises(ValueError, match=r"dtype '\|b1' \(bool\) is not allowed"):
        sparqgen.gemm(r.astype(bool), b)


def test_a_design_of_a_design_and_pickling():
    import pickle

    d = sparqgen.Design({"pe": {"kind": "mac8x8"}, "array": {"kind": "single"}})
    same = sparqgen.Design(d)
    assert same.hash == d.hash and same.kind == "mac8x8"
    back = pickle.loads(pickle.dumps(d))
    assert back.hash == d.hash and back.yaml == d.yaml
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    b = np.ones((2, 4), dtype=np.int8)
    assert np.array_equal(sparqgen.gemm(a, b, design=back), sparqgen.gemm(a, b, design=d))


def test_a_huge_broadcast_operand_is_refused_before_copying():
    # 2^20 x 2^16 uint8 view of one row: 64 GiB as a contiguous copy
    a = np.broadcast_to(np.zeros((1, 1 << 16), dtype=np.int64), (1 << 20, 1 << 16))
    b = np.ones((2, 1 << 16), dtype=np.int8)
    with pytest.raises(ValueError, match="GiB|too large|limit"):
        sparqgen.gemm(a, b)
