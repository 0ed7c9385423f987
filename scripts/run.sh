#!/usr/bin/env bash
# Set up, then run sparqgen's main job on the embedded default design (or on
# the design file given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
./target/release/sparqgen run "$@"
