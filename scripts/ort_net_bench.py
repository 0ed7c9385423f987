#!/usr/bin/env python3
"""ONNX Runtime on a whole network, timed for `sparqgen bench net --compare-ort`.

Usage: python3 -P scripts/ort_net_bench.py MODEL.onnx X.npy Y_OUT.npy THREADS BATCH

Opens MODEL in ONNX Runtime (CPU, THREADS intra-op threads, default graph
optimizations), runs every image of X through it BATCH at a time (the
batches sparqgen runs), writes the first output of all batches, concatenated
along the first axis, to Y_OUT (float32 when the output is float) for the
caller's check, then prints "ready". Each following line "REPS" on stdin
runs REPS timed passes over all of X and prints the best pass's wall time in
seconds; a line "REPS side" times the batches side by side instead: THREADS
Python threads, each running whole batches through a second session of one
intra-op thread (ORT releases the GIL while it runs), the way sparqgen runs
many batches. End of input ends the script. The caller (the Rust bench)
interleaves these rounds with its own.
"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort


def main():
    model, x_path, y_path, threads, batch = sys.argv[1:6]
    threads, batch = int(threads), max(1, int(batch))
    x = np.load(x_path).astype(np.float32)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    batches = [x[i : i + batch] for i in range(0, len(x), batch)]

    def one_pass():
        return [sess.run(None, {name: b})[0] for b in batches]

    side = None

    def side_pass():
        nonlocal side
        if side is None:
            one = ort.SessionOptions()
            one.intra_op_num_threads = 1
            one.inter_op_num_threads = 1
            s1 = ort.InferenceSession(model, one, providers=["CPUExecutionProvider"])
            side = (s1, ThreadPoolExecutor(threads))
            list(side[1].map(lambda b: s1.run(None, {name: b})[0], batches))
        s1, pool = side
        return list(pool.map(lambda b: s1.run(None, {name: b})[0], batches))

    ys = one_pass()
    y = np.concatenate(ys, axis=0) if len(ys) > 1 else ys[0]
    if y.dtype.kind == "f":
        y = y.astype(np.float32)
    np.save(y_path, y)
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        reps = max(1, int(words[0]))
        run = side_pass if words[1:] == ["side"] else one_pass
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t)
        print(f"{best:.9f}", flush=True)


if __name__ == "__main__":
    main()
