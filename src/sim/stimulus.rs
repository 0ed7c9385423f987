//! Test plans: what each design under test is fed, as [`Spec`]s that
//! expand deterministically (from the run's seed) into [`Segment`]s of
//! cycles with the checks to make on them.
//!
//! Every segment starts with a reset ([`PREAMBLE`]), so any segment can be
//! replayed alone (that is how the failing window's VCD is made). Every
//! expected value comes from the model: one lane's product through
//! [`Encoding::product`] (the model's pair table), whole GEMMs through
//! [`Model::gemm`]. What is written here is only the port contract's
//! timing (latency, clear/valid, systolic skew-free feeding, flush and
//! drain) and the two's-complement wrap of an `acc_bits` accumulator.

use super::encode::Encoding;
use super::layout::{ctrl, put_bits, Slot};
use super::TopPorts;
use crate::arith::{wrap_signed, ArithError, MatI8, MatU8, Model, Tensor};
use crate::config::{ArrayShape, Design, PeKind};
use crate::golden::GemmCase;
use std::sync::Arc;

/// splitmix64: small, fast, and every seed gives a full-period stream.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    /// Uniform in `0..n` (n > 0).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
    /// True with probability `p` percent.
    #[inline]
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derive a sub-seed.
pub fn seed_of(seed: u64, what: u64, index: u64) -> u64 {
    mix(seed ^ mix(what.wrapping_mul(0x1000_0000_01B3) ^ index))
}

/// Activation values of a GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActDist {
    /// Uniform over the PE's range.
    Uniform,
    /// Small values common, large ones rare (post-ReLU).
    ReluLike,
    /// Every activation the same.
    Const(u8),
}

/// Weight values of a GEMM (2:4 designs prune them to 2:4 after drawing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WgtDist {
    Uniform,
    Const(i8),
}

/// A GEMM `C = A (m x k) . B (n x k)^T` run through the design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GemmSpec {
    pub label: &'static str,
    pub seed: u64,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    /// Percent of activations forced to zero.
    pub zeros: u8,
    pub acts: ActDist,
    pub wgts: WgtDist,
    /// Insert idle (valid low) cycles inside reductions.
    pub bubbles: bool,
}

/// Given operands `C = A . B^T` (A `m x k` uint8 or activation codes, B
/// `n x k` int8), what a network layer's tile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperandGemm {
    pub label: String,
    pub a: MatU8,
    pub b: MatI8,
}

/// One unit of a test plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// Exhaustive sweep, vectors `first..first + count` of the PE's vector
    /// space (every activation pair against several weight pairs); one
    /// cycle per vector, `clear_i` on every cycle.
    Sweep {
        first: u32,
        count: u32,
    },
    /// Random operands with random `valid_i` / `clear_i`.
    Random {
        seed: u64,
        cycles: u32,
    },
    /// The largest-magnitude product every cycle without clearing, past
    /// the accumulator's wrap.
    AccRun {
        negative: bool,
        cycles: u32,
    },
    Gemm(GemmSpec),
    /// A GEMM on given operands (a network layer's tile); expected values
    /// from the model like [`Spec::Gemm`].
    Operands(Arc<OperandGemm>),
    /// Case `index` of the golden file; expected values are the file's C.
    Golden {
        index: usize,
    },
}

impl Spec {
    pub fn label(&self) -> String {
        match self {
            Spec::Sweep { first, count } => {
                format!("exhaustive sweep, vectors {first}..{}", first + count)
            }
            Spec::Random { seed, cycles } => {
                format!("random valid/clear sequence of {cycles} cycles (seed {seed:#x})")
            }
            Spec::AccRun { negative, cycles } => format!(
                "accumulator run: {cycles} cycles of the {} product",
                if *negative {
                    "most negative"
                } else {
                    "largest positive"
                }
            ),
            Spec::Gemm(g) => format!(
                "GEMM {} ({}x{} . ({}x{})^T, {}% zero activations, seed {:#x})",
                g.label, g.m, g.k, g.n, g.k, g.zeros, g.seed
            ),
            Spec::Operands(g) => format!(
                "{} ({}x{} . ({}x{})^T)",
                g.label, g.a.shape[0], g.a.shape[1], g.b.shape[0], g.b.shape[1]
            ),
            Spec::Golden { index } => format!("golden case {index}"),
        }
    }

    /// Rough cycle count, for progress and budgets.
    pub fn cycles_estimate(&self, m: &MemberCtx) -> u64 {
        match self {
            Spec::Sweep { count, .. } => u64::from(*count),
            Spec::Random { cycles, .. } | Spec::AccRun { cycles, .. } => u64::from(*cycles),
            Spec::Gemm(g) => m.gemm_cycles(g.m, g.n, g.k),
            Spec::Operands(g) => m.gemm_cycles(g.a.shape[0], g.b.shape[0], g.a.shape[1]),
            Spec::Golden { index } => m
                .golden
                .as_ref()
                .and_then(|c| c.get(*index))
                .map_or(0, |c| {
                    m.gemm_cycles(c.a.shape[0], c.b.shape[0], c.a.shape[1])
                }),
        }
    }
}

/// One expected value: after cycle `cycle`'s rising edge, accumulator
/// `out` (the row for `res_o`, 0 for `acc_o`) holds `expected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub cycle: u32,
    pub out: u16,
    pub expected: i64,
    /// What the value is: the operand cycle (op streams) or the output
    /// index `i * n + j` (GEMMs).
    pub item: u32,
}

/// Cycles every segment starts with (idle, reset): its first operand cycle.
pub const PREAMBLE: usize = 2;

/// A member's cycles and checks.
#[derive(Debug, Clone, Default)]
pub struct Segment {
    /// Words per cycle (the member's slot: control word, act, wgt).
    pub wpc: usize,
    pub words: Vec<u32>,
    /// Sorted by cycle.
    pub checks: Vec<Check>,
    /// Cycles with valid operands.
    pub vectors: u64,
    /// Multiply-accumulates represented (K positions: a pair counts 2, a
    /// 2:4 group 4, a GEMM M*N*K).
    pub macs: u64,
}

impl Segment {
    pub fn cycles(&self) -> usize {
        self.words.len() / self.wpc
    }
    pub fn cycle(&self, c: usize) -> &[u32] {
        &self.words[c * self.wpc..(c + 1) * self.wpc]
    }
}

/// Everything needed to expand specs for one design under test.
pub struct MemberCtx {
    pub design: Design,
    pub ports: TopPorts,
    pub slot: Slot,
    pub enc: Encoding,
    pub model: Model,
    /// The same arithmetic with a 48-bit accumulator: GEMM chunks of any K
    /// the model accepts (the hardware's wrap is applied afterwards).
    wide: Model,
    pub golden: Option<Arc<Vec<GemmCase>>>,
    pub seed: u64,
}

/// Weight pairs every activation pair meets in a sweep: the extremes, the
/// zero weight (a zero weight frees nothing; in 2:4 it is a missing
/// member), and random ones.
const SWEEP_WEIGHTS: [(i8, i8); 6] = [
    (-128, 127),
    (127, -128),
    (1, 0),
    (0, 1),
    (-1, -128),
    (127, 1),
];
/// Weight variants per activation pair in a SPARQ sweep (6 fixed, 2 random).
pub const SWEEP_VARIANTS: u32 = 8;

impl MemberCtx {
    pub fn new(
        design: &Design,
        ports: &TopPorts,
        slot: &Slot,
        golden: Option<Arc<Vec<GemmCase>>>,
        seed: u64,
    ) -> MemberCtx {
        let wide_design = design
            .with_acc_bits(crate::config::limits::ACC_BITS_MAX)
            .expect("the widest accumulator holds any design's cycle sum");
        MemberCtx {
            design: design.clone(),
            ports: ports.clone(),
            slot: slot.clone(),
            enc: Encoding::of(design),
            model: Model::new(design),
            wide: Model::new(&wide_design),
            golden,
            seed,
        }
    }

    pub fn lanes(&self) -> usize {
        match self.design.array() {
            ArrayShape::Dot { lanes } => lanes as usize,
            _ => 1,
        }
    }

    /// Vectors in the exhaustive sweep.
    pub fn sweep_size(&self) -> u32 {
        match self.enc {
            Encoding::SparqDense | Encoding::SparqStc => 65536 * SWEEP_VARIANTS,
            Encoding::Mac8x8 | Encoding::Mac4x8 => 65536,
        }
    }

    fn acc(&self) -> u32 {
        self.ports.acc_bits
    }

    /// Cycles a GEMM takes on this member: the cycle model's count
    /// ([`crate::cycles`], the same flush and latency as the manifest).
    pub fn gemm_cycles(&self, m: usize, n: usize, k: usize) -> u64 {
        let shape = crate::cycles::Shape {
            groups: 1,
            m: m as u64,
            n: n as u64,
            k: k as u64,
        };
        crate::cycles::gemm(&crate::cycles::Timing::of(&self.design), shape).total
    }

    /// Expand a spec.
    pub fn segment(&self, spec: &Spec) -> Result<Segment, ArithError> {
        match spec {
            Spec::Sweep { first, count } => Ok(self.ops_segment(OpSource::Sweep {
                first: *first,
                count: *count,
            })),
            Spec::Random { seed, cycles } => Ok(self.ops_segment(OpSource::Random {
                seed: *seed,
                cycles: *cycles,
            })),
            Spec::AccRun { negative, cycles } => Ok(self.ops_segment(OpSource::Extreme {
                negative: *negative,
                cycles: *cycles,
            })),
            Spec::Gemm(_) | Spec::Operands(_) | Spec::Golden { .. } => {
                let g = self.gemm_data(spec)?;
                self.gemm_segment(&g, spec)
            }
        }
    }

    // ----- per-cycle operand streams (single PE and dot unit) -------------

    /// One lane's operands of sweep vector `v`.
    pub fn sweep_vector(&self, v: u32) -> (u32, u32) {
        let h = mix(self.seed ^ 0x5eed ^ u64::from(v));
        match self.enc {
            Encoding::SparqDense | Encoding::SparqStc => {
                let pair = v / SWEEP_VARIANTS;
                let (a1, a2) = ((pair >> 8) as u8, pair as u8);
                let j = (v % SWEEP_VARIANTS) as usize;
                let (b1, b2) = match SWEEP_WEIGHTS.get(j) {
                    Some(&w) => w,
                    None if j == 6 => (h as u8 as i8, (h >> 8) as u8 as i8),
                    None => (nonzero(h as u8), nonzero((h >> 8) as u8)),
                };
                let wgt = u32::from(b1 as u8) | u32::from(b2 as u8) << 8;
                if self.enc == Encoding::SparqDense {
                    (u32::from(a1) | u32::from(a2) << 8, wgt)
                } else {
                    // a1, a2 at a canonical pair of positions, junk elsewhere
                    const POS: [(u32, u32); 6] = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)];
                    let (i1, i2) = POS[((h >> 16) % 6) as usize];
                    let mut act = (h >> 24) as u32;
                    act &= !(0xFF << (8 * i1)) & !(0xFF << (8 * i2));
                    act |= u32::from(a1) << (8 * i1) | u32::from(a2) << (8 * i2);
                    (act, wgt | i1 << 16 | i2 << 18)
                }
            }
            Encoding::Mac8x8 => (v >> 8 & 255, v & 255),
            Encoding::Mac4x8 => {
                let q = (v >> 8) & 255;
                let b1 = v & 255;
                let b2 = (h & 255) as u32;
                (q, b1 | b2 << 8)
            }
        }
    }

    /// Random operands of one lane.
    fn random_lane(&self, r: &mut Rng) -> (u32, u32) {
        let act8 = |r: &mut Rng| -> u32 {
            match r.below(8) {
                0 | 1 => 0,
                2 => 1 + r.below(15) as u32,
                3 => 255,
                4 => 128 + r.below(128) as u32,
                _ => r.below(256) as u32,
            }
        };
        let w8 = |r: &mut Rng| -> u32 {
            let v: i8 = match r.below(10) {
                0 => 0,
                1 => -128,
                2 => 127,
                3 => [1, -1][r.below(2) as usize],
                _ => r.next_u64() as u8 as i8,
            };
            u32::from(v as u8)
        };
        match self.enc {
            Encoding::SparqDense => (act8(r) | act8(r) << 8, w8(r) | w8(r) << 8),
            Encoding::Mac8x8 => (act8(r), w8(r)),
            Encoding::Mac4x8 => {
                let q = |r: &mut Rng| if r.pct(20) { 0 } else { r.below(16) as u32 };
                (q(r) | q(r) << 4, w8(r) | w8(r) << 8)
            }
            Encoding::SparqStc => {
                let act = act8(r) | act8(r) << 8 | act8(r) << 16 | act8(r) << 24;
                // 0, 1 or 2 surviving weights; mostly canonical slots
                // (idx1 < idx2), sometimes any 2-bit indices.
                let survivors = r.below(3);
                let (b1, b2) = match survivors {
                    0 => (0, 0),
                    1 => {
                        let w = nonzero(w8(r) as u8) as u8 as u32;
                        if r.pct(70) {
                            (w, 0)
                        } else {
                            (0, w)
                        }
                    }
                    _ => (
                        nonzero(w8(r) as u8) as u8 as u32,
                        nonzero(w8(r) as u8) as u8 as u32,
                    ),
                };
                let (i1, i2) = if r.pct(80) {
                    let i1 = r.below(3) as u32;
                    (i1, i1 + 1 + r.below(u64::from(3 - i1)) as u32)
                } else {
                    (r.below(4) as u32, r.below(4) as u32)
                };
                (act, b1 | b2 << 8 | i1 << 16 | i2 << 18)
            }
        }
    }

    /// The largest-magnitude operands of one lane.
    fn extreme_lane(&self, negative: bool) -> (u32, u32) {
        let b: u32 = if negative { 0x80 } else { 0x7F };
        match self.enc {
            Encoding::SparqDense => (0xFFFF, b | b << 8),
            Encoding::Mac8x8 => (0xFF, b),
            Encoding::Mac4x8 => (0xFF, b | b << 8),
            Encoding::SparqStc => (0xFFFF_FFFF, b | b << 8 | 1 << 18),
        }
    }

    fn ops_segment(&self, src: OpSource) -> Segment {
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
        let v_space = self.sweep_size();
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
            for l in 0..lanes {
                let (act, wgt) = match src {
                    OpSource::Sweep { first, .. } => {
                        // lane l walks the whole space from its own offset
                        let off = (u64::from(v_space) * l as u64 / lanes as u64) as u32;
                        self.sweep_vector((first + t + off) % v_space)
                    }
                    OpSource::Random { .. } => self.random_lane(&mut rng),
                    OpSource::Extreme { negative, .. } => self.extreme_lane(negative),
                };
                seg.put_lane(cyc, l, act, wgt);
                sum += self.enc.product(&self.model, act, wgt);
            }
            acc = match (valid, clear) {
                (true, true) => sum,
                (true, false) => acc + sum,
                (false, true) => 0,
                (false, false) => acc,
            };
            acc = wrap_signed(acc, acc_bits);
            if valid {
                seg.seg.vectors += 1;
                seg.seg.macs += k_step * lanes as u64;
            }
            seg.check(cyc + delay as usize, 0, acc, t);
        }
        seg.idle_until_checks();
        seg.seg
    }

    // ----- GEMMs ----------------------------------------------------------

    /// A, B and the expected C (row-major, wrapped to the accumulator) of a
    /// GEMM or golden spec.
    pub fn gemm_data(&self, spec: &Spec) -> Result<GemmData, ArithError> {
        match spec {
            Spec::Gemm(g) => {
                let (a, b) = self.draw_gemm(g);
                let c = self.expected_gemm(&a, &b)?;
                Ok(GemmData {
                    a,
                    b,
                    c,
                    bubbles: g.bubbles,
                    seed: g.seed,
                })
            }
            Spec::Operands(g) => Ok(GemmData {
                a: g.a.clone(),
                b: g.b.clone(),
                c: self.expected_gemm(&g.a, &g.b)?,
                bubbles: false,
                seed: 0,
            }),
            Spec::Golden { index } => {
                let case = self
                    .golden
                    .as_ref()
                    .and_then(|c| c.get(*index))
                    .expect("golden specs are only planned with their cases");
                let c = case
                    .c
                    .data
                    .iter()
                    .map(|&v| wrap_signed(i64::from(v), self.acc()))
                    .collect();
                Ok(GemmData {
                    a: case.a.clone(),
                    b: case.b.clone(),
                    c,
                    bubbles: false,
                    seed: 0,
                })
            }
            _ => unreachable!("not a GEMM spec"),
        }
    }

    /// The model's C for A . B^T, in chunks of K the model accepts, summed
    /// exactly and wrapped to the accumulator as the hardware does.
    pub fn expected_gemm(&self, a: &MatU8, b: &MatI8) -> Result<Vec<i64>, ArithError> {
        let (m, k) = (a.shape[0], a.shape[1]);
        let n = b.shape[0];
        let chunk = 65_792usize; // a multiple of 4 and of 2 below the model's i32 limit
        let mut c = vec![0i64; m * n];
        let mut k0 = 0;
        while k0 < k.max(1) {
            let k1 = (k0 + chunk).min(k);
            let sub = |rows: usize, data: &dyn Fn(usize, usize) -> u8| -> Vec<u8> {
                (0..rows)
                    .flat_map(|i| (k0..k1).map(move |j| (i, j)))
                    .map(|(i, j)| data(i, j))
                    .collect()
            };
            let aa = Tensor::new(vec![m, k1 - k0], sub(m, &|i, j| a.data[i * k + j]));
            let bb = Tensor::new(
                vec![n, k1 - k0],
                sub(n, &|i, j| b.data[i * k + j] as u8)
                    .into_iter()
                    .map(|v| v as i8)
                    .collect(),
            );
            let part = self.wide.gemm(&aa, &bb)?;
            for (o, p) in c.iter_mut().zip(&part.data) {
                *o += i64::from(*p);
            }
            if k1 == k {
                break;
            }
            k0 = k1;
        }
        Ok(c.into_iter().map(|v| wrap_signed(v, self.acc())).collect())
    }

    fn draw_gemm(&self, g: &GemmSpec) -> (MatU8, MatI8) {
        let mut r = Rng::new(g.seed);
        let act_max = self.enc.act_max();
        let a: Vec<u8> = (0..g.m * g.k)
            .map(|_| {
                if r.pct(u64::from(g.zeros)) {
                    return 0;
                }
                let v = match g.acts {
                    ActDist::Uniform => r.below(u64::from(act_max) + 1) as u32,
                    ActDist::ReluLike => {
                        // geometric-ish: mostly small, sometimes the top
                        let bits = 1 + r.below(8) as u32;
                        (r.next_u64() as u32 & ((1u32 << bits) - 1)).max(1)
                    }
                    ActDist::Const(c) => u32::from(c),
                };
                v.min(act_max) as u8
            })
            .collect();
        let mut b: Vec<i8> = (0..g.n * g.k)
            .map(|_| match g.wgts {
                WgtDist::Uniform => {
                    if r.pct(5) {
                        [-128, 127, 0][r.below(3) as usize]
                    } else {
                        r.next_u64() as u8 as i8
                    }
                }
                WgtDist::Const(c) => c,
            })
            .collect();
        if self.enc == Encoding::SparqStc {
            // prune every group of four to at most two survivors
            for row in b.chunks_mut(g.k) {
                for grp in row.chunks_mut(4) {
                    let keep = match g.wgts {
                        WgtDist::Const(_) => 2,
                        WgtDist::Uniform => [0usize, 1, 2, 2, 2][r.below(5) as usize],
                    };
                    let mut idx: Vec<usize> = (0..grp.len()).collect();
                    for i in (1..idx.len()).rev() {
                        idx.swap(i, r.below(i as u64 + 1) as usize);
                    }
                    for &i in idx.iter().skip(keep) {
                        grp[i] = 0;
                    }
                    if let WgtDist::Const(c) = g.wgts {
                        for &i in idx.iter().take(keep) {
                            grp[i] = c;
                        }
                    }
                }
            }
        }
        (
            Tensor::new(vec![g.m, g.k], a),
            Tensor::new(vec![g.n, g.k], b),
        )
    }

    fn gemm_segment(&self, g: &GemmData, spec: &Spec) -> Result<Segment, ArithError> {
        let (m, k) = (g.a.shape[0], g.a.shape[1]);
        let n = g.b.shape[0];
        let steps = self.enc.steps(k);
        let act_steps: Vec<Vec<u32>> = (0..m)
            .map(|i| {
                let row = &g.a.data[i * k..(i + 1) * k];
                (0..steps).map(|s| self.enc.act_step(row, s)).collect()
            })
            .collect();
        let wgt_steps: Vec<Vec<u32>> = (0..n)
            .map(|j| self.enc.wgt_steps(&g.b.data[j * k..(j + 1) * k], j))
            .collect::<Result<_, _>>()?;
        let mut rng = Rng::new(seed_of(g.seed, 0xb0bb1e, 0));
        let mut seg = SegWriter::new(&self.slot);
        seg.reset_cycle();
        let macs = (m * n * k) as u64;
        match self.design.array() {
            ArrayShape::Systolic { rows, cols } => {
                let (rows, cols) = (rows as usize, cols as usize);
                let aw = self.ports.lane_act_bits;
                let ww = self.ports.lane_wgt_bits;
                for ti in 0..m.div_ceil(rows) {
                    for tj in 0..n.div_ceil(cols) {
                        for s in 0..steps {
                            while g.bubbles && rng.pct(5) {
                                seg.cycle(0);
                            }
                            let ctl = ctrl::VALID | if s == 0 { ctrl::CLEAR } else { 0 };
                            let cyc = seg.cycle(ctl);
                            for r in 0..rows {
                                if let Some(row) = act_steps.get(ti * rows + r) {
                                    seg.put_act(cyc, r as u32 * aw, aw, row[s]);
                                }
                            }
                            for c in 0..cols {
                                if let Some(col) = wgt_steps.get(tj * cols + c) {
                                    seg.put_wgt(cyc, c as u32 * ww, ww, col[s]);
                                }
                            }
                            seg.seg.vectors += 1;
                        }
                        for _ in 0..self.ports.flush_cycles {
                            seg.cycle(0);
                        }
                        // res_o shows column C-1 now, then each drain edge
                        // shifts the next column in; after C edges, zeros.
                        let expect = |r: usize, c: Option<usize>| -> (i64, u32) {
                            let (i, j) = (ti * rows + r, c.map(|c| tj * cols + c));
                            match j {
                                Some(j) if i < m && j < n => (g.c[i * n + j], (i * n + j) as u32),
                                _ => (0, u32::MAX),
                            }
                        };
                        let last = seg.cycles() - 1;
                        for r in 0..rows {
                            let (e, item) = expect(r, Some(cols - 1));
                            seg.check(last, r as u16, e, item);
                        }
                        for d in 0..cols {
                            let cyc = seg.cycle(ctrl::DRAIN);
                            let col = (cols - 1).checked_sub(d + 1);
                            for r in 0..rows {
                                let (e, item) = expect(r, col);
                                seg.check(cyc, r as u16, e, item);
                            }
                        }
                    }
                }
            }
            _ => {
                let lanes = self.lanes();
                let aw = self.ports.lane_act_bits;
                let ww = self.ports.lane_wgt_bits;
                let delay = self.ports.sample_delay() as usize;
                let per = steps.div_ceil(lanes).max(1);
                for i in 0..m {
                    for j in 0..n {
                        let mut cyc = 0;
                        for c in 0..per {
                            while g.bubbles && c > 0 && rng.pct(5) {
                                seg.cycle(0);
                            }
                            let ctl = ctrl::VALID | if c == 0 { ctrl::CLEAR } else { 0 };
                            cyc = seg.cycle(ctl);
                            for l in 0..lanes {
                                let s = c * lanes + l;
                                if s < steps {
                                    seg.put_act(cyc, l as u32 * aw, aw, act_steps[i][s]);
                                    seg.put_wgt(cyc, l as u32 * ww, ww, wgt_steps[j][s]);
                                }
                            }
                            seg.seg.vectors += 1;
                        }
                        seg.check(cyc + delay, 0, g.c[i * n + j], (i * n + j) as u32);
                    }
                }
                seg.idle_until_checks();
            }
        }
        let _ = spec;
        seg.seg.macs = macs;
        Ok(seg.seg)
    }
}

/// A, B and expected C of one GEMM.
pub struct GemmData {
    pub a: MatU8,
    pub b: MatI8,
    pub c: Vec<i64>,
    pub bubbles: bool,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy)]
enum OpSource {
    Sweep { first: u32, count: u32 },
    Random { seed: u64, cycles: u32 },
    Extreme { negative: bool, cycles: u32 },
}

fn nonzero(v: u8) -> i8 {
    if v == 0 {
        1
    } else {
        v as i8
    }
}

/// Appends cycles and checks to a segment in the member's slot layout.
struct SegWriter {
    seg: Segment,
    act_off: usize,
    wgt_off: usize,
    lane_act: u32,
    lane_wgt: u32,
}

impl SegWriter {
    fn new(slot: &Slot) -> SegWriter {
        SegWriter {
            seg: Segment {
                wpc: slot.in_words() as usize,
                ..Segment::default()
            },
            act_off: (slot.act - slot.ctrl) as usize,
            wgt_off: (slot.wgt - slot.ctrl) as usize,
            lane_act: 0,
            lane_wgt: 0,
        }
    }

    fn cycles(&self) -> usize {
        self.seg.words.len() / self.seg.wpc
    }

    /// Append a cycle with this control word (operands zero); its index.
    fn cycle(&mut self, ctl: u32) -> usize {
        let c = self.cycles();
        self.seg.words.push(ctl);
        self.seg
            .words
            .resize(self.seg.words.len() + self.seg.wpc - 1, 0);
        c
    }

    fn reserve(&mut self, cycles: usize) {
        self.seg.words.reserve(cycles * self.seg.wpc);
        self.seg.checks.reserve(cycles);
    }

    /// The preamble of every segment: an idle cycle (the previous
    /// segment's last outputs are sampled after it, before this reset can
    /// reach them through the harness's input register), then a reset.
    fn reset_cycle(&mut self) {
        self.cycle(0);
        self.cycle(ctrl::RESET);
    }

    fn words_of(&mut self, cyc: usize) -> &mut [u32] {
        let w = self.seg.wpc;
        &mut self.seg.words[cyc * w..(cyc + 1) * w]
    }

    fn put_act(&mut self, cyc: usize, lsb: u32, width: u32, v: u32) {
        let off = self.act_off;
        let end = self.wgt_off;
        put_bits(&mut self.words_of(cyc)[off..end], lsb, width, u64::from(v));
    }

    fn put_wgt(&mut self, cyc: usize, lsb: u32, width: u32, v: u32) {
        let off = self.wgt_off;
        put_bits(&mut self.words_of(cyc)[off..], lsb, width, u64::from(v));
    }

    /// Lane `l` of a single PE or dot unit (lane widths from the ports).
    fn put_lane(&mut self, cyc: usize, l: usize, act: u32, wgt: u32) {
        let (aw, ww) = (self.lane_act, self.lane_wgt);
        self.put_act(cyc, l as u32 * aw, aw, act);
        self.put_wgt(cyc, l as u32 * ww, ww, wgt);
    }

    fn check(&mut self, cycle: usize, out: u16, expected: i64, item: u32) {
        self.seg.checks.push(Check {
            cycle: cycle as u32,
            out,
            expected,
            item,
        });
    }

    /// Idle cycles until every check's cycle exists.
    fn idle_until_checks(&mut self) {
        let need = self
            .seg
            .checks
            .iter()
            .map(|c| c.cycle as usize + 1)
            .max()
            .unwrap_or(0);
        while self.cycles() < need {
            self.cycle(0);
        }
    }
}

impl MemberCtx {
    /// Set the lane widths used by op streams (from the ports).
    fn writer(&self) -> SegWriter {
        let mut w = SegWriter::new(&self.slot);
        w.lane_act = self.ports.lane_act_bits;
        w.lane_wgt = self.ports.lane_wgt_bits;
        w
    }
}

/// The default plan of a member: what `sparqgen verify` runs.
#[derive(Debug, Clone, Copy)]
pub struct PlanOptions {
    /// Random operand cycles (op streams) or GEMM cycles, per design.
    pub vectors: u64,
    /// Run the exhaustive sweep (single PEs and dot units).
    pub exhaustive: bool,
}

impl MemberCtx {
    pub fn plan(&self, opts: &PlanOptions) -> Vec<Spec> {
        let mut specs = Vec::new();
        let seed = self.seed;
        let is_systolic = matches!(self.design.array(), ArrayShape::Systolic { .. });
        // 1. every activation pair (single PE, dot unit)
        if !is_systolic && opts.exhaustive {
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
        if !is_systolic {
            let mut left = opts.vectors / 2;
            let mut i = 0;
            while left > 0 {
                let cycles = left.min(8192) as u32;
                specs.push(Spec::Random {
                    seed: seed_of(seed, 1, i),
                    cycles,
                });
                left -= u64::from(cycles);
                i += 1;
            }
            // 3. the accumulator past its wrap, both signs
            let per_cycle = self.lanes() as u64 * self.design.max_abs_product() * 2;
            let wrap = (1u64 << (self.acc() - 1)) / per_cycle.max(1) + 64;
            let cycles = wrap.min(150_000) as u32;
            specs.push(Spec::AccRun {
                negative: false,
                cycles,
            });
            specs.push(Spec::AccRun {
                negative: true,
                cycles,
            });
        }
        // 4. directed GEMMs
        let (rows, cols) = match self.design.array() {
            ArrayShape::Systolic { rows, cols } => (rows as usize, cols as usize),
            _ => (1, 1),
        };
        let mut gi = 0u64;
        let mut gemm = |label, m, n, k, zeros, acts, wgts, bubbles| {
            gi += 1;
            Spec::Gemm(GemmSpec {
                label,
                seed: seed_of(seed, 2, gi),
                m,
                n,
                k,
                zeros,
                acts,
                wgts,
                bubbles,
            })
        };
        let (m2, n2) = (2 * rows + 1, 2 * cols + 1);
        specs.push(gemm(
            "dense",
            m2,
            n2,
            64,
            0,
            ActDist::Uniform,
            WgtDist::Uniform,
            false,
        ));
        specs.push(gemm(
            "50% sparse",
            m2,
            n2,
            63,
            50,
            ActDist::ReluLike,
            WgtDist::Uniform,
            true,
        ));
        specs.push(gemm(
            "90% sparse",
            m2,
            n2,
            65,
            90,
            ActDist::ReluLike,
            WgtDist::Uniform,
            false,
        ));
        specs.push(gemm(
            "odd K=1",
            rows,
            cols,
            1,
            0,
            ActDist::Uniform,
            WgtDist::Uniform,
            false,
        ));
        specs.push(gemm(
            "odd K=7",
            rows + 1,
            cols,
            7,
            30,
            ActDist::Uniform,
            WgtDist::Uniform,
            true,
        ));
        specs.push(gemm(
            "all zero",
            rows,
            cols,
            16,
            100,
            ActDist::Uniform,
            WgtDist::Uniform,
            false,
        ));
        // the accumulator's largest sums: K as long as it stays exact
        let k_max = self.design.exact_k_max().min(65_792) as usize;
        let k_cap = k_max.max(1);
        specs.push(gemm(
            "largest negative sum",
            rows,
            cols,
            k_cap,
            0,
            ActDist::Const(255),
            WgtDist::Const(-128),
            false,
        ));
        specs.push(gemm(
            "largest positive sum",
            rows,
            cols,
            k_cap,
            0,
            ActDist::Const(255),
            WgtDist::Const(127),
            false,
        ));
        if self.acc() <= 24 {
            // past the wrap, when that takes few cycles
            specs.push(gemm(
                "wrapping sum",
                rows,
                cols,
                3 * k_max + 5,
                0,
                ActDist::Const(255),
                WgtDist::Const(-128),
                false,
            ));
        }
        // 5. random GEMMs up to the budget
        let budget = if is_systolic {
            opts.vectors
        } else {
            opts.vectors / 2
        };
        let mut used = 0u64;
        let mut r = Rng::new(seed_of(seed, 3, 0));
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
            let s = gemm("random", m, n, k, zeros, acts, WgtDist::Uniform, r.pct(30));
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
}

/// Whether a golden case's configuration is this design's arithmetic.
pub fn golden_matches(design: &Design, case: &GemmCase) -> bool {
    matches!(design.pe().kind(), PeKind::Sparq(s) if s == case.arith)
}
