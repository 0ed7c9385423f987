//! 2:4 (stc) GEMM as byte GEMMs.
//!
//! In a 2:4 design the pair is the activations at each group of four's
//! non-zero weight positions (docs: SPARQ.md, "2:4"), so which activations
//! pair up depends on the weight row. Every group of four activations has
//! only ten selections a weight row can make: one of the six position pairs
//! `(p, q)`, `p < q` (two trimmed values, `T(a_p, a_q)`), or one lone
//! survivor `p` (`T(a_p, 0)[0]`: the missing member is `(0, 0)`, so it takes
//! the wide path). A group's **slot table** holds all of them, 16 bytes:
//!
//! ```text
//! slot  0,1: (0,1)   2,3: (0,2)   4,5: (0,3)   6,7: (1,2)   8,9: (1,3)
//! slot 10,11: (2,3)  12+p: lone p
//! ```
//!
//! built from the design's [`PairTable`] (or its [`SplitLut`], the same
//! values). A weight row becomes, per group, the two slots its survivors
//! read and their weights ([`slots`]); a group with no survivor reads slots
//! 0 and 1 with weight 0. Then either
//! - the slot table is A and the weights are scattered into their slots of
//!   a 16-wide B group ([`expand`]): a plain exact byte GEMM with K' = 4 K,
//!   every kernel runs it; or
//! - with AVX-512 VBMI, `stc_vnni` keeps the slot table in L1 and lets each
//!   weight column pick its two bytes per group with `vpermb` before
//!   `vpdpbusd`: K / 2 products per output, half the dense work.

use super::gemm::{stc_pairs, ArithError};
use super::lut::SplitLut;
use super::pair::PairTable;
use super::tensor::View;

/// Bytes of one group's slot table.
pub const SLOTS: usize = 16;

/// The slots of position pair `(p, q)`, `p < q < 4`: first slot (the second
/// is the next one).
const fn pair_slot(p: usize, q: usize) -> usize {
    match (p, q) {
        (0, 1) => 0,
        (0, 2) => 2,
        (0, 3) => 4,
        (1, 2) => 6,
        (1, 3) => 8,
        _ => 10,
    }
}

/// For slot `s` of a group: the activation it reads and its partner (`None`
/// for a lone survivor, whose partner is the zero activation).
pub const fn slot_source(s: usize) -> (usize, Option<usize>) {
    const PAIRS: [(usize, usize); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
    if s >= 12 {
        return (s - 12, None);
    }
    let (p, q) = PAIRS[s / 2];
    if s.is_multiple_of(2) {
        (p, Some(q))
    } else {
        (q, Some(p))
    }
}

/// One group's selection: the two slots `[s1, s2]` a weight row reads and
/// the weights `[b1, b2]` that multiply them.
pub type GroupSlots = ([u8; 2], [i8; 2]);

/// Per mask of a group's non-zero weights (bit p: weight p non-zero): the
/// two slots, the positions whose weights they take, and how many weights
/// are non-zero. With one survivor at `p` the second position is another
/// (zero) one; with none both are.
pub(super) const BY_MASK: [([u8; 2], [usize; 2], u32); 16] = {
    let mut t = [([0u8, 1], [0usize, 1], 0u32); 16];
    let mut mask = 0;
    while mask < 16 {
        let count = (mask as u32).count_ones();
        let p = (mask as u32).trailing_zeros() as usize;
        t[mask] = match count {
            0 => ([0, 1], [0, 1], 0),
            1 => ([12 + p as u8, 12 + p as u8], [p, (p + 1) % 4], 1),
            2 => {
                let q = (mask as u32 & !(1 << p)).trailing_zeros() as usize;
                let s = pair_slot(p, q) as u8;
                ([s, s + 1], [p, q], 2)
            }
            c => ([0, 1], [0, 1], c),
        };
        mask += 1;
    }
    t
};

/// The selection of one group of (up to) four weights, `None` when more
/// than two are non-zero. Branch-free on the weights (a scan with a branch
/// per weight mispredicted on every other one: packing B cost 5 % of a
/// 2:4 GEMM on the bench shape).
#[inline]
fn group_slots(group: &[i8]) -> Option<GroupSlots> {
    let mut g4 = [0i8; 4];
    g4[..group.len()].copy_from_slice(group);
    let mask = g4
        .iter()
        .enumerate()
        .fold(0usize, |m, (p, &w)| m | (usize::from(w != 0) << p));
    let (s, [p, q], count) = BY_MASK[mask];
    if count > 2 {
        return None;
    }
    Some((s, [g4[p], g4[q]]))
}

/// One weight row as, per group of four, its [`GroupSlots`], passed to
/// `each(group, slots)`. Errors (from [`stc_pairs`]) when a group has more
/// than two non-zero weights.
pub fn for_each_slots(
    row: &[i8],
    row_index: usize,
    mut each: impl FnMut(usize, GroupSlots),
) -> Result<(), ArithError> {
    for (g, group) in row.chunks(4).enumerate() {
        match group_slots(group) {
            Some(s) => each(g, s),
            None => {
                stc_pairs(row, row_index)?;
                unreachable!("stc_pairs refuses a group of three or four weights");
            }
        }
    }
    Ok(())
}

/// [`for_each_slots`] collected.
pub fn slots(row: &[i8], row_index: usize) -> Result<Vec<GroupSlots>, ArithError> {
    let mut out = Vec::with_capacity(row.len().div_ceil(4));
    for_each_slots(row, row_index, |_, s| out.push(s))?;
    Ok(out)
}

/// Where a slot table's values come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Table(&'a PairTable),
    Lut(&'a SplitLut),
}

/// Slot tables of one activation row: `dst` holds `ceil(k / 4)` groups of
/// [`SLOTS`] bytes (a short last group reads zero activations past `k`);
/// bytes past them are left as they are.
pub fn build_row(src: Source, row: &[u8], dst: &mut [u8]) {
    let groups = row.len().div_ceil(4);
    for g in 0..groups {
        let mut a = [0u8; 4];
        let take = (row.len() - 4 * g).min(4);
        a[..take].copy_from_slice(&row[4 * g..4 * g + take]);
        let out = &mut dst[g * SLOTS..(g + 1) * SLOTS];
        for s in (0..12).step_by(2) {
            let (p, Some(q)) = slot_source(s) else {
                unreachable!()
            };
            let h = match src {
                Source::Table(t) => t.get(a[p], a[q]),
                Source::Lut(l) => [l.h(a[p], a[q]), l.h(a[q], a[p])],
            };
            out[s..s + 2].copy_from_slice(&h);
        }
        for p in 0..4 {
            out[12 + p] = match src {
                Source::Table(t) => t.get(a[p], 0)[0],
                Source::Lut(l) => l.h(a[p], 0),
            };
        }
    }
}

/// The 2:4 GEMM as one exact byte GEMM: A' (`m x 16 G`) the slot tables,
/// B' (`n x 16 G`) each row's weights in the slots they read, zero
/// elsewhere; `A' . B'^T` is the 2:4 result.
pub fn expand(
    src: Source,
    a: &View<u8>,
    b: &View<i8>,
    m: usize,
    n: usize,
    k: usize,
) -> Result<(Vec<u8>, Vec<i8>, usize), ArithError> {
    let kx = k.div_ceil(4) * SLOTS;
    super::gemm::checked_bytes("the 2:4 slot tables (M x 4K)", &[m, kx], 1)?;
    super::gemm::checked_bytes("the 2:4 expanded weights (N x 4K)", &[n, kx], 1)?;
    let mut bx = vec![0i8; n * kx];
    for j in 0..n {
        let dst = &mut bx[j * kx..(j + 1) * kx];
        for_each_slots(b.row(j), j, |g, (s, w)| {
            // a lone survivor's two slots coincide; its second weight is 0
            dst[g * SLOTS + usize::from(s[1])] = w[1];
            dst[g * SLOTS + usize::from(s[0])] = w[0];
        })?;
    }
    let mut ax = vec![0u8; m * kx];
    for i in 0..m {
        build_row(src, a.row(i), &mut ax[i * kx..(i + 1) * kx]);
    }
    Ok((ax, bx, kx))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table lookup equals the rule spelled out: survivors in order,
    /// a lone one in its lone slot with a zero second weight, none: slots
    /// 0 and 1 with zero weights.
    #[test]
    fn group_slots_follow_the_rule_for_every_pattern() {
        for len in 1..=4usize {
            for mask in 0..(1usize << len) {
                let group: Vec<i8> = (0..len)
                    .map(|p| {
                        if mask >> p & 1 == 1 {
                            -(p as i8) - 3
                        } else {
                            0
                        }
                    })
                    .collect();
                let at: Vec<usize> = (0..len).filter(|&p| group[p] != 0).collect();
                let want = match at.len() {
                    0 => Some(([0, 1], [0, 0])),
                    1 => Some(([12 + at[0] as u8; 2], [group[at[0]], 0])),
                    2 => {
                        let s = pair_slot(at[0], at[1]) as u8;
                        Some(([s, s + 1], [group[at[0]], group[at[1]]]))
                    }
                    _ => None,
                };
                assert_eq!(group_slots(&group), want, "{group:?}");
            }
        }
    }

    #[test]
    fn slots_name_the_pair_in_order() {
        for s in 0..SLOTS {
            let (p, q) = slot_source(s);
            assert!(p < 4);
            if let Some(q) = q {
                assert_ne!(p, q);
                let (lo, hi) = (p.min(q), p.max(q));
                assert_eq!(pair_slot(lo, hi) + usize::from(p > q), s);
            }
        }
        let row = [0, 3, 0, -2, 5, 0, 0, 0, 0, 0, 7];
        let got = slots(&row, 0).unwrap();
        assert_eq!(got[0], ([8, 9], [3, -2]));
        assert_eq!(got[1], ([12, 12], [5, 0]));
        assert_eq!(got[2], ([14, 14], [7, 0]));
        assert!(slots(&[1, 1, 1, 0], 0).is_err());
    }
}
