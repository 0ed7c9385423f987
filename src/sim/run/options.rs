//! What a verification run is asked to do.

use super::super::stimulus::Spec;
use super::super::verilator;
use crate::golden::GemmCase;
use std::path::PathBuf;
use std::sync::Arc;

/// Which simulator runs the vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    Verilator,
    /// Icarus, on a subset of the plan (`icarus_cycles`).
    Icarus,
}

impl SimKind {
    pub fn name(self) -> &'static str {
        match self {
            SimKind::Verilator => "verilator",
            SimKind::Icarus => "icarus",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub seed: u64,
    /// Random cycles per design (random sequences and random GEMMs).
    pub vectors: u64,
    /// The exhaustive pair sweep of single PEs and dot units.
    pub exhaustive: bool,
    pub sim: SimKind,
    /// Golden GEMM cases: when set, only the cases matching each design are
    /// run, and compared with the file's C.
    pub golden: Option<Arc<Vec<GemmCase>>>,
    /// Draw a progress bar on a terminal for runs longer than a second.
    pub progress: bool,
    /// On a mismatch, write a VCD of the failing window (needs a second,
    /// traced build).
    pub vcd: bool,
    /// Where the mismatch report and VCD go (created only on a mismatch).
    pub report_dir: Option<PathBuf>,
    /// Stop feeding new vectors after this many mismatches.
    pub max_mismatches: u64,
    /// Mismatches described in full.
    pub max_details: usize,
    /// Cycle budget per design under Icarus (a subset of the plan).
    pub icarus_cycles: u64,
    /// Cycles of the VCD window before the first failing sample.
    pub vcd_window: u32,
    /// Run these specs (one list per design) instead of the default plans
    /// (benchmarks, focused tests).
    pub plans: Option<Vec<Vec<Spec>>>,
    /// The build cache (default: [`crate::cache::root`]).
    pub cache_dir: Option<PathBuf>,
    /// Optimize the Verilator build for build time or simulation speed.
    pub profile: verilator::Profile,
    /// Build jobs, g++ and Verilator overrides (default: from the
    /// environment, [`crate::settings`]).
    pub tuning: verilator::Tuning,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            seed: 1,
            vectors: 100_000,
            exhaustive: true,
            sim: SimKind::Verilator,
            golden: None,
            progress: false,
            vcd: true,
            report_dir: None,
            max_mismatches: 1000,
            max_details: 8,
            icarus_cycles: 40_000,
            vcd_window: 256,
            plans: None,
            cache_dir: None,
            profile: verilator::Profile::Build,
            tuning: verilator::Tuning::default(),
        }
    }
}
