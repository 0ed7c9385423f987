//! The port contract's driving protocol for a GEMM: systolic tiles (skew-free
//! feeding, streamed back to back, results leaving while the next tile
//! computes) and lane-parallel reductions (single PE, dot unit), with the
//! check of every output.

use super::draw::GemmData;
use super::rng::{seed_of, Rng};
use super::writer::SegWriter;
use super::{MemberCtx, Segment};
use crate::arith::ArithError;
use crate::config::ArrayShape;
use crate::sim::layout::ctrl;

/// A GEMM cut into the steps one PE lane consumes per cycle.
struct Steps<'a> {
    g: &'a GemmData,
    m: usize,
    n: usize,
    steps: usize,
    /// Activation word of every step of every row of A.
    act: Vec<Vec<u32>>,
    /// Weight word of every step of every row of B.
    wgt: Vec<Vec<u32>>,
}

impl MemberCtx {
    /// The cycles and checks of a GEMM on this member.
    pub(super) fn gemm_segment(&self, g: &GemmData) -> Result<Segment, ArithError> {
        let (m, k) = (g.a.shape[0], g.a.shape[1]);
        let n = g.b.shape[0];
        let steps = self.enc.steps(k);
        let act = (0..m)
            .map(|i| self.enc.act_steps(&g.a.data[i * k..(i + 1) * k]))
            .collect();
        let wgt = (0..n)
            .map(|j| self.enc.wgt_steps(&g.b.data[j * k..(j + 1) * k], j))
            .collect::<Result<_, _>>()?;
        let s = Steps {
            g,
            m,
            n,
            steps,
            act,
            wgt,
        };
        let mut rng = Rng::new(seed_of(g.seed, 0xb0bb1e, 0));
        let mut seg = SegWriter::new(&self.slot);
        seg.reset_cycle();
        match self.design.array() {
            ArrayShape::Systolic { rows, cols } => {
                self.drive_systolic(&s, rows as usize, cols as usize, &mut rng, &mut seg)
            }
            _ => self.drive_lanes(&s, &mut rng, &mut seg),
        }
        seg.seg.macs = (m * n * k) as u64;
        Ok(seg.seg)
    }

    /// Tiles of `rows x cols` outputs streamed back to back: every step of
    /// a tile on one cycle (the array skews internally), `clear_i` on each
    /// tile's first step; a tile shorter than the drain (`cols` cycles from
    /// one clear to the next) is followed by idle cycles; a closing clear
    /// without `valid_i` pushes out the last tile. The results of the tile a
    /// clear at cycle `t` ends leave row `r`'s output chain at cycles
    /// `t + r + P + 2 cols - 3 - c` (`c` = cols-1 .. 0), checked there.
    fn drive_systolic(
        &self,
        s: &Steps,
        rows: usize,
        cols: usize,
        rng: &mut Rng,
        seg: &mut SegWriter,
    ) {
        let aw = self.ports.lane_act_bits;
        let ww = self.ports.lane_wgt_bits;
        let p = self.ports.sample_delay() as usize;
        let spacing = self.ports.drain_cycles as usize;
        let (m, n) = (s.m, s.n);
        // the results of tile (ti, tj), ended by a clear at cycle `t`
        let expect = |seg: &mut SegWriter, (ti, tj): (usize, usize), t: usize| {
            for r in 0..rows {
                for c in 0..cols {
                    let (i, j) = (ti * rows + r, tj * cols + c);
                    let (e, item) = if i < m && j < n {
                        (s.g.c[i * n + j], (i * n + j) as u32)
                    } else {
                        (0, u32::MAX)
                    };
                    seg.check(t + r + p + 2 * cols - 2 - c - 1, r as u16, e, item);
                }
            }
        };
        let mut prev: Option<((usize, usize), usize)> = None;
        // wait until `drain_cycles` (cols) cycles have passed since the last clear
        let stall = |seg: &mut SegWriter, prev: Option<((usize, usize), usize)>| {
            if let Some((_, t)) = prev {
                while seg.cycles() < t + spacing {
                    seg.cycle(0);
                }
            }
        };
        for ti in 0..m.div_ceil(rows) {
            for tj in 0..n.div_ceil(cols) {
                for st in 0..s.steps {
                    while s.g.bubbles && rng.pct(5) {
                        seg.cycle(0);
                    }
                    if st == 0 {
                        stall(seg, prev);
                    }
                    let ctl = ctrl::VALID | if st == 0 { ctrl::CLEAR } else { 0 };
                    let cyc = seg.cycle(ctl);
                    if st == 0 {
                        if let Some((tile, _)) = prev {
                            expect(seg, tile, cyc);
                        }
                        prev = Some(((ti, tj), cyc));
                    }
                    for r in 0..rows {
                        if let Some(row) = s.act.get(ti * rows + r) {
                            seg.put_act(cyc, r as u32 * aw, aw, row[st]);
                        }
                    }
                    for c in 0..cols {
                        if let Some(col) = s.wgt.get(tj * cols + c) {
                            seg.put_wgt(cyc, c as u32 * ww, ww, col[st]);
                        }
                    }
                    seg.seg.vectors += 1;
                }
            }
        }
        // the closing clear (no operands) pushes out the last tile
        if let Some((tile, _)) = prev {
            stall(seg, prev);
            let cyc = seg.cycle(ctrl::CLEAR);
            expect(seg, tile, cyc);
        }
        seg.seg.checks.sort_by_key(|c| c.cycle);
        seg.idle_until_checks();
    }

    /// One output at a time: its steps spread over the lanes, `clear` on
    /// the first cycle, the output sampled after the pipeline's latency.
    fn drive_lanes(&self, s: &Steps, rng: &mut Rng, seg: &mut SegWriter) {
        let lanes = self.lanes();
        let aw = self.ports.lane_act_bits;
        let ww = self.ports.lane_wgt_bits;
        let delay = self.ports.sample_delay() as usize;
        let per = s.steps.div_ceil(lanes).max(1);
        for i in 0..s.m {
            for j in 0..s.n {
                let mut cyc = 0;
                for c in 0..per {
                    while s.g.bubbles && c > 0 && rng.pct(5) {
                        seg.cycle(0);
                    }
                    let ctl = ctrl::VALID | if c == 0 { ctrl::CLEAR } else { 0 };
                    cyc = seg.cycle(ctl);
                    for l in 0..lanes {
                        let st = c * lanes + l;
                        if st < s.steps {
                            seg.put_act(cyc, l as u32 * aw, aw, s.act[i][st]);
                            seg.put_wgt(cyc, l as u32 * ww, ww, s.wgt[j][st]);
                        }
                    }
                    seg.seg.vectors += 1;
                }
                seg.check(cyc + delay, 0, s.g.c[i * s.n + j], (i * s.n + j) as u32);
            }
        }
        seg.idle_until_checks();
    }
}
