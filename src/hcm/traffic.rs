//! Bits a layer moves between off-chip memory and the on-chip buffer.
//!
//! The model (README, "hcm"): batch 1; every layer reads its input feature
//! map and weights from memory and writes its output feature map back
//! (nothing is kept on chip between layers). The on-chip buffer of `B` bits
//! holds a block of one operand while the other streams past it once per
//! block; outputs are completed on chip and written once. Two orders are
//! evaluated per layer (per group of a grouped convolution) and the one that
//! moves fewer bits is taken:
//!
//! - **weights-resident**: `m` filters stay in the buffer beside a line
//!   buffer of `k` input rows (all the group's channels) and one output row
//!   per filter; the input streams once per block of `m` filters.
//!   Traffic = W + I * ceil(M_g / m) + O.
//! - **input-resident**: a band of input rows, enough for `r` output rows,
//!   stays in the buffer beside one filter and its `r` output rows; all the
//!   weights stream once per band. Traffic = W * ceil(H_out / r) + I' + O,
//!   where I' counts the rows each band reads (overlapping bands re-read
//!   their `k - stride` halo rows).
//! - **output-resident**: partial sums of a tile of `m` output channels by
//!   `r` output rows (full width) stay in the buffer at `psum_bits` while
//!   the input channels stream one at a time (that channel's band rows and
//!   the tile's `k x k` weights of it); every band of rows is read once per
//!   block of `m` filters and all weights once per band.
//!   Traffic = W * ceil(H_out / r) + I' * ceil(M_g / m) + O; `m` and `r`
//!   are chosen to move the fewest bits.
//!
//! Ties go to the first of weights-resident, input-resident, output-resident.
//! A fully connected layer is a 1x1 "image" with all its input features as
//! channels. PE-local registers and scratch pads are not modelled, nor is
//! double buffering (the whole buffer holds one working set).

use crate::hcm::network::{Layer, LayerKind};
use serde::Serialize;

/// Widths data moves at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widths {
    pub act_bits: u32,
    /// Per stored weight (index bits included).
    pub weight_bits: u32,
    /// Stored weights per dense weight: (kept, of).
    pub weight_keep: (u32, u32),
    pub psum_bits: u32,
}

/// The order the buffer works in for a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "order", rename_all = "snake_case")]
pub enum Dataflow {
    WeightsResident {
        filters_per_block: u64,
        blocks: u64,
    },
    InputResident {
        rows_per_band: u64,
        bands: u64,
    },
    OutputResident {
        filters_per_tile: u64,
        rows_per_tile: u64,
        blocks: u64,
        bands: u64,
    },
}

impl std::fmt::Display for Dataflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Dataflow::WeightsResident {
                filters_per_block,
                blocks,
            } => write!(f, "WR {blocks}x{filters_per_block}f"),
            Dataflow::InputResident {
                rows_per_band,
                bands,
            } => write!(f, "IR {bands}x{rows_per_band}r"),
            Dataflow::OutputResident {
                filters_per_tile,
                rows_per_tile,
                blocks,
                bands,
            } => write!(
                f,
                "OR {blocks}x{filters_per_tile}f {bands}x{rows_per_tile}r"
            ),
        }
    }
}

/// Bits one layer moves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Traffic {
    pub dataflow: Dataflow,
    pub input_bits: u64,
    pub weight_bits: u64,
    pub output_bits: u64,
    pub total_bits: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "layer {index} ({name}) does not fit the {buffer_bits}-bit on-chip buffer in any order \
     (the smallest working set, {what}, needs {need_bits} bits); use a larger buffer_kib"
)]
pub struct BufferTooSmall {
    pub index: usize,
    pub name: String,
    pub buffer_bits: u64,
    pub need_bits: u64,
    pub what: String,
}

/// Input rows (clipped to the image) that output rows `o0..o1` read.
fn rows_touched(o0: u64, o1: u64, h: u64, k: u64, s: u64, p: u64) -> u64 {
    let lo = (o0 * s) as i64 - p as i64;
    let hi = ((o1 - 1) * s + k - 1) as i64 - p as i64;
    let lo = lo.max(0);
    let hi = hi.min(h as i64 - 1);
    if hi < lo {
        0
    } else {
        (hi - lo + 1) as u64
    }
}

/// Plan one compute layer's traffic with a `buffer_bits` buffer.
pub fn plan(layer: &Layer, w: Widths, buffer_bits: u64) -> Result<Traffic, BufferTooSmall> {
    // infallible: callers plan compute layers only
    let g = layer.gemm().expect("pooling layers move nothing");
    let (k, s, p) = layer.window();
    // The image a group sees: FC = 1x1 with all features as channels.
    let (h, wd) = match layer.kind {
        LayerKind::Fc => (1, 1),
        _ => (layer.input.h, layer.input.w),
    };
    let (ho, wo) = (layer.output.h, layer.output.w);
    let ba = u64::from(w.act_bits);
    let pb = u64::from(w.psum_bits);
    let (keep, of) = (u64::from(w.weight_keep.0), u64::from(w.weight_keep.1));
    let stored = |dense: u64| (dense * keep).div_ceil(of);
    let wbits = u64::from(w.weight_bits);
    let (groups, cg, mg) = (g.groups, g.n, g.m);
    let filter_bits = stored(cg * k * k) * wbits;
    let row_in = wd * cg * ba;
    let row_out = wo * ba;
    let band_rows = |r: u64| ((r - 1) * s + k).min(h);
    // input rows read by bands of r output rows, summed over the bands
    let rows_read = |r: u64| -> u64 {
        (0..ho.div_ceil(r))
            .map(|b| rows_touched(b * r, ((b + 1) * r).min(ho), h, k, s, p))
            .sum()
    };

    let w_total = groups * mg * filter_bits;
    let o_total = groups * mg * ho * wo * ba;
    let i_once = groups * rows_read(ho) * row_in;
    let mut best: Option<Traffic> = None;
    let mut offer = |t: Traffic| {
        if best.is_none_or(|b| t.total_bits < b.total_bits) {
            best = Some(t);
        }
    };

    // Weights-resident: m filters beside a k-row line buffer.
    let line = k.min(h) * row_in;
    if buffer_bits >= line + filter_bits + row_out {
        let m = ((buffer_bits - line) / (filter_bits + row_out)).min(mg);
        let blocks = mg.div_ceil(m);
        offer(Traffic {
            dataflow: Dataflow::WeightsResident {
                filters_per_block: m,
                blocks,
            },
            input_bits: i_once * blocks,
            weight_bits: w_total,
            output_bits: o_total,
            total_bits: w_total + i_once * blocks + o_total,
        });
    }

    // Input-resident: the largest band of r output rows that fits.
    let ir_fits = |r: u64| band_rows(r) * row_in + filter_bits + r * row_out <= buffer_bits;
    if ir_fits(1) {
        let (mut lo, mut hi) = (1u64, ho);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if ir_fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let r = lo;
        let bands = ho.div_ceil(r);
        let input = groups * rows_read(r) * row_in;
        offer(Traffic {
            dataflow: Dataflow::InputResident {
                rows_per_band: r,
                bands,
            },
            input_bits: input,
            weight_bits: w_total * bands,
            output_bits: o_total,
            total_bits: w_total * bands + input + o_total,
        });
    }

    // Output-resident: partial sums of m filters x r rows, one input
    // channel streaming at a time; every r, the largest m that fits.
    let one_channel_weights = stored(k * k) * wbits;
    for r in 1..=ho {
        let staging = band_rows(r) * wd * ba;
        let per_filter = r * wo * pb + one_channel_weights;
        if buffer_bits < staging + per_filter {
            break;
        }
        let m = ((buffer_bits - staging) / per_filter).min(mg);
        let (blocks, bands) = (mg.div_ceil(m), ho.div_ceil(r));
        let input = groups * rows_read(r) * row_in * blocks;
        offer(Traffic {
            dataflow: Dataflow::OutputResident {
                filters_per_tile: m,
                rows_per_tile: r,
                blocks,
                bands,
            },
            input_bits: input,
            weight_bits: w_total * bands,
            output_bits: o_total,
            total_bits: w_total * bands + input + o_total,
        });
    }

    best.ok_or_else(|| BufferTooSmall {
        index: layer.index,
        name: layer.name.clone(),
        buffer_bits,
        need_bits: (band_rows(1) * wd * ba + wo * pb + one_channel_weights)
            .min(line + filter_bits + row_out),
        what: "one output row of partial sums with one input channel's rows and weights"
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hcm::network::Network;

    fn layer(yaml_layers: &str, input: &str) -> Layer {
        Network::from_yaml(&format!("name: t\ninput: {input}\nlayers:\n{yaml_layers}"))
            .unwrap()
            .layers
            .pop()
            .unwrap()
    }

    const W8: Widths = Widths {
        act_bits: 8,
        weight_bits: 8,
        weight_keep: (1, 1),
        psum_bits: 32,
    };

    #[test]
    fn everything_fits_moves_each_tensor_once() {
        let l = layer(
            "  - {name: c, type: conv, out: 16, kernel: 3, padding: 1}\n",
            "[8, 8, 8]",
        );
        let t = plan(&l, W8, 1 << 30).unwrap();
        assert_eq!(t.weight_bits, 16 * 8 * 9 * 8);
        assert_eq!(t.input_bits, 8 * 8 * 8 * 8);
        assert_eq!(t.output_bits, 16 * 8 * 8 * 8);
        assert_eq!(t.total_bits, t.weight_bits + t.input_bits + t.output_bits);
        assert_eq!(
            t.dataflow,
            Dataflow::WeightsResident {
                filters_per_block: 16,
                blocks: 1
            }
        );
    }

    #[test]
    fn small_buffer_refetches_the_cheapest_way() {
        // 64 channels of 32x32 at 8 bits; 3 rows = 49152 bits, a filter 4608.
        let l = layer(
            "  - {name: c, type: conv, out: 64, kernel: 3, padding: 1}\n",
            "[64, 32, 32]",
        );
        let buf: u64 = 49152 + 4 * (4608 + 256);
        let t = plan(&l, W8, buf).unwrap();
        let (i, w, o): (u64, u64, u64) = (64 * 32 * 32 * 8, 64 * 64 * 9 * 8, 64 * 32 * 32 * 8);
        // weights-resident: 4 filters per block, 16 blocks: W + 16 I + O
        let wr = w + 16 * i + o;
        // input-resident: one output row per band (3 rows + a filter + a row)
        // fits, two do not; 32 bands read 2 + 30 * 3 + 2 = 94 rows
        let ir = 32 * w + 94 * 32 * 64 * 8 + o;
        // output-resident, e.g. 8 rows x 8 filters of 32-bit partial sums
        // (65536) + 10 rows of one channel (2560) + 8 x 72 weight bits:
        // 4 bands read 10 + 10 + 10 + 9 = 39 rows, 8 blocks
        let or8 = 4 * w + 8 * 39 * 32 * 64 * 8 + o;
        assert!(t.total_bits <= wr.min(ir).min(or8), "{t:?}");
        assert!(
            matches!(t.dataflow, Dataflow::OutputResident { .. }),
            "{t:?}"
        );
        // and the chosen plan adds up
        assert_eq!(t.total_bits, t.input_bits + t.weight_bits + t.output_bits);
        match t.dataflow {
            Dataflow::OutputResident {
                filters_per_tile: m,
                rows_per_tile: r,
                blocks,
                bands,
            } => {
                assert!(m * r * 32 * 32 + ((r - 1) + 3).min(32) * 32 * 8 + m * 72 <= buf);
                assert_eq!((blocks, bands), (64u64.div_ceil(m), 32u64.div_ceil(r)));
                assert_eq!(t.weight_bits, w * bands);
            }
            _ => unreachable!(),
        }
    }

    #[test]
    fn fully_connected_streams_weights_once() {
        let l = layer("  - {name: f, type: fc, out: 10}\n", "[10, 10, 10]");
        let t = plan(&l, W8, 1 << 20).unwrap();
        assert_eq!(t.weight_bits, 10 * 1000 * 8);
        assert_eq!(t.input_bits, 1000 * 8);
        assert_eq!(t.output_bits, 10 * 8);
    }

    #[test]
    fn too_small_a_buffer_is_an_error() {
        let l = layer("  - {name: f, type: fc, out: 10}\n", "[1000, 1, 1]");
        // output-resident needs 8 (one input) + 32 (one partial sum) + 8 bits
        assert!(plan(&l, W8, 48).is_ok());
        let e = plan(&l, W8, 47).unwrap_err().to_string();
        assert!(
            e.starts_with("layer 0 (f) does not fit the 47-bit on-chip buffer"),
            "{e}"
        );
    }
}
