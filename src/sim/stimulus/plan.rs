//! Plan policy: which specs a design under test is fed by default (what
//! `sparqgen verify` runs), and the subset a slow simulator runs.

use super::rng::{seed_of, Rng};
use super::{ActDist, GemmSpec, MemberCtx, Spec, WgtDist};
use crate::config::{ArrayShape, Design, PeKind};
use crate::golden::GemmCase;

/// The default plan of a member: what `sparqgen verify` runs.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Random operand cycles (op streams) or GEMM cycles, per design.
    pub vectors: u64,
    /// Run the exhaustive sweep (single PEs and dot units).
    pub exhaustive: bool,
}

/// Numbers the directed and random GEMMs of a plan: each gets its own
/// sub-seed, in plan order.
struct Gemms {
    seed: u64,
    count: u64,
}

impl Gemms {
    /// A dense, uniform GEMM without bubbles; refine it with the
    /// [`GemmSpec`] builders.
    fn next(&mut self, label: &'static str, m: usize, n: usize, k: usize) -> GemmSpec {
        self.count += 1;
        GemmSpec {
            label,
            seed: seed_of(self.seed, 2, self.count),
            m,
            n,
            k,
            zeros: 0,
            acts: ActDist::Uniform,
            wgts: WgtDist::Uniform,
            bubbles: false,
        }
    }
}

impl GemmSpec {
    fn zeros(mut self, percent: u8) -> GemmSpec {
        self.zeros = percent;
        self
    }
    fn acts(mut self, acts: ActDist) -> GemmSpec {
        self.acts = acts;
        self
    }
    fn wgts(mut self, wgts: WgtDist) -> GemmSpec {
        self.wgts = wgts;
        self
    }
    fn bubbles(mut self, on: bool) -> GemmSpec {
        self.bubbles = on;
        self
    }
}

impl MemberCtx {
    pub fn plan(&self, opts: &PlanOptions) -> Vec<Spec> {
        let mut specs = Vec::new();
        let is_systolic = matches!(self.design.array(), ArrayShape::Systolic { .. });
        if !is_systolic {
            self.plan_streams(opts, &mut specs);
        }
        let (rows, cols) = match self.design.array() {
            ArrayShape::Systolic { rows, cols } => (rows as usize, cols as usize),
            _ => (1, 1),
        };
        let mut gemms = Gemms {
            seed: self.seed,
            count: 0,
        };
        self.plan_directed_gemms(&mut gemms, rows, cols, &mut specs);
        // 5. random GEMMs up to the budget
        let budget = if is_systolic {
            opts.vectors
        } else {
            opts.vectors / 2
        };
        let mut used = 0u64;
        let mut r = Rng::new(seed_of(self.seed, 3, 0));
        while used < budget {
            let m = 1 + r.below(3 * rows as u64) as usize;
            let n = 1 + r.below(3 * cols as u64) as usize;
            let k = 1 + r.below(96) as usize;
            let zeros = [0u8, 50, 90][r.below(3) as usize];
            let acts = if r.pct(50) {
                ActDist::Uniform
            } else {
                ActDist::ReluLike
            };
            let s = Spec::Gemm(
                gemms
                    .next("random", m, n, k)
                    .zeros(zeros)
                    .acts(acts)
                    .bubbles(r.pct(30)),
            );
            used += s.cycles_estimate(self).max(1);
            specs.push(s);
        }
        // 6. the golden cases that match this design
        if let Some(cases) = &self.golden {
            for c in cases.iter() {
                if golden_matches(&self.design, c) {
                    specs.push(Spec::Golden { index: c.index });
                }
            }
        }
        specs
    }

    /// Single PEs and dot units: the sweep, random sequences, the
    /// accumulator past its wrap.
    fn plan_streams(&self, opts: &PlanOptions, specs: &mut Vec<Spec>) {
        // 1. every activation pair
        if opts.exhaustive {
            let total = self.sweep_size();
            let chunk = 16_384;
            let mut first = 0;
            while first < total {
                let count = chunk.min(total - first);
                specs.push(Spec::Sweep { first, count });
                first += count;
            }
        }
        // 2. random accumulate / clear sequences
        let mut left = opts.vectors / 2;
        let mut i = 0;
        while left > 0 {
            let cycles = left.min(8192) as u32;
            specs.push(Spec::Random {
                seed: seed_of(self.seed, 1, i),
                cycles,
            });
            left -= u64::from(cycles);
            i += 1;
        }
        // 3. the accumulator past its wrap, both signs
        let per_cycle = self.lanes() as u64 * self.design.max_abs_product() * 2;
        let wrap = (1u64 << (self.acc() - 1)) / per_cycle.max(1) + 64;
        let cycles = wrap.min(150_000) as u32;
        for negative in [false, true] {
            specs.push(Spec::AccRun { negative, cycles });
        }
    }

    /// Step 4, directed GEMMs: shapes around the array's, sparsity, odd K,
    /// the accumulator's largest sums.
    fn plan_directed_gemms(&self, g: &mut Gemms, rows: usize, cols: usize, specs: &mut Vec<Spec>) {
        let (m2, n2) = (2 * rows + 1, 2 * cols + 1);
        let relu = ActDist::ReluLike;
        let mut v = vec![
            g.next("dense", m2, n2, 64),
            g.next("50% sparse", m2, n2, 63)
                .zeros(50)
                .acts(relu)
                .bubbles(true),
            g.next("90% sparse", m2, n2, 65).zeros(90).acts(relu),
            g.next("odd K=1", rows, cols, 1),
            g.next("odd K=7", rows + 1, cols, 7).zeros(30).bubbles(true),
            g.next("all zero", rows, cols, 16).zeros(100),
        ];
        if matches!(self.design.array(), ArrayShape::Systolic { .. }) {
            // the stream: tiles exactly one drain long, back to back; a
            // layer of one tile; a long stream of short tiles with bubbles
            let kps = self.design.pe().kind().activations_per_cycle() as usize;
            v.push(g.next("tiles of one drain", m2, n2, cols * kps).acts(relu));
            v.push(
                g.next("one tile", rows, cols, 3 * cols * kps + 1)
                    .bubbles(true),
            );
            v.push(
                g.next("short tiles, bubbles", 3 * rows, 2 * cols + 1, 3)
                    .zeros(20)
                    .bubbles(true),
            );
        }
        // the accumulator's largest sums: K as long as it stays exact
        let k_max = self.design.exact_k_max().min(65_792) as usize;
        let k_cap = k_max.max(1);
        let top = ActDist::Const(255);
        v.push(
            g.next("largest negative sum", rows, cols, k_cap)
                .acts(top)
                .wgts(WgtDist::Const(-128)),
        );
        v.push(
            g.next("largest positive sum", rows, cols, k_cap)
                .acts(top)
                .wgts(WgtDist::Const(127)),
        );
        if self.acc() <= 24 {
            // past the wrap, when that takes few cycles
            v.push(
                g.next("wrapping sum", rows, cols, 3 * k_max + 5)
                    .acts(top)
                    .wgts(WgtDist::Const(-128)),
            );
        }
        specs.extend(v.into_iter().map(Spec::Gemm));
    }

    /// A subset for a slow simulator: a share of every kind of spec, each
    /// cut to fit the budget, in plan order.
    pub fn subset(&self, full: Vec<Spec>, budget: u64) -> Vec<Spec> {
        let kinds = 5u64;
        let share = (budget / kinds).max(1);
        let mut used = [0u64; 5];
        let mut out = Vec::new();
        for s in full {
            let k = match s {
                Spec::Sweep { .. } | Spec::Pairs { .. } => 0,
                Spec::Random { .. } => 1,
                Spec::AccRun { .. } => 2,
                Spec::Gemm(_) | Spec::Operands(_) => 3,
                Spec::Golden { .. } => 4,
            };
            if used[k] >= share {
                continue;
            }
            let room = share - used[k];
            let s = match s {
                Spec::Sweep { first, count } => Spec::Sweep {
                    first: first * 7 % self.sweep_size(),
                    count: count.min(room as u32),
                },
                Spec::Pairs { first, count } => Spec::Pairs {
                    first,
                    count: count.min(room as u32),
                },
                Spec::Random { seed, cycles } => Spec::Random {
                    seed,
                    cycles: cycles.min(room as u32),
                },
                Spec::AccRun { negative, cycles } => Spec::AccRun {
                    negative,
                    cycles: cycles.min(room as u32 / 2),
                },
                other => {
                    if other.cycles_estimate(self) > room.max(share / 4) {
                        continue;
                    }
                    other
                }
            };
            used[k] += s.cycles_estimate(self);
            out.push(s);
        }
        out
    }
}

/// Whether a golden case's configuration is this design's arithmetic.
pub fn golden_matches(design: &Design, case: &GemmCase) -> bool {
    matches!(design.pe().kind(), PeKind::Sparq(s) if s == case.arith)
}
