//! The bit-exact software model of SPARQ arithmetic (docs/arithmetic.md) and
//! of the baselines. Depends on nothing CLI- or template-shaped.

pub mod accumulate;
pub mod gemm;
pub mod kernel;
pub mod lut;
pub mod pair;
pub mod peak;
pub mod stats;
pub mod stc;
#[cfg(target_arch = "x86_64")]
pub mod stc_vnni;
pub use crate::tensor;
pub mod trim;
#[cfg(target_arch = "x86_64")]
pub mod vnni;

pub use crate::tensor::{MatI32, MatI8, MatU8, Tensor, View};
pub use accumulate::Accumulate;
pub use gemm::{
    checked_bytes, stc_pairs, ArithError, Kernel, Model, PackedWeights, MAX_PADDING,
    MAX_TENSOR_BYTES,
};
pub use pair::{route_pair, sparq_pair, PairTable, Route};
pub use stats::ErrorStats;
pub use trim::{trim, Trimmed};

/// Reduce `v` to a two's-complement number of `bits` bits, as an
/// accumulator of that width holds it after wrapping.
pub fn wrap_signed(v: i64, bits: u32) -> i64 {
    if bits >= 64 {
        return v;
    }
    let shift = 64 - bits;
    (v << shift) >> shift
}
