//! Per-cycle operand streams of single PEs and dot units: the exhaustive
//! sweep, random valid/clear sequences and the accumulator run, each lane's
//! expected product from the model and the accumulator from the port
//! contract's rule ([`crate::arith::Accumulate`]).

use super::rng::{mix, Rng};
use super::{MemberCtx, Segment, SWEEP_VARIANTS, SWEEP_WEIGHTS};
use crate::arith::Accumulate;
use crate::sim::encode::{Encoding, LaneOps};
use crate::sim::layout::ctrl;

/// Where a stream's operands come from.
#[derive(Debug, Clone, Copy)]
pub(super) enum OpSource {
    /// Vectors `(first + t) * stride + (first + t) % stride` of the sweep
    /// (stride 1: every vector; the variants per pair: one per pair).
    Sweep {
        first: u32,
        count: u32,
        stride: u32,
    },
    Random {
        seed: u64,
        cycles: u32,
    },
    Extreme {
        negative: bool,
        cycles: u32,
    },
}

fn nonzero(v: u8) -> i8 {
    if v == 0 {
        1
    } else {
        v as i8
    }
}

impl MemberCtx {
    /// One lane's operands of sweep vector `v`.
    pub fn sweep_vector(&self, v: u32) -> (u32, u32) {
        let h = mix(self.seed ^ 0x5eed ^ u64::from(v));
        let l = match self.enc {
            Encoding::SparqDense | Encoding::SparqStc => {
                let pair = v / SWEEP_VARIANTS;
                let (a1, a2) = ((pair >> 8) as u8, pair as u8);
                let j = (v % SWEEP_VARIANTS) as usize;
                let (b1, b2) = match SWEEP_WEIGHTS.get(j) {
                    Some(&w) => w,
                    None if j == 6 => (h as u8 as i8, (h >> 8) as u8 as i8),
                    None => (nonzero(h as u8), nonzero((h >> 8) as u8)),
                };
                if self.enc == Encoding::SparqDense {
                    LaneOps {
                        acts: [a1, a2, 0, 0],
                        wgts: [b1, b2],
                        idx: [0, 0],
                    }
                } else {
                    // a1, a2 at a canonical pair of positions, junk elsewhere
                    const POS: [(u8, u8); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
                    let (i1, i2) = POS[((h >> 16) % 6) as usize];
                    let mut acts = ((h >> 24) as u32).to_le_bytes();
                    acts[usize::from(i1)] = a1;
                    acts[usize::from(i2)] = a2;
                    LaneOps {
                        acts,
                        wgts: [b1, b2],
                        idx: [i1, i2],
                    }
                }
            }
            Encoding::Mac8x8 => LaneOps {
                acts: [(v >> 8) as u8, 0, 0, 0],
                wgts: [v as u8 as i8, 0],
                idx: [0, 0],
            },
            Encoding::Mac4x8 => {
                let q = (v >> 8) as u8;
                LaneOps {
                    acts: [q & 15, q >> 4, 0, 0],
                    wgts: [v as u8 as i8, h as u8 as i8],
                    idx: [0, 0],
                }
            }
        };
        self.enc.pack(&l)
    }

    /// Random operands of one lane.
    fn random_lane(&self, r: &mut Rng) -> (u32, u32) {
        let act8 = |r: &mut Rng| -> u8 {
            match r.below(8) {
                0 | 1 => 0,
                2 => 1 + r.below(15) as u8,
                3 => 255,
                4 => 128 + r.below(128) as u8,
                _ => r.below(256) as u8,
            }
        };
        let w8 = |r: &mut Rng| -> i8 {
            match r.below(10) {
                0 => 0,
                1 => -128,
                2 => 127,
                3 => [1, -1][r.below(2) as usize],
                _ => r.next_u64() as u8 as i8,
            }
        };
        // operands are drawn in the order they are listed
        let mut l = LaneOps::default();
        match self.enc {
            Encoding::SparqDense | Encoding::Mac8x8 => {
                let pairs = if self.enc == Encoding::Mac8x8 { 1 } else { 2 };
                for a in &mut l.acts[..pairs] {
                    *a = act8(r);
                }
                for w in &mut l.wgts[..pairs] {
                    *w = w8(r);
                }
            }
            Encoding::Mac4x8 => {
                for a in &mut l.acts[..2] {
                    *a = if r.pct(20) { 0 } else { r.below(16) as u8 };
                }
                for w in &mut l.wgts {
                    *w = w8(r);
                }
            }
            Encoding::SparqStc => {
                for a in &mut l.acts {
                    *a = act8(r);
                }
                // 0, 1 or 2 surviving weights; mostly canonical slots
                // (idx1 < idx2), sometimes any 2-bit indices.
                l.wgts = match r.below(3) {
                    0 => [0, 0],
                    1 => {
                        let w = nonzero(w8(r) as u8);
                        if r.pct(70) {
                            [w, 0]
                        } else {
                            [0, w]
                        }
                    }
                    _ => {
                        let b1 = nonzero(w8(r) as u8);
                        [b1, nonzero(w8(r) as u8)]
                    }
                };
                l.idx = if r.pct(80) {
                    let i1 = r.below(3) as u8;
                    [i1, i1 + 1 + r.below(u64::from(3 - i1)) as u8]
                } else {
                    let i1 = r.below(4) as u8;
                    [i1, r.below(4) as u8]
                };
            }
        }
        self.enc.pack(&l)
    }

    /// The largest-magnitude operands of one lane: every activation at its
    /// top, every weight at its extreme (2:4: the first two slots).
    fn extreme_lane(&self, negative: bool) -> (u32, u32) {
        let b = if negative { -128 } else { 127 };
        let a = self.enc.act_max() as u8;
        self.enc.pack(&LaneOps {
            acts: [a; 4],
            wgts: [b, b],
            idx: [0, 1],
        })
    }

    pub(super) fn ops_segment(&self, src: OpSource) -> Segment {
        let lanes = self.lanes();
        let mut seg = self.writer();
        let delay = self.ports.sample_delay();
        let acc_bits = self.acc();
        let k_step = self.enc.k_per_step() as u64;
        let mut acc: i64 = 0;
        let (cycles, mut rng) = match src {
            OpSource::Sweep { count, .. } => (count, Rng::new(0)),
            OpSource::Random { seed, cycles } => (cycles, Rng::new(seed)),
            OpSource::Extreme { cycles, .. } => (cycles, Rng::new(0)),
        };
        // Sweeps: each lane walks the whole space from its own offset; the
        // index advances by one per cycle (no division per vector).
        let (stride, space) = match src {
            OpSource::Sweep { stride, .. } => (stride, self.sweep_size() / stride),
            _ => (1, 1),
        };
        debug_assert!(stride.is_power_of_two());
        let mut sweep_at: Vec<u32> = (0..lanes)
            .map(|l| match src {
                OpSource::Sweep { first, .. } => {
                    let off = (u64::from(space) * l as u64 / lanes as u64) as u32;
                    ((u64::from(first) + u64::from(off)) % u64::from(space)) as u32
                }
                _ => 0,
            })
            .collect();
        seg.reserve(cycles as usize + delay as usize + 1);
        seg.reset_cycle();
        for t in 0..cycles {
            let (valid, clear) = match src {
                OpSource::Sweep { .. } => (true, true),
                OpSource::Random { .. } => {
                    let valid = rng.pct(85);
                    let clear = if valid { rng.pct(8) } else { rng.pct(4) };
                    (valid, clear)
                }
                OpSource::Extreme { .. } => (true, t == 0),
            };
            let mut ctl = 0;
            if valid {
                ctl |= ctrl::VALID;
            }
            if clear {
                ctl |= ctrl::CLEAR;
            }
            let cyc = seg.cycle(ctl);
            let mut sum = 0i64;
            for (l, at) in sweep_at.iter_mut().enumerate() {
                let (act, wgt) = match src {
                    OpSource::Sweep { .. } => {
                        let i = *at;
                        *at = if i + 1 == space { 0 } else { i + 1 };
                        self.sweep_vector(i * stride + (i & (stride - 1)))
                    }
                    OpSource::Random { .. } => self.random_lane(&mut rng),
                    OpSource::Extreme { negative, .. } => self.extreme_lane(negative),
                };
                seg.put_lane(cyc, l, act, wgt);
                sum += self.enc.product(&self.model, act, wgt);
            }
            acc = Accumulate::of(valid, clear).next(acc, sum, acc_bits);
            if valid {
                seg.seg.vectors += 1;
                seg.seg.macs += k_step * lanes as u64;
            }
            seg.check(cyc + delay as usize, 0, acc, t);
        }
        seg.idle_until_checks();
        seg.seg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Design;
    use crate::sim::layout::Layout;
    use crate::sim::stimulus::{Spec, PREAMBLE};
    use crate::sim::Dut;

    /// `Spec::Pairs` over 0..65536 meets every activation pair exactly once
    /// (every (a, b) for mac8x8), and its checks follow the model.
    #[test]
    fn pairs_cover_every_activation_pair_once() {
        for yaml in [
            "name: p\npe: {kind: sparq}\narray: {kind: single}",
            "name: p\npe: {kind: sparq, stc: true}\narray: {kind: single}",
            "name: p\npe: {kind: mac8x8}\narray: {kind: single}",
        ] {
            let d = Design::from_yaml(yaml).unwrap();
            let dut = Dut::generate(&d).unwrap();
            let layout = Layout::new([&dut.ports]);
            let ctx = MemberCtx::new(&d, &dut.ports, &layout.slots[0], None, 3);
            let mut seen = vec![0u8; 65536];
            for first in (0..65536).step_by(16384) {
                let seg = ctx
                    .segment(&Spec::Pairs {
                        first,
                        count: 16384,
                    })
                    .unwrap();
                assert_eq!(seg.vectors, 16384);
                for c in PREAMBLE..PREAMBLE + 16384 {
                    let w = seg.cycle(c);
                    let l = ctx.enc.unpack(w[1], w[2]);
                    let key = match ctx.enc {
                        Encoding::SparqStc => {
                            // the two activations the kept weights meet
                            let [i1, i2] = l.idx;
                            (usize::from(l.acts[usize::from(i1)]) << 8)
                                | usize::from(l.acts[usize::from(i2)])
                        }
                        Encoding::Mac8x8 => {
                            (usize::from(l.acts[0]) << 8) | usize::from(l.wgts[0] as u8)
                        }
                        _ => (usize::from(l.acts[0]) << 8) | usize::from(l.acts[1]),
                    };
                    seen[key] += 1;
                }
                // single lane, every cycle cleared: each check is one product
                for k in &seg.checks {
                    let w = seg.cycle(k.cycle as usize - ctx.ports.sample_delay() as usize);
                    let p = ctx.enc.product(&ctx.model, w[1], w[2]);
                    assert_eq!(k.expected, p, "{yaml}");
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{yaml}");
        }
    }
}
