//! What a test plan is made of ([`Spec`]) and what a spec expands to (a
//! [`Segment`] of cycles with its [`Check`]s).

use super::MemberCtx;
use crate::arith::{MatI8, MatU8};
use std::sync::Arc;

/// Activation values of a GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActDist {
    /// Uniform over the PE's range.
    Uniform,
    /// Small values common, large ones rare (post-ReLU).
    ReluLike,
    /// Every activation the same.
    Const(u8),
}

/// Weight values of a GEMM (2:4 designs prune them to 2:4 after drawing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgtDist {
    Uniform,
    Const(i8),
}

/// A GEMM `C = A (m x k) . B (n x k)^T` run through the design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmSpec {
    pub label: &'static str,
    pub seed: u64,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Percent of activations forced to zero.
    pub zeros: u8,
    pub acts: ActDist,
    pub wgts: WgtDist,
    /// Insert idle (valid low) cycles inside reductions.
    pub bubbles: bool,
}

/// Given operands `C = A . B^T` (A `m x k` uint8 or activation codes, B
/// `n x k` int8), what a network layer's tile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperandGemm {
    pub label: String,
    pub a: MatU8,
    pub b: MatI8,
}

/// One unit of a test plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Exhaustive sweep, vectors `first..first + count` of the PE's vector
    /// space (every activation pair against several weight pairs); one
    /// cycle per vector, `clear_i` on every cycle.
    Sweep {
        first: u32,
        count: u32,
    },
    /// Every activation pair once: pairs `first..first + count` of the
    /// 65,536, one vector each (SPARQ: the sweep's weight variant rotates
    /// with the pair); `clear_i` on every cycle. For slow simulators.
    Pairs {
        first: u32,
        count: u32,
    },
    /// Random operands with random `valid_i` / `clear_i`.
    Random {
        seed: u64,
        cycles: u32,
    },
    /// The largest-magnitude product every cycle without clearing, past
    /// the accumulator's wrap.
    AccRun {
        negative: bool,
        cycles: u32,
    },
    Gemm(GemmSpec),
    /// A GEMM on given operands (a network layer's tile); expected values
    /// from the model like [`Spec::Gemm`].
    Operands(Arc<OperandGemm>),
    /// Case `index` of the golden file; expected values are the file's C.
    Golden {
        index: usize,
    },
}

impl Spec {
    pub fn label(&self) -> String {
        match self {
            Spec::Sweep { first, count } => {
                format!("exhaustive sweep, vectors {first}..{}", first + count)
            }
            Spec::Pairs { first, count } => {
                format!("every activation pair, pairs {first}..{}", first + count)
            }
            Spec::Random { seed, cycles } => {
                format!("random valid/clear sequence of {cycles} cycles (seed {seed:#x})")
            }
            Spec::AccRun { negative, cycles } => format!(
                "accumulator run: {cycles} cycles of the {} product",
                if *negative {
                    "most negative"
                } else {
                    "largest positive"
                }
            ),
            Spec::Gemm(g) => format!(
                "GEMM {} ({}x{} . ({}x{})^T, {}% zero activations, seed {:#x})",
                g.label, g.m, g.k, g.n, g.k, g.zeros, g.seed
            ),
            Spec::Operands(g) => format!(
                "{} ({}x{} . ({}x{})^T)",
                g.label, g.a.shape[0], g.a.shape[1], g.b.shape[0], g.b.shape[1]
            ),
            Spec::Golden { index } => format!("golden case {index}"),
        }
    }

    /// Rough cycle count, for progress and budgets.
    pub fn cycles_estimate(&self, m: &MemberCtx) -> u64 {
        match self {
            Spec::Sweep { count, .. } | Spec::Pairs { count, .. } => u64::from(*count),
            Spec::Random { cycles, .. } | Spec::AccRun { cycles, .. } => u64::from(*cycles),
            Spec::Gemm(g) => m.gemm_cycles(g.m, g.n, g.k),
            Spec::Operands(g) => m.gemm_cycles(g.a.shape[0], g.b.shape[0], g.a.shape[1]),
            Spec::Golden { index } => m
                .golden
                .as_ref()
                .and_then(|c| c.get(*index))
                .map_or(0, |c| {
                    m.gemm_cycles(c.a.shape[0], c.b.shape[0], c.a.shape[1])
                }),
        }
    }
}

/// One expected value: after cycle `cycle`'s rising edge, accumulator
/// `out` (the row for `res_o`, 0 for `acc_o`) holds `expected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub cycle: u32,
    pub out: u16,
    pub expected: i64,
    /// What the value is: the operand cycle (op streams) or the output
    /// index `i * n + j` (GEMMs).
    pub item: u32,
}

/// Cycles every segment starts with (idle, reset): its first operand cycle.
pub const PREAMBLE: usize = 2;

/// A member's cycles and checks.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    /// Words per cycle (the member's slot: control word, act, wgt).
    pub wpc: usize,
    pub words: Vec<u32>,
    /// Sorted by cycle.
    pub checks: Vec<Check>,
    /// Cycles with valid operands.
    pub vectors: u64,
    /// Multiply-accumulates represented (K positions: a pair counts 2, a
    /// 2:4 group 4, a GEMM M*N*K).
    pub macs: u64,
}

impl Segment {
    pub fn cycles(&self) -> usize {
        self.words.len() / self.wpc
    }
    pub fn cycle(&self, c: usize) -> &[u32] {
        &self.words[c * self.wpc..(c + 1) * self.wpc]
    }
}
