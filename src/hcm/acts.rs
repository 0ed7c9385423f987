//! Activation sparsity for SPARQ accounting: how often vSPARQ's wide path
//! is taken. A pair of activations with exactly one zero gives the other
//! the pair's whole budget (the exact 8-bit value for a 4-bit window, 6 bits
//! for 3, 4 bits for 2); a pair with none trims both to the window.
//!
//! Measured from a layer's input activations (.npy, uint8 or any integer
//! dtype with values in 0..=255, shape N x C x H x W, C x H x W, or N x K
//! for a fully connected layer) or assumed from a zero fraction `z` with
//! independent zeros: both zero z^2, exactly one 2z(1 - z), none (1 - z)^2.
//!
//! Pairs follow the PE's pairing along the reduction (docs/arithmetic.md,
//! "How K is cut into pairs"): adjacent input channels (c, c+1) at each position for a
//! convolution with at least two channels per group (exact for an even
//! count; an odd count pads each position's last channel with a zero, which
//! is only approximately what im2col does); horizontally adjacent pixels
//! for a depthwise convolution (approximately the taps (i, j), (i, j+1));
//! consecutive features of the flattened input for a fully connected layer
//! (exact). Padding is not counted. Under 2:4 weights (`stc`) the PE pairs
//! the activations at the kept weight positions, which depend on the
//! weights; adjacent pairs stand in for them.

use crate::arith::Tensor;
use crate::hcm::network::{Layer, LayerKind, Shape};
use crate::npy::{self, NpyError};
use serde::Serialize;
use std::path::Path;

/// Pair counts of a tensor, or fractions assumed from a zero fraction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PairStats {
    pub zero_fraction: f64,
    /// Fractions of pairs: both zero, exactly one zero (the wide path),
    /// no zero (both trimmed to the window).
    pub both_zero: f64,
    pub one_zero: f64,
    pub no_zero: f64,
    /// Values and pairs counted (0 when assumed).
    pub values: u64,
    pub pairs: u64,
}

impl PairStats {
    pub fn assumed(z: f64) -> PairStats {
        PairStats {
            zero_fraction: z,
            both_zero: z * z,
            one_zero: 2.0 * z * (1.0 - z),
            no_zero: (1.0 - z) * (1.0 - z),
            values: 0,
            pairs: 0,
        }
    }

    fn from_counts(values: u64, zeros: u64, both: u64, one: u64, none: u64) -> PairStats {
        let pairs = both + one + none;
        let frac = |x: u64| {
            if pairs == 0 {
                0.0
            } else {
                x as f64 / pairs as f64
            }
        };
        PairStats {
            zero_fraction: if values == 0 {
                0.0
            } else {
                zeros as f64 / values as f64
            },
            both_zero: frac(both),
            one_zero: frac(one),
            no_zero: frac(none),
            values,
            pairs,
        }
    }

    /// Average bits a non-zero activation keeps at the multipliers: lone
    /// ones (one zero in the pair) get `wide_bits` under vSPARQ, paired ones
    /// the window's `window_bits`.
    pub fn effective_act_bits(&self, window_bits: u32, wide_bits: u32, pair_sharing: bool) -> f64 {
        let lone = self.one_zero;
        let paired = 2.0 * self.no_zero;
        if lone + paired == 0.0 {
            return f64::from(window_bits);
        }
        let wide = if pair_sharing { wide_bits } else { window_bits };
        (lone * f64::from(wide) + paired * f64::from(window_bits)) / (lone + paired)
    }
}

/// Which axis pairs run along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairAxis {
    Channels,
    Width,
    Flat,
}

impl PairAxis {
    pub fn for_layer(layer: &Layer) -> PairAxis {
        match layer.kind {
            LayerKind::Fc => PairAxis::Flat,
            _ => match layer.gemm() {
                Some(g) if g.n >= 2 => PairAxis::Channels,
                _ => PairAxis::Width,
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActsError {
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error("{path}: shape {got:?} does not match layer {layer}'s input {want} (expected N x {c} x {h} x {w}, {c} x {h} x {w}{fc})", c = .want.c, h = .want.h, w = .want.w)]
    Shape {
        path: String,
        layer: String,
        got: Vec<usize>,
        want: Shape,
        fc: String,
    },
    #[error("{path}: holds no images (shape {got:?}); activations of layer {layer} must come from at least one image")]
    Empty {
        path: String,
        layer: String,
        got: Vec<usize>,
    },
}

/// Read an unsigned 8-bit tensor of any rank (1 to 6 dimensions).
pub fn read_any(path: &Path, what: &str) -> Result<Tensor<u8>, NpyError> {
    match npy::read::<u8>(path, what, 4) {
        Err(NpyError::Shape { got, .. }) if (1..=6).contains(&got.len()) => {
            npy::read::<u8>(path, what, got.len())
        }
        other => other,
    }
}

/// Measure a layer's input activations.
pub fn measure(path: &Path, layer: &Layer) -> Result<PairStats, ActsError> {
    let t = read_any(path, &format!("activations of layer {}", layer.name))?;
    let s = layer.input;
    let (c, h, w) = (s.c as usize, s.h as usize, s.w as usize);
    let fc = matches!(layer.kind, LayerKind::Fc);
    let dims: Option<[usize; 4]> = match t.shape[..] {
        [n, tc, th, tw] if (tc, th, tw) == (c, h, w) => Some([n, c, h, w]),
        [tc, th, tw] if (tc, th, tw) == (c, h, w) => Some([1, c, h, w]),
        [n, k] if fc && k == c * h * w => Some([n, c, h, w]),
        _ => None,
    };
    let dims = dims.ok_or_else(|| ActsError::Shape {
        path: path.display().to_string(),
        layer: layer.name.clone(),
        got: t.shape.clone(),
        want: s,
        fc: if fc {
            format!(" or N x {}", s.elems())
        } else {
            String::new()
        },
    })?;
    if dims[0] == 0 || t.data.is_empty() {
        return Err(ActsError::Empty {
            path: path.display().to_string(),
            layer: layer.name.clone(),
            got: t.shape.clone(),
        });
    }
    Ok(pair_stats(&t.data, dims, PairAxis::for_layer(layer)))
}

/// Count pairs in an N x C x H x W tensor (row-major) along `axis`.
pub fn pair_stats(data: &[u8], dims: [usize; 4], axis: PairAxis) -> PairStats {
    let [n, c, h, w] = dims;
    let (mut both, mut one, mut none) = (0u64, 0u64, 0u64);
    let mut count = |a: u8, b: u8| match (a == 0, b == 0) {
        (true, true) => both += 1,
        (false, false) => none += 1,
        _ => one += 1,
    };
    let at = |ni: usize, ci: usize, hi: usize, wi: usize| data[((ni * c + ci) * h + hi) * w + wi];
    match axis {
        PairAxis::Channels => {
            for ni in 0..n {
                for hi in 0..h {
                    for wi in 0..w {
                        for ci in (0..c).step_by(2) {
                            let b = if ci + 1 < c {
                                at(ni, ci + 1, hi, wi)
                            } else {
                                0
                            };
                            count(at(ni, ci, hi, wi), b);
                        }
                    }
                }
            }
        }
        PairAxis::Width => {
            for row in data.chunks(w) {
                for pair in row.chunks(2) {
                    count(pair[0], pair.get(1).copied().unwrap_or(0));
                }
            }
        }
        PairAxis::Flat => {
            for sample in data.chunks(c * h * w) {
                for pair in sample.chunks(2) {
                    count(pair[0], pair.get(1).copied().unwrap_or(0));
                }
            }
        }
    }
    let zeros = data.iter().filter(|&&v| v == 0).count() as u64;
    PairStats::from_counts(data.len() as u64, zeros, both, one, none)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_pairs_are_counted_per_position() {
        // N=1, C=2, H=1, W=3: pairs (x[0,w], x[1,w]) for w = 0..3
        let data = [0, 5, 3, /* c1 */ 0, 0, 7];
        let s = pair_stats(&data, [1, 2, 1, 3], PairAxis::Channels);
        assert_eq!(s.pairs, 3);
        assert!((s.both_zero - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.one_zero - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.no_zero - 1.0 / 3.0).abs() < 1e-12);
        assert!((s.zero_fraction - 0.5).abs() < 1e-12);
        // odd channel count pads with a zero: (9, pad) is a lone activation
        let s = pair_stats(&[9, 9, 9], [1, 3, 1, 1], PairAxis::Channels);
        assert_eq!((s.pairs, s.no_zero, s.one_zero), (2, 0.5, 0.5));
    }

    #[test]
    fn assumed_and_effective_bits() {
        let s = PairStats::assumed(0.5);
        assert_eq!((s.both_zero, s.one_zero, s.no_zero), (0.25, 0.5, 0.25));
        // lone: 0.5 at 8 bits, paired: 2 * 0.25 at 4 bits -> 6 bits
        assert!((s.effective_act_bits(4, 8, true) - 6.0).abs() < 1e-12);
        assert!((s.effective_act_bits(4, 8, false) - 4.0).abs() < 1e-12);
    }
}
