//! What one PE cycle must compute, from the model: the operand layout of
//! each encoding (verif/INTERFACE.md) and the coefficients `(h1, h2)` with
//! which the product sum is `h1*b1 + h2*b2`, read from the model's own
//! pair table ([`crate::arith::Model::pair`]), never from the RTL.
//!
//! A proof is split into cases over the inputs that steer (2:4 indices,
//! and whether each weight is zero: a zero weight removes its activation
//! from the pair). Within a case the activations that matter are at most
//! 16 bits and the weights two bytes.

use crate::arith::Model;
use crate::config::{Design, PeKind};

/// The domain of one weight byte in a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Every value -128..=127.
    All,
    /// Every value but 0.
    NonZero,
    /// Only 0 (the byte is fixed, not enumerated).
    Zero,
}

/// One case of a PE's input space.
#[derive(Debug, Clone)]
pub struct Case {
    /// Human-readable: `dense`, `idx1=2 idx2=0 b1!=0 b2=0`, ...
    pub label: String,
    /// Fixed bits of the PE's `wgt` operand (bit, value): indices, zero bytes.
    pub wgt_fixed: Vec<(usize, bool)>,
    /// Bit offset of b1 and b2 in `wgt` (b2 absent for mac8x8) and their domains.
    pub b1: (usize, Domain),
    pub b2: Option<(usize, Domain)>,
    /// `act` bits the model reads in this case.
    pub act_support: Vec<usize>,
    /// 2:4: the activation slot each multiplier takes, None if removed.
    pub stc_idx: Option<(Option<usize>, Option<usize>)>,
}

/// The layout and arithmetic of one PE kind.
pub struct Spec {
    pub kind: PeKind,
    pub act_bits: usize,
    pub wgt_bits: usize,
    model: Model,
}

impl Spec {
    pub fn new(design: &Design) -> Spec {
        let (act_bits, wgt_bits) = match design.pe().kind() {
            PeKind::Sparq(s) if s.stc => (32, 20),
            PeKind::Sparq(_) => (16, 16),
            PeKind::Mac8x8 => (8, 8),
            PeKind::Mac4x8 => (8, 16),
        };
        Spec {
            kind: design.pe().kind(),
            act_bits,
            wgt_bits,
            model: Model::new(design),
        }
    }

    fn stc(&self) -> bool {
        matches!(self.kind, PeKind::Sparq(s) if s.stc)
    }

    /// The cases that together cover every `(act, wgt)` of one cycle.
    pub fn cases(&self) -> Vec<Case> {
        let all: Vec<usize> = (0..self.act_bits).collect();
        match self.kind {
            PeKind::Mac8x8 => vec![Case {
                label: "all".into(),
                wgt_fixed: vec![],
                b1: (0, Domain::All),
                b2: None,
                act_support: all,
                stc_idx: None,
            }],
            _ if !self.stc() => vec![Case {
                label: "all".into(),
                wgt_fixed: vec![],
                b1: (0, Domain::All),
                b2: Some((8, Domain::All)),
                act_support: all,
                stc_idx: None,
            }],
            _ => {
                let mut cases = Vec::new();
                for idx1 in 0..4usize {
                    for idx2 in 0..4usize {
                        for z1 in [false, true] {
                            for z2 in [false, true] {
                                cases.push(stc_case(idx1, idx2, z1, z2));
                            }
                        }
                    }
                }
                cases
            }
        }
    }

    /// `(h1, h2)` for the full `act` operand in `case`.
    pub fn coefficients(&self, case: &Case, act: u64) -> (i64, i64) {
        let byte = |i: usize| ((act >> (8 * i)) & 0xff) as u8;
        let (a1, a2) = match (self.kind, case.stc_idx) {
            (PeKind::Mac4x8, _) => ((act & 0xf) as u8, ((act >> 4) & 0xf) as u8),
            (PeKind::Mac8x8, _) => (byte(0), 0),
            (_, Some((i1, i2))) => (i1.map_or(0, byte), i2.map_or(0, byte)),
            _ => (byte(0), byte(1)),
        };
        let [h1, h2] = self.model.pair(a1, a2);
        (i64::from(h1), i64::from(h2))
    }

    /// The operands as a user reads them: (a1, a2, b1, b2, idx) for a
    /// counterexample.
    pub fn operands(&self, act: u64, wgt: u64) -> Operands {
        let sb = |v: u64| v as u8 as i8;
        let acts: Vec<u8> = (0..self.act_bits / 8)
            .map(|i| (act >> (8 * i)) as u8)
            .collect();
        match self.kind {
            PeKind::Mac8x8 => Operands {
                acts,
                b: vec![sb(wgt)],
                idx: None,
            },
            PeKind::Mac4x8 => Operands {
                acts: vec![(act & 0xf) as u8, ((act >> 4) & 0xf) as u8],
                b: vec![sb(wgt), sb(wgt >> 8)],
                idx: None,
            },
            _ => Operands {
                acts,
                b: vec![sb(wgt), sb(wgt >> 8)],
                idx: self
                    .stc()
                    .then_some((((wgt >> 16) & 3) as u8, ((wgt >> 18) & 3) as u8)),
            },
        }
    }
}

/// One cycle's operands, decoded for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Operands {
    /// a1, a2 (dense, mac4x8 codes), a (mac8x8) or the group a0..a3 (2:4).
    pub acts: Vec<u8>,
    /// b1, b2 (b for mac8x8).
    pub b: Vec<i8>,
    /// 2:4: (idx1, idx2).
    pub idx: Option<(u8, u8)>,
}

fn stc_case(idx1: usize, idx2: usize, z1: bool, z2: bool) -> Case {
    let dom = |z: bool| if z { Domain::Zero } else { Domain::NonZero };
    let mut wgt_fixed = Vec::new();
    for k in 0..2 {
        wgt_fixed.push((16 + k, (idx1 >> k) & 1 == 1));
        wgt_fixed.push((18 + k, (idx2 >> k) & 1 == 1));
    }
    for (z, off) in [(z1, 0), (z2, 8)] {
        if z {
            wgt_fixed.extend((off..off + 8).map(|b| (b, false)));
        }
    }
    let mut act_support = Vec::new();
    for (z, idx) in [(z1, idx1), (z2, idx2)] {
        if !z {
            for b in 8 * idx..8 * idx + 8 {
                if !act_support.contains(&b) {
                    act_support.push(b);
                }
            }
        }
    }
    Case {
        label: format!(
            "idx1={idx1} idx2={idx2} b1{} b2{}",
            if z1 { "=0" } else { "!=0" },
            if z2 { "=0" } else { "!=0" }
        ),
        wgt_fixed,
        b1: (0, dom(z1)),
        b2: Some((8, dom(z2))),
        act_support,
        stc_idx: Some(((!z1).then_some(idx1), (!z2).then_some(idx2))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_case(c: &Case, wgt: u64) -> bool {
        let fixed = c.wgt_fixed.iter().all(|&(b, v)| ((wgt >> b) & 1 == 1) == v);
        let dom = |(off, d): (usize, Domain)| {
            let byte = (wgt >> off) & 0xff;
            match d {
                Domain::All => true,
                Domain::NonZero => byte != 0,
                Domain::Zero => byte == 0,
            }
        };
        fixed && dom(c.b1) && c.b2.is_none_or(dom)
    }

    /// The cases partition the weight operand: every value of `wgt`
    /// (indices included) lies in exactly one case, for every PE kind.
    #[test]
    fn cases_partition_every_weight_operand() {
        for yaml in [
            "pe: {kind: sparq, stc: true}",
            "pe: {kind: sparq}",
            "pe: {kind: mac8x8}",
            "pe: {kind: mac4x8}",
        ] {
            let spec = Spec::new(&Design::from_yaml(yaml).unwrap());
            let cases = spec.cases();
            for wgt in 0..1u64 << spec.wgt_bits {
                let n = cases.iter().filter(|c| in_case(c, wgt)).count();
                assert_eq!(n, 1, "{yaml}: wgt 0x{wgt:x} is in {n} cases");
            }
        }
    }

    /// A case's activation support holds every activation the model reads.
    #[test]
    fn stc_support_is_what_the_model_reads() {
        let spec = Spec::new(&Design::from_yaml("pe: {kind: sparq, stc: true}").unwrap());
        for c in spec.cases() {
            for bit in 0..32 {
                let moved = [0u64, 0x8080_8080, 0x0101_0101]
                    .iter()
                    .any(|&x| spec.coefficients(&c, x) != spec.coefficients(&c, x ^ (1 << bit)));
                if moved {
                    assert!(c.act_support.contains(&bit), "{}: bit {bit}", c.label);
                }
            }
        }
    }
}
