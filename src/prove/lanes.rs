//! A dot unit's lanes add up: with every lane's operands free, the
//! accumulator equals the sum (modulo 2^AccBits) of what it reads with
//! each lane alone and the others at zero. With each lane alone proven
//! equal to the model ([`super::datapath`]), this covers the adder tree.
//!
//! Each lane's logic depends on that lane's operands only, so it is the
//! same graph in every instantiation; the nodes where one lane's logic
//! meets another's are cut (free variables, which only strengthens the
//! claim), leaving the adder tree against a sum in the same pairwise
//! order for Yosys's SAT solver.

use super::aig::{self, Builder, Lit, Node, Seq, FALSE};
use super::datapath::{compact, cone, cut_to_inputs};
use super::spec::Spec;
use super::{held_output, Drive, SLOT_VARS};
use crate::rtl::Manifest;

const STATE: u32 = 10_000_000;
const NONE: u32 = u32::MAX;
const MANY: u32 = u32::MAX - 1;

/// Ok(true) when proven (or there is one lane), Ok(false) when refuted.
pub fn check(seq: &Seq, m: &Manifest, spec: &Spec, lanes: usize) -> anyhow::Result<bool> {
    if lanes < 2 {
        return Ok(true);
    }
    let mut b = Builder::new();
    let all = Drive {
        seq,
        spec,
        slot: 0,
        all: true,
    };
    let whole = held_output(seq, m, &all, &mut b, 0, STATE)?;
    let mut parts = Vec::new();
    for l in 0..lanes {
        let one = Drive {
            seq,
            spec,
            slot: l,
            all: false,
        };
        let base = l as u32 * SLOT_VARS;
        parts.push(held_output(seq, m, &one, &mut b, base, STATE + 1_000_000)?);
    }
    // The reference sum, pairwise like a tree.
    while parts.len() > 1 {
        let mut next = Vec::new();
        for pair in parts.chunks(2) {
            next.push(match pair {
                [x, y] => b.add(x, y),
                [x] => x.clone(),
                _ => unreachable!(),
            });
        }
        parts = next;
    }
    let mut bad = FALSE;
    for (&w, &r) in whole.iter().zip(&parts[0]) {
        let d = b.xor(w, r);
        bad = b.or(bad, d);
    }
    // A failure with the cut may be an artefact of it (in a gate netlist
    // ABC merges the tree into the lanes' adders): decide it again whole.
    let (g, cut_bad) = cut_lanes(&b, bad, &whole, true);
    let none = std::collections::HashMap::new();
    if super::control::sat(&g, cut_bad, &none)?.is_none() {
        return Ok(true);
    }
    let (g, bad) = cut_lanes(&b, bad, &whole, false);
    Ok(super::control::sat(&g, bad, &none)?.is_none())
}

/// The lane a node depends on, NONE for constants, MANY for several.
fn lane_of(v: u32) -> u32 {
    if v >= STATE {
        MANY
    } else {
        v / SLOT_VARS
    }
}

fn cut_lanes(b: &Builder, bad: Lit, whole: &[Lit], with_cut: bool) -> (Builder, Lit) {
    let mut roots = vec![bad];
    roots.extend_from_slice(whole);
    let (g, outs) = compact(b, &roots);
    let mut lane = vec![NONE; g.nodes.len()];
    let join = |a: u32, c: u32| match (a, c) {
        (NONE, x) | (x, NONE) => x,
        (x, y) if x == y => x,
        _ => MANY,
    };
    let in_whole = cone(&g, &outs[1..]);
    let mut cut = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        lane[i] = match *n {
            Node::Const => NONE,
            Node::Var(v) => lane_of(v),
            Node::And(a, c) => join(lane[aig::node_of(a)], lane[aig::node_of(c)]),
        };
        if let Node::And(a, c) = *n {
            if in_whole[i] && lane[i] == MANY {
                for f in [aig::node_of(a), aig::node_of(c)] {
                    cut[f] |= lane[f] != MANY && lane[f] != NONE;
                }
            }
        }
    }
    for &l in &outs[1..] {
        let f = aig::node_of(l);
        cut[f] |= lane[f] != MANY && lane[f] != NONE;
    }
    if !with_cut {
        cut.iter_mut().for_each(|c| *c = false);
    }
    cut_to_inputs(&g, outs[0], &cut, STATE * 3)
}
