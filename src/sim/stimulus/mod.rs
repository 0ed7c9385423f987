//! Test plans: what each design under test is fed, as [`Spec`]s that
//! expand deterministically (from the run's seed) into [`Segment`]s of
//! cycles with the checks to make on them.
//!
//! Every segment starts with a reset ([`PREAMBLE`]), so any segment can be
//! replayed alone (that is how the failing window's VCD is made). Every
//! expected value comes from the model: one lane's product through
//! [`Encoding::product`] (the model's pair table), whole GEMMs through
//! [`Model::gemm`]. What is written here is only the port contract's
//! timing (latency, clear/valid, systolic skew-free feeding, flush and
//! drain); the accumulator's rule is [`crate::arith::Accumulate`].
//!
//! | module | holds |
//! |--------|-------|
//! | [`rng`] | the seeded streams |
//! | [`spec`] | specs, segments, checks |
//! | [`plan`] | which specs a design gets (and the subset for Icarus) |
//! | `ops` | per-cycle operand streams of PEs and dot units |
//! | `draw` | GEMM operands and their expected C |
//! | `drive` | the systolic and lane driving protocols of a GEMM |
//! | `writer` | appending cycles and checks in the member's slot layout |

mod draw;
mod drive;
mod ops;
pub mod plan;
pub mod rng;
pub mod spec;
mod writer;

pub use draw::GemmData;
pub use plan::{golden_matches, PlanOptions};
pub use rng::{mix, seed_of, Rng};
pub use spec::{ActDist, Check, GemmSpec, OperandGemm, Segment, Spec, WgtDist, PREAMBLE};

use super::encode::Encoding;
use super::layout::Slot;
use super::TopPorts;
use crate::arith::{ArithError, Model};
use crate::config::{ArrayShape, Design};
use crate::golden::GemmCase;
use ops::OpSource;
use std::sync::Arc;

/// Everything needed to expand specs for one design under test.
pub struct MemberCtx {
    pub design: Design,
    pub ports: TopPorts,
    pub slot: Slot,
    pub enc: Encoding,
    pub model: Model,
    /// The same arithmetic without the design's accumulator width: GEMM
    /// chunks of any K the model accepts (the hardware's wrap is applied
    /// afterwards).
    wide: Model,
    pub golden: Option<Arc<Vec<GemmCase>>>,
    pub seed: u64,
}

/// Weight pairs every activation pair meets in a sweep: the extremes, the
/// zero weight (a zero weight frees nothing; in 2:4 it is a missing
/// member), and random ones.
const SWEEP_WEIGHTS: [(i8, i8); 6] = [
    (-128, 127),
    (127, -128),
    (1, 0),
    (0, 1),
    (-1, -128),
    (127, 1),
];
/// Weight variants per activation pair in a SPARQ sweep (6 fixed, 2 random).
pub const SWEEP_VARIANTS: u32 = 8;

impl MemberCtx {
    pub fn new(
        design: &Design,
        ports: &TopPorts,
        slot: &Slot,
        golden: Option<Arc<Vec<GemmCase>>>,
        seed: u64,
    ) -> MemberCtx {
        MemberCtx {
            design: design.clone(),
            ports: ports.clone(),
            slot: slot.clone(),
            enc: Encoding::of(design),
            model: Model::new(design),
            wide: Model::unwrapped(&design.pe().kind()),
            golden,
            seed,
        }
    }

    pub fn lanes(&self) -> usize {
        match self.design.array() {
            ArrayShape::Dot { lanes } => lanes as usize,
            _ => 1,
        }
    }

    /// Vectors in the exhaustive sweep.
    pub fn sweep_size(&self) -> u32 {
        match self.enc {
            Encoding::SparqDense | Encoding::SparqStc => 65536 * SWEEP_VARIANTS,
            Encoding::Mac8x8 | Encoding::Mac4x8 => 65536,
        }
    }

    fn acc(&self) -> u32 {
        self.ports.acc_bits
    }

    /// Cycles a GEMM takes on this member: the cycle model's count
    /// ([`crate::cycles`], the same flush and latency as the manifest).
    pub fn gemm_cycles(&self, m: usize, n: usize, k: usize) -> u64 {
        let shape = crate::cycles::Shape {
            groups: 1,
            m: m as u64,
            n: n as u64,
            k: k as u64,
        };
        crate::cycles::gemm(&crate::cycles::Timing::of(&self.design), shape).total
    }

    /// Expand a spec.
    pub fn segment(&self, spec: &Spec) -> Result<Segment, ArithError> {
        match spec {
            Spec::Sweep { first, count } => Ok(self.ops_segment(OpSource::Sweep {
                first: *first,
                count: *count,
                stride: 1,
            })),
            Spec::Pairs { first, count } => Ok(self.ops_segment(OpSource::Sweep {
                first: *first,
                count: *count,
                stride: self.sweep_size() / 65536,
            })),
            Spec::Random { seed, cycles } => Ok(self.ops_segment(OpSource::Random {
                seed: *seed,
                cycles: *cycles,
            })),
            Spec::AccRun { negative, cycles } => Ok(self.ops_segment(OpSource::Extreme {
                negative: *negative,
                cycles: *cycles,
            })),
            Spec::Gemm(_) | Spec::Operands(_) | Spec::Golden { .. } => {
                let g = self.gemm_data(spec)?;
                self.gemm_segment(&g)
            }
        }
    }
}
