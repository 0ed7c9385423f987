//! The orchestration layer: library functions that use every layer below
//! together (the generator, the simulator, synthesis, the proofs, the
//! metric, networks and sweeps). The command line (`src/cmd/`), the Python
//! module and Slurm tasks call these; they parse arguments and print.
//!
//! - [`generate`]: the whole generated folder (the Verilog from `rtl`, and
//!   the FuseSoC core, constraints, self-checking testbench and Fmax
//!   wrapper, which need `sim` and `synth`).
//! - [`synth`]: `sparqgen synth` as a library call (the design's area, the
//!   PE against the baselines, the sweep's costs in the report, the array
//!   sample and its cycle model).
//! - [`main_job`]: the model's part of `sparqgen run` (a sample GEMM's
//!   speed and error against exact int8).
//! - [`asic`]: `sparqgen asic`, the design through qflow to a routed,
//!   DRC- and LVS-checked layout, its report and picture.
//! - [`sweep`]: a sweep's job folder and costs (here or on Slurm), and
//!   regressions on Slurm.
//! - [`gates`]: the PE's gate netlist co-simulated against the model and
//!   proven equal to it.

pub mod asic;
pub mod gates;
pub mod generate;
pub mod main_job;
pub mod sweep;
pub mod synth;
mod testbench;

pub use generate::{generate, generate_with};
