//! Step 2 of the product proof (see [`super::datapath`]): with the
//! activation cut fixed at one group's value, every weight pair of the
//! case, bit-parallel, against `h1*b1 + h2*b2` modulo 2^AccBits.
//!
//! The circuit below the cut is rebuilt with the cut's constants (so the
//! weight routing folds away) and split once more: nodes of one weight byte
//! only are evaluated once per byte value (the lane byte across the 64
//! lanes of a word, the outer byte one value per word), and only the nodes
//! that need both bytes are evaluated per pair. The expected sums are
//! formed bit-sliced: `h_lane * j` for the 64 lanes once per group, plus a
//! constant per word.

use super::aig::{self, eval, lit_val, node_of, Builder, Lit, Node, FALSE};
use super::datapath::{byte_var, groups, Byte, Cex, Class, Problem, A, L, O};

/// The first failing input of group `c`, if any.
pub(super) fn check_class(
    p: &Problem,
    grp: &[u8],
    frontier: &[usize],
    c: &Class,
    lane: Option<Byte>,
    outer: Option<Byte>,
) -> Option<Cex> {
    // The circuit below the cut, with the cut at this class's value.
    let g = &p.graph;
    let mut h = Builder::new();
    let mut map = vec![FALSE; g.nodes.len()];
    for (fi, &n) in frontier.iter().enumerate() {
        map[n] = aig::konst((c.key[fi / 64] >> (fi % 64)) & 1 == 1);
    }
    for (i, n) in g.nodes.iter().enumerate() {
        if grp[i] == A {
            continue;
        }
        map[i] = h.copy_node(&map, *n);
    }
    let outs: Vec<Lit> = p.outs.iter().map(|&l| aig::remap(&map, l)).collect();
    let hg = groups(&h, lane, outer).ok()?;
    let bits = outs.len();

    // Weight-byte cuts: nodes of one byte only that feed nodes of both.
    let mut feeds = vec![false; h.nodes.len()];
    let mut mixed = Vec::new();
    for (i, n) in h.nodes.iter().enumerate() {
        if let Node::And(a, b) = *n {
            if hg[i] == (L | O) {
                feeds[node_of(a)] = true;
                feeds[node_of(b)] = true;
                mixed.push((i, a, b));
            }
        }
    }
    for &l in &outs {
        feeds[node_of(l)] = true;
    }
    let cut_l: Vec<usize> = (0..h.nodes.len())
        .filter(|&i| feeds[i] && hg[i] == L)
        .collect();
    let cut_o: Vec<usize> = (0..h.nodes.len())
        .filter(|&i| feeds[i] && hg[i] == O)
        .collect();

    let n_blk = if lane.is_some() { 4 } else { 1 };
    let mut pre_l = Vec::new();
    for blk in 0..n_blk {
        let mut v = Vec::new();
        eval(&h.nodes, &mut |x| byte_var(x, lane, None, blk, 0), &mut v);
        pre_l.push(cut_l.iter().map(|&i| v[i]).collect::<Vec<u64>>());
    }
    // Outer byte: its 256 values across the lanes of 4 words, then one
    // all-ones or all-zeros word per value.
    let mut pre_o = Vec::new();
    if outer.is_some() {
        let mut blocks = Vec::new();
        for blk in 0..4 {
            let mut v = Vec::new();
            eval(&h.nodes, &mut |x| byte_var(x, outer, None, blk, 0), &mut v);
            blocks.push(cut_o.iter().map(|&i| v[i]).collect::<Vec<u64>>());
        }
        for o in 0..256usize {
            pre_o.push(
                blocks[o / 64]
                    .iter()
                    .map(|&v| if (v >> (o % 64)) & 1 == 1 { !0u64 } else { 0 })
                    .collect::<Vec<u64>>(),
            );
        }
    } else {
        pre_o.push(Vec::new());
    }

    // h_lane * j for the 64 lanes, bit-sliced.
    let (hl, ho) = c.coef;
    let mut t = vec![0u64; bits];
    for j in 0..64u64 {
        let v = (hl * j as i64) as u64;
        for (k, tk) in t.iter_mut().enumerate() {
            *tk |= ((v >> k) & 1) << j;
        }
    }
    let mut vals = vec![0u64; h.nodes.len()];
    for (o, pre_o) in pre_o.iter().enumerate() {
        if outer.is_some_and(|b| b.nonzero) && o == 0 {
            continue;
        }
        let ov = i64::from(o as u8 as i8);
        for (ci, &i) in cut_o.iter().enumerate() {
            vals[i] = pre_o[ci];
        }
        for (blk, pre_l) in pre_l.iter().enumerate() {
            for (ci, &i) in cut_l.iter().enumerate() {
                vals[i] = pre_l[ci];
            }
            for &(i, a, b) in &mixed {
                vals[i] = lit_val(&vals, a) & lit_val(&vals, b);
            }
            let base = if blk < 2 {
                blk as i64 * 64
            } else {
                blk as i64 * 64 - 256
            };
            let e = (hl * base + ho * ov) as u64;
            let mut m: u64 = if lane.is_some() { !0 } else { 1 };
            if lane.is_some_and(|b| b.nonzero) && blk == 0 {
                m &= !1;
            }
            let mut carry = 0u64;
            let mut diff = 0u64;
            for (k, &l) in outs.iter().enumerate() {
                let tk = if lane.is_some() { t[k] } else { 0 };
                let ek = if (e >> k) & 1 == 1 { !0u64 } else { 0 };
                let s = tk ^ ek ^ carry;
                carry = (tk & ek) | (carry & (tk ^ ek));
                diff |= lit_val(&vals, l) ^ s;
            }
            let diff = diff & m;
            if diff != 0 {
                let j = diff.trailing_zeros() as u64;
                let mut w = p.wgt_fixed;
                if let Some(lb) = lane {
                    w |= ((blk as u64) * 64 + j) << lb.off;
                }
                if let Some(ob) = outer {
                    w |= (o as u64) << ob.off;
                }
                return Some(p.cex(c.rep, w));
            }
        }
    }
    None
}
