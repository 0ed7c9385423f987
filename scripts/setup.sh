#!/usr/bin/env bash
# Install what sparqgen needs on a fresh Debian machine (run as root), then
# build it. Idempotent: tools already present are not reinstalled.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v verilator >/dev/null 2>&1 || need+=(verilator)
command -v yosys >/dev/null 2>&1 || need+=(yosys)
command -v iverilog >/dev/null 2>&1 || need+=(iverilog)
command -v nextpnr-ice40 >/dev/null 2>&1 || need+=(nextpnr-ice40)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# A one-node Slurm cluster for the sweep tests (scripts/slurm-local.sh).
[ -x /usr/sbin/slurmctld ] || need+=(slurm-wlm)
[ -x /usr/sbin/munged ] || need+=(munge)
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || need+=(cargo)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$HOME/.cargo/bin:$PATH"
echo "setup: $(verilator --version | head -1); $(yosys -V | head -1); $(iverilog -V 2>&1 | head -1)"
echo "setup: $(cargo --version)"
cargo build --release --locked 2>&1 | tail -1
