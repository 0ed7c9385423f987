//! bSPARQ: trimming one 8-bit activation to an n-bit window.
//!
//! [`trim`] is the fast form used everywhere; [`trim_by_definition`] restates
//! docs/arithmetic.md bit by bit (leading-one search, R/L/T bits) so that tests can hold
//! the fast form against the spec's own words.

use crate::config::{Rounding, Window};
use bitvec::prelude::*;

/// A trimmed activation: the window's code `q` (n bits wide) placed at shift
/// `s`. The value that multiplies the weight is `q << s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub q: u8,
    pub s: u8,
}

impl Trimmed {
    pub fn value(self) -> u8 {
        // q < 2^n and s + n <= 8, so this never leaves 8 bits.
        self.q << self.s
    }
}

/// Trim `a` to window `w` with rounding `r` (docs/arithmetic.md, "bSPARQ").
pub fn trim(a: u8, w: Window, r: Rounding) -> Trimmed {
    let s = w.shift_for(a);
    let mask = ((1u32 << w.bits) - 1) as u8;
    let mut q = (a >> s) & mask;
    if r == Rounding::RoundHalfEven && s > 0 {
        let round_bit = (a >> (s - 1)) & 1 == 1;
        let lsb = (a >> s) & 1 == 1;
        let sticky = s >= 2 && a & ((1u8 << (s - 1)) - 1) != 0;
        if round_bit && (lsb || sticky) && q < mask {
            q += 1;
        }
    }
    Trimmed { q, s: s as u8 }
}

/// docs/arithmetic.md's definition, spelled out on the bits of `a` (LSB first), with no
/// shortcuts: the reference the fast [`trim`] is tested against.
pub fn trim_by_definition(a: u8, w: Window, r: Rounding) -> Trimmed {
    let bits = a.view_bits::<Lsb0>();
    let n = w.bits as usize;
    // p: index of the leading one (None for a = 0).
    let p = bits.last_one();
    // infallible: validation refuses a window without placements
    let lowest = *w.shifts.last().unwrap() as usize;
    let s = match p {
        None => lowest,
        Some(p) => w
            .shifts
            .iter()
            .map(|&s| s as usize)
            .filter(|&s| s + n > p)
            .min()
            .unwrap_or(lowest),
    };
    let s = if u32::from(a) < (1u32 << w.bits) {
        lowest
    } else {
        s
    };
    let mut q: u32 = 0;
    for i in 0..n {
        if s + i < 8 && bits[s + i] {
            q |= 1 << i;
        }
    }
    if r == Rounding::RoundHalfEven && s > 0 {
        let rb = bits[s - 1];
        let l = bits[s];
        let t = bits[..s - 1].any();
        if rb && (l || t) {
            q = (q + 1).min((1 << n) - 1);
        }
    }
    Trimmed {
        q: q as u8,
        s: s as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PlacementSet;

    fn all_windows() -> Vec<(String, Window)> {
        let mut v: Vec<(String, Window)> = PlacementSet::ALL
            .iter()
            .map(|p| (p.name().to_string(), p.window()))
            .collect();
        v.push(("wide6".into(), Window::WIDE6));
        v.push(("wide4".into(), Window::WIDE4));
        v
    }

    /// Property: for all 256 activations of every set and rounding, the fast
    /// trim equals the spec's definition, the code fits n bits, the window
    /// is an allowed placement, and truncation never exceeds `a`.
    #[test]
    fn fast_trim_matches_definition_for_every_activation() {
        for (name, w) in all_windows() {
            for r in Rounding::ALL {
                for a in 0..=255u8 {
                    let fast = trim(a, w, r);
                    let def = trim_by_definition(a, w, r);
                    assert_eq!(fast, def, "{name} {r:?} a={a}");
                    assert!(u32::from(fast.q) < (1 << w.bits), "{name} a={a}");
                    assert!(w.shifts.contains(&u32::from(fast.s)), "{name} a={a}");
                    if r == Rounding::Truncate {
                        assert!(fast.value() <= a);
                        // a window at the leading one loses less than 2^s
                        assert!(a - fast.value() < (1u16 << fast.s) as u8 || fast.s == 0);
                    }
                    // a value that fits the window exactly is untouched
                    if u32::from(a) < (1 << w.bits) {
                        assert_eq!(fast.value(), a, "{name} a={a}");
                    }
                }
            }
        }
    }

    #[test]
    fn spec_worked_examples() {
        let t = |a, p: PlacementSet, r| trim(a, p.window(), r).value();
        use Rounding::*;
        assert_eq!(t(0x1B, PlacementSet::Opt5, Truncate), 0x1A);
        assert_eq!(t(0x1B, PlacementSet::Opt5, RoundHalfEven), 0x1C);
        assert_eq!(t(0x1B, PlacementSet::Opt2, Truncate), 0x10);
        assert_eq!(t(0x1B, PlacementSet::Opt2, RoundHalfEven), 0x20);
        assert_eq!(t(0x78, PlacementSet::Opt3, RoundHalfEven), 0x80);
        assert_eq!(t(255, PlacementSet::Opt5, RoundHalfEven), 240);
        assert_eq!(t(63, PlacementSet::Opt5, RoundHalfEven), 60);
        for a in 124..=127 {
            assert_eq!(t(a, PlacementSet::Opt3, RoundHalfEven), 128);
        }
        assert_eq!(trim(255, Window::WIDE6, RoundHalfEven).value(), 252);
    }
}
