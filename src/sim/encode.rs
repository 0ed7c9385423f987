//! Operand encodings of verif/INTERFACE.md ("Operand encodings") and one
//! lane's product, computed through the model's pair table.
//!
//! A *step* is what one PE lane consumes in one cycle: a pair of
//! activations (SPARQ dense, mac4x8), one group of four (SPARQ 2:4) or one
//! activation (mac8x8). Rows of A and B are cut into steps here, so every
//! array driver shares one encoding.

use crate::arith::{stc_pairs, ArithError, Model};
use crate::config::{Design, PeKind};

/// How a PE kind's operands sit in `act_i` / `wgt_i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `act = {a2, a1}`, `wgt = {b2, b1}`.
    SparqDense,
    /// `act = {a3, a2, a1, a0}`, `wgt = {idx2, idx1, b2, b1}`.
    SparqStc,
    /// `act = a`, `wgt = b`.
    Mac8x8,
    /// `act = {q2, q1}` (4-bit codes), `wgt = {b2, b1}`.
    Mac4x8,
}

/// One lane's operands as numbers, before [`Encoding::pack`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaneOps {
    /// Activations: the pair `(a1, a2)` in `[0]`, `[1]` (mac4x8: 4-bit
    /// codes; mac8x8: `[0]` only), a 2:4 group in all four.
    pub acts: [u8; 4],
    /// Weights `(b1, b2)` (mac8x8: `b1` only).
    pub wgts: [i8; 2],
    /// 2:4: the index in the group of the activation each weight meets.
    pub idx: [u8; 2],
}

impl Encoding {
    pub fn of(design: &Design) -> Encoding {
        match design.pe().kind() {
            PeKind::Sparq(s) if s.stc => Encoding::SparqStc,
            PeKind::Sparq(_) => Encoding::SparqDense,
            PeKind::Mac8x8 => Encoding::Mac8x8,
            PeKind::Mac4x8 => Encoding::Mac4x8,
        }
    }

    /// K positions one step covers.
    pub fn k_per_step(self) -> usize {
        match self {
            Encoding::SparqStc => 4,
            Encoding::Mac8x8 => 1,
            _ => 2,
        }
    }

    /// Steps for a reduction of length `k`.
    pub fn steps(self, k: usize) -> usize {
        k.div_ceil(self.k_per_step())
    }

    /// Pack one lane's operands into its `act_i` / `wgt_i` words: the one
    /// place that knows where each operand sits.
    #[inline]
    pub fn pack(self, l: &LaneOps) -> (u32, u32) {
        let a = |i: usize| u32::from(l.acts[i]);
        let w = |i: usize| u32::from(l.wgts[i] as u8);
        let pair = w(0) | w(1) << 8;
        match self {
            Encoding::SparqDense => (a(0) | a(1) << 8, pair),
            Encoding::SparqStc => (
                a(0) | a(1) << 8 | a(2) << 16 | a(3) << 24,
                pair | u32::from(l.idx[0] & 3) << 16 | u32::from(l.idx[1] & 3) << 18,
            ),
            Encoding::Mac8x8 => (a(0), w(0)),
            Encoding::Mac4x8 => ((a(0) & 15) | (a(1) & 15) << 4, pair),
        }
    }

    /// The operands packed in one lane's words ([`Encoding::pack`] undone).
    #[inline]
    pub fn unpack(self, act: u32, wgt: u32) -> LaneOps {
        let byte = |v: u32, i: u32| (v >> (8 * i)) as u8;
        let wgts = [wgt as u8 as i8, (wgt >> 8) as u8 as i8];
        match self {
            Encoding::SparqDense => LaneOps {
                acts: [byte(act, 0), byte(act, 1), 0, 0],
                wgts,
                idx: [0, 0],
            },
            Encoding::SparqStc => LaneOps {
                acts: [byte(act, 0), byte(act, 1), byte(act, 2), byte(act, 3)],
                wgts,
                idx: [((wgt >> 16) & 3) as u8, ((wgt >> 18) & 3) as u8],
            },
            Encoding::Mac8x8 => LaneOps {
                acts: [act as u8, 0, 0, 0],
                wgts: [wgts[0], 0],
                idx: [0, 0],
            },
            Encoding::Mac4x8 => LaneOps {
                acts: [(act & 15) as u8, ((act >> 4) & 15) as u8, 0, 0],
                wgts,
                idx: [0, 0],
            },
        }
    }

    /// Activation word of step `s` of row `a` (positions past the end read
    /// as zero: odd K pairs the last activation with a zero).
    pub fn act_step(self, a: &[u8], s: usize) -> u32 {
        let k = self.k_per_step();
        let mut acts = [0u8; 4];
        for (i, v) in acts.iter_mut().enumerate().take(k) {
            *v = a.get(k * s + i).copied().unwrap_or(0);
        }
        self.pack(&LaneOps {
            acts,
            ..LaneOps::default()
        })
        .0
    }

    /// Activation words of every step of row `a`.
    pub fn act_steps(self, a: &[u8]) -> Vec<u32> {
        (0..self.steps(a.len()))
            .map(|s| self.act_step(a, s))
            .collect()
    }

    /// Weight words of every step of row `b` (2:4 rows are compressed with
    /// [`stc_pairs`], exactly as the model pairs them).
    pub fn wgt_steps(self, b: &[i8], row: usize) -> Result<Vec<u32>, ArithError> {
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let wgt = |wgts: [i8; 2], idx: [u8; 2]| {
            self.pack(&LaneOps {
                wgts,
                idx,
                ..LaneOps::default()
            })
            .1
        };
        Ok(match self {
            Encoding::SparqDense | Encoding::Mac4x8 => (0..self.steps(b.len()))
                .map(|s| wgt([at(2 * s), at(2 * s + 1)], [0, 0]))
                .collect(),
            Encoding::Mac8x8 => (0..b.len()).map(|i| wgt([at(i), 0], [0, 0])).collect(),
            Encoding::SparqStc => {
                let k = b.len();
                stc_pairs(b, row)?
                    .into_iter()
                    .enumerate()
                    .map(|(g, [(k1, b1), (k2, b2)])| {
                        let idx = |kk: usize| if kk >= k { 0 } else { (kk - 4 * g) as u8 };
                        wgt([b1, b2], [idx(k1), idx(k2)])
                    })
                    .collect()
            }
        })
    }

    /// The activations a lane's two weights meet: the pair itself, or in
    /// 2:4 `a[idx_j]` (a slot with weight zero meets activation 0).
    #[inline]
    fn selected(self, l: &LaneOps) -> [u8; 2] {
        match self {
            Encoding::SparqStc => {
                let sel = |j: usize| {
                    if l.wgts[j] == 0 {
                        0
                    } else {
                        l.acts[usize::from(l.idx[j] & 3)]
                    }
                };
                [sel(0), sel(1)]
            }
            _ => [l.acts[0], l.acts[1]],
        }
    }

    /// The product one lane adds for these operands, through the model's
    /// pair table (INTERFACE.md: `h1*b1 + h2*b2`; 2:4 selects `a[idx_j]`, a
    /// slot with weight zero contributes activation 0).
    #[inline]
    pub fn product(self, model: &Model, act: u32, wgt: u32) -> i64 {
        let l = self.unpack(act, wgt);
        let [x1, x2] = self.selected(&l);
        let [h1, h2] = model.pair(x1, x2);
        i64::from(h1) * i64::from(l.wgts[0]) + i64::from(h2) * i64::from(l.wgts[1])
    }

    /// Human-readable operands of one lane.
    pub fn describe(self, model: &Model, act: u32, wgt: u32) -> String {
        let l = self.unpack(act, wgt);
        let [b1, b2] = l.wgts;
        let [x1, x2] = self.selected(&l);
        let [h1, h2] = model.pair(x1, x2);
        match self {
            Encoding::SparqDense => {
                format!("a=({x1}, {x2}) w=({b1}, {b2}); model trims a to ({h1}, {h2})")
            }
            Encoding::SparqStc => {
                let [i1, i2] = l.idx;
                format!(
                    "group a={:?} w=({b1}, {b2}) idx=({i1}, {i2}); pair ({x1}, {x2}) trims to ({h1}, {h2})",
                    l.acts
                )
            }
            Encoding::Mac8x8 => format!("a={x1} w={b1}"),
            Encoding::Mac4x8 => format!("q=({x1}, {x2}) w=({b1}, {b2})"),
        }
    }

    /// Largest-magnitude activation a lane takes.
    pub fn act_max(self) -> u32 {
        match self {
            Encoding::Mac4x8 => 15,
            _ => 255,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn design(yaml: &str) -> Design {
        Design::from_yaml(yaml).unwrap()
    }

    /// Every operand lands where the design's one layout puts it
    /// ([`PeKind::act_field`], [`PeKind::wgt_field`], [`PeKind::idx_field`]),
    /// the same part selects the generated decode reads.
    #[test]
    fn operands_sit_at_the_fields_the_rtl_reads() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for yaml in [
            "pe: {kind: sparq}",
            "pe: {kind: sparq, stc: true}",
            "pe: {kind: mac8x8}",
            "pe: {kind: mac4x8}",
        ] {
            let d = design(yaml);
            let kind = d.pe().kind();
            let enc = Encoding::of(&d);
            for _ in 0..1000 {
                let mask = (1u32 << kind.act_code_bits()) - 1;
                let l = LaneOps {
                    acts: std::array::from_fn(|_| (next() as u32 & mask) as u8),
                    wgts: std::array::from_fn(|_| next() as u8 as i8),
                    idx: std::array::from_fn(|_| (next() & 3) as u8),
                };
                let (act, wgt) = enc.pack(&l);
                for i in 0..kind.activations_per_cycle() {
                    let got = kind.act_field(i).get(act);
                    assert_eq!(got, u32::from(l.acts[i as usize]), "{yaml} a{i}");
                }
                for j in 0..kind.products_per_cycle() {
                    let got = PeKind::wgt_field(j).get(wgt);
                    assert_eq!(got, u32::from(l.wgts[j as usize] as u8), "{yaml} b{j}");
                    if let Some(f) = kind.idx_field(j) {
                        assert_eq!(f.get(wgt), u32::from(l.idx[j as usize]), "{yaml} idx{j}");
                    }
                }
            }
        }
    }

    /// The words the encoding packs fill the lane widths of the design's
    /// one definition ([`PeKind::lane_bits`]) exactly: the top bit is used,
    /// nothing lands above it.
    #[test]
    fn words_fill_the_lane_widths() {
        for (yaml, want) in [
            ("pe: {kind: sparq}", (16, 16)),
            ("pe: {kind: sparq, stc: true}", (32, 20)),
            ("pe: {kind: mac8x8}", (8, 8)),
            ("pe: {kind: mac4x8}", (8, 16)),
        ] {
            let d = design(yaml);
            let (aw, ww) = d.pe().kind().lane_bits();
            assert_eq!((aw, ww), want, "{yaml}");
            let enc = Encoding::of(&d);
            let act = enc.act_step(&[255; 4], 0);
            assert_eq!(32 - act.leading_zeros(), aw, "{yaml}: act {act:#x}");
            // 2:4: the second kept weight at index 3 sets the top index bit
            let b: &[i8] = if enc == Encoding::SparqStc {
                &[0, 0, -1, -1]
            } else {
                &[-1; 4]
            };
            let wgt = enc.wgt_steps(b, 0).unwrap()[0];
            assert_eq!(32 - wgt.leading_zeros(), ww, "{yaml}: wgt {wgt:#x}");
        }
    }

    /// The encoding's per-step products add up to the model's GEMM.
    #[test]
    fn steps_reproduce_the_model_gemm() {
        for yaml in [
            "pe: {kind: sparq}",
            "pe: {kind: sparq, stc: true}",
            "pe: {kind: mac8x8}",
            "pe: {kind: mac4x8}",
            "pe: {kind: sparq, window_bits: 2, placements: 7, rounding: truncate}",
        ] {
            let d = design(yaml);
            let enc = Encoding::of(&d);
            let model = Model::new(&d);
            let k = 11;
            let a: Vec<u8> = (0..k)
                .map(|i| ((i * 37 + 5) % 256) as u8 & if enc.act_max() == 15 { 15 } else { 255 })
                .collect();
            let b: Vec<i8> = (0..k)
                .map(|i| {
                    if enc == Encoding::SparqStc && i % 4 >= 2 {
                        0
                    } else {
                        (i as i8).wrapping_mul(23).wrapping_sub(100)
                    }
                })
                .collect();
            let want = model
                .gemm(
                    &crate::arith::Tensor::new(vec![1, k], a.clone()),
                    &crate::arith::Tensor::new(vec![1, k], b.clone()),
                )
                .unwrap()
                .data[0];
            let w = enc.wgt_steps(&b, 0).unwrap();
            let got: i64 = (0..enc.steps(k))
                .map(|s| enc.product(&model, enc.act_step(&a, s), w[s]))
                .sum();
            assert_eq!(got, i64::from(want), "{yaml}");
        }
    }
}
