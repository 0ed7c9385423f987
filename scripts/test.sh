#!/usr/bin/env bash
# Set up, then run the whole test suite: the fast tier (what plain
# `cargo test` runs: model, schema, plan, golden vectors, snapshots) and the
# full tier (the tests marked `#[ignore = "full tier ..."]`, which drive
# Verilator, Icarus, Yosys, nextpnr and FuseSoC; each fails with the install
# command when its tool is missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The parsers under libFuzzer, 30 s each, seeded by the committed corpus.
bash scripts/fuzz.sh 30
# The Python module (python/, built by maturin through pyproject.toml) against
# the CLI and the golden vectors; it shares target/ with the CLI's build.
bash scripts/python.sh install
python3 -P -m pytest tests/python -q
cargo test --release --locked -- --include-ignored 2>&1
