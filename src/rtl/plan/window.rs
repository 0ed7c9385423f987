//! The window modules' tables: each placement's bits, limit and rounding
//! bits, from the model's [`Window`] and [`Rounding`].

use super::OPERAND_BITS;
use crate::config::{Rounding, Window};

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
            // infallible: the plan gives its highest placement no limit
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::trim;
    use crate::config::PlacementSet;

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
}
