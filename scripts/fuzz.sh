#!/usr/bin/env bash
# Fuzz sparqgen's parsers with libFuzzer (cargo-fuzz) for a bounded time each.
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
# Default: 30 s for each of npy, design, network and onnx. The committed corpus in
# fuzz/corpus/<target> seeds each run; new inputs go to a temporary folder,
# so the committed corpus changes only when you copy them in on purpose.
# A crash fails the run and leaves its input in fuzz/artifacts/<target>/:
# add it to the corpus and a regression test.
# cargo-fuzz needs unstable compiler flags; RUSTC_BOOTSTRAP lets the one
# stable toolchain here accept them (no nightly toolchain is fetched).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(npy design network onnx)
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
  cargo install cargo-fuzz --locked --quiet
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build -s none --release 2>&1 | tail -1
for t in "${targets[@]}"; do
  fresh=$(mktemp -d)
  echo "fuzz: $t for ${secs} s (seed corpus fuzz/corpus/$t: $(ls "corpus/$t" | wc -l) inputs)"
  if ! cargo fuzz run -s none --release "$t" "$fresh" "corpus/$t" -- \
      -max_total_time="$secs" -max_len=4096 -print_final_stats=1 >"$fresh.log" 2>&1; then
    tail -40 "$fresh.log"
    echo "fuzz: $t FAILED; the crashing input is in fuzz/artifacts/$t/"
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^Done" "$fresh.log" | tr '\n' ' '
  echo
  rm -rf "$fresh" "$fresh.log"
done
echo "fuzz: ${#targets[@]} passed, 0 failed"
