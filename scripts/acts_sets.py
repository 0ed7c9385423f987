#!/usr/bin/env python3
"""The activation sets of README "Power, performance and area on the OSU
0.18 um cells", written as uint8 .npy files for `sparqgen synth --acts`.

    python3 scripts/acts_sets.py dense OUT.npy
        4,096 uniform random bytes (numpy default_rng, seed 0).
    python3 scripts/acts_sets.py digits DIR OUT.npy
        4,096 activations of the digits CNN: DIR is the folder
        `sparqgen net networks/digits/digits_int8.onnx --acts DIR` writes
        (one .npy per layer); every layer's file is flattened, the files
        concatenated in name order, and 2,048 pairs (two neighbours, as the
        PE pairs them) drawn at random (seed 0) from it.
    python3 scripts/acts_sets.py r18-input OUT.npy
        One float32 image (1x3x224x224) of uniform [0, 4) values (seed 0),
        the input `sparqgen net r18.onnx --acts DIR` runs for the
        ResNet-18-shaped graph's per-layer energies.
"""
import pathlib
import sys

import numpy as np

N = 4096


def main(argv):
    rng = np.random.default_rng(0)
    if len(argv) == 3 and argv[1] == "dense":
        acts = rng.integers(0, 256, N, dtype=np.uint8)
        out = argv[2]
    elif len(argv) == 3 and argv[1] == "r18-input":
        x = rng.uniform(0.0, 4.0, (1, 3, 224, 224)).astype(np.float32)
        np.save(argv[2], x)
        print(f"{argv[2]}: {x.shape} float32 in [0, 4)")
        return
    elif len(argv) == 4 and argv[1] == "digits":
        files = sorted(pathlib.Path(argv[2]).glob("*.npy"))
        if not files:
            sys.exit(f"acts_sets.py: no .npy files in {argv[2]}")
        pool = np.concatenate([np.load(f).astype(np.uint8).ravel() for f in files])
        pairs = rng.integers(0, len(pool) // 2, N // 2)
        acts = np.stack([pool[2 * pairs], pool[2 * pairs + 1]], axis=1).ravel()
        out = argv[3]
    else:
        sys.exit(__doc__)
    np.save(out, acts)
    print(f"{out}: {acts.size} activations, {np.mean(acts == 0) * 100:.1f} % zero")


if __name__ == "__main__":
    main(sys.argv)
