//! The microarchitecture of one design, derived from the validated
//! [`Design`] and nothing else: window tables from
//! [`PlacementSet::window`]/[`PlacementSet::wide_window`], rounding from
//! [`Rounding`], operand layouts from the PE kind. Templates only lay these
//! numbers out; no width or table is typed twice.

use crate::config::{ArrayShape, Design, PeKind, Rounding, SparqArith, Window};

/// Activations and weights are 8 bits wide.
pub const OPERAND_BITS: u32 = 8;
/// A shifted SPARQ product `(q << s) * b` with `q << s <= 255` fits 16
/// signed bits (|255 * -128| = 32640).
pub const SHIFTED_PRODUCT_BITS: u32 = 16;

/// One placement of a window: the window's bits are `a[msb:shift]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// Bit of the window's one-hot select (0 for the lowest shift).
    pub index: u32,
    /// The shift `s` (the window's lowest bit).
    pub shift: u32,
    /// Highest bit of the window, `s + n - 1`.
    pub msb: u32,
    /// `2^(s+n)`: the placement fits every activation below it. `None` for
    /// the highest placement, which takes everything that fits no lower one.
    pub limit: Option<u32>,
    /// Rounding bits (round half even, `s > 0`): `R = a[s-1]`, `L = a[s]`,
    /// `T = |a[s-2:0]` when `s >= 2`.
    pub round: Option<RoundBits>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoundBits {
    /// Index of the first dropped bit `R`.
    pub r: u32,
    /// Index of the window's LSB `L`.
    pub l: u32,
    /// Highest index of the sticky bits `T` (`a[t:0]`), if any.
    pub sticky_msb: Option<u32>,
}

/// One window module (`N_window` or `N_wide_window`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPlan {
    pub module: String,
    /// `5opt`, ..., `wide6`, `wide4`.
    pub set_name: String,
    /// Window width n.
    pub bits: u32,
    pub round: bool,
    /// Placements, lowest shift first: bit k of the one-hot select is
    /// `placements[k]`. The last one (the highest) has no limit.
    pub placements: Vec<Placement>,
}

impl WindowPlan {
    pub fn new(module: String, set_name: &str, w: Window, rounding: Rounding) -> WindowPlan {
        let n = w.bits;
        let round = rounding == Rounding::RoundHalfEven;
        let highest = w.shifts[0];
        assert!(
            w.shifts.len() >= 2,
            "a window module has a choice of placements"
        );
        let placements = w
            .shifts
            .iter()
            .rev()
            .enumerate()
            .map(|(k, &s)| {
                assert!(s + n <= OPERAND_BITS, "window {set_name} leaves 8 bits");
                Placement {
                    index: k as u32,
                    shift: s,
                    msb: s + n - 1,
                    limit: (s != highest).then_some(1u32 << (s + n)),
                    // `then`, not `then_some`: `s - 1` must not be
                    // evaluated at s = 0 (an overflow in debug builds).
                    round: (round && s > 0).then(|| RoundBits {
                        r: s - 1,
                        l: s,
                        sticky_msb: (s >= 2).then(|| s - 2),
                    }),
                }
            })
            .collect();
        WindowPlan {
            module,
            set_name: set_name.to_string(),
            bits: n,
            round,
            placements,
        }
    }

    /// Number of placements (width of the one-hot select).
    pub fn count(&self) -> u32 {
        self.placements.len() as u32
    }

    /// Placements whose rounding can round up.
    pub fn rounded(&self) -> Vec<&Placement> {
        self.placements
            .iter()
            .filter(|p| p.round.is_some())
            .collect()
    }

    /// Software form of the selection and rounding this plan describes:
    /// used by tests to hold the plan against `arith::trim`.
    pub fn eval(&self, a: u8) -> (u32, u32) {
        let a32 = u32::from(a);
        let p = self
            .placements
            .iter()
            .find(|p| p.limit.is_none_or(|lim| a32 < lim))
            .expect("the highest placement has no limit");
        let kept = (a32 >> p.shift) & ((1 << self.bits) - 1);
        let up = p.round.is_some_and(|r| {
            let bit = |i: u32| (a32 >> i) & 1 == 1;
            let sticky = r.sticky_msb.is_some_and(|t| a32 & ((2 << t) - 1) != 0);
            bit(r.r) && (bit(r.l) || sticky)
        });
        let all_ones = (1 << self.bits) - 1;
        let q = if up && kept != all_ones {
            kept + 1
        } else {
            kept
        };
        (q, p.shift)
    }
}

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
    fn new(index: u32, code_bits: u32, shifts: Option<Vec<u32>>) -> Mult {
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
    fn bit_of(&self, amount: u32) -> Option<u32> {
        self.shifts
            .iter()
            .find(|s| s.amount == amount)
            .map(|s| s.bit)
    }
}

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
    fn new(n: u32, shifts1: u32, shifts2: u32, route: bool) -> ActCode {
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
    pub fn new(design: &Design) -> PePlan {
        let name = &design.name;
        let (act_bits, wgt_bits) = design.pe.kind.lane_bits();
        let (operands, mults, decode) = match &design.pe.kind {
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
                u64::from(design.pe.kind.products_per_cycle())
                    * u64::from(design.pe.kind.act_max())
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
            acc_bits: design.pe.acc_bits,
            pipeline: design.pe.pipeline.stages(),
            datapath_reset: design.pe.datapath_reset,
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

fn operand(name: &str, bits: u32, meaning: &str) -> Operand {
    Operand {
        name: name.to_string(),
        bits,
        meaning: meaning.to_string(),
    }
}

type SparqParts = (Vec<Operand>, Vec<Mult>, Decode);

fn sparq_plan(name: &str, s: &SparqArith) -> SparqParts {
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

/// Cycles from presenting operands to seeing their product in the
/// accumulator (`acc_o`, or the array's PE accumulators).
pub fn latency_cycles(design: &Design) -> u32 {
    design.pe.pipeline.stages() + 1
}

/// Cycles with `valid_i = 0` a systolic array needs after the last valid
/// cycle before it may be drained.
pub fn flush_cycles(design: &Design) -> Option<u32> {
    match design.array {
        ArrayShape::Systolic { rows, cols } => {
            Some((rows - 1) + (cols - 1) + design.pe.pipeline.stages() + 1)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::trim;
    use crate::config::PlacementSet;

    /// The window table the template lays out selects and rounds exactly as
    /// the model trims, for every set, wide window and rounding.
    #[test]
    fn window_plans_match_the_model() {
        let mut windows: Vec<(&str, Window)> = PlacementSet::ALL
            .iter()
            .map(|p| (p.name(), p.window()))
            .collect();
        windows.push(("wide6", Window::WIDE6));
        windows.push(("wide4", Window::WIDE4));
        for (name, w) in windows {
            for r in Rounding::ALL {
                let plan = WindowPlan::new("x".into(), name, w, r);
                for a in 0..=255u8 {
                    let t = trim(a, w, r);
                    assert_eq!(
                        plan.eval(a),
                        (u32::from(t.q), u32::from(t.s)),
                        "{name} {r:?} a={a}"
                    );
                }
            }
        }
    }

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
