#!/usr/bin/env python3
"""ONNX Runtime's exact int8 GEMM, timed for `sparqgen bench model --compare-ort`.

Usage: python3 -P scripts/ort_bench.py A.npy B.npy C_OUT.npy THREADS

A is uint8 (M x K), B is uint8 (N x K, the weights, row per output channel).
Builds a one-node graph in memory, MatMulInteger(A, B^T) with uint8 x uint8
inputs (ORT's exact path; its u8 x s8 path saturates on AVX2), runs it once
and writes the int32 result to C_OUT for the caller's bit-exact check, then
prints "ready". Each following line "REPS" on stdin runs REPS timed calls
and prints the best wall time in seconds; end of input ends the script.
The caller (the Rust bench) interleaves these rounds with its own.
"""

import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def session(m, k, n, threads):
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["C"])],
        "gemm",
        [
            helper.make_tensor_value_info("A", TensorProto.UINT8, [m, k]),
            helper.make_tensor_value_info("B", TensorProto.UINT8, [k, n]),
        ],
        [helper.make_tensor_value_info("C", TensorProto.INT32, [m, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )


def main():
    a_path, b_path, c_path, threads = sys.argv[1:5]
    a = np.load(a_path)
    b = np.ascontiguousarray(np.load(b_path).T)
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        sys.exit("ort_bench.py: A and B must be uint8")
    (m, k), n = a.shape, b.shape[1]
    sess = session(m, k, n, int(threads))
    feeds = {"A": a, "B": b}
    (c,) = sess.run(None, feeds)
    np.save(c_path, c.astype(np.int32))
    print("ready", flush=True)
    for line in sys.stdin:
        reps = max(1, int(line))
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            sess.run(None, feeds)
            best = min(best, time.perf_counter() - t)
        print(f"{best:.9f}", flush=True)


if __name__ == "__main__":
    main()
