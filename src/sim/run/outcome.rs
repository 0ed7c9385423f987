//! What a verification run found: per design totals, the build, the
//! mismatches described.

use std::path::PathBuf;

/// Per design totals.
#[derive(Debug, Clone, Default)]
pub struct MemberResult {
    pub name: String,
    pub what: String,
    pub specs: usize,
    pub cycles: u64,
    pub vectors: u64,
    pub macs: u64,
    pub checks: u64,
    pub mismatches: u64,
    /// Cycles the design was driven, without each segment's idle + reset
    /// preamble: operand, flush, drain and pipeline-tail cycles.
    pub array_cycles: u64,
}

/// How the harness was built.
#[derive(Debug, Clone, Default)]
pub struct BuildSummary {
    pub sim: &'static str,
    pub cached: bool,
    pub verilate_secs: f64,
    pub compile_secs: f64,
    pub total_secs: f64,
    pub warnings: Vec<String>,
}

/// One failing output, described.
#[derive(Debug, Clone)]
pub struct MismatchDetail {
    pub design: String,
    pub spec: String,
    /// Cycle inside the segment (cycles 0 and 1 are its idle and reset).
    pub cycle: u32,
    pub out: u16,
    pub expected: i64,
    pub actual: i64,
    /// The inputs that produced it.
    pub inputs: String,
}

/// The verdict with everything a report needs.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub seed: u64,
    pub sim: &'static str,
    pub members: Vec<MemberResult>,
    pub build: BuildSummary,
    /// Simulated cycles and the seconds the stream took.
    pub cycles: u64,
    pub run_secs: f64,
    pub mismatches: u64,
    pub stopped_early: bool,
    pub details: Vec<MismatchDetail>,
    pub vcd: Option<PathBuf>,
    /// What the VCD shows, when there is one.
    pub vcd_note: String,
    pub report: Option<PathBuf>,
    /// Seconds the Rust side spent generating vectors (writer thread) and
    /// checking outputs (calling thread), inside `run_secs`.
    pub feed_secs: f64,
    pub check_secs: f64,
    /// CPU seconds the simulator process used (Verilator).
    pub sim_cpu_secs: Option<f64>,
    /// Where the expected values came from: the model, or a golden file.
    pub expected_from: &'static str,
}

/// Verilator warnings that mean the RTL is broken whatever the outputs
/// show: a net with two drivers or none, or a latch. The generated RTL never
/// has them; an edited folder that does must not PASS.
pub const BROKEN_RTL_WARNINGS: &[&str] = &["MULTIDRIVEN", "UNDRIVEN", "LATCH"];

impl BuildSummary {
    /// The build's warnings that make the RTL broken
    /// ([`BROKEN_RTL_WARNINGS`]).
    pub fn broken_rtl(&self) -> Vec<&str> {
        self.warnings
            .iter()
            .filter(|w| {
                BROKEN_RTL_WARNINGS
                    .iter()
                    .any(|k| w.starts_with(&format!("%Warning-{k}:")))
            })
            .map(String::as_str)
            .collect()
    }
}

impl Outcome {
    /// Every output matched and the RTL has no structural fault.
    pub fn passed(&self) -> bool {
        self.mismatches == 0 && self.build.broken_rtl().is_empty()
    }
    pub fn vectors(&self) -> u64 {
        self.members.iter().map(|m| m.vectors).sum()
    }
    pub fn macs(&self) -> u64 {
        self.members.iter().map(|m| m.macs).sum()
    }
    pub fn checks(&self) -> u64 {
        self.members.iter().map(|m| m.checks).sum()
    }
}
