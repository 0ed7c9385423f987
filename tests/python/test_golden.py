"""The module against the SPARQ authors' reference vectors in golden/
(format: golden/README.md): every GEMM case and every pair of every table."""

import json

import numpy as np
import pytest
from conftest import GOLDEN

import sparqgen


def design_for(config):
    return {
        "name": "golden",
        "pe": {
            "kind": "sparq",
            "window_bits": config["window_bits"],
            "placements": config["placements"],
            "rounding": config["rounding"],
            "pair_sharing": True,  # the reference kernel always shares pairs
            "stc": config.get("stc_2of4", False),
            "acc_bits": 32,
        },
        "array": {"kind": "single"},
    }


def test_every_gemm_case(golden):
    cases = json.loads((golden / "gemm_cases.json").read_text())["cases"]
    assert len(cases) == 160
    for i, case in enumerate(cases):
        a = np.array(case["A"], dtype=np.int64)
        b = np.array(case["B"], dtype=np.int64)
        got = sparqgen.gemm(a, b, design=design_for(case["config"]))
        np.testing.assert_array_equal(got, np.array(case["C"]), err_msg=f"case {i}")


PAIR_FILES = sorted(p.name for p in GOLDEN.glob("pairs_*.json"))


def test_ten_pair_tables():
    assert len(PAIR_FILES) == 10


@pytest.mark.parametrize("name", PAIR_FILES)
def test_trim_matches_pair_table(name, golden):
    f = json.loads((golden / name).read_text())
    i = np.arange(65536)
    pairs = np.stack([i >> 8, i & 255], axis=1).astype(np.uint8)  # row i = (a1, a2)
    values, wide = sparqgen.trim(pairs, design=design_for(f["config"]))
    np.testing.assert_array_equal(values[:, 0], f["h1"])
    np.testing.assert_array_equal(values[:, 1], f["h2"])
    # Pair sharing: a pair with a zero member takes the wide window.
    np.testing.assert_array_equal(wide[:, 0], (pairs == 0).any(axis=1))
    np.testing.assert_array_equal(wide[:, 0], wide[:, 1])
