//! What a processing element computes and the values derived from it:
//! labels, operand widths, products and activations per cycle.

use super::{field_err, limits, DesignError, PlacementSet, Rounding};
use serde::{Deserialize, Serialize};

/// The arithmetic of a SPARQ PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SparqArith {
    pub placements: PlacementSet,
    pub rounding: Rounding,
    /// vSPARQ: a zero activation gives its partner the whole budget.
    pub pair_sharing: bool,
    /// Weights are 2:4 structured sparse (4 activations, 2 weights in).
    pub stc: bool,
}

/// What a processing element computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeKind {
    Sparq(SparqArith),
    /// One exact 8b x 8b product per cycle.
    Mac8x8,
    /// Two 4b x 8b products per cycle on pre-quantized 4-bit activations.
    Mac4x8,
}

impl PeKind {
    /// The PE's short label, the one every table, report, plot and file name
    /// uses: `sparq 5opt round`, `sparq 3opt trunc bsparq stc`, `mac8x8`, ...
    /// Names `bsparq` when pair sharing is off and `stc` for 2:4 weights.
    pub fn label(&self) -> String {
        match self {
            PeKind::Sparq(s) => format!(
                "sparq {} {}{}{}",
                s.placements.name(),
                s.rounding.short(),
                if s.pair_sharing { "" } else { " bsparq" },
                if s.stc { " stc" } else { "" }
            ),
            other => other.name().to_string(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            PeKind::Sparq(_) => "sparq",
            PeKind::Mac8x8 => "mac8x8",
            PeKind::Mac4x8 => "mac4x8",
        }
    }

    /// Largest activation value the PE accepts.
    pub fn act_max(&self) -> u8 {
        match self {
            PeKind::Mac4x8 => 15,
            _ => 255,
        }
    }

    /// Products summed by one PE per cycle (its activation throughput on
    /// dense data).
    pub fn products_per_cycle(&self) -> u32 {
        match self {
            PeKind::Mac8x8 => 1,
            _ => 2,
        }
    }

    /// Activations consumed per PE per cycle (2:4 SPARQ reads four, of which
    /// at most two have a non-zero weight).
    pub fn activations_per_cycle(&self) -> u32 {
        match self {
            PeKind::Sparq(s) if s.stc => 4,
            PeKind::Mac8x8 => 1,
            _ => 2,
        }
    }

    /// Bits of one activation as the PE reads it: 4-bit codes for mac4x8,
    /// the 8-bit value otherwise.
    pub fn act_code_bits(&self) -> u32 {
        match self {
            PeKind::Mac4x8 => 4,
            _ => 8,
        }
    }

    /// Bits of one weight as the PE reads it: the signed 8-bit value, and
    /// for 2:4 SPARQ the 2-bit index of its position in the group of four.
    pub fn weight_code_bits(&self) -> u32 {
        match self {
            PeKind::Sparq(s) if s.stc => 8 + 2,
            _ => 8,
        }
    }

    /// Widths of one lane's slice of `act_i` and `wgt_i` (the operand
    /// encodings of the PE interface): every activation and every weight
    /// one PE takes per cycle. SPARQ 16/16, SPARQ 2:4 32/20, mac8x8 8/8,
    /// mac4x8 8/16.
    pub fn lane_bits(&self) -> (u32, u32) {
        (
            self.activations_per_cycle() * self.act_code_bits(),
            self.products_per_cycle() * self.weight_code_bits(),
        )
    }

    /// Where activation `i` sits in one lane's `act_i` slice: codes of
    /// [`PeKind::act_code_bits`] each, activation 0 lowest.
    pub fn act_field(&self, i: u32) -> Field {
        let bits = self.act_code_bits();
        Field {
            lsb: i * bits,
            bits,
        }
    }

    /// Where weight `j`'s signed byte sits in one lane's `wgt_i` slice:
    /// bytes, weight 0 lowest, for every kind.
    pub fn wgt_field(j: u32) -> Field {
        Field {
            lsb: 8 * j,
            bits: 8,
        }
    }

    /// 2:4 SPARQ: where weight `j`'s index in the group of four sits, after
    /// all the weight bytes. `None` for kinds without indices.
    pub fn idx_field(&self, j: u32) -> Option<Field> {
        let bits = self.weight_code_bits() - 8;
        (bits > 0).then(|| Field {
            lsb: 8 * self.products_per_cycle() + j * bits,
            bits,
        })
    }
}

/// One operand's place in a lane's `act_i` / `wgt_i` slice: bits
/// `lsb ..= lsb + bits - 1`. The generated Verilog's part selects and the
/// co-simulation's packing both follow [`PeKind::act_field`],
/// [`PeKind::wgt_field`] and [`PeKind::idx_field`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub lsb: u32,
    pub bits: u32,
}

impl Field {
    /// The field's highest bit.
    pub fn msb(self) -> u32 {
        self.lsb + self.bits - 1
    }

    /// The Verilog part select of the field in `bus`: `act_i[15:8]`.
    pub fn select(self, bus: &str) -> String {
        format!("{bus}[{}:{}]", self.msb(), self.lsb)
    }

    /// The field's value in `word`.
    pub fn get(self, word: u32) -> u32 {
        (word >> self.lsb) & ((1u32 << self.bits) - 1)
    }
}

/// Register stages inside the PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u32", try_from = "u32")]
pub struct Pipeline(u32);

impl Pipeline {
    pub const MAX: u32 = 2;
    pub fn stages(self) -> u32 {
        self.0
    }

    /// Cycles from presenting operands to seeing their product in the
    /// accumulator: one edge per register stage plus the accumulator's.
    pub fn latency_cycles(self) -> u32 {
        Pipeline::latency_for(self.0)
    }

    /// [`Pipeline::latency_cycles`] for a stage count that is not a
    /// validated pipeline (the HCM architecture points).
    pub fn latency_for(stages: u32) -> u32 {
        stages + 1
    }
}

impl From<Pipeline> for u32 {
    fn from(p: Pipeline) -> u32 {
        p.0
    }
}

impl TryFrom<u32> for Pipeline {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, String> {
        if v <= Pipeline::MAX {
            Ok(Pipeline(v))
        } else {
            Err(format!("{v} is not allowed (allowed: 0, 1, 2)"))
        }
    }
}

impl Pipeline {
    /// `stages` as a pipeline, or the error naming `pe.pipeline`.
    pub fn new(stages: u32) -> Result<Pipeline, DesignError> {
        Pipeline::try_from(stages).map_err(|m| field_err("pe.pipeline", m))
    }
}

/// A validated processing element: its kind, accumulator width and
/// pipeline depth. Fields are private; [`Pe::new`] checks them, so a `Pe`
/// always holds an accumulator width the schema allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Pe {
    #[serde(flatten)]
    kind: PeKind,
    acc_bits: u32,
    pipeline: Pipeline,
    /// Datapath flip-flops (pipeline operand and sum registers, a systolic
    /// array's activation and weight skew registers) have the reset. False
    /// drops it for ASIC area; accumulators and valid/clear keep theirs.
    /// Serialized only when false, so designs without it hash as before.
    #[serde(skip_serializing_if = "is_true")]
    datapath_reset: bool,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// `acc_bits` if the schema allows it (`2..=ACC_BITS_MAX`; whether it holds
/// one cycle's sum depends on the array, which `Design::new` checks).
fn check_acc_bits(acc_bits: u32) -> Result<u32, DesignError> {
    if (2..=limits::ACC_BITS_MAX).contains(&acc_bits) {
        Ok(acc_bits)
    } else {
        Err(field_err(
            "pe.acc_bits",
            format!(
                "{acc_bits} is not allowed (allowed: enough for one cycle's sum ..= {})",
                limits::ACC_BITS_MAX
            ),
        ))
    }
}

impl Pe {
    /// A PE, or the error naming `pe.acc_bits` when the width is outside
    /// `2..=ACC_BITS_MAX` (whether it is wide enough for one cycle's sum
    /// depends on the array; [`Design::new`](super::Design::new) checks that).
    pub fn new(kind: PeKind, acc_bits: u32, pipeline: Pipeline) -> Result<Pe, DesignError> {
        Ok(Pe {
            kind,
            acc_bits: check_acc_bits(acc_bits)?,
            pipeline,
            datapath_reset: true,
        })
    }

    /// This PE computing `kind`; the other fields stay.
    pub fn with_kind(self, kind: PeKind) -> Pe {
        Pe { kind, ..self }
    }

    /// This PE with another accumulator width (checked as in [`Pe::new`]).
    pub fn with_acc_bits(self, acc_bits: u32) -> Result<Pe, DesignError> {
        Ok(Pe {
            acc_bits: check_acc_bits(acc_bits)?,
            ..self
        })
    }

    /// This PE with or without the reset on its datapath flip-flops.
    pub fn with_datapath_reset(self, datapath_reset: bool) -> Pe {
        Pe {
            datapath_reset,
            ..self
        }
    }

    /// Whether datapath flip-flops have the reset (default true).
    pub fn datapath_reset(&self) -> bool {
        self.datapath_reset
    }

    /// What the PE computes.
    pub fn kind(&self) -> PeKind {
        self.kind
    }

    /// Accumulator width in bits (two's complement).
    pub fn acc_bits(&self) -> u32 {
        self.acc_bits
    }

    /// Register stages inside the PE.
    pub fn pipeline(&self) -> Pipeline {
        self.pipeline
    }

    /// SPARQ arithmetic, if this is a SPARQ PE.
    pub fn sparq(&self) -> Option<&SparqArith> {
        match &self.kind {
            PeKind::Sparq(s) => Some(s),
            _ => None,
        }
    }
}
