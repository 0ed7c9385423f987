//! The PE array a report runs on: how many PEs, how they are arranged, and
//! per PE what it computes per cycle at which bit widths and what travels
//! to and from memory at which widths. Built from a validated [`Design`]
//! or from a hardware file's own `pe_array`.
//!
//! SPARQ accounting: a SPARQ PE multiplies at the window width (`b_a` =
//! window bits, `b_w` = 8) and consumes two activations per cycle (four
//! with 2:4 weights, of which two meet non-zero weights), while activations
//! travel and are stored at 8 bits.

use crate::config::{ArrayShape, Design, PeKind};
use crate::hcm::hw::HwArray;
use serde::Serialize;

/// How PEs are arranged, which decides how a layer maps onto them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Geometry {
    /// Output-stationary `rows x cols`: each PE owns one output; array rows
    /// take output pixels, columns take output channels of one group.
    Systolic { rows: u32, cols: u32 },
    /// `lanes` PEs feeding one adder tree: one output at a time, the
    /// reduction spread across lanes.
    Dot { lanes: u32 },
    /// One PE.
    Single,
}

/// What one PE does per cycle and at which widths data moves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeModel {
    /// `sparq 5opt round` ([`PeKind::label`]), `mac8x8`, `mac 16x16`, ...
    pub label: String,
    /// Activation bits at the multiplier (`b_a` of BOPS).
    pub compute_act_bits: u32,
    /// Weight bits at the multiplier (`b_w` of BOPS).
    pub compute_weight_bits: u32,
    /// Dense multiply-accumulates one PE retires per cycle (activations
    /// consumed per cycle).
    pub macs_per_cycle: u32,
    /// Multipliers busy per cycle (products actually formed).
    pub products_per_cycle: u32,
    /// Bits of a stored activation: input and output feature maps move at
    /// this width.
    pub act_bits: u32,
    /// Bits of a stored weight, plus its index bits under 2:4.
    pub weight_bits: u32,
    /// Stored weights per dense weight, as (kept, of): (1, 1) dense,
    /// (1, 2) under 2:4 structured sparsity.
    pub weight_keep: (u32, u32),
    /// Bits of a partial sum spilled to memory.
    pub psum_bits: u32,
    /// SPARQ specifics, for SPARQ PEs.
    pub sparq: Option<SparqPe>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SparqPe {
    pub window_bits: u32,
    pub placements: String,
    pub pair_sharing: bool,
    pub stc: bool,
    /// Bits a lone activation gets when its partner is zero (vSPARQ's wide
    /// path: 8 = exact for n = 4, 6 for n = 3, 4 for n = 2).
    pub wide_bits: u32,
}

/// A PE array: count, geometry and PE.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrayModel {
    /// Where it came from: `design NAME (hash ...)` or `hw NAME pe_array`.
    pub source: String,
    pub design_hash: Option<String>,
    pub pe_count: u32,
    pub geometry: Geometry,
    /// The PE's pipeline stages (0 for a `hw` array): part of a systolic
    /// tile's flush and a dot unit's latency in the cycle model.
    pub pipeline: u32,
    pub pe: PeModel,
}

impl ArrayModel {
    pub fn from_design(d: &Design) -> ArrayModel {
        let pe = match &d.pe().kind() {
            PeKind::Sparq(s) => {
                let n = s.placements.window_bits();
                PeModel {
                    label: d.pe().kind().label(),
                    compute_act_bits: n,
                    compute_weight_bits: 8,
                    macs_per_cycle: d.pe().kind().activations_per_cycle(),
                    products_per_cycle: d.pe().kind().products_per_cycle(),
                    act_bits: d.pe().kind().act_code_bits(),
                    weight_bits: d.pe().kind().weight_code_bits(),
                    weight_keep: if s.stc { (1, 2) } else { (1, 1) },
                    psum_bits: d.pe().acc_bits(),
                    sparq: Some(SparqPe {
                        window_bits: n,
                        placements: s.placements.name().to_string(),
                        pair_sharing: s.pair_sharing,
                        stc: s.stc,
                        wide_bits: s.placements.wide_window().bits,
                    }),
                }
            }
            PeKind::Mac8x8 => PeModel::mac8x8(d.pe().acc_bits()),
            PeKind::Mac4x8 => PeModel {
                label: PeKind::Mac4x8.label(),
                compute_act_bits: 4,
                compute_weight_bits: 8,
                macs_per_cycle: PeKind::Mac4x8.activations_per_cycle(),
                products_per_cycle: PeKind::Mac4x8.products_per_cycle(),
                act_bits: PeKind::Mac4x8.act_code_bits(),
                weight_bits: PeKind::Mac4x8.weight_code_bits(),
                weight_keep: (1, 1),
                psum_bits: d.pe().acc_bits(),
                sparq: None,
            },
        };
        let geometry = match d.array() {
            ArrayShape::Systolic { rows, cols } => Geometry::Systolic { rows, cols },
            ArrayShape::Dot { lanes } => Geometry::Dot { lanes },
            ArrayShape::Single => Geometry::Single,
        };
        ArrayModel {
            source: format!("design {} (hash {})", d.name(), d.short_hash()),
            design_hash: Some(d.hash()),
            pe_count: d.array().pe_count(),
            geometry,
            pipeline: d.pe().pipeline().stages(),
            pe,
        }
    }

    pub fn from_hw(hw_name: &str, a: &HwArray) -> ArrayModel {
        ArrayModel {
            source: format!("hw {hw_name} pe_array"),
            design_hash: None,
            pe_count: a.rows * a.cols,
            geometry: Geometry::Systolic {
                rows: a.rows,
                cols: a.cols,
            },
            pipeline: 0,
            pe: PeModel {
                label: format!("mac {}x{}", a.bits, a.bits),
                compute_act_bits: a.bits,
                compute_weight_bits: a.bits,
                macs_per_cycle: 1,
                products_per_cycle: 1,
                act_bits: a.bits,
                weight_bits: a.bits,
                weight_keep: (1, 1),
                psum_bits: a.psum_bits,
                sparq: None,
            },
        }
    }

    /// The 8-bit baseline of a design whose PE computes below 8 bits: the
    /// same arrangement of exact 8b x 8b MAC PEs (one per cycle).
    pub fn baseline_8bit(&self) -> Option<ArrayModel> {
        if self.pe.compute_act_bits >= 8 || self.design_hash.is_none() {
            return None;
        }
        Some(ArrayModel {
            source: format!("{} with mac8x8 PEs", self.source),
            design_hash: None,
            pe_count: self.pe_count,
            geometry: self.geometry,
            pipeline: self.pipeline,
            pe: PeModel::mac8x8(self.pe.psum_bits),
        })
    }

    /// The timing the cycle model ([`crate::cycles`]) needs.
    pub fn timing(&self) -> crate::cycles::Timing {
        use crate::config::ArrayShape;
        let shape = match self.geometry {
            Geometry::Systolic { rows, cols } => ArrayShape::Systolic { rows, cols },
            Geometry::Dot { lanes } => ArrayShape::Dot { lanes },
            Geometry::Single => ArrayShape::Single,
        };
        crate::cycles::Timing::new(&shape, self.pipeline, u64::from(self.pe.macs_per_cycle))
    }

    /// Dense multiply-accumulates the array retires per cycle at best.
    pub fn peak_macs_per_cycle(&self) -> u64 {
        u64::from(self.pe_count) * u64::from(self.pe.macs_per_cycle)
    }
}

impl PeModel {
    pub fn mac8x8(psum_bits: u32) -> PeModel {
        PeModel {
            label: PeKind::Mac8x8.label(),
            compute_act_bits: 8,
            compute_weight_bits: 8,
            macs_per_cycle: PeKind::Mac8x8.activations_per_cycle(),
            products_per_cycle: PeKind::Mac8x8.products_per_cycle(),
            act_bits: PeKind::Mac8x8.act_code_bits(),
            weight_bits: PeKind::Mac8x8.weight_code_bits(),
            weight_keep: (1, 1),
            psum_bits,
            sparq: None,
        }
    }
}
