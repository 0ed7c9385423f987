//! Co-simulation of generated RTL against the bit-exact model.
//!
//! One or more designs under test ([`Dut`]) are wrapped in one harness top
//! (`SimBundle`), built once with Verilator (and cached by content hash) or
//! compiled with Icarus, and driven by streams of input records that the
//! Rust side generates; every sampled output is compared with a value
//! computed by [`crate::arith`], never with a hand-written expectation.
//!
//! | module | holds |
//! |--------|-------|
//! | [`layout`] | where each design sits in the harness buses |
//! | [`bundle`] | the harness top, the C++ adapter, the Icarus bench (askama) |
//! | [`crate::cache`], [`verilator`], [`icarus`] | building harnesses |
//! | [`harness`] | streaming batches through a simulator process |
//! | [`encode`] | operand encodings of INTERFACE.md, one lane's product by the model |
//! | [`stimulus`] | test plans and the segments of cycles they expand to |
//! | [`run`] | the run: batches, checks, statistics, mismatch reports, VCD |
//! | [`source`] | designs under test: generated, or read from a folder |

pub mod bundle;
pub mod encode;
pub mod harness;
pub mod icarus;
pub mod layout;
pub mod report;
pub mod run;
pub mod source;
pub mod stimulus;
pub mod verilator;

use crate::config::Design;
use crate::tools::ToolError;
use std::path::PathBuf;

pub use run::{verify, Outcome, SimKind, VerifyOptions};
pub use source::Dut;

/// What can go wrong before a verdict. A mismatch is not an error: it is
/// an [`Outcome`] with mismatches.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{0}")]
    MissingTool(#[from] ToolError),
    #[error("{message}")]
    Tool { message: String },
    #[error("Verilator rejected the RTL of {label} (full log: {}):\n{excerpt}", log.display())]
    Verilator {
        label: String,
        log: PathBuf,
        excerpt: String,
    },
    #[error("Icarus rejected the RTL of {label}:\n{excerpt}")]
    Icarus { label: String, excerpt: String },
    #[error("the C++ of {label} did not compile ({unit}; full log: {}):\n{excerpt}", log.display())]
    Compile {
        label: String,
        unit: String,
        log: PathBuf,
        excerpt: String,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("simulator: {message}")]
    Harness { message: String },
    /// The RTL's ports or manifest disagree with the port contract
    /// (verif/INTERFACE.md).
    #[error("{design}: {message} (see verif/INTERFACE.md)")]
    Contract { design: String, message: String },
    #[error("{0}")]
    Source(String),
    #[error("{0}")]
    Model(#[from] crate::arith::ArithError),
}

/// The ports and timing of a design's `N_top`, as its manifest states them
/// (widths are never recomputed here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopPorts {
    /// Top module name (`N_top`).
    pub top: String,
    /// Width of one lane's `act_i` operand (AW) and `wgt_i` operand (WW).
    pub lane_act_bits: u32,
    pub lane_wgt_bits: u32,
    /// Width of the whole `act_i` / `wgt_i` buses.
    pub act_bits: u32,
    pub wgt_bits: u32,
    /// `acc_o` (single, dot) or `res_o` (systolic), and its width.
    pub out_port: String,
    pub out_bits: u32,
    /// Whether `drain_i` exists (systolic).
    pub has_drain: bool,
    pub acc_bits: u32,
    /// Rising edges from presenting operands to seeing them in `acc_o`
    /// (`pipeline + 1` for a PE).
    pub latency_cycles: u32,
    /// Systolic: the fill, skew plus pipeline (the manifest's
    /// `flush_cycles`).
    pub flush_cycles: u32,
    /// Systolic: the fewest cycles between two tile starts (`clear_i`),
    /// the cycles a row's output chain takes per tile (`drain_cycles`).
    pub drain_cycles: u32,
}

impl TopPorts {
    /// Records between presenting operands and sampling their effect: a
    /// record's outputs are sampled after its own rising edge, so this is
    /// `latency_cycles - 1`.
    pub fn sample_delay(&self) -> u32 {
        self.latency_cycles.saturating_sub(1)
    }
}

/// Short label of a design for tables: `name (kind, shape)`.
pub fn describe(design: &Design) -> String {
    let pe = design.pe().kind().label();
    let shape = design.array().describe();
    format!(
        "{pe}, {shape}, acc {} bits, pipeline {}",
        design.pe().acc_bits(),
        design.pe().pipeline().stages()
    )
}
