"""Shared fixtures: the repository, the CLI binary, a runner for it."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
# The golden vectors: $SPARQGEN_GOLDEN, else the repository's golden/ (as the
# Rust tests read them).
GOLDEN = Path(os.environ.get("SPARQGEN_GOLDEN", ROOT / "golden"))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def golden() -> Path:
    if not (GOLDEN / "gemm_cases.json").exists():
        pytest.fail(f"golden vectors not found at {GOLDEN} (set SPARQGEN_GOLDEN)")
    return GOLDEN


@pytest.fixture(scope="session")
def cli() -> Path:
    exe = Path(os.environ.get("SPARQGEN_BIN", ROOT / "target" / "release" / "sparqgen"))
    if not exe.exists():
        pytest.fail(f"{exe} not found: build it with `cargo build --release --locked`")
    return exe


@pytest.fixture
def run_cli(cli, tmp_path):
    """Run `sparqgen ARGS...` with .npy inputs; returns (exit code, stdout,
    stderr, the output array or None)."""

    def run(sub, inputs, out="out.npy", extra=()):
        args = [str(cli), "model", sub]
        for flag, arr in inputs.items():
            p = tmp_path / f"{flag}.npy"
            np.save(p, arr)
            args += [f"--{flag}", str(p)]
        outp = tmp_path / out
        if outp.exists():
            outp.unlink()
        args += ["--out", str(outp), *extra]
        r = subprocess.run(args, capture_output=True, text=True)
        got = np.load(outp) if r.returncode == 0 else None
        return r.returncode, r.stdout, r.stderr, got

    return run
