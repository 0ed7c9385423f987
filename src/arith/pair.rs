//! vSPARQ: a pair of activations sharing one 2n-bit budget, and the
//! per-design pair table every GEMM path uses.

use super::trim::{trim, Trimmed};
use crate::config::{PeKind, SparqArith};

/// What one activation of a pair becomes inside a SPARQ PE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Trimmed to the n-bit window: one multiplier, product shifted by `s`.
    Narrow(Trimmed),
    /// The partner is zero: trimmed to the wide window, whose code is split
    /// over both multipliers (shifts `s + n` and `s`).
    Wide(Trimmed),
}

impl Route {
    pub fn value(self) -> u8 {
        match self {
            Route::Narrow(t) | Route::Wide(t) => t.value(),
        }
    }
}

/// Route a pair `(a1, a2)` (docs/arithmetic.md, "vSPARQ").
pub fn route_pair(a1: u8, a2: u8, s: &SparqArith) -> (Route, Route) {
    let narrow = s.placements.window();
    if s.pair_sharing && (a1 == 0 || a2 == 0) {
        let wide = s.placements.wide_window();
        (
            Route::Wide(trim(a1, wide, s.rounding)),
            Route::Wide(trim(a2, wide, s.rounding)),
        )
    } else {
        (
            Route::Narrow(trim(a1, narrow, s.rounding)),
            Route::Narrow(trim(a2, narrow, s.rounding)),
        )
    }
}

/// The values `(h1, h2)` that multiply `(b1, b2)`.
pub fn sparq_pair(a1: u8, a2: u8, s: &SparqArith) -> (u8, u8) {
    let (r1, r2) = route_pair(a1, a2, s);
    (r1.value(), r2.value())
}

/// `(h1, h2)` for every `(a1, a2)`, index `a1 * 256 + a2` (the layout of the
/// golden pair files). Baselines are the identity: their activations reach
/// the multipliers unchanged.
pub struct PairTable {
    entries: Box<[[u8; 2]]>,
    identity: bool,
}

impl PairTable {
    pub fn for_kind(kind: &PeKind) -> PairTable {
        match kind {
            PeKind::Sparq(s) => PairTable::sparq(s),
            PeKind::Mac8x8 | PeKind::Mac4x8 => PairTable::identity(),
        }
    }

    pub fn sparq(s: &SparqArith) -> PairTable {
        let mut entries = vec![[0u8; 2]; 65536];
        for a1 in 0..=255u8 {
            for a2 in 0..=255u8 {
                let (h1, h2) = sparq_pair(a1, a2, s);
                entries[usize::from(a1) * 256 + usize::from(a2)] = [h1, h2];
            }
        }
        PairTable {
            entries: entries.into_boxed_slice(),
            identity: false,
        }
    }

    pub fn identity() -> PairTable {
        let mut entries = vec![[0u8; 2]; 65536];
        for (i, e) in entries.iter_mut().enumerate() {
            *e = [(i >> 8) as u8, i as u8];
        }
        PairTable {
            entries: entries.into_boxed_slice(),
            identity: true,
        }
    }

    #[inline(always)]
    pub fn get(&self, a1: u8, a2: u8) -> [u8; 2] {
        self.entries[usize::from(a1) << 8 | usize::from(a2)]
    }

    /// True when every activation passes unchanged.
    pub fn is_identity(&self) -> bool {
        self.identity
    }

    /// Apply the table along a row, pairing `(k, k+1)`; an odd tail is paired
    /// with a zero activation.
    pub fn apply_dense(&self, row: &[u8], out: &mut [u8]) {
        debug_assert_eq!(row.len(), out.len());
        let mut chunks = row.chunks_exact(2);
        let mut outs = out.chunks_exact_mut(2);
        for (a, o) in (&mut chunks).zip(&mut outs) {
            o.copy_from_slice(&self.get(a[0], a[1]));
        }
        if let ([a], [o]) = (chunks.remainder(), outs.into_remainder()) {
            *o = self.get(*a, 0)[0];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PlacementSet, Rounding};

    fn arith(p: PlacementSet, sharing: bool) -> SparqArith {
        SparqArith {
            placements: p,
            rounding: Rounding::RoundHalfEven,
            pair_sharing: sharing,
            stc: false,
        }
    }

    #[test]
    fn lone_activation_takes_the_wide_path() {
        let s = arith(PlacementSet::Opt5, true);
        assert_eq!(sparq_pair(0, 0xB7, &s), (0, 0xB7)); // exact with n = 4
        assert_eq!(sparq_pair(0xB7, 1, &s).0, 0xB0);
        let s3 = arith(PlacementSet::Opt6, true);
        assert_eq!(sparq_pair(255, 0, &s3), (252, 0));
        let off = arith(PlacementSet::Opt5, false);
        assert_eq!(sparq_pair(0, 0xB7, &off), (0, 0xB0)); // bSPARQ alone
    }

    #[test]
    fn odd_tail_pairs_with_zero() {
        let t = PairTable::sparq(&arith(PlacementSet::Opt5, true));
        let mut out = [0u8; 3];
        t.apply_dense(&[0xB7, 0x13, 0xB7], &mut out);
        assert_eq!(out, [0xB0, 0x14, 0xB7]); // 0x13 rounds up to 0x14 under 5opt
    }
}
