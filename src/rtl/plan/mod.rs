//! The microarchitecture of one design, derived from the validated
//! [`Design`] and nothing else: window tables from
//! [`crate::config::PlacementSet::window`]/`wide_window`, rounding from
//! [`crate::config::Rounding`], operand layouts from the PE kind. Templates only lay these
//! numbers out; no width or table is typed twice. Split by concern: the
//! window tables (`window`), the SPARQ decode and its shift sources
//! (`sparq`), and here the operands, multipliers, PE plan and adder tree.

mod sparq;
mod window;

pub use sparq::{ActCode, CodeField, ShiftSource, SparqDecode, WidePath, WideSource};
pub use window::{Placement, RoundBits, WindowPlan};

use crate::config::{Design, PeKind};
use sparq::sparq_plan;

/// Activations and weights are 8 bits wide.
pub const OPERAND_BITS: u32 = 8;
/// A shifted SPARQ product `(q << s) * b` with `q << s <= 255` fits 16
/// signed bits (|255 * -128| = 32640).
pub const SHIFTED_PRODUCT_BITS: u32 = 16;

/// A signal between decode and the multipliers (and through the optional
/// stage-A pipeline register).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operand {
    /// `c1`, `s1`, `w1`, ...
    pub name: String,
    pub bits: u32,
    pub meaning: String,
}

/// One multiplier: an unsigned code times a signed 8-bit weight, the product
/// optionally shifted left by one of a fixed set of amounts chosen by a
/// one-hot select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mult {
    /// 1 or 2: ports `c<i>_i`, `s<i>_i`, `w<i>_i`.
    pub index: u32,
    pub code_bits: u32,
    /// Width of the raw product: `code_bits + 8` signed bits.
    pub prod_bits: u32,
    /// The shifts the product may take, lowest first: bit j of the one-hot
    /// `s<i>` selects `shifts[j]`. Empty without shifter.
    pub shifts: Vec<Shift>,
    /// Width of the term that enters the sum.
    pub term_bits: u32,
}

/// One shift of a multiplier's shifter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    /// Bit of the one-hot select.
    pub bit: u32,
    pub amount: u32,
}

impl Mult {
    pub(super) fn new(index: u32, code_bits: u32, shifts: Option<Vec<u32>>) -> Mult {
        let prod_bits = code_bits + OPERAND_BITS;
        match shifts {
            None => Mult {
                index,
                code_bits,
                prod_bits,
                shifts: Vec::new(),
                term_bits: prod_bits,
            },
            Some(mut shifts) => {
                shifts.sort_unstable();
                shifts.dedup();
                Mult {
                    index,
                    code_bits,
                    prod_bits,
                    shifts: shifts
                        .into_iter()
                        .enumerate()
                        .map(|(j, amount)| Shift {
                            bit: j as u32,
                            amount,
                        })
                        .collect(),
                    term_bits: SHIFTED_PRODUCT_BITS,
                }
            }
        }
    }

    pub fn has_shifter(&self) -> bool {
        !self.shifts.is_empty()
    }

    /// Bits the term gains over the raw product by sign extension.
    pub fn ext_bits(&self) -> u32 {
        self.term_bits - self.prod_bits
    }

    /// The one-hot bit of shift `amount`, if this multiplier has it.
    pub(super) fn bit_of(&self, amount: u32) -> Option<u32> {
        self.shifts
            .iter()
            .find(|s| s.amount == amount)
            .map(|s| s.bit)
    }
}

/// How `act_i`/`wgt_i` become multiplier operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decode {
    Sparq(SparqDecode),
    /// Baselines: operands are bit slices of the ports. `(operand, port,
    /// lsb)` for each operand.
    Slices(Vec<(String, &'static str, u32)>),
}

/// Widths and structure of one design's PE datapath.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PePlan {
    pub act_bits: u32,
    pub wgt_bits: u32,
    /// Signed bits of one PE's (or lane's) per-cycle sum.
    pub sum_bits: u32,
    pub acc_bits: u32,
    pub pipeline: u32,
    /// Datapath registers (pipeline operands and sums, systolic skew) have
    /// the reset; accumulators and valid/clear always do.
    pub datapath_reset: bool,
    pub operands: Vec<Operand>,
    pub mults: Vec<Mult>,
    pub decode: Decode,
    /// Dense SPARQ: `N_decode` sees the activations only and emits this
    /// code; the weights are routed after it (`None`: `N_decode` takes
    /// `act_i` and `wgt_i` and emits the operands).
    pub act_code: Option<ActCode>,
}

impl PePlan {
    /// When a product reaches the accumulator, as the generated comments
    /// say it: "the next rising edge (latency 1 cycle)" at pipeline 0.
    pub fn latency_text(&self) -> String {
        let edge = match self.pipeline {
            0 => "next".to_string(),
            1 => "second".to_string(),
            2 => "third".to_string(),
            p => format!("{}th", p + 1),
        };
        let cycles = self.pipeline + 1;
        format!(
            "the {edge} rising edge (latency {cycles} cycle{})",
            if cycles == 1 { "" } else { "s" }
        )
    }

    pub fn new(design: &Design) -> PePlan {
        let name = &design.name();
        let (act_bits, wgt_bits) = design.pe().kind().lane_bits();
        let (operands, mults, decode) = match &design.pe().kind() {
            PeKind::Sparq(s) => sparq_plan(name, s),
            PeKind::Mac8x8 => (
                vec![
                    operand("c1", 8, "activation a (unsigned)"),
                    operand("w1", 8, "weight b (signed)"),
                ],
                vec![Mult::new(1, 8, None)],
                Decode::Slices(vec![("c1".into(), "act_i", 0), ("w1".into(), "wgt_i", 0)]),
            ),
            PeKind::Mac4x8 => (
                vec![
                    operand("c1", 4, "4-bit activation code q1 (unsigned)"),
                    operand("w1", 8, "weight b1 (signed)"),
                    operand("c2", 4, "4-bit activation code q2 (unsigned)"),
                    operand("w2", 8, "weight b2 (signed)"),
                ],
                vec![Mult::new(1, 4, None), Mult::new(2, 4, None)],
                Decode::Slices(vec![
                    ("c1".into(), "act_i", 0),
                    ("w1".into(), "wgt_i", 0),
                    ("c2".into(), "act_i", 4),
                    ("w2".into(), "wgt_i", 8),
                ]),
            ),
        };
        let term = mults.iter().map(|m| m.term_bits).max().unwrap_or(0);
        let sum_bits = if mults.len() == 2 { term + 1 } else { term };
        debug_assert_eq!(
            sum_bits,
            crate::config::signed_bits_for(
                u64::from(design.pe().kind().products_per_cycle())
                    * u64::from(design.pe().kind().act_max())
                    * 128
            )
        );
        let act_code = match &decode {
            Decode::Sparq(d) if !d.stc => Some(ActCode::new(
                d.n,
                d.shift1.len() as u32,
                d.shift2.len() as u32,
                d.wide.is_some(),
            )),
            _ => None,
        };
        PePlan {
            act_bits,
            wgt_bits,
            sum_bits,
            acc_bits: design.pe().acc_bits(),
            pipeline: design.pe().pipeline().stages(),
            datapath_reset: design.pe().datapath_reset(),
            operands,
            mults,
            decode,
            act_code,
        }
    }

    /// Bits of every operand together (the stage-A register).
    pub fn operand_bits(&self) -> u32 {
        self.operands.iter().map(|o| o.bits).sum()
    }
}

pub(super) fn operand(name: &str, bits: u32, meaning: &str) -> Operand {
    Operand {
        name: name.to_string(),
        bits,
        meaning: meaning.to_string(),
    }
}

/// One level of the dot unit's adder tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeLevel {
    /// 1, 2, ...: level 0 is the lanes' sums.
    pub index: u32,
    pub nodes: u32,
    pub bits: u32,
    pub prev_nodes: u32,
    pub prev_bits: u32,
}

/// The adder tree over `lanes` sums of `sum_bits` each: every level halves
/// the node count (an odd last node passes through) and gains one bit, up to
/// `cap`, the signed bits the sum of all lanes needs (every partial sum is
/// bounded by it too, so adding at `cap` bits never overflows).
pub fn adder_tree(lanes: u32, sum_bits: u32, cap: u32) -> Vec<TreeLevel> {
    let mut levels = Vec::new();
    let (mut nodes, mut bits) = (lanes, sum_bits);
    while nodes > 1 {
        let next = nodes.div_ceil(2);
        let next_bits = (bits + 1).min(cap.max(bits));
        levels.push(TreeLevel {
            index: levels.len() as u32 + 1,
            nodes: next,
            bits: next_bits,
            prev_nodes: nodes,
            prev_bits: bits,
        });
        nodes = next;
        bits = next_bits;
    }
    levels
}

/// Width of the adder tree's result.
pub fn tree_bits(lanes: u32, sum_bits: u32, cap: u32) -> u32 {
    adder_tree(lanes, sum_bits, cap)
        .last()
        .map_or(sum_bits, |l| l.bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_widths() {
        for yaml in [
            "pe: {kind: mac8x8, acc_bits: 16}",
            "pe: {kind: mac4x8, acc_bits: 13}",
            "pe: {acc_bits: 17}",
        ] {
            let d = Design::from_yaml(&format!("{yaml}\narray: {{kind: single}}")).unwrap();
            let p = PePlan::new(&d);
            assert_eq!(p.sum_bits, d.acc_bits_needed_per_cycle(), "{yaml}");
        }
    }

    /// The tree never needs more bits than the accumulator the design
    /// validation allows, for every lane count and PE kind.
    #[test]
    fn tree_fits_the_narrowest_accumulator() {
        for kind in ["sparq", "mac8x8", "mac4x8"] {
            for lanes in 1..=crate::config::limits::LANES_MAX {
                let d = Design::from_yaml(&format!(
                    "pe: {{kind: {kind}}}\narray: {{kind: dot, lanes: {lanes}}}"
                ))
                .unwrap();
                let p = PePlan::new(&d);
                let need = d.acc_bits_needed_per_cycle();
                assert_eq!(tree_bits(lanes, p.sum_bits, need), need, "{kind} x{lanes}");
            }
        }
    }
}
