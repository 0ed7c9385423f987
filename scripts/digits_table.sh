#!/usr/bin/env bash
# The README's digits accuracy table: the int8 digits CNN through exact
# int8, every SPARQ placement set in both roundings, vSPARQ off and mac4x8.
# (networks/digits/ is made by scripts/make_digits_net.py; the float
# accuracy is the one that script measured with ONNX Runtime.)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q
echo "float (ONNX Runtime): top-1 $(sed -n 's/.*"float_top1": \([0-9.]*\).*/\1/p' networks/digits/float.json)"
args=()
for d in mac8x8 \
  sparq_5opt_round sparq_5opt_trunc sparq_3opt_round sparq_3opt_trunc \
  sparq_2opt_round sparq_2opt_trunc sparq_6opt_round sparq_6opt_trunc \
  sparq_7opt_round sparq_7opt_trunc sparq_5opt_round_bsparq mac4x8; do
  args+=(--design "configs/net/$d.yaml")
done
./target/release/sparqgen net networks/digits/digits_int8.onnx \
  --input networks/digits/x_test.npy --labels networks/digits/y_test.npy "${args[@]}" "$@"
