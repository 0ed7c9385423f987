//! A SPARQ PE's decode: narrow and wide windows, the one-hot shift sources
//! of both multipliers, and the activation code a systolic row carries.

use super::window::WindowPlan;
use super::{operand, Decode, Mult, Operand, OPERAND_BITS};
use crate::config::{PeKind, SparqArith};

/// The vSPARQ wide path of a SPARQ PE with pair sharing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidePath {
    /// `None` when n = 4: the wide window is the exact 8-bit value.
    pub window: Option<WindowPlan>,
    /// n: the wide code's upper half goes to multiplier 1 at shift `S + n`.
    pub n: u32,
}

/// Where bit j of a multiplier's one-hot shift comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftSource {
    pub bit: u32,
    pub amount: u32,
    /// The narrow window's select bit with this shift.
    pub narrow: Option<u32>,
    /// On the wide path: always this shift (n = 4, exact), the wide
    /// window's select bit, or never.
    pub wide: WideSource,
}

/// One bit of a generated vector: a constant, or bit `k` of a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bit<'a> {
    Const(bool),
    Of(&'a str, u32),
}

/// The Verilog of a vector given its bits, highest first: runs of
/// consecutive bits of one signal become one part select and runs of
/// constants one literal, so the simulator sees word operations, not a
/// concatenation of single bits. Same logic either way.
fn concat(bits: &[Bit]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < bits.len() {
        let mut j = i + 1;
        match bits[i] {
            Bit::Const(_) => {
                while j < bits.len() && matches!(bits[j], Bit::Const(_)) {
                    j += 1;
                }
                let digits: String = bits[i..j]
                    .iter()
                    .map(|b| if *b == Bit::Const(true) { '1' } else { '0' })
                    .collect();
                parts.push(format!("{}'b{digits}", j - i));
            }
            Bit::Of(sig, hi) => {
                while j < bits.len()
                    && hi
                        .checked_sub((j - i) as u32)
                        .is_some_and(|b| bits[j] == Bit::Of(sig, b))
                {
                    j += 1;
                }
                let lo = hi + 1 - (j - i) as u32;
                parts.push(if hi == lo {
                    format!("{sig}[{hi}]")
                } else {
                    format!("{sig}[{hi}:{lo}]")
                });
            }
        }
        i = j;
    }
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        format!("{{{}}}", parts.join(", "))
    }
}

impl SparqDecode {
    fn sources(&self, mult: u32) -> &[ShiftSource] {
        if mult == 1 {
            &self.shift1
        } else {
            &self.shift2
        }
    }

    /// Multiplier `mult`'s one-hot shift on the narrow path: its window's
    /// select `sel<mult>` placed at the shifts it stands for.
    pub fn narrow_shifts(&self, mult: u32) -> String {
        let sel = if mult == 1 { "sel1" } else { "sel2" };
        let bits: Vec<Bit> = self
            .sources(mult)
            .iter()
            .rev()
            .map(|x| x.narrow.map_or(Bit::Const(false), |k| Bit::Of(sel, k)))
            .collect();
        concat(&bits)
    }

    /// Multiplier `mult`'s one-hot shift on the vSPARQ wide path: the wide
    /// window's select `wsel` (or a constant, n = 4) at the shifts it
    /// stands for.
    pub fn wide_shifts(&self, mult: u32) -> String {
        let bits: Vec<Bit> = self
            .sources(mult)
            .iter()
            .rev()
            .map(|x| match x.wide {
                WideSource::Never => Bit::Const(false),
                WideSource::Always => Bit::Const(true),
                WideSource::Bit(k) => Bit::Of("wsel", k),
            })
            .collect();
        concat(&bits)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WideSource {
    Never,
    Always,
    Bit(u32),
}

/// Decode of a SPARQ PE: operand selection (dense or 2:4), windows, routing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparqDecode {
    pub stc: bool,
    pub window: WindowPlan,
    pub wide: Option<WidePath>,
    pub n: u32,
    /// Per multiplier (1, 2): the sources of its one-hot shift bits.
    pub shift1: Vec<ShiftSource>,
    pub shift2: Vec<ShiftSource>,
}

/// One field of a dense SPARQ PE's activation code: `code[lsb +: bits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeField {
    /// `c1`, `s1`, `c2`, `s2`, `swap1`, `swap2`: the decode's output port
    /// without `_o`.
    pub name: String,
    pub lsb: u32,
    pub bits: u32,
}

/// What a dense SPARQ decode makes of one activation pair, without the
/// weights: the codes and one-hot shifts of both multipliers and, with pair
/// sharing, which weight each multiplier takes. A systolic array trims each
/// row's activations once, at its left edge, and passes this code along the
/// row; the weight routing (`swap1`/`swap2`) happens in every PE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActCode {
    /// Lowest bits first.
    pub fields: Vec<CodeField>,
    pub bits: u32,
    /// `swap1`/`swap2` are present (pair sharing).
    pub route: bool,
}

impl ActCode {
    /// Weight `j`'s byte in `bus` ([`PeKind::wgt_field`]): the weights
    /// are routed after the code, in every PE.
    pub fn wgt(&self, bus: &str, j: u32) -> String {
        PeKind::wgt_field(j).select(bus)
    }
}

impl CodeField {
    /// The part select of this field in the code: `[8:4]`, or `[18]`.
    pub fn select(&self) -> String {
        if self.bits == 1 {
            format!("[{}]", self.lsb)
        } else {
            format!("[{}:{}]", self.lsb + self.bits - 1, self.lsb)
        }
    }

    /// The declaration's range with its trailing space: `[3:0] `, or
    /// nothing for one bit.
    pub fn range(&self) -> String {
        if self.bits == 1 {
            String::new()
        } else {
            format!("[{}:0] ", self.bits - 1)
        }
    }
}

impl ActCode {
    /// The code of windows of `n` bits whose multipliers take `shifts1` and
    /// `shifts2` one-hot shifts; `route`: with pair sharing.
    pub(super) fn new(n: u32, shifts1: u32, shifts2: u32, route: bool) -> ActCode {
        let mut widths = vec![("c1", n), ("s1", shifts1), ("c2", n), ("s2", shifts2)];
        if route {
            widths.extend([("swap1", 1), ("swap2", 1)]);
        }
        let mut lsb = 0;
        let fields = widths
            .into_iter()
            .map(|(name, bits)| {
                let f = CodeField {
                    name: name.to_string(),
                    lsb,
                    bits,
                };
                lsb += bits;
                f
            })
            .collect();
        ActCode {
            fields,
            bits: lsb,
            route,
        }
    }
}

type SparqParts = (Vec<Operand>, Vec<Mult>, Decode);

pub(super) fn sparq_plan(name: &str, s: &SparqArith) -> SparqParts {
    let narrow = s.placements.window();
    let n = narrow.bits;
    let window = WindowPlan::new(
        format!("{name}_window"),
        s.placements.name(),
        narrow,
        s.rounding,
    );
    let wide_w = s.placements.wide_window();
    assert_eq!(
        wide_w.bits,
        2 * n,
        "the wide window is the pair's whole budget"
    );
    // the shifts each multiplier's product can take
    let mut shifts1: Vec<u32> = narrow.shifts.to_vec();
    let mut shifts2: Vec<u32> = narrow.shifts.to_vec();
    if s.pair_sharing {
        shifts1.extend(wide_w.shifts.iter().map(|&sw| sw + n));
        shifts2.extend(wide_w.shifts.iter().copied());
    }
    let mults = vec![
        Mult::new(1, n, Some(shifts1)),
        Mult::new(2, n, Some(shifts2)),
    ];
    let wide = s.pair_sharing.then(|| WidePath {
        window: (wide_w.bits < OPERAND_BITS).then(|| {
            let set_name = if wide_w.bits == 6 { "wide6" } else { "wide4" };
            WindowPlan::new(format!("{name}_wide_window"), set_name, wide_w, s.rounding)
        }),
        n,
    });
    let sources = |m: &Mult, offset: u32| -> Vec<ShiftSource> {
        m.shifts
            .iter()
            .map(|sh| ShiftSource {
                bit: sh.bit,
                amount: sh.amount,
                narrow: window
                    .placements
                    .iter()
                    .find(|p| p.shift == sh.amount)
                    .map(|p| p.index),
                wide: match &wide {
                    None => WideSource::Never,
                    Some(WidePath { window: None, .. }) => {
                        // exact: the 8-bit value at shift 0, halves at n and 0
                        if sh.amount == offset {
                            WideSource::Always
                        } else {
                            WideSource::Never
                        }
                    }
                    Some(WidePath {
                        window: Some(ww), ..
                    }) => ww
                        .placements
                        .iter()
                        .find(|p| p.shift + offset == sh.amount)
                        .map_or(WideSource::Never, |p| WideSource::Bit(p.index)),
                },
            })
            .collect()
    };
    let shift1 = sources(&mults[0], n);
    let shift2 = sources(&mults[1], 0);
    debug_assert!(mults.iter().all(|m| m.bit_of(0).is_some()));
    let operands = vec![
        operand("c1", n, "multiplier 1: window code (unsigned)"),
        operand(
            "s1",
            mults[0].shifts.len() as u32,
            "multiplier 1: product shift, one-hot",
        ),
        operand("w1", OPERAND_BITS, "multiplier 1: weight (signed)"),
        operand("c2", n, "multiplier 2: window code (unsigned)"),
        operand(
            "s2",
            mults[1].shifts.len() as u32,
            "multiplier 2: product shift, one-hot",
        ),
        operand("w2", OPERAND_BITS, "multiplier 2: weight (signed)"),
    ];
    (
        operands,
        mults,
        Decode::Sparq(SparqDecode {
            stc: s.stc,
            window,
            wide,
            n,
            shift1,
            shift2,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlacementSet, Rounding};

    /// The decode plan (windows, wide path, one-hot shift sources) computes
    /// what the model does, for every pair of every SPARQ configuration.
    #[test]
    fn decode_plans_match_the_model() {
        use crate::arith::sparq_pair;
        for set in PlacementSet::ALL {
            for rounding in Rounding::ALL {
                for pair_sharing in [true, false] {
                    let arith = SparqArith {
                        placements: set,
                        rounding,
                        pair_sharing,
                        stc: false,
                    };
                    let (_, mults, decode) = sparq_plan("x", &arith);
                    let Decode::Sparq(d) = decode else {
                        unreachable!()
                    };
                    let n = d.n;
                    for a1 in 0..=255u8 {
                        for a2 in 0..=255u8 {
                            // the value each multiplier's code is worth, per the plan
                            let (q1, s1) = d.window.eval(a1);
                            let (q2, s2) = d.window.eval(a2);
                            let nsel = |s: u32| {
                                d.window
                                    .placements
                                    .iter()
                                    .find(|p| p.shift == s)
                                    .unwrap()
                                    .index
                            };
                            let wide = d.wide.is_some() && (a1 == 0 || a2 == 0);
                            let lone = if a1 == 0 { a2 } else { a1 };
                            let (qw, sw) = match d.wide.as_ref().and_then(|w| w.window.as_ref()) {
                                Some(ww) => ww.eval(lone),
                                None => (u32::from(lone), 0),
                            };
                            let wsel = |s: u32| {
                                d.wide.as_ref().and_then(|w| w.window.as_ref()).map(|ww| {
                                    ww.placements.iter().find(|p| p.shift == s).unwrap().index
                                })
                            };
                            let value = |src: &[ShiftSource], code: u32, ns: u32| -> u32 {
                                let hot: Vec<&ShiftSource> = src
                                    .iter()
                                    .filter(|x| {
                                        if wide {
                                            match x.wide {
                                                WideSource::Never => false,
                                                WideSource::Always => true,
                                                WideSource::Bit(k) => Some(k) == wsel(sw),
                                            }
                                        } else {
                                            x.narrow == Some(nsel(ns))
                                        }
                                    })
                                    .collect();
                                assert_eq!(hot.len(), 1, "{set} one-hot");
                                code << hot[0].amount
                            };
                            let mask = (1u32 << n) - 1;
                            let (c1, c2) = if wide {
                                ((qw >> n) & mask, qw & mask)
                            } else {
                                (q1, q2)
                            };
                            let v1 = value(&d.shift1, c1, s1);
                            let v2 = value(&d.shift2, c2, s2);
                            let (h1, h2) = sparq_pair(a1, a2, &arith);
                            if wide {
                                assert_eq!(
                                    v1 + v2,
                                    u32::from(h1) + u32::from(h2),
                                    "{set} {a1} {a2}"
                                );
                            } else {
                                assert_eq!(
                                    (v1, v2),
                                    (u32::from(h1), u32::from(h2)),
                                    "{set} {a1} {a2}"
                                );
                            }
                        }
                    }
                    assert_eq!(mults[0].shifts.len(), d.shift1.len());
                }
            }
        }
    }

    #[test]
    fn vectors_merge_runs_of_bits_and_constants() {
        use Bit::{Const, Of};
        assert_eq!(concat(&[Of("s", 4), Of("s", 3), Of("s", 2)]), "s[4:2]");
        assert_eq!(
            concat(&[Const(true), Const(false), Of("s", 0)]),
            "{2'b10, s[0]}"
        );
        assert_eq!(
            concat(&[Of("a", 2), Of("a", 0), Of("b", 1), Const(false)]),
            "{a[2], a[0], b[1], 1'b0}"
        );
    }
}
