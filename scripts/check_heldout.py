#!/usr/bin/env python3
"""Held-out check of `sparqgen net` against ONNX Runtime on a CNN that is
not in the repository: a random-weight ResNet-style network on 3 x 32 x 32
inputs (stem conv, residual blocks with a stride-2 1x1 downsample, a
depthwise-separable block, max and global average pooling, a MatMul + Add
classifier),
quantized here with quantize_static (QDQ, per-channel int8 weights, uint8
activations, reduce_range=True) from a seed, run by ONNX Runtime and by
`sparqgen net` with an exact int8 design. Prints the share of outputs
identical to ORT and the largest difference in quantization steps, then
how a SPARQ design differs from exact. Exit 1 if the match is below 99 %
identical or any output is off by more than one step.

With --rtl it also runs every MAC layer of the held-out network on a
generated 4x4 SPARQ systolic array under Verilator (`net --rtl`): exit 1 if
any output of the RTL differs from the model or any layer's measured cycles
are more than 5 % from the cycle model's prediction.

  python3 scripts/check_heldout.py [--seed N] [--images N] [--format qdq|qop] [--rtl]
                                   [--sparqgen PATH]

Needs: pip install numpy onnx onnxruntime.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat, QuantType,
                                      quantize_static)


def build(path, rng):
    inits, nodes = [], []

    def conv(name, x, cin, cout, k, s=1, group=1, relu=True):
        w = rng.normal(0, np.sqrt(2.0 / (cin // group * k * k)), (cout, cin // group, k, k))
        inits.append(numpy_helper.from_array(w.astype(np.float32), name + ".w"))
        inits.append(numpy_helper.from_array(rng.normal(0, 0.1, cout).astype(np.float32),
                                             name + ".b"))
        p = (k - 1) // 2
        nodes.append(helper.make_node("Conv", [x, name + ".w", name + ".b"], [name], name=name,
                                      kernel_shape=[k, k], strides=[s, s], pads=[p] * 4,
                                      group=group))
        if not relu:
            return name
        nodes.append(helper.make_node("Relu", [name], [name + ".r"], name=name + ".relu"))
        return name + ".r"

    def block(name, x, cin, cout, s):
        y = conv(name + ".c1", x, cin, cout, 3, s)
        y = conv(name + ".c2", y, cout, cout, 3, relu=False)
        skip = x if s == 1 and cin == cout else conv(name + ".down", x, cin, cout, 1, s,
                                                     relu=False)
        nodes.append(helper.make_node("Add", [y, skip], [name + ".sum"], name=name + ".add"))
        nodes.append(helper.make_node("Relu", [name + ".sum"], [name + ".out"],
                                      name=name + ".relu"))
        return name + ".out"

    x = conv("stem", "input", 3, 16, 3)
    nodes.append(helper.make_node("MaxPool", [x], ["pool"], name="maxpool", kernel_shape=[2, 2],
                                  strides=[2, 2]))
    x = block("b1", "pool", 16, 16, 1)
    x = block("b2", x, 16, 32, 2)
    x = conv("dw", x, 32, 32, 3, group=32)
    x = conv("pw", x, 32, 48, 1)
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"], name="gap"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], name="flatten"))
    # the classifier as PyTorch exports a Linear on 3-D inputs: MatMul, then Add
    inits.append(numpy_helper.from_array(rng.normal(0, 0.2, (48, 10)).astype(np.float32), "fc.w"))
    inits.append(numpy_helper.from_array(rng.normal(0, 0.5, 10).astype(np.float32), "fc.b"))
    nodes.append(helper.make_node("MatMul", ["flat", "fc.w"], ["fc.mm"], name="fc"))
    nodes.append(helper.make_node("Add", ["fc.mm", "fc.b"], ["logits"], name="fc.bias"))
    g = helper.make_graph(nodes, "heldout",
                          [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                         ["N", 3, 32, 32])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                         ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, path)


class Reader(CalibrationDataReader):
    def __init__(self, x):
        self.it = iter([{"input": x[i:i + 16]} for i in range(0, len(x), 16)])

    def get_next(self):
        return next(self.it, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--format", choices=["qdq", "qop"], default="qdq")
    ap.add_argument("--rtl", action="store_true")
    ap.add_argument("--sparqgen", default=os.path.join(os.path.dirname(__file__), "..", "target",
                                                       "release", "sparqgen"))
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory() as d:
        fp, qp = os.path.join(d, "f.onnx"), os.path.join(d, "q.onnx")
        build(fp, rng)
        x = rng.uniform(0, 1, (a.images, 3, 32, 32)).astype(np.float32)
        quantize_static(fp, qp, Reader(rng.uniform(0, 1, (64, 3, 32, 32)).astype(np.float32)),
                        quant_format=QuantFormat.QDQ if a.format == "qdq" else QuantFormat.QOperator,
                        per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        sess = ort.InferenceSession(qp, providers=["CPUExecutionProvider"])
        ref = sess.run(None, {"input": x})[0]
        np.save(os.path.join(d, "x.npy"), x)
        exact = os.path.join(d, "exact.yaml")
        with open(exact, "w") as f:
            f.write("name: exact\npe: {kind: mac8x8}\narray: {kind: single}\n")
        sparq = os.path.join(d, "sparq.yaml")
        with open(sparq, "w") as f:
            f.write("name: sparq\npe: {kind: sparq}\narray: {kind: single}\n")
        outs = {}
        for name, yaml in (("exact", exact), ("sparq", sparq)):
            y = os.path.join(d, name + ".npy")
            r = subprocess.run([a.sparqgen, "net", qp, "--input", os.path.join(d, "x.npy"),
                                "--design", yaml, "--out", y, "--json"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stderr)
                return 2
            outs[name] = (np.load(y), json.loads(r.stdout))
        scale = [numpy_helper.to_array(i) for i in onnx.load(qp).graph.initializer
                 if i.name == "logits_scale"][0]
        steps = np.abs(outs["exact"][0] - ref) / scale
        same = float(np.mean(steps < 0.5))
        print(f"held-out CNN ({a.format}, seed {a.seed}, {a.images} images): mac8x8 vs ONNX Runtime: "
              f"{same * 100:.2f} % identical, max {steps.max():.0f} step(s)")
        diff = float(np.mean(outs["sparq"][0] != outs["exact"][0]))
        layers = outs["sparq"][1]["designs"][0]["layers"]
        sq = ", ".join(f"{l['name']} {l['sqnr_db']:.1f}" for l in layers)
        print(f"SPARQ 5opt round: {diff * 100:.1f} % of outputs differ from exact; "
              f"layer SQNR dB: {sq}")
        ok = same >= 0.99 and steps.max() < 1.5
        if a.rtl:
            ok = rtl(a, d, qp) and ok
        return 0 if ok else 1


def rtl(a, d, qp):
    sa = os.path.join(d, "sa.yaml")
    with open(sa, "w") as f:
        f.write("name: heldout_sa4x4\npe: {kind: sparq}\narray: {kind: systolic, rows: 4, cols: 4}\n")
    r = subprocess.run([a.sparqgen, "net", qp, "--input", os.path.join(d, "x.npy"),
                        "--design", sa, "--rtl", "--json"], capture_output=True, text=True)
    if r.returncode not in (0, 1):
        print(r.stderr)
        return False
    layers = json.loads(r.stdout)["designs"][0]["layers"]
    ok = r.returncode == 0
    print("on a 4x4 SPARQ systolic array (RTL under Verilator):")
    print(f"  {'layer':<14} {'checks':>9} {'mismatch':>8} {'cycles':>9} {'predicted':>9} "
          f"{'error':>7} {'util':>6}")
    for l in layers:
        x = l["rtl"]
        err = x["cycles"] / x["predicted_cycles"] - 1
        ok = ok and x["mismatches"] == 0 and abs(err) <= 0.05
        print(f"  {l['name']:<14} {x['checks']:>9} {x['mismatches']:>8} {x['cycles']:>9} "
              f"{x['predicted_cycles']:>9} {err * 100:>6.1f}% {x['utilization'] * 100:>5.1f}%")
    if r.returncode != 0:
        print(r.stderr)
    return ok


if __name__ == "__main__":
    sys.exit(main())
