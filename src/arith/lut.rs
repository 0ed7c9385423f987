//! The pair table of a dense SPARQ design, split into two 256-entry tables:
//! what an activation becomes when its partner is non-zero (`narrow`) and
//! when its partner is zero (`wide`). A vector kernel can then trim 64
//! activations at once with byte lookups and one "partner is zero" mask.
//!
//! The split is derived from the [`PairTable`] (itself built from `trim`),
//! never restated, and [`SplitLut::from_table`] checks all 65,536 pairs
//! against the table: a design whose pairs did not factor this way gets
//! `None` and keeps the table path.

use super::pair::PairTable;

/// `h` for an activation `a` given only whether its partner is zero.
#[derive(Clone)]
pub struct SplitLut {
    /// `[0]`: the partner is non-zero (narrow window); `[1]`: it is zero.
    pub by_partner_zero: [[u8; 256]; 2],
    /// [`SplitLut::wide_is_identity`], computed once.
    wide_id: bool,
}

impl SplitLut {
    /// Split `table`, or `None` if some pair `(a1, a2)` is not
    /// `(f(a1, a2 == 0), f(a2, a1 == 0))` for one function `f`.
    pub fn from_table(table: &PairTable) -> Option<SplitLut> {
        let mut narrow = [0u8; 256];
        let mut wide = [0u8; 256];
        for a in 0..=255u8 {
            narrow[usize::from(a)] = table.get(a, 1)[0];
            wide[usize::from(a)] = table.get(a, 0)[0];
        }
        let mut lut = SplitLut {
            by_partner_zero: [narrow, wide],
            wide_id: false,
        };
        lut.wide_id = lut.wide_is_identity();
        for a1 in 0..=255u8 {
            for a2 in 0..=255u8 {
                if table.get(a1, a2) != [lut.h(a1, a2), lut.h(a2, a1)] {
                    return None;
                }
            }
        }
        Some(lut)
    }

    /// True when an activation whose partner is zero passes unchanged
    /// (the 4-bit sets with pair sharing), so a kernel may skip that lookup.
    pub fn wide_is_identity(&self) -> bool {
        self.by_partner_zero[1]
            .iter()
            .enumerate()
            .all(|(a, &h)| usize::from(h) == a)
    }

    /// [`SplitLut::wide_is_identity`] as computed when the split was made.
    #[inline(always)]
    pub fn wide_is_identity_cached(&self) -> bool {
        self.wide_id
    }

    /// What `a` becomes next to `partner`.
    #[inline(always)]
    pub fn h(&self, a: u8, partner: u8) -> u8 {
        // No branch: half the activations are zero, a branch on it would
        // mispredict half the time (the scalar trim ran 2x slower).
        self.by_partner_zero[usize::from(partner == 0)][usize::from(a)]
    }

    /// Trim one row, pairing `(k, k+1)`; an odd tail pairs with zero.
    pub fn apply_dense(&self, row: &[u8], out: &mut [u8]) {
        debug_assert_eq!(row.len(), out.len());
        let mut chunks = row.chunks_exact(2);
        let mut outs = out.chunks_exact_mut(2);
        for (a, o) in (&mut chunks).zip(&mut outs) {
            o[0] = self.h(a[0], a[1]);
            o[1] = self.h(a[1], a[0]);
        }
        if let ([a], [o]) = (chunks.remainder(), outs.into_remainder()) {
            *o = self.h(*a, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlacementSet, Rounding, SparqArith};

    #[test]
    fn every_dense_design_splits_and_agrees_with_its_table() {
        for p in PlacementSet::ALL {
            for r in Rounding::ALL {
                for sharing in [true, false] {
                    let s = SparqArith {
                        placements: p,
                        rounding: r,
                        pair_sharing: sharing,
                        stc: false,
                    };
                    let t = PairTable::sparq(&s);
                    let lut = SplitLut::from_table(&t).expect("splits");
                    let row: Vec<u8> = (0..=255u8).chain([0, 7, 255]).collect();
                    let (mut x, mut y) = (vec![0; row.len()], vec![0; row.len()]);
                    t.apply_dense(&row, &mut x);
                    lut.apply_dense(&row, &mut y);
                    assert_eq!(x, y, "{p:?} {r:?} sharing {sharing}");
                }
            }
        }
        assert!(SplitLut::from_table(&PairTable::identity()).is_some());
    }
}
