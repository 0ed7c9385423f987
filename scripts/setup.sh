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
# icepack: the bitstream step of the FuseSoC `pnr` target of generated cores.
command -v icepack >/dev/null 2>&1 || need+=(fpga-icestorm)
# qflow and the OSU 0.18 um cells: `sparqgen asic` (placement, routing, DRC,
# LVS, GDS; the package pulls GrayWolf, Qrouter, Magic, Netgen and OpenSTA),
# and `synth --target liberty` (area, timing, power and energy per MAC).
command -v qflow >/dev/null 2>&1 || need+=(qflow)
[ -f /usr/share/qflow/tech/osu018/osu018_stdcells.lib ] || need+=(qflow-tech-osu018)
command -v sta >/dev/null 2>&1 || need+=(opensta)
command -v g++ >/dev/null 2>&1 || need+=(g++)
command -v make >/dev/null 2>&1 || need+=(make)
# rsvg-convert: the plot tests render the SVG plots to PNG (tests/it/plots.rs).
command -v rsvg-convert >/dev/null 2>&1 || need+=(librsvg2-bin)
# A one-node Slurm cluster for the sweep tests (scripts/slurm-local.sh).
[ -x /usr/sbin/slurmctld ] || need+=(slurm-wlm)
[ -x /usr/sbin/munged ] || need+=(munge)
command -v cargo >/dev/null 2>&1 || [ -x "$HOME/.cargo/bin/cargo" ] || need+=(cargo)
# Python and pip: FuseSoC (PyPI) runs the generated cores in the full test
# tier; the Python module (pip install .) is tested by tests/python.
command -v python3 >/dev/null 2>&1 || need+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if ! command -v fusesoc >/dev/null 2>&1; then
  echo "setup: installing fusesoc with pip"
  # Debian's own Python refuses system-wide pip installs without the flag.
  python3 -m pip install -q fusesoc 2>/dev/null ||
    python3 -m pip install -q --break-system-packages fusesoc
fi
# NumPy and pytest for tests/python (maturin, the module's build backend, is
# fetched by pip itself when `pip install .` runs).
if ! python3 -c "import numpy, pytest" >/dev/null 2>&1; then
  echo "setup: installing numpy and pytest with pip"
  python3 -m pip install -q numpy pytest 2>/dev/null ||
    python3 -m pip install -q --break-system-packages numpy pytest
fi
# ONNX Runtime and onnx: `bench model --compare-ort` (and its test) time and
# check ORT's exact int8 GEMM against the model.
if ! python3 -c "import onnxruntime, onnx" >/dev/null 2>&1; then
  echo "setup: installing onnxruntime and onnx with pip"
  python3 -m pip install -q onnxruntime onnx 2>/dev/null ||
    python3 -m pip install -q --break-system-packages onnxruntime onnx
fi
export PATH="$HOME/.cargo/bin:$PATH"
echo "setup: fusesoc $(fusesoc --version 2>/dev/null | tail -1)"
echo "setup: $(verilator --version | head -1); $(yosys -V | head -1); $(iverilog -V 2>&1 | head -1)"
echo "setup: $(cargo --version); $(python3 -c 'import numpy, pytest; print("numpy", numpy.__version__, "pytest", pytest.__version__)')"
cargo build --release --locked 2>&1 | tail -1
