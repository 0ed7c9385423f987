//! The orchestration layer: library functions that use every layer below
//! together (the generator, the simulator, synthesis, the proofs, the
//! metric, networks and sweeps). The command line (`src/cmd/`), the Python
//! module and Slurm tasks call these; they parse arguments and print.
//!
//! - [`generate`]: the whole generated folder (the Verilog from `rtl`, and
//!   the FuseSoC core, constraints, self-checking testbench and Fmax
//!   wrapper, which need `sim` and `synth`).

pub mod generate;
mod testbench;

pub use generate::{generate, generate_with};
