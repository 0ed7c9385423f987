//! SPARQ's arithmetic choices: the rounding applied when an activation is
//! trimmed, and the window placement sets (docs/arithmetic.md, "bSPARQ").

use serde::{Deserialize, Serialize};
use std::fmt;

/// Rounding applied when an activation is trimmed to its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// `RAW` in the reference: the bits below the window are dropped.
    Truncate,
    /// `ROUND` in the reference: round half to even at the window's LSB,
    /// saturating inside the chosen window.
    RoundHalfEven,
}

impl Rounding {
    pub const ALL: [Rounding; 2] = [Rounding::Truncate, Rounding::RoundHalfEven];

    /// The name used in the design description.
    pub fn yaml_name(self) -> &'static str {
        match self {
            Rounding::Truncate => "truncate",
            Rounding::RoundHalfEven => "round_half_even",
        }
    }

    /// The short name used in benchmark and report tables.
    pub fn short(self) -> &'static str {
        match self {
            Rounding::Truncate => "trunc",
            Rounding::RoundHalfEven => "round",
        }
    }
}

/// A set of allowed window placements (docs/arithmetic.md, "bSPARQ"). Each set implies
/// its window width, so a width/placement mismatch cannot be represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PlacementSet {
    /// n = 4, shifts 4, 3, 2, 1, 0.
    #[serde(rename = "5opt")]
    Opt5,
    /// n = 4, shifts 4, 2, 0.
    #[serde(rename = "3opt")]
    Opt3,
    /// n = 4, shifts 4, 0.
    #[serde(rename = "2opt")]
    Opt2,
    /// n = 3, shifts 5..0.
    #[serde(rename = "6opt")]
    Opt6,
    /// n = 2, shifts 6..0.
    #[serde(rename = "7opt")]
    Opt7,
}

/// A window: its width and the shifts it may be placed at, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub bits: u32,
    pub shifts: &'static [u32],
}

impl Window {
    /// The 6-bit window vSPARQ gives a lone activation when n = 3.
    pub const WIDE6: Window = Window {
        bits: 6,
        shifts: &[2, 1, 0],
    };
    /// The 4-bit window vSPARQ gives a lone activation when n = 2.
    pub const WIDE4: Window = Window {
        bits: 4,
        shifts: &[4, 3, 2, 1, 0],
    };
    /// The whole 8-bit activation (the exact path when n = 4).
    pub const EXACT8: Window = Window {
        bits: 8,
        shifts: &[0],
    };

    /// Placement chosen for activation `a`: the smallest allowed shift `s`
    /// with `s + bits - 1 >= p`, `p` the leading one's index; the lowest
    /// placement when `a < 2^bits` (zero included).
    pub fn shift_for(self, a: u8) -> u32 {
        // infallible: validation refuses a window without placements
        let lowest = *self.shifts.last().expect("a window has placements");
        if u32::from(a) < (1u32 << self.bits) {
            return lowest;
        }
        let p = 7 - a.leading_zeros();
        // shifts are highest first: the smallest fitting one is the last
        // that still covers p.
        let mut best = self.shifts[0];
        for &s in self.shifts {
            if s + self.bits > p {
                best = s;
            }
        }
        best
    }
}

impl PlacementSet {
    pub const ALL: [PlacementSet; 5] = [
        PlacementSet::Opt5,
        PlacementSet::Opt3,
        PlacementSet::Opt2,
        PlacementSet::Opt6,
        PlacementSet::Opt7,
    ];

    /// Window width n.
    pub fn window_bits(self) -> u32 {
        self.window().bits
    }

    /// Number of placements (the `placements` field).
    pub fn count(self) -> u32 {
        self.window().shifts.len() as u32
    }

    /// The n-bit window of this set.
    pub fn window(self) -> Window {
        match self {
            PlacementSet::Opt5 => Window {
                bits: 4,
                shifts: &[4, 3, 2, 1, 0],
            },
            PlacementSet::Opt3 => Window {
                bits: 4,
                shifts: &[4, 2, 0],
            },
            PlacementSet::Opt2 => Window {
                bits: 4,
                shifts: &[4, 0],
            },
            PlacementSet::Opt6 => Window {
                bits: 3,
                shifts: &[5, 4, 3, 2, 1, 0],
            },
            PlacementSet::Opt7 => Window {
                bits: 2,
                shifts: &[6, 5, 4, 3, 2, 1, 0],
            },
        }
    }

    /// The window a lone activation (partner zero) gets under vSPARQ: the
    /// exact 8-bit value for n = 4, `wide6` for n = 3, `wide4` for n = 2.
    pub fn wide_window(self) -> Window {
        match self.window_bits() {
            4 => Window::EXACT8,
            3 => Window::WIDE6,
            _ => Window::WIDE4,
        }
    }

    /// `5opt`, `3opt`, ...
    pub fn name(self) -> &'static str {
        match self {
            PlacementSet::Opt5 => "5opt",
            PlacementSet::Opt3 => "3opt",
            PlacementSet::Opt2 => "2opt",
            PlacementSet::Opt6 => "6opt",
            PlacementSet::Opt7 => "7opt",
        }
    }

    /// The set for a `(window_bits, placements)` pair, if it exists.
    pub fn from_fields(window_bits: u32, placements: u32) -> Option<PlacementSet> {
        PlacementSet::ALL
            .into_iter()
            .find(|s| s.window_bits() == window_bits && s.count() == placements)
    }

    /// The placement counts allowed with a window width.
    pub fn allowed_placements(window_bits: u32) -> Vec<u32> {
        PlacementSet::ALL
            .into_iter()
            .filter(|s| s.window_bits() == window_bits)
            .map(|s| s.count())
            .collect()
    }
}

impl fmt::Display for PlacementSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
