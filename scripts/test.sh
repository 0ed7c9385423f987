#!/usr/bin/env bash
# Set up, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
# The parsers under libFuzzer, 30 s each, seeded by the committed corpus.
bash scripts/fuzz.sh 30
cargo test --release --locked 2>&1
