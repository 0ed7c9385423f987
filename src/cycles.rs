//! The cycle model: how many clock cycles a GEMM `C = A . B^T` (one MAC
//! layer, `groups` independent GEMMs of `m x k` by `n x k`) takes on a PE
//! array with the dataflow the generated RTL has (verif/INTERFACE.md).
//! `hcm` takes its compute roof from it and `net --rtl` holds it to the
//! cycles the RTL takes under Verilator.
//!
//! - Systolic `R x C`, output stationary, streaming: each tile of `R` rows
//!   of A against `C` rows of B takes `steps` operand cycles (K cut into the
//!   PE's steps: 1, 2 or 4 activations) and the tiles follow each other
//!   back to back; a tile's results leave through each row's output chain
//!   (one column per cycle, `C` cycles) while the next tile computes. So a
//!   tile occupies `max(steps, C)` cycles: when K is shorter than the drain
//!   (`steps < C`) the stream stalls for `C - steps` cycles with
//!   `valid_i = 0` rather than overrun the output chain. A stream (one GEMM)
//!   pays the skew once: after its last tile (ended by a closing
//!   `clear_i`), `fill = (R-1)+(C-1)+P` cycles until the last operands
//!   reach PE `(R-1, C-1)`'s accumulator, whose result is the last row's
//!   first, then `C-1` more for the rest of that row (at least the one
//!   cycle of the closing clear). Total
//!   `tiles * max(steps, C) + max(fill + C - 1, 1)`.
//! - Dot unit of `L` lanes (a single PE is one lane): one output at a
//!   time, `ceil(steps / L)` cycles each, outputs back to back; the last
//!   result shows `latency - 1` cycles after its last operands.

use crate::config::{ArrayShape, Design, Pipeline};
use serde::Serialize;

/// How an array moves operands and results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Dataflow {
    Systolic { rows: u64, cols: u64, flush: u64 },
    Dot { lanes: u64, latency: u64 },
}

/// An array's timing: its dataflow and the K positions one PE (lane)
/// consumes per cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timing {
    pub dataflow: Dataflow,
    pub k_per_step: u64,
}

impl Timing {
    /// From the design's array, PE kind and pipeline (the manifest's
    /// `flush_cycles` and `latency_cycles` are the same numbers).
    pub fn of(design: &Design) -> Timing {
        let k_per_step = u64::from(design.pe().kind().activations_per_cycle());
        Timing::new(&design.array(), design.pe().pipeline().stages(), k_per_step)
    }

    pub fn new(array: &ArrayShape, pipeline: u32, k_per_step: u64) -> Timing {
        let latency = u64::from(Pipeline::latency_for(pipeline));
        let dataflow = match *array {
            ArrayShape::Systolic { rows, cols } => Dataflow::Systolic {
                rows: u64::from(rows),
                cols: u64::from(cols),
                flush: u64::from(array.flush_cycles(pipeline).unwrap_or(0)),
            },
            ArrayShape::Dot { lanes } => Dataflow::Dot {
                lanes: u64::from(lanes),
                latency,
            },
            ArrayShape::Single => Dataflow::Dot { lanes: 1, latency },
        };
        Timing {
            dataflow,
            k_per_step: k_per_step.max(1),
        }
    }

    pub fn pes(&self) -> u64 {
        match self.dataflow {
            Dataflow::Systolic { rows, cols, .. } => rows * cols,
            Dataflow::Dot { lanes, .. } => lanes,
        }
    }

    /// MAC slots per cycle: PEs x K positions per step.
    pub fn peak_macs_per_cycle(&self) -> u64 {
        self.pes() * self.k_per_step
    }

    /// The output tile one pass of the array computes: `R x C` outputs on a
    /// systolic array, one output on a dot unit.
    pub fn tile(&self) -> (u64, u64) {
        match self.dataflow {
            Dataflow::Systolic { rows, cols, .. } => (rows, cols),
            Dataflow::Dot { .. } => (1, 1),
        }
    }
}

/// `groups` GEMMs of `m x k` by `n x k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shape {
    pub groups: u64,
    pub m: u64,
    pub n: u64,
    pub k: u64,
}

impl Shape {
    pub fn macs(&self) -> u64 {
        self.groups * self.m * self.n * self.k
    }
}

/// Predicted cycles and where the MAC slots (PEs x K per step x cycles)
/// go. `useful + edge + padding + fill + drain + tail = slots`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Cycles {
    pub total: u64,
    /// Cycles with operands on the ports.
    pub operand: u64,
    /// Flush (systolic fill and empty) cycles.
    pub flush: u64,
    pub drain: u64,
    /// Systolic: cycles the stream waits because a tile's K is shorter
    /// than the drain (`C - steps` per such tile).
    pub stall: u64,
    /// Pipeline tail of a dot unit.
    pub tail: u64,
    /// MAC slots: useful MACs and the waste, in MAC slots.
    pub slots: u64,
    pub useful: u64,
    /// Slots of PEs with no output in a tile that does not fill the array.
    pub edge: u64,
    /// Slots past the end of K: pairing a lone activation (K not a
    /// multiple of the step), lanes idle in the last cycle of a dot output.
    pub padding: u64,
    /// Slots in flush, drain, stall and tail cycles.
    pub fill_drain: u64,
}

impl Cycles {
    pub fn utilization(&self) -> f64 {
        if self.slots == 0 {
            0.0
        } else {
            self.useful as f64 / self.slots as f64
        }
    }

    pub fn add(&mut self, o: &Cycles) {
        self.total += o.total;
        self.operand += o.operand;
        self.flush += o.flush;
        self.drain += o.drain;
        self.stall += o.stall;
        self.tail += o.tail;
        self.slots += o.slots;
        self.useful += o.useful;
        self.edge += o.edge;
        self.padding += o.padding;
        self.fill_drain += o.fill_drain;
    }

    /// Where the array wastes slots, largest first: `(why, share of all
    /// slots)`, only the shares above 0.5 %.
    pub fn waste(&self) -> Vec<(&'static str, f64)> {
        let s = self.slots.max(1) as f64;
        let mut w = vec![
            ("fill/flush, drain and stalls", self.fill_drain as f64 / s),
            ("tiles that do not fill the array", self.edge as f64 / s),
            (
                "K padding: a lone last activation, or lanes idle in an output's last cycle",
                self.padding as f64 / s,
            ),
        ];
        w.retain(|(_, v)| *v > 0.005);
        w.sort_by(|a, b| b.1.total_cmp(&a.1));
        w
    }
}

/// The cycles `shape` takes on an array with `timing`.
pub fn gemm(t: &Timing, s: Shape) -> Cycles {
    let steps = s.k.div_ceil(t.k_per_step).max(1);
    let kps = t.k_per_step;
    let useful = s.macs();
    let mut c = match t.dataflow {
        Dataflow::Systolic { rows, cols, flush } => {
            let tiles = s.groups * s.m.div_ceil(rows) * s.n.div_ceil(cols);
            let operand = tiles * steps;
            let stall = tiles * cols.saturating_sub(steps);
            // one fill and one drain per stream, none for an empty one
            let (flush, drain) = if tiles == 0 {
                (0, 0)
            } else {
                (flush, (flush + cols - 1).max(1) - flush)
            };
            let active = s.groups * s.m * s.n; // PEs with an output, summed over tiles
            Cycles {
                total: operand + stall + flush + drain,
                operand,
                flush,
                drain,
                stall,
                tail: 0,
                edge: (tiles * rows * cols - active) * steps * kps,
                padding: active * steps * kps - useful,
                fill_drain: (stall + flush + drain) * rows * cols * kps,
                ..Cycles::default()
            }
        }
        Dataflow::Dot { lanes, latency } => {
            let per = steps.div_ceil(lanes);
            let outputs = s.groups * s.m * s.n;
            let tail = if outputs == 0 { 0 } else { latency - 1 };
            Cycles {
                total: outputs * per + tail,
                operand: outputs * per,
                tail,
                padding: outputs * per * lanes * kps - useful,
                fill_drain: tail * lanes * kps,
                ..Cycles::default()
            }
        }
    };
    c.useful = useful;
    c.slots = c.total * t.peak_macs_per_cycle();
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(r: u32, c: u32, p: u32, kps: u64) -> Timing {
        Timing::new(&ArrayShape::Systolic { rows: r, cols: c }, p, kps)
    }

    #[test]
    fn slots_add_up() {
        for t in [
            sa(8, 8, 0, 2),
            sa(4, 3, 2, 4),
            sa(16, 16, 1, 1),
            Timing::new(&ArrayShape::Dot { lanes: 16 }, 1, 2),
            Timing::new(&ArrayShape::Single, 2, 1),
        ] {
            for s in [
                Shape {
                    groups: 1,
                    m: 64,
                    n: 16,
                    k: 9,
                },
                Shape {
                    groups: 32,
                    m: 49,
                    n: 1,
                    k: 9,
                },
                Shape {
                    groups: 1,
                    m: 3,
                    n: 5,
                    k: 1,
                },
                Shape {
                    groups: 2,
                    m: 100,
                    n: 33,
                    k: 577,
                },
            ] {
                let c = gemm(&t, s);
                assert_eq!(
                    c.useful + c.edge + c.padding + c.fill_drain,
                    c.slots,
                    "{t:?} {s:?}"
                );
                assert_eq!(c.operand + c.stall + c.flush + c.drain + c.tail, c.total);
            }
        }
    }

    #[test]
    fn systolic_tiles_stream_and_stall_below_the_drain() {
        // 8x8, pipeline 0, pairs: K = 9 is 5 steps, shorter than the drain
        // of 8: each tile stalls 3 cycles; one fill of 14 and one drain
        let t = sa(8, 8, 0, 2);
        let s = |m, k| Shape {
            groups: 1,
            m,
            n: 8,
            k,
        };
        let c = gemm(&t, s(17, 9));
        assert_eq!(c.total, 3 * 8 + 14 + 7);
        assert_eq!((c.operand, c.stall, c.flush, c.drain), (15, 9, 14, 7));
        assert_eq!(c.useful, 17 * 8 * 9);
        // K = 64 is 32 steps: no stall, tiles back to back
        assert_eq!(gemm(&t, s(17, 64)).total, 3 * 32 + 14 + 7);
        // one tile of one step: the drain bounds it
        assert_eq!(gemm(&t, s(1, 1)).total, 8 + 14 + 7);
        assert_eq!(gemm(&t, s(0, 9)).total, 0);
        // 1 x 1, pipeline 0: the closing clear is the whole tail
        assert_eq!(gemm(&sa(1, 1, 0, 1), s(1, 3)).total, 8 * 3 + 1);
    }

    #[test]
    fn dot_outputs_take_steps_over_lanes() {
        let t = Timing::new(&ArrayShape::Dot { lanes: 16 }, 1, 2);
        // K = 144 is 72 pairs: 5 cycles on 16 lanes
        let c = gemm(
            &t,
            Shape {
                groups: 1,
                m: 10,
                n: 3,
                k: 144,
            },
        );
        assert_eq!(c.total, 30 * 5 + 1);
    }
}
