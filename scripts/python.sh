#!/usr/bin/env bash
# Build and install the Python module `sparqgen` from this checkout
# (`pip install .`; pip fetches maturin, the build backend, from PyPI).
# Shares target/ with the CLI's build, so their common dependencies compile
# once. Usage: bash scripts/python.sh install
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
case "${1:-install}" in
  install)
    echo "python: pip install . (python/Cargo.toml via maturin)"
    # Debian's own Python refuses system-wide pip installs without the flag.
    python3 -m pip install -q . 2>/dev/null ||
      python3 -m pip install -q --break-system-packages .
    python3 -P -c 'import sparqgen; print("python: sparqgen", sparqgen.__version__, "installed")'
    ;;
  *)
    echo "usage: bash scripts/python.sh install" >&2
    exit 2
    ;;
esac
