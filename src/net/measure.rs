//! The bit-exact model as a [`MacEngine`], measuring as it goes: per MAC
//! layer the MACs, the error against exact int8 products on the same
//! activations, and how many activation pairs take vSPARQ's wide path.
//!
//! `mac4x8` takes 4-bit activation codes: each uint8 activation `a` enters
//! as `a >> 4` (its top four bits, the same reduction `sparqgen run` uses)
//! and the product sum is scaled back by 16, so the layer sees
//! `16 * (a >> 4)` in place of `a`.

use super::lower::{block_rows, scratch, MacEngine, MacLayer, RowBlocks};
use crate::arith::{stc_pairs, Kernel, MatI32, MatI8, MatU8, Model, PackedWeights, Tensor, View};
use crate::config::{Design, PeKind};
use anyhow::Context;
use serde::Serialize;
use std::sync::Arc;

/// What one MAC layer did over a run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerStats {
    pub name: String,
    pub op: String,
    /// Multiply-accumulates, summed over every image run.
    pub macs: u64,
    /// Sum of squares of the exact products' sums, and of the errors
    /// (both 0 for an exact design, whose SQNR is infinite by definition,
    /// and without layer statistics).
    pub signal: f64,
    pub noise: f64,
    /// Activation pairs seen by the PE, and those with exactly one zero.
    pub pairs: u64,
    pub wide_pairs: u64,
}

impl LayerStats {
    /// `10 log10(signal / noise)`; infinite when exact.
    pub fn sqnr_db(&self) -> f64 {
        if self.noise == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.signal / self.noise).log10()
        }
    }

    pub fn wide_share(&self) -> f64 {
        if self.pairs == 0 {
            0.0
        } else {
            self.wide_pairs as f64 / self.pairs as f64
        }
    }
}

/// A design's arithmetic, with its statistics.
pub struct DesignEngine {
    /// Shared with the engine's forks ([`DesignEngine::fork`]).
    model: Arc<Model>,
    exact: Option<Arc<Model>>,
    kind: PeKind,
    pub layers: Vec<LayerStats>,
    /// With [`DesignEngine::record_inputs`]: each layer's uint8 inputs,
    /// batches appended.
    pub inputs: Option<Vec<Option<Tensor<u8>>>>,
    /// Seconds in the design's GEMMs, the exact reference GEMMs and the
    /// statistics (noise, pair counts).
    pub secs: EngineSecs,
    /// Per (layer, group): the weights packed once for the GEMM kernel,
    /// with a copy of the weights they were packed from: a B that differs
    /// in any byte or in shape is packed anew (comparing bytes costs a
    /// fraction of packing them; an address could be reused by other
    /// weights).
    packs: std::collections::HashMap<(usize, usize), Arc<(MatI8, PackedWeights)>>,
    /// Per layer: the exact integer sums behind `layers[i].signal` and
    /// `.noise` (so they do not depend on the order blocks, batches or
    /// forks add up in).
    sums: Vec<(u128, u128)>,
    /// The plan whose run is under way, the last plan seen, and the
    /// (layer, group) weights checked against `packs` in that plan (see
    /// [`MacEngine::begin_plan`]): those are not compared again.
    active: Option<u64>,
    last_plan: Option<u64>,
    checked: std::collections::HashSet<(usize, usize)>,
    /// Whether to measure each layer's SQNR (an exact reference GEMM per
    /// design GEMM) and vSPARQ pair counts; MACs are counted either way.
    stats: bool,
}

/// Where a [`DesignEngine`]'s time went.
#[derive(Debug, Default, Clone)]
pub struct EngineSecs {
    pub design_gemm: f64,
    pub exact_gemm: f64,
    pub statistics: f64,
    /// Of [`MacEngine::gemm_rows`]: the lowering of A's blocks and the
    /// handing on of C's (the requantization).
    pub fused_lowering: f64,
    pub fused_output: f64,
    /// Per layer: the design GEMMs' seconds and the last GEMM's
    /// `(M, K, N)` (one group's).
    pub per_layer: Vec<(f64, [usize; 3])>,
}

/// Statistics of the named layers (name, op), all zero.
fn blank_stats<'a>(layers: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<LayerStats> {
    layers
        .map(|(name, op)| LayerStats {
            name: name.clone(),
            op: op.clone(),
            ..Default::default()
        })
        .collect()
}

impl DesignEngine {
    /// An engine for a plan whose MAC layers are `layers`. It keeps each
    /// layer's packed weights between runs and re-packs a layer whose
    /// weights changed.
    pub fn new(design: &Design, layers: &[MacLayer]) -> DesignEngine {
        let exact = match design.pe().kind() {
            PeKind::Mac8x8 => None,
            _ => Some(Arc::new(Model::exact())),
        };
        DesignEngine {
            model: Arc::new(Model::new(design)),
            exact,
            kind: design.pe().kind(),
            layers: blank_stats(layers.iter().map(|l| (&l.name, &l.op))),
            inputs: None,
            secs: EngineSecs::default(),
            packs: Default::default(),
            sums: vec![(0, 0); layers.len()],
            stats: true,
            active: None,
            last_plan: None,
            checked: Default::default(),
        }
    }

    /// Measure (default) or skip the per-layer statistics: without them a
    /// design's GEMMs are all that runs (no exact reference GEMM, no pair
    /// counts), as an accuracy run over a dataset needs.
    pub fn set_layer_stats(&mut self, on: bool) {
        self.stats = on;
    }

    pub fn layer_stats(&self) -> bool {
        self.stats
    }

    /// Keep every MAC layer's input activations.
    pub fn record_inputs(&mut self) {
        self.inputs = Some(vec![None; self.layers.len()]);
    }

    /// Add a GEMM's exact sums of squares (signal, noise) to layer `index`.
    fn add_sums(&mut self, index: usize, signal: u128, noise: u128) {
        let s = &mut self.sums[index];
        s.0 += signal;
        s.1 += noise;
        // one rounding of the exact sums, whatever order they came in
        self.layers[index].signal = s.0 as f64;
        self.layers[index].noise = s.1 as f64;
    }

    /// Pack every layer's weights of `plan` now and trust them for the
    /// rest of its runs (as the first run of a plan would after comparing
    /// them once; see [`MacEngine::begin_plan`]): forks made afterwards
    /// share the packings instead of each packing them again.
    pub fn prepare(&mut self, plan: &super::Plan) {
        if self.last_plan != Some(plan.id()) {
            self.checked.clear();
            self.last_plan = Some(plan.id());
        }
        self.active = Some(plan.id());
        for (i, l) in plan.layers.iter().enumerate() {
            for (g, w) in l.weights.iter().enumerate() {
                self.pack(i, g, w);
            }
        }
        self.active = None;
    }

    /// An engine of the same design, settings and packed weights (shared,
    /// not copied) with statistics of its own, all zero, to run other
    /// batches of the same plan on another thread; [`DesignEngine::merge`]
    /// adds its statistics back. Inputs are not recorded by a fork.
    pub fn fork(&self) -> DesignEngine {
        DesignEngine {
            model: Arc::clone(&self.model),
            exact: self.exact.clone(),
            kind: self.kind,
            layers: blank_stats(self.layers.iter().map(|l| (&l.name, &l.op))),
            inputs: None,
            secs: EngineSecs::default(),
            packs: self.packs.clone(),
            sums: vec![(0, 0); self.layers.len()],
            active: None,
            last_plan: self.last_plan,
            checked: self.checked.clone(),
            stats: self.stats,
        }
    }

    /// Add a fork's statistics and times to this engine's (the sums are
    /// exact integers, so the totals do not depend on how the batches were
    /// shared out), and keep the packings it made.
    pub fn merge(&mut self, o: DesignEngine) {
        for (st, ot) in self.layers.iter_mut().zip(&o.layers) {
            st.macs += ot.macs;
            st.pairs += ot.pairs;
            st.wide_pairs += ot.wide_pairs;
        }
        for (i, s) in o.sums.iter().enumerate() {
            self.add_sums(i, s.0, s.1);
        }
        let (a, b) = (&mut self.secs, &o.secs);
        a.design_gemm += b.design_gemm;
        a.exact_gemm += b.exact_gemm;
        a.statistics += b.statistics;
        a.fused_lowering += b.fused_lowering;
        a.fused_output += b.fused_output;
        if a.per_layer.len() < b.per_layer.len() {
            a.per_layer.resize(b.per_layer.len(), (0.0, [0; 3]));
        }
        for (x, y) in a.per_layer.iter_mut().zip(&b.per_layer) {
            x.0 += y.0;
            if y.1 != [0; 3] {
                x.1 = y.1;
            }
        }
        for (key, p) in o.packs {
            self.packs.entry(key).or_insert(p);
        }
    }
}

/// Pairs along K as the PE forms them, and how many have exactly one zero.
pub fn count_pairs(a: &MatU8, b: &MatI8, stc: bool) -> (u64, u64) {
    use rayon::prelude::*;
    let add = |x: (u64, u64), y: (u64, u64)| (x.0 + y.0, x.1 + y.1);
    if !stc {
        // blocks of rows in parallel, each counted as one run of rows
        let k = a.shape[1].max(1);
        return a
            .data
            .par_chunks(k * 256)
            .map(|rows| count_pairs_dense(rows, k))
            .reduce(|| (0, 0), add);
    }
    let one_zero = |x: u8, y: u8| u64::from((x == 0) != (y == 0));
    let rows = 0..a.shape[0];
    let groups: Vec<_> = (0..b.shape[0])
        .filter_map(|j| stc_pairs(b.row(j), j).ok())
        .collect();
    rows.into_par_iter()
        .map(|i| {
            let r = a.row(i);
            let at = |k: usize| r.get(k).copied().unwrap_or(0);
            let (mut pairs, mut wide) = (0u64, 0u64);
            for pr in &groups {
                for [(k1, _), (k2, _)] in pr {
                    pairs += 1;
                    wide += one_zero(at(*k1), at(*k2));
                }
            }
            (pairs, wide)
        })
        .reduce(|| (0, 0), add)
}

/// [`count_pairs`] of dense pairs on rows of `k` activations (`rows` holds
/// whole rows): each row's pairs `(0,1) (2,3) ...`, an odd last one paired
/// with a zero. With an even K the pairs never cross rows, so the rows are
/// counted as one run, 64 bytes (32 pairs) at a time in a loop that
/// vectorizes.
pub fn count_pairs_dense(rows: &[u8], k: usize) -> (u64, u64) {
    let k = k.max(1);
    let n_rows = rows.len() / k;
    let pairs = (n_rows * k.div_ceil(2)) as u64;
    let run = wide_in_run;
    if k.is_multiple_of(2) {
        return (pairs, run(rows));
    }
    // odd K: each row's last activation meets the padding zero
    let wide = rows
        .chunks(k)
        .map(|r| run(&r[..k - 1]) + u64::from(r[k - 1] != 0))
        .sum();
    (pairs, wide)
}

/// The pairs `(0,1) (2,3) ...` of an even-length run with exactly one
/// zero; with AVX2 when the CPU has it.
fn wide_in_run(r: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512bw") {
        // SAFETY: the CPU has AVX-512 BW (checked just above)
        return unsafe { wide_in_run_avx512(r) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        return unsafe { wide_in_run_avx2(r) };
    }
    wide_in_run_body(r)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn wide_in_run_avx2(r: &[u8]) -> u64 {
    wide_in_run_body(r)
}

/// [`wide_in_run_body`] 64 bytes at a time as one zero mask: a pair has
/// exactly one zero when its two bits differ (the batch of one thread
/// counts its whole im2col; the u16 loop was a fifth of a SPARQ run's
/// statistics).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
fn wide_in_run_avx512(r: &[u8]) -> u64 {
    use std::arch::x86_64::*;
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let (blocks, tail) = r.as_chunks::<64>();
    let mut wide = 0u64;
    for blk in blocks {
        // SAFETY: `blk` is 64 readable bytes; AVX-512 BW per the attribute
        let z = unsafe {
            let v = _mm512_loadu_si512(blk.as_ptr() as *const _);
            _mm512_cmpeq_epi8_mask(v, _mm512_setzero_si512())
        };
        wide += u64::from(((z ^ (z >> 1)) & EVEN).count_ones());
    }
    wide + wide_in_run_body(tail)
}

/// 64 bytes (32 pairs, as little-endian u16: the pair's first activation
/// in the low byte) at a time, counted in a u8 per block.
#[inline(always)]
fn wide_in_run_body(r: &[u8]) -> u64 {
    let (blocks, tail) = r.as_chunks::<64>();
    let mut wide = 0u64;
    for blk in blocks {
        let mut n = 0u16;
        for p in blk.as_chunks::<2>().0 {
            let v = u16::from_le_bytes(*p);
            n += u16::from(((v & 0xff) == 0) != ((v >> 8) == 0));
        }
        wide += u64::from(n);
    }
    wide + tail
        .as_chunks::<2>()
        .0
        .iter()
        .map(|p| u64::from((p[0] == 0) != (p[1] == 0)))
        .sum::<u64>()
}

/// `(sum x^2, sum (y - x)^2)` over `xs` (exact) and `ys` (the design's),
/// exact in integers. Runs of 2048 whose values and differences are all
/// below 2^26 in magnitude (squares below 2^52, 2048 of them below 2^63)
/// are summed in u64, in a loop that vectorizes; other runs in u128.
pub fn sum_squares(xs: &[i32], ys: &[i32]) -> (u128, u128) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512dq")
    {
        // SAFETY: the CPU has AVX-512 F and DQ (checked just above)
        return unsafe { sum_squares_avx512(xs, ys) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above)
        return unsafe { sum_squares_avx2(xs, ys) };
    }
    sum_squares_body(xs, ys)
}

/// [`sum_squares`] compiled for AVX2 (32 x 32 -> 64-bit products and
/// 64-bit adds in vectors): the same integer sums.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_squares_avx2(xs: &[i32], ys: &[i32]) -> (u128, u128) {
    sum_squares_body(xs, ys)
}

/// [`sum_squares`] compiled for AVX-512 (twice the lanes of AVX2): the
/// same integer sums.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
fn sum_squares_avx512(xs: &[i32], ys: &[i32]) -> (u128, u128) {
    sum_squares_body(xs, ys)
}

#[inline(always)]
fn sum_squares_body(xs: &[i32], ys: &[i32]) -> (u128, u128) {
    const RUN: usize = 2048;
    const SMALL: u64 = 1 << 26;
    let (mut s, mut n) = (0u128, 0u128);
    for (xs, ys) in xs.chunks(RUN).zip(ys.chunks(RUN)) {
        let ys = &ys[..xs.len()];
        let big = xs.iter().zip(ys).fold(0u64, |m, (&x, &y)| {
            let d = (i64::from(y) - i64::from(x)).unsigned_abs();
            m.max(d).max(u64::from(x.unsigned_abs()))
        });
        if big < SMALL {
            let (mut s64, mut n64) = (0u64, 0u64);
            for (&x, &y) in xs.iter().zip(ys) {
                let d = i64::from(y) - i64::from(x);
                s64 += (i64::from(x) * i64::from(x)) as u64;
                n64 += (d * d) as u64;
            }
            s += u128::from(s64);
            n += u128::from(n64);
        } else {
            for (&x, &y) in xs.iter().zip(ys) {
                // |d| < 2^32: its square needs 64 unsigned bits
                let d = u128::from((i64::from(y) - i64::from(x)).unsigned_abs());
                s += (i64::from(x) * i64::from(x)) as u128;
                n += d * d;
            }
        }
    }
    (s, n)
}

/// One block's part of [`DesignEngine::gemm_rows`]: thread-seconds of the
/// design GEMM, the exact reference and the statistics, and the sums.
#[derive(Default)]
struct BlockPart {
    lower: f64,
    output: f64,
    design: f64,
    exact: f64,
    stats: f64,
    signal: u128,
    noise: u128,
    pairs: u64,
    wide: u64,
}

impl BlockPart {
    fn add(mut self, o: BlockPart) -> BlockPart {
        self.lower += o.lower;
        self.output += o.output;
        self.design += o.design;
        self.exact += o.exact;
        self.stats += o.stats;
        self.signal += o.signal;
        self.noise += o.noise;
        self.pairs += o.pairs;
        self.wide += o.wide;
        self
    }
}

impl DesignEngine {
    /// Pack B for (layer, group) unless the packing kept for it is of the
    /// same weights (inside a plan's run, weights checked once in that plan
    /// are the same weights, plans being read-only: not compared per image).
    fn pack(&mut self, index: usize, group: usize, b: &MatI8) {
        let trusted = self.active.is_some() && self.checked.contains(&(index, group));
        if !trusted {
            let fresh = !matches!(self.packs.get(&(index, group)).map(|p| &**p),
                Some((w, _)) if w.shape == b.shape && w.data == b.data);
            if fresh {
                self.packs
                    .insert((index, group), Arc::new((b.clone(), Model::pack(b))));
            }
            if self.active.is_some() {
                self.checked.insert((index, group));
            }
        }
    }

    fn gemm_context(&self, layer: &MacLayer) -> String {
        if matches!(self.kind, PeKind::Sparq(s) if s.stc) {
            "this design has pe.stc: true, so every weight row must be 2:4 structured \
             sparse (prune the network to 2:4 before quantizing)"
                .to_string()
        } else {
            format!("the GEMM of layer {:?}", layer.name)
        }
    }

    /// One block of [`MacEngine::gemm_rows`]: the design's GEMM on A's rows
    /// `r0..` (made into a per-thread buffer), with the statistics on the
    /// same rows, C handed to the sink.
    fn gemm_block(
        &self,
        packed: &PackedWeights,
        b: &MatI8,
        rows: &RowBlocks,
        r0: usize,
        len: usize,
    ) -> Result<BlockPart, crate::arith::ArithError> {
        use std::time::Instant;
        let k = rows.k;
        let t = Instant::now();
        let mut kept = scratch::take(len * k);
        let buf = &mut kept[..len * k];
        (rows.fill)(r0, buf);
        let buf = &*buf;
        let lower = t.elapsed().as_secs_f64();
        let shape = [len, k];
        let a = View {
            shape: &shape,
            data: buf,
        };
        let kernel = Kernel::best();
        let mut part = BlockPart {
            lower,
            ..Default::default()
        };
        let t = Instant::now();
        let c = match self.kind {
            PeKind::Mac4x8 => {
                let codes: Vec<u8> = buf.iter().map(|v| v >> 4).collect();
                let a4 = View {
                    shape: &shape,
                    data: &codes,
                };
                let mut c = self
                    .model
                    .gemm_packed_with(kernel, &a4, &b.view(), packed)?;
                c.data.iter_mut().for_each(|v| *v *= 16);
                c
            }
            _ => self.model.gemm_packed_with(kernel, &a, &b.view(), packed)?,
        };
        part.design = t.elapsed().as_secs_f64();
        if self.stats {
            if let Some(e) = &self.exact {
                let t = Instant::now();
                let ex = e.gemm_packed_with(kernel, &a, &b.view(), packed)?;
                let t1 = Instant::now();
                part.exact = (t1 - t).as_secs_f64();
                (part.signal, part.noise) = sum_squares(&ex.data, &c.data);
                part.stats = t1.elapsed().as_secs_f64();
            }
            if let PeKind::Sparq(s) = self.kind {
                if s.pair_sharing {
                    let t = Instant::now();
                    (part.pairs, part.wide) = if s.stc {
                        let m = Tensor::new(vec![len, k], buf.to_vec());
                        count_pairs(&m, b, true)
                    } else {
                        count_pairs_dense(buf, k)
                    };
                    part.stats += t.elapsed().as_secs_f64();
                }
            }
        }
        let t = Instant::now();
        (rows.sink)(r0, &c.data);
        part.output = t.elapsed().as_secs_f64();
        scratch::give(kept);
        Ok(part)
    }
}

impl MacEngine for DesignEngine {
    /// Blocks of rows in parallel ([`block_rows`]), each lowered, multiplied
    /// (its GEMM splitting further over the threads) and handed on while
    /// it is in cache; the exact reference GEMM of the statistics reads the
    /// same lowered rows.
    fn gemm_rows(
        &mut self,
        index: usize,
        layer: &MacLayer,
        group: usize,
        b: &MatI8,
        rows: &RowBlocks,
    ) -> anyhow::Result<()> {
        use rayon::prelude::*;
        self.pack(index, group, b);
        let (m, k, n) = (rows.m, rows.k, b.shape[0]);
        let len = block_rows(m, k, n, rayon::current_num_threads());
        let t = std::time::Instant::now();
        let this = &*self;
        let packed = &this.packs[&(index, group)].1;
        let part = (0..m.div_ceil(len))
            .into_par_iter()
            .map(|i| this.gemm_block(packed, b, rows, i * len, len.min(m - i * len)))
            .try_reduce(BlockPart::default, |x, y| Ok(x.add(y)))
            .with_context(|| self.gemm_context(layer))?;
        // the wall time, shared out as the blocks' thread time was
        let wall = t.elapsed().as_secs_f64();
        let busy = (part.lower + part.output + part.design + part.exact + part.stats).max(1e-12);
        let design = wall * part.design / busy;
        self.secs.design_gemm += design;
        self.secs.fused_lowering += wall * part.lower / busy;
        self.secs.fused_output += wall * part.output / busy;
        self.secs.exact_gemm += wall * part.exact / busy;
        self.secs.statistics += wall * part.stats / busy;
        if self.secs.per_layer.len() <= index {
            self.secs.per_layer.resize(index + 1, (0.0, [0; 3]));
        }
        let pl = &mut self.secs.per_layer[index];
        pl.0 += design;
        pl.1 = [m, k, n];
        self.add_sums(index, part.signal, part.noise);
        let st = &mut self.layers[index];
        st.macs += (m * k * n) as u64;
        st.pairs += part.pairs;
        st.wide_pairs += part.wide;
        Ok(())
    }

    fn records_inputs(&self) -> bool {
        self.inputs.is_some()
    }

    fn begin_plan(&mut self, plan_id: Option<u64>) {
        if plan_id.is_some() && plan_id != self.last_plan {
            self.checked.clear();
            self.last_plan = plan_id;
        }
        self.active = plan_id;
    }

    fn input(&mut self, index: usize, x: &Tensor<u8>) {
        if let Some(all) = &mut self.inputs {
            match &mut all[index] {
                Some(t) => {
                    t.shape[0] += x.shape[0];
                    t.data.extend_from_slice(&x.data);
                }
                slot => *slot = Some(x.clone()),
            }
        }
    }

    fn gemm(
        &mut self,
        index: usize,
        layer: &MacLayer,
        group: usize,
        a: &MatU8,
        b: &MatI8,
    ) -> anyhow::Result<MatI32> {
        self.pack(index, group, b);
        let packed = &self.packs[&(index, group)].1;
        let why = self.gemm_context(layer);
        let ctx = || why.clone();
        let t0 = std::time::Instant::now();
        let c = match self.kind {
            PeKind::Mac4x8 => {
                let codes = Tensor::new(a.shape.clone(), a.data.iter().map(|v| v >> 4).collect());
                let mut c = self
                    .model
                    .gemm_packed(&codes, b, packed)
                    .with_context(ctx)?;
                c.data.iter_mut().for_each(|v| *v *= 16);
                c
            }
            _ => self.model.gemm_packed(a, b, packed).with_context(ctx)?,
        };
        let dt = t0.elapsed().as_secs_f64();
        self.secs.design_gemm += dt;
        if self.secs.per_layer.len() <= index {
            self.secs.per_layer.resize(index + 1, (0.0, [0; 3]));
        }
        let pl = &mut self.secs.per_layer[index];
        pl.0 += dt;
        pl.1 = [a.shape[0], a.shape[1], b.shape[0]];
        self.layers[index].macs += (a.shape[0] * a.shape[1] * b.shape[0]) as u64;
        if !self.stats {
            return Ok(c);
        }
        let mut t1 = std::time::Instant::now();
        // an exact design (no reference model) has no error to measure
        if let Some(e) = self.exact.clone() {
            let ex = e.gemm_packed(a, b, packed).with_context(ctx)?;
            self.secs.exact_gemm += t1.elapsed().as_secs_f64();
            t1 = std::time::Instant::now();
            use rayon::prelude::*;
            // exact integer sums in parallel chunks, so the result does not
            // depend on the order or threads
            let (signal, noise) = ex
                .data
                .par_chunks(4096)
                .zip(c.data.par_chunks(4096))
                .map(|(xs, ys)| sum_squares(xs, ys))
                .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
            self.add_sums(index, signal, noise);
        }
        if let PeKind::Sparq(s) = self.kind {
            if s.pair_sharing {
                let (p, w) = count_pairs(a, b, s.stc);
                let st = &mut self.layers[index];
                st.pairs += p;
                st.wide_pairs += w;
            }
        }
        self.secs.statistics += t1.elapsed().as_secs_f64();
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_follow_the_pe_dense_and_two_of_four() {
        // K = 5: dense pairs (0,1) (2,3) (4,pad)
        let a = Tensor::new(vec![2, 5], vec![0, 7, 3, 4, 9, 0, 0, 0, 5, 0]);
        let b = Tensor::new(vec![1, 5], vec![1, 0, 0, 1, 1]);
        // row 0: (0,7) one zero, (3,4) none, (9,pad) one -> 2 wide of 3
        // row 1: (0,0) both, (0,5) one, (0,pad) both -> 1 wide of 3
        assert_eq!(count_pairs(&a, &b, false), (6, 3));
        // 2:4: group 0..4 keeps k = 0 and 3, group 4..5 keeps k = 4 alone
        // row 0: (0,4) one zero, (9,missing) one -> 2; row 1: (0,5) one, (0,-) both -> 1
        assert_eq!(count_pairs(&a, &b, true), (4, 3));
    }

    /// The block count equals the pair rule row by row: even and odd K,
    /// runs longer and shorter than 64 bytes, rows of zeros.
    #[test]
    fn dense_pair_counts_equal_the_rule() {
        let mut rng = crate::workload::Rng::new(11);
        for k in [1, 2, 5, 64, 65, 130, 147, 576] {
            let rows = 7;
            let a: Vec<u8> = (0..rows * k)
                .map(|i| match rng.next_u64() % 3 {
                    _ if i / k == 3 => 0,
                    0 => 0,
                    _ => rng.next_u64() as u8 | 1,
                })
                .collect();
            let (mut pairs, mut wide) = (0u64, 0u64);
            for r in a.chunks(k) {
                for p in r.chunks(2) {
                    let y = p.get(1).copied().unwrap_or(0);
                    pairs += 1;
                    wide += u64::from((p[0] == 0) != (y == 0));
                }
            }
            assert_eq!(count_pairs_dense(&a, k), (pairs, wide), "K = {k}");
            let m = Tensor::new(vec![rows, k], a);
            let b = Tensor::new(vec![1, k], vec![1i8; k]);
            assert_eq!(count_pairs(&m, &b, false), (pairs, wide), "K = {k}");
        }
        // every vector form counts as the scalar rule, on runs with and
        // without a tail past the last 64 bytes
        let run: Vec<u8> = (0..1000)
            .map(|_| match rng.next_u64() % 3 {
                0 => 0,
                _ => rng.next_u64() as u8 | 1,
            })
            .collect();
        for len in (0..run.len()).step_by(2) {
            let r = &run[..len];
            let rule = r
                .chunks(2)
                .map(|p| u64::from((p[0] == 0) != (p[1] == 0)))
                .sum::<u64>();
            assert_eq!(wide_in_run_body(r), rule, "len {len}");
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512bw") {
                    // SAFETY: checked just above
                    assert_eq!(unsafe { wide_in_run_avx512(r) }, rule, "len {len}");
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: checked just above
                    assert_eq!(unsafe { wide_in_run_avx2(r) }, rule, "len {len}");
                }
            }
        }
    }

    /// The u64 fast path and the u128 one give the exact sums: values at
    /// and beyond 2^26, the int32 extremes, runs mixing both.
    #[test]
    fn sums_of_squares_are_exact() {
        let mut rng = crate::workload::Rng::new(4);
        let edge = [
            i32::MIN,
            i32::MAX,
            1 << 26,
            -(1 << 26),
            (1 << 26) - 1,
            0,
            -1,
        ];
        for big_every in [0usize, 1, 997, 5000] {
            let n = 5000;
            let xs: Vec<i32> = (0..n)
                .map(|i| match big_every {
                    b if b > 0 && i % b == 3 => edge[i % edge.len()],
                    _ => (rng.next_u64() as i32) >> 7,
                })
                .collect();
            let ys: Vec<i32> = xs
                .iter()
                .enumerate()
                .map(|(i, &x)| match i % 5 {
                    0 => x,
                    1 => x.wrapping_add((rng.next_u64() as i32) >> 9),
                    2 => edge[i % edge.len()],
                    _ => (rng.next_u64() as i32) >> 8,
                })
                .collect();
            let mut want = (0u128, 0u128);
            for (&x, &y) in xs.iter().zip(&ys) {
                let d = (i128::from(y) - i128::from(x)).unsigned_abs();
                want.0 += (i128::from(x) * i128::from(x)) as u128;
                want.1 += d * d;
            }
            assert_eq!(sum_squares(&xs, &ys), want, "big every {big_every}");
        }
    }

    /// A layer run block by block through the engine equals the GEMM of
    /// the whole lowered input, codes and statistics alike: every design
    /// kind, layer stats on, two groups, M not a multiple of the block.
    #[test]
    fn blocks_equal_one_gemm_codes_and_statistics() {
        use crate::config::Design;
        use crate::net::lower::MacKind;
        let (n, c, h, w, o, groups) = (2, 8, 23, 19, 12, 2);
        let (cg, og) = (c / groups, o / groups);
        let (kh, kw) = (3, 3);
        let k = kh * kw * cg;
        let mut rng = crate::workload::Rng::new(8);
        let layer = MacLayer {
            name: "t".into(),
            op: "Conv".into(),
            kind: MacKind::Conv {
                kh,
                kw,
                stride: [1, 2],
                pads: [1, 1, 2, 0],
                groups,
            },
            in_channels: c,
            out_channels: o,
            weights: (0..groups)
                .map(|_| {
                    Tensor::new(
                        vec![og, k],
                        (0..og * k).map(|_| (rng.next_u64() as i8) / 3).collect(),
                    )
                })
                .collect(),
            bias: (0..o as i32).map(|v| 91 * v - 300).collect(),
            w_scale: vec![1.0; o],
        };
        // activations with zeros, so pairs and trimming matter
        let x = Tensor::new(
            vec![n, c, h, w],
            (0..n * c * h * w)
                .map(|_| match rng.next_u64() % 4 {
                    0 => 0,
                    _ => rng.next_u64() as u8,
                })
                .collect(),
        );
        let nhwc = crate::net::value::QTensor {
            t: x.clone(),
            scale: 1.0,
            zp: 0,
        }
        .to_nhwc()
        .t;
        let mult: Vec<f32> = (0..o).map(|i| [1e-3, 3e-4, 0.01][i % 3]).collect();
        let base = |kind: &str| {
            Design::from_yaml(&format!(
                "name: {kind}\npe: {{kind: {kind}}}\narray: {{kind: single}}\n"
            ))
            .unwrap()
        };
        let designs = [Design::default_design(), base("mac8x8"), base("mac4x8")];
        for d in designs {
            let zp = 5u8;
            let add = layer.addends_from(&layer.weight_sums(), i32::from(zp));
            let mut one = DesignEngine::new(&d, std::slice::from_ref(&layer));
            let (cs, shape) = layer
                .gemms_from(0, &nhwc, true, zp, &mut one, None)
                .unwrap();
            let want = layer.finish_requant_nhwc(&cs, &add, &shape, &mult, 7);
            let mut blocks = DesignEngine::new(&d, std::slice::from_ref(&layer));
            let got = layer
                .run_requant_nhwc(0, &nhwc, true, zp, &mut blocks, &add, &mult, 7)
                .unwrap();
            assert_eq!(got, want, "{}", d.name());
            // the same input as channel planes
            let mut planes = DesignEngine::new(&d, std::slice::from_ref(&layer));
            let from_planes = layer
                .run_requant_nhwc(0, &x, false, zp, &mut planes, &add, &mult, 7)
                .unwrap();
            assert_eq!(from_planes, want, "{} from planes", d.name());
            let (a, b) = (&one.layers[0], &blocks.layers[0]);
            assert_eq!(
                (a.macs, a.signal, a.noise, a.pairs, a.wide_pairs),
                (b.macs, b.signal, b.noise, b.pairs, b.wide_pairs),
                "{}",
                d.name()
            );
        }
    }
}
