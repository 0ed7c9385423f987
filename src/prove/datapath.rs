//! The product path proven by exhaustion, decomposed at cut points.
//!
//! Input to [`check`]: the bit-level function of one PE cycle (an AIG whose
//! variables are `act` bits `0..`, and weight bits [`WGT`]`+k`) and one case
//! of the input space. The argument:
//!
//! 1. **Activation cut.** The nodes that depend on activation bits only
//!    and feed anything that also depends on weights form a cut `F`: the
//!    output is `g(F(a), b)`. All activations of the case are enumerated
//!    (at most 2^20; 2^16 for every generated PE) and grouped by the value
//!    of `F`. Activations in one group get the same output for every
//!    weight, so they must have the same model coefficients `(h1, h2)`,
//!    which is checked for every activation.
//! 2. **Weights, per group.** With `F` fixed, the rest of the circuit is
//!    simplified and evaluated for every weight pair of the case (2^16,
//!    bit-parallel, 64 per word): the nodes that depend on one weight byte
//!    only are computed once per byte value (another cut), the rest per
//!    pair. Every output bit is compared with `h1*b1 + h2*b2` modulo
//!    2^AccBits.
//!
//! Together: every (activation, weight) pair of the case is covered, the
//! activations by step 1, the weights by step 2, and nothing is sampled.
//! Cuts are found from the netlist's structure, not from names, so an
//! edited or synthesized netlist is handled the same way.

use super::aig::{self, eval, lit_val, node_of, Builder, Lit, Node, FALSE};
use super::spec::{Case, Domain, Spec};
use super::weights;
use rayon::prelude::*;
use std::collections::HashMap;

/// Variable number of weight bit 0 (activation bit k is variable k).
pub const WGT: u32 = 1000;
/// Most activation bits a case may enumerate.
pub const MAX_ACT_BITS: usize = 20;

const PAT: [u64; 6] = [
    0xAAAA_AAAA_AAAA_AAAA,
    0xCCCC_CCCC_CCCC_CCCC,
    0xF0F0_F0F0_F0F0_F0F0,
    0xFF00_FF00_FF00_FF00,
    0xFFFF_0000_FFFF_0000,
    0xFFFF_FFFF_0000_0000,
];

/// Lane-pattern value of enumerated bit `i` in word `w`.
fn pattern(i: usize, w: usize) -> u64 {
    if i < 6 {
        PAT[i]
    } else if (w >> (i - 6)) & 1 == 1 {
        !0
    } else {
        0
    }
}

/// A failing input of one cycle.
#[derive(Debug, Clone)]
pub struct Cex {
    pub act: u64,
    pub wgt: u64,
    pub expected: i64,
    pub actual: i64,
}

pub enum Verdict {
    Proven { classes: usize },
    Refuted(Cex),
}

#[derive(Debug, thiserror::Error)]
pub enum CutError {
    #[error("the product depends on {0}, which the proof does not drive")]
    StrayVar(String),
    #[error(
        "case {case}: the product depends on {bits} activation bits; more than {max} cannot be \
         enumerated"
    )]
    TooWide {
        case: String,
        bits: usize,
        max: usize,
    },
}

pub fn signed(v: u64, bits: usize) -> i64 {
    let sh = 64 - bits as u32;
    ((v << sh) as i64) >> sh
}

/// The nodes of `g` in the cones of `outs`.
pub fn cone(g: &Builder, outs: &[Lit]) -> Vec<bool> {
    let mut keep = vec![false; g.nodes.len()];
    let mut stack: Vec<usize> = outs.iter().map(|&l| node_of(l)).collect();
    while let Some(n) = stack.pop() {
        if keep[n] {
            continue;
        }
        keep[n] = true;
        if let Node::And(a, b) = g.nodes[n] {
            stack.push(node_of(a));
            stack.push(node_of(b));
        }
    }
    keep
}

/// Keep only the cone of `outs`.
pub fn compact(g: &Builder, outs: &[Lit]) -> (Builder, Vec<Lit>) {
    let keep = cone(g, outs);
    let mut h = Builder::new();
    let mut map = vec![FALSE; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        map[i] = h.copy_node(&map, *n);
    }
    let outs = outs.iter().map(|&l| aig::remap(&map, l)).collect();
    (h, outs)
}

/// `bad` of `g` with every node marked in `cut` replaced by a free input
/// (variable `first_var + node index`), compacted to its cone.
pub fn cut_to_inputs(g: &Builder, bad: Lit, cut: &[bool], first_var: u32) -> (Builder, Lit) {
    let mut h = Builder::new();
    let mut map = vec![FALSE; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        map[i] = if cut[i] {
            h.var(first_var + i as u32)
        } else {
            h.copy_node(&map, *n)
        };
    }
    let bad = aig::remap(&map, bad);
    let (h, outs) = compact(&h, &[bad]);
    (h, outs[0])
}

/// Bytes of the weight operand enumerated in a case: the lane byte (its
/// low 6 bits across the 64 lanes of a word) and the outer byte.
#[derive(Clone, Copy)]
pub(super) struct Byte {
    pub(super) off: usize,
    pub(super) nonzero: bool,
    /// 1: multiplies h1, 2: h2.
    pub(super) coef: u8,
}

pub(super) const A: u8 = 1;
pub(super) const L: u8 = 2;
pub(super) const O: u8 = 4;

pub(super) fn groups(
    g: &Builder,
    lane: Option<Byte>,
    outer: Option<Byte>,
) -> Result<Vec<u8>, CutError> {
    let mut grp = vec![0u8; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        grp[i] = match *n {
            Node::Const => 0,
            Node::Var(v) if v < WGT => A,
            Node::Var(v) => {
                let bit = (v - WGT) as usize;
                let within = |b: Option<Byte>| b.is_some_and(|b| (b.off..b.off + 8).contains(&bit));
                if within(lane) {
                    L
                } else if within(outer) {
                    O
                } else if v >= 2 * WGT {
                    return Err(CutError::StrayVar(
                        "the state of a register before reset".into(),
                    ));
                } else {
                    return Err(CutError::StrayVar(format!("weight bit {bit}")));
                }
            }
            Node::And(a, b) => grp[node_of(a)] | grp[node_of(b)],
        };
    }
    Ok(grp)
}

/// One PE cycle, bit-level, and the spec to hold it to.
pub struct Problem<'a> {
    pub graph: Builder,
    pub outs: Vec<Lit>,
    pub case: &'a Case,
    pub spec: &'a Spec,
    /// Fixed `wgt` bits of the case, as a value.
    pub wgt_fixed: u64,
}

impl Problem<'_> {
    fn bytes(&self) -> (Option<Byte>, Option<Byte>) {
        let mut v = Vec::new();
        let (o1, d1) = self.case.b1;
        if d1 != Domain::Zero {
            v.push(Byte {
                off: o1,
                nonzero: d1 == Domain::NonZero,
                coef: 1,
            });
        }
        if let Some((o2, d2)) = self.case.b2 {
            if d2 != Domain::Zero {
                v.push(Byte {
                    off: o2,
                    nonzero: d2 == Domain::NonZero,
                    coef: 2,
                });
            }
        }
        (v.first().copied(), v.get(1).copied())
    }

    /// Evaluate the circuit on one input (lane 0).
    fn concrete(&self, act: u64, wgt: u64) -> i64 {
        let mut vals = Vec::new();
        eval(
            &self.graph.nodes,
            &mut |v| {
                let bit = if v < WGT {
                    (act >> v) & 1
                } else {
                    (wgt >> (v - WGT)) & 1
                };
                if bit == 1 {
                    !0
                } else {
                    0
                }
            },
            &mut vals,
        );
        let mut r = 0u64;
        for (k, &l) in self.outs.iter().enumerate() {
            r |= (lit_val(&vals, l) & 1) << k;
        }
        signed(r, self.outs.len())
    }

    fn expected(&self, act: u64, wgt: u64) -> i64 {
        let (h1, h2) = self.spec.coefficients(self.case, act);
        let b = |off: usize| i64::from((wgt >> off) as u8 as i8);
        let mut e = h1 * b(self.case.b1.0);
        if let Some((o2, _)) = self.case.b2 {
            e += h2 * b(o2);
        }
        let bits = self.outs.len();
        signed(e as u64 & mask(bits), bits)
    }

    pub(super) fn cex(&self, act: u64, wgt: u64) -> Cex {
        Cex {
            act,
            wgt,
            expected: self.expected(act, wgt),
            actual: self.concrete(act, wgt),
        }
    }
}

fn mask(bits: usize) -> u64 {
    if bits >= 64 {
        !0
    } else {
        (1u64 << bits) - 1
    }
}

/// Replace weight-only nodes that are constant over the case's weight
/// domain (for example `b1 == 0` when b1 is non-zero) by that constant.
fn fold_domain(p: &mut Problem, lane: Option<Byte>, outer: Option<Byte>) -> Result<(), CutError> {
    if !lane.is_some_and(|b| b.nonzero) && !outer.is_some_and(|b| b.nonzero) {
        return Ok(());
    }
    let grp = groups(&p.graph, lane, outer)?;
    let mut seen = vec![(0u64, 0u64); p.graph.nodes.len()]; // (some lane 1, some lane 0)
    let mut vals = Vec::new();
    let outers: Vec<u64> = if outer.is_some() {
        (0..256).collect()
    } else {
        vec![0]
    };
    for &o in &outers {
        if outer.is_some_and(|b| b.nonzero) && o == 0 {
            continue;
        }
        for blk in 0..4usize {
            let m = if lane.is_some_and(|b| b.nonzero) && blk == 0 {
                !1u64
            } else {
                !0
            };
            eval(
                &p.graph.nodes,
                &mut |v| byte_var(v, lane, outer, blk, o),
                &mut vals,
            );
            for (i, s) in seen.iter_mut().enumerate() {
                if grp[i] & A == 0 && grp[i] != 0 {
                    s.0 |= vals[i] & m;
                    s.1 |= !vals[i] & m;
                }
            }
        }
    }
    let mut h = Builder::new();
    let mut map = vec![FALSE; p.graph.nodes.len()];
    for (i, n) in p.graph.nodes.iter().enumerate() {
        let foldable = grp[i] & A == 0 && grp[i] != 0;
        map[i] = if foldable && seen[i].1 == 0 {
            aig::TRUE
        } else if foldable && seen[i].0 == 0 {
            FALSE
        } else {
            h.copy_node(&map, *n)
        };
    }
    let outs: Vec<Lit> = p.outs.iter().map(|&l| aig::remap(&map, l)).collect();
    let (g, outs) = compact(&h, &outs);
    p.graph = g;
    p.outs = outs;
    Ok(())
}

/// Value of a weight variable for lane block `blk` and outer byte `o`.
pub(super) fn byte_var(v: u32, lane: Option<Byte>, outer: Option<Byte>, blk: usize, o: u64) -> u64 {
    if v < WGT {
        return 0;
    }
    let bit = (v - WGT) as usize;
    if let Some(b) = lane {
        if (b.off..b.off + 8).contains(&bit) {
            return pattern(bit - b.off, blk);
        }
    }
    if let Some(b) = outer {
        if (b.off..b.off + 8).contains(&bit) {
            return if (o >> (bit - b.off)) & 1 == 1 { !0 } else { 0 };
        }
    }
    0
}

pub(super) struct Class {
    pub(super) key: Vec<u64>,
    pub(super) rep: u64,
    pub(super) coef: (i64, i64),
}

/// Prove (or refute) one case.
pub fn check(mut p: Problem) -> Result<Verdict, CutError> {
    let (lane, outer) = p.bytes();
    let (g, outs) = compact(&p.graph, &p.outs);
    p.graph = g;
    p.outs = outs;
    fold_domain(&mut p, lane, outer)?;
    let grp = groups(&p.graph, lane, outer)?;

    // Activation bits: what the model reads plus what the circuit reads.
    let mut act_bits: Vec<usize> = p.case.act_support.clone();
    for n in &p.graph.nodes {
        if let Node::Var(v) = *n {
            if v < WGT && !act_bits.contains(&(v as usize)) {
                act_bits.push(v as usize);
            }
        }
    }
    act_bits.sort_unstable();
    if act_bits.len() > MAX_ACT_BITS {
        return Err(CutError::TooWide {
            case: p.case.label.clone(),
            bits: act_bits.len(),
            max: MAX_ACT_BITS,
        });
    }

    // The activation cut.
    let mut frontier = Vec::new();
    let mut in_frontier = vec![false; p.graph.nodes.len()];
    let mut mark = |n: usize, f: &mut Vec<usize>| {
        if grp[n] == A && !in_frontier[n] {
            in_frontier[n] = true;
            f.push(n);
        }
    };
    for (i, n) in p.graph.nodes.iter().enumerate() {
        if let Node::And(a, b) = *n {
            if grp[i] != A {
                mark(node_of(a), &mut frontier);
                mark(node_of(b), &mut frontier);
            }
        }
    }
    for &l in &p.outs {
        mark(node_of(l), &mut frontier);
    }
    let key_words = frontier.len().div_ceil(64).max(1);

    // Step 1: every activation, grouped by the cut's value.
    let total = 1usize << act_bits.len();
    let lanes = total.min(64);
    let mut classes: Vec<Class> = Vec::new();
    let mut index: HashMap<Vec<u64>, usize> = HashMap::new();
    let mut vals = Vec::new();
    for w in 0..total.div_ceil(64) {
        eval(
            &p.graph.nodes,
            &mut |v| match act_bits.iter().position(|&b| b == v as usize) {
                Some(i) if v < WGT => pattern(i, w),
                _ => 0,
            },
            &mut vals,
        );
        let mut keys = vec![vec![0u64; key_words]; lanes];
        for (fi, &n) in frontier.iter().enumerate() {
            let v = vals[n];
            for (j, key) in keys.iter_mut().enumerate() {
                key[fi / 64] |= ((v >> j) & 1) << (fi % 64);
            }
        }
        for (j, key) in keys.into_iter().enumerate() {
            let e = w * 64 + j;
            let act: u64 = act_bits
                .iter()
                .enumerate()
                .filter(|&(i, _)| (e >> i) & 1 == 1)
                .map(|(_, &b)| 1u64 << b)
                .sum();
            let coef = relevant(p.spec.coefficients(p.case, act), lane, outer);
            match index.get(&key) {
                Some(&c) if classes[c].coef != coef => {
                    return Ok(Verdict::Refuted(conflict(&p, classes[c].rep, act)));
                }
                Some(_) => {}
                None => {
                    index.insert(key.clone(), classes.len());
                    classes.push(Class {
                        key,
                        rep: act,
                        coef,
                    });
                }
            }
        }
    }

    // Step 2: every weight pair, per class.
    let n = classes.len();
    let found = classes
        .par_iter()
        .find_map_any(|c| weights::check_class(&p, &grp, &frontier, c, lane, outer));
    Ok(match found {
        Some(cex) => Verdict::Refuted(cex),
        None => Verdict::Proven { classes: n },
    })
}

/// The coefficients the case's weights can see (a zero weight hides its own).
fn relevant(c: (i64, i64), lane: Option<Byte>, outer: Option<Byte>) -> (i64, i64) {
    let pick = |b: Option<Byte>| b.map_or(0, |b| if b.coef == 1 { c.0 } else { c.1 });
    (pick(lane), pick(outer))
}

/// Two activations the circuit cannot tell apart but the model can: find
/// a weight pair on which they differ and report the one that is wrong.
fn conflict(p: &Problem, a: u64, b: u64) -> Cex {
    let (lane, outer) = p.bytes();
    let put = |lv: i8, ov: i8| -> u64 {
        let mut w = p.wgt_fixed;
        if let Some(l) = lane {
            w |= u64::from(lv as u8) << l.off;
        }
        if let Some(o) = outer {
            w |= u64::from(ov as u8) << o.off;
        }
        w
    };
    for (lv, ov) in [(1, 1), (1, 2), (2, 1), (1, -1), (127, 1), (1, 127)] {
        let w = put(lv, ov);
        if p.expected(a, w) != p.expected(b, w) {
            for act in [a, b] {
                let c = p.cex(act, w);
                if c.expected != c.actual {
                    return c;
                }
            }
        }
    }
    p.cex(b, put(1, 1))
}
