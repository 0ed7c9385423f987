#!/usr/bin/env python3
"""sparqgen.gemm against `sparqgen bench model` on the bench shape, same run.

Usage: python3 -P scripts/bench_python.py [--reps N] [--rounds R] [--bin PATH]

Runs the CLI's `bench model` (M=12544, K=576, N=64, half the activations
zero) and times sparqgen.gemm on the same shape for the default design
(5opt, round half even) and the exact int8 baseline, best of N each. The
two alternate for R rounds (a shared machine's load shifts between them),
and the best of each side is compared: both GMAC/s and their ratio (issue
target: Python >= 0.8x the CLI).
"""

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import sparqgen

ROOT = Path(__file__).resolve().parents[1]
M, K, N = 12544, 576, 64


def relu_like(rng, shape, zeros=0.5):
    """Half zero, the rest small values common and large ones rare."""
    v = np.minimum(rng.exponential(24.0, size=shape), 255).astype(np.uint8)
    v[rng.random(shape) < zeros] = 0
    return v


def best_of(reps, f):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "sparqgen"))
    args = ap.parse_args()

    rng = np.random.default_rng(2021)
    a = relu_like(rng, (M, K))
    b = rng.integers(-128, 128, size=(N, K)).astype(np.int8)
    designs = {"default": sparqgen.Design(), "exact": sparqgen.Design({"pe": {"kind": "mac8x8"}})}
    labels = {"default": "5opt  round", "exact": "exact int8"}
    macs = M * K * N
    cli = dict.fromkeys(designs, 0.0)
    py = dict.fromkeys(designs, 0.0)
    for _ in range(max(1, args.rounds)):
        out = subprocess.run([args.bin, "bench", "model", "--reps", str(args.reps)],
                             capture_output=True, text=True, check=True).stdout
        for key, label in labels.items():
            m = re.search(re.escape(label) + r"\s+[\d.]+ ms\s+([\d.]+) GMAC/s", out)
            if not m:
                sys.exit(f"bench_python: no '{label}' line in `sparqgen bench model`:\n{out}")
            cli[key] = max(cli[key], float(m.group(1)))
        for key, d in designs.items():
            sparqgen.gemm(a, b, design=d)  # warm up
            secs = best_of(args.reps, lambda: sparqgen.gemm(a, b, design=d))
            py[key] = max(py[key], macs / secs / 1e9)
    print(f"sparqgen.gemm vs `sparqgen bench model`: M={M} K={K} N={N}, "
          f"best of {args.reps} x {args.rounds} rounds")
    worst = float("inf")
    for key in designs:
        ratio = py[key] / cli[key]
        worst = min(worst, ratio)
        name = "5opt round (default design)" if key == "default" else "exact int8 (mac8x8)"
        print(f"{name:<28} python {py[key]:7.2f} GMAC/s   cli {cli[key]:7.2f} GMAC/s   "
              f"ratio {ratio:.2f}x")
    print(f"lowest ratio {worst:.2f}x (target >= 0.80x)")


if __name__ == "__main__":
    main()
