//! Network layers on the generated hardware: a [`MacEngine`] that computes
//! every GEMM with the bit-exact model (what the network goes on with) and
//! also runs it, tile by tile, on the design's RTL under Verilator through
//! the co-simulation harness ([`crate::sim`], spec kind
//! [`Spec::Operands`]), where every output the RTL produces is compared
//! with the model at the cycle the port contract says.
//!
//! Tiling: a systolic `R x C` array computes `R` im2col rows against `C`
//! output channels per tile (output stationary, the whole K streamed in
//! pairs as the model pairs them); a dot unit computes one output at a
//! time with K spread over its lanes. K longer than the accumulator holds
//! exactly (or `k_tile`) is cut into chunks at multiples of four, run as
//! separate tiles, and their partial sums added on the host; that sum is
//! checked against the model's GEMM.
//!
//! Cycles: the harness reports the cycles each layer was driven for (past
//! each segment's reset preamble); [`crate::cycles`] predicts them from
//! the shapes and the design.

use super::lower::{MacEngine, MacLayer};
use super::measure::DesignEngine;
use crate::arith::{MatI32, MatI8, MatU8, Model, Tensor};
use crate::config::{ArrayShape, Design, PeKind};
use crate::cycles::{self, Cycles, Timing};
use crate::sim::stimulus::{seed_of, OperandGemm, Rng, Spec};
use crate::sim::{Dut, VerifyOptions};
use anyhow::Context;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// How much of each layer to run on the RTL.
#[derive(Debug, Clone, Default)]
pub struct RtlOptions {
    /// Run this many seeded random output tiles per layer (on the first
    /// batch) instead of every tile of every batch.
    pub sample: Option<usize>,
    pub seed: u64,
    /// Cut K into chunks of at most this many positions (rounded down to a
    /// multiple of 4); default: what the accumulator holds exactly.
    pub k_tile: Option<usize>,
    /// The Verilator build cache (default: the harness's).
    pub cache_dir: Option<PathBuf>,
}

/// What one MAC layer did on the RTL.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerRtl {
    pub name: String,
    pub op: String,
    /// Output tiles of the layer (every batch) and those run on the RTL.
    pub tiles: u64,
    pub tiles_run: u64,
    /// MACs of the tiles run.
    pub macs: u64,
    /// Cycles the RTL was driven for the tiles run.
    pub cycles: u64,
    /// The cycle model for the same tiles.
    pub predicted: Cycles,
    /// The cycle model for the whole layer (every tile, every batch).
    pub layer_predicted: Cycles,
    pub checks: u64,
    pub mismatches: u64,
    /// The first failing outputs, described.
    pub details: Vec<String>,
    /// Seconds in the simulator runs (wall), and the CPU seconds of the
    /// simulator processes.
    pub sim_secs: f64,
    pub sim_cpu_secs: f64,
    /// The layer's GEMM per group (last batch): `m x k` by `n x k`.
    pub groups: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

impl LayerRtl {
    /// MACs / (PEs x K per step x measured cycles).
    pub fn utilization(&self, t: &Timing) -> f64 {
        let slots = self.cycles * t.peak_macs_per_cycle();
        if slots == 0 {
            0.0
        } else {
            self.macs as f64 / slots as f64
        }
    }

    /// `measured / predicted - 1`.
    pub fn prediction_error(&self) -> f64 {
        if self.predicted.total == 0 {
            return if self.cycles == 0 { 0.0 } else { f64::INFINITY };
        }
        self.cycles as f64 / self.predicted.total as f64 - 1.0
    }
}

/// The model as the network's engine, the RTL as its check.
pub struct RtlEngine {
    pub model: DesignEngine,
    pub layers: Vec<LayerRtl>,
    pub timing: Timing,
    design: Design,
    dut: Dut,
    wide: Model,
    opts: RtlOptions,
    calls: Vec<usize>,
    chosen: Vec<Vec<(usize, usize)>>,
    pending: Vec<Spec>,
    pending_pred: Cycles,
    pending_macs: u64,
    pending_tiles: u64,
}

/// Segments of about this many cycles (their operands stay in memory).
const SEGMENT_CYCLES: u64 = 200_000;

impl RtlEngine {
    pub fn new(design: &Design, layers: &[MacLayer], opts: RtlOptions) -> anyhow::Result<Self> {
        let dut = Dut::generate(design).context("generating the design's RTL")?;
        Ok(RtlEngine::with_dut(dut, layers, opts))
    }

    /// On given RTL (a folder `sparqgen generate` wrote, maybe edited).
    pub fn with_dut(dut: Dut, layers: &[MacLayer], opts: RtlOptions) -> Self {
        let design = &dut.design.clone();
        RtlEngine {
            model: DesignEngine::new(design, layers),
            layers: layers
                .iter()
                .map(|l| LayerRtl {
                    name: l.name.clone(),
                    op: l.op.clone(),
                    ..LayerRtl::default()
                })
                .collect(),
            timing: Timing::of(design),
            design: design.clone(),
            dut,
            wide: Model::unwrapped(&design.pe().kind()),
            opts,
            calls: vec![0; layers.len()],
            chosen: vec![Vec::new(); layers.len()],
            pending: Vec::new(),
            pending_pred: Cycles::default(),
            pending_macs: 0,
            pending_tiles: 0,
        }
    }

    pub fn mismatches(&self) -> u64 {
        self.layers.iter().map(|l| l.mismatches).sum()
    }

    /// The output tile of one pass: `R x C` on a systolic array, one im2col
    /// row against every output channel on a dot unit or single PE.
    fn tile(&self, n: usize) -> (usize, usize) {
        match self.design.array() {
            ArrayShape::Systolic { rows, cols } => (rows as usize, cols as usize),
            _ => (1, n.max(1)),
        }
    }

    fn k_chunk(&self, k: usize) -> usize {
        // the same cap as the model's check_k: the accumulator's exact range,
        // at most what the model's int32 output holds
        let exact = self
            .design
            .exact_k_max()
            .min(crate::arith::gemm::I32_EXACT_K_MAX) as usize;
        let want = self.opts.k_tile.unwrap_or(exact).min(exact);
        let c = (want / 4 * 4).max(4);
        c.min(k.max(1))
    }

    fn queue(
        &mut self,
        label: String,
        a: &MatU8,
        b: &MatI8,
        rows: (usize, usize),
        cols: (usize, usize),
    ) {
        let k = a.shape[1];
        let kc = self.k_chunk(k);
        let mut k0 = 0;
        loop {
            let k1 = (k0 + kc).min(k);
            let sa: Vec<u8> = (rows.0..rows.1)
                .flat_map(|i| a.row(i)[k0..k1].iter().copied())
                .collect();
            let sb: Vec<i8> = (cols.0..cols.1)
                .flat_map(|j| b.row(j)[k0..k1].iter().copied())
                .collect();
            let (m, n) = (rows.1 - rows.0, cols.1 - cols.0);
            self.pending_pred.add(&cycles::gemm(
                &self.timing,
                cycles::Shape {
                    groups: 1,
                    m: m as u64,
                    n: n as u64,
                    k: (k1 - k0) as u64,
                },
            ));
            self.pending.push(Spec::Operands(Arc::new(OperandGemm {
                label: format!("{label}, K {k0}..{k1}"),
                a: Tensor::new(vec![m, k1 - k0], sa),
                b: Tensor::new(vec![n, k1 - k0], sb),
            })));
            if k1 >= k {
                break;
            }
            k0 = k1;
        }
    }

    /// With K in several chunks: the chunks' model sums must add up to the
    /// model's GEMM (same pairing along K), for the outputs run.
    fn check_partial_sums(
        &self,
        a: &MatU8,
        b: &MatI8,
        c: &MatI32,
        scale: i64,
        outs: &[(usize, usize)],
    ) -> anyhow::Result<Option<String>> {
        let k = a.shape[1];
        let kc = self.k_chunk(k);
        if kc >= k {
            return Ok(None);
        }
        for &(i, j) in outs {
            let mut sum = 0i64;
            let mut k0 = 0;
            while k0 < k {
                let k1 = (k0 + kc).min(k);
                let aa = Tensor::new(vec![1, k1 - k0], a.row(i)[k0..k1].to_vec());
                let bb = Tensor::new(vec![1, k1 - k0], b.row(j)[k0..k1].to_vec());
                sum += i64::from(self.wide.gemm(&aa, &bb)?.data[0]);
                k0 = k1;
            }
            let want = i64::from(c.data[i * c.shape[1] + j]);
            if sum * scale != want {
                return Ok(Some(format!(
                    "C[{i}][{j}]: partial sums over K chunks of {kc} add up to {} but the model's \
                     GEMM gives {want}",
                    sum * scale
                )));
            }
        }
        Ok(None)
    }

    /// Run the queued tiles of layer `index` on the RTL.
    fn flush(&mut self, index: usize) -> anyhow::Result<()> {
        let specs = std::mem::take(&mut self.pending);
        let pred = std::mem::take(&mut self.pending_pred);
        let st = &mut self.layers[index];
        st.predicted.add(&pred);
        st.macs += std::mem::take(&mut self.pending_macs);
        st.tiles_run += std::mem::take(&mut self.pending_tiles);
        if specs.is_empty() {
            return Ok(());
        }
        let opts = VerifyOptions {
            seed: self.opts.seed,
            plans: Some(vec![specs]),
            vcd: false,
            max_details: 4,
            max_mismatches: 1000,
            cache_dir: self.opts.cache_dir.clone(),
            profile: crate::sim::verilator::Profile::Run,
            ..VerifyOptions::default()
        };
        let o = crate::sim::verify(std::slice::from_ref(&self.dut), &opts)
            .with_context(|| format!("layer {:?} on the RTL", st.name))?;
        let m = &o.members[0];
        st.cycles += m.array_cycles;
        st.checks += m.checks;
        st.mismatches += m.mismatches;
        st.sim_secs += o.run_secs;
        st.sim_cpu_secs += o.sim_cpu_secs.unwrap_or(o.run_secs);
        for d in o.details {
            if st.details.len() < 4 {
                st.details.push(format!(
                    "{}: output row {} at cycle {}: RTL {} != model {}\n{}",
                    d.spec, d.out, d.cycle, d.actual, d.expected, d.inputs
                ));
            }
        }
        Ok(())
    }
}

impl MacEngine for RtlEngine {
    fn records_inputs(&self) -> bool {
        self.model.records_inputs()
    }

    fn begin_plan(&mut self, plan_id: Option<u64>) {
        self.model.begin_plan(plan_id);
    }

    fn input(&mut self, index: usize, x: &Tensor<u8>) {
        self.model.input(index, x);
    }

    fn gemm(
        &mut self,
        index: usize,
        layer: &MacLayer,
        group: usize,
        a: &MatU8,
        b: &MatI8,
    ) -> anyhow::Result<MatI32> {
        let c = self.model.gemm(index, layer, group, a, b)?;
        let groups = layer.groups();
        let call = self.calls[index];
        self.calls[index] += 1;
        // mac4x8 takes 4-bit codes; the model scales their sum by 16
        let (codes, scale);
        let a = if self.design.pe().kind() == PeKind::Mac4x8 {
            codes = Tensor::new(a.shape.clone(), a.data.iter().map(|v| v >> 4).collect());
            scale = 16;
            &codes
        } else {
            scale = 1;
            a
        };
        let (m, n, k) = (a.shape[0], b.shape[0], a.shape[1]);
        let (tr, tc) = self.tile(n);
        let (gi, gj) = (m.div_ceil(tr), n.div_ceil(tc));
        let per_group = (gi * gj) as u64;
        let st = &mut self.layers[index];
        st.tiles += per_group;
        (st.groups, st.m, st.n, st.k) = (groups, m, n, k);
        st.layer_predicted.add(&cycles::gemm(
            &self.timing,
            cycles::Shape {
                groups: 1,
                m: m as u64,
                n: n as u64,
                k: k as u64,
            },
        ));
        let name = layer.name.clone();
        let tile_range = |ti: usize, tj: usize| {
            (
                (ti * tr, ((ti + 1) * tr).min(m)),
                (tj * tc, ((tj + 1) * tc).min(n)),
            )
        };
        let mut outs: Vec<(usize, usize)> = Vec::new();
        match self.opts.sample {
            Some(want) => {
                if call < groups {
                    if group == 0 {
                        // the first batch: choose the layer's tiles over all groups
                        let total = groups as u64 * per_group;
                        let mut rng = Rng::new(seed_of(self.opts.seed, 0x7e57, index as u64));
                        let mut ids: Vec<u64> = Vec::new();
                        if want as u64 >= total {
                            ids = (0..total).collect();
                        } else {
                            while ids.len() < want {
                                let t = rng.below(total);
                                if !ids.contains(&t) {
                                    ids.push(t);
                                }
                            }
                            ids.sort_unstable();
                        }
                        self.chosen[index] = ids
                            .into_iter()
                            .map(|t| ((t / per_group) as usize, (t % per_group) as usize))
                            .collect();
                    }
                    let mine: Vec<usize> = self.chosen[index]
                        .iter()
                        .filter(|(g, _)| *g == group)
                        .map(|&(_, t)| t)
                        .collect();
                    for t in mine {
                        let (ti, tj) = (t / gj, t % gj);
                        let (rows, cols) = tile_range(ti, tj);
                        let label = format!(
                            "layer {name} group {group} tile ({ti}, {tj}) rows {}..{} cols {}..{}",
                            rows.0, rows.1, cols.0, cols.1
                        );
                        self.queue(label, a, b, rows, cols);
                        self.pending_tiles += 1;
                        self.pending_macs += ((rows.1 - rows.0) * (cols.1 - cols.0) * k) as u64;
                        outs.extend(
                            (rows.0..rows.1).flat_map(|i| (cols.0..cols.1).map(move |j| (i, j))),
                        );
                    }
                }
            }
            None => {
                // row blocks of whole tile rows, about SEGMENT_CYCLES each
                let per_tile_row = cycles::gemm(
                    &self.timing,
                    cycles::Shape {
                        groups: 1,
                        m: tr as u64,
                        n: n as u64,
                        k: k as u64,
                    },
                )
                .total
                .max(1);
                let block = (SEGMENT_CYCLES / per_tile_row).max(1) as usize;
                let mut ti = 0;
                while ti < gi {
                    let t1 = (ti + block).min(gi);
                    let rows = (ti * tr, (t1 * tr).min(m));
                    let label = format!(
                        "layer {name} group {group} tile rows {ti}..{t1} (rows {}..{}, all {n} cols)",
                        rows.0, rows.1
                    );
                    self.queue(label, a, b, rows, (0, n));
                    ti = t1;
                }
                self.pending_tiles += per_group;
                self.pending_macs += (m * n * k) as u64;
                if self.k_chunk(k) < k {
                    outs.extend((0..m).flat_map(|i| (0..n).map(move |j| (i, j))));
                }
            }
        }
        if let Some(why) = self.check_partial_sums(a, b, &c, scale, &outs)? {
            let st = &mut self.layers[index];
            st.mismatches += 1;
            if st.details.len() < 4 {
                st.details
                    .push(format!("layer {name} group {group}: {why}"));
            }
        }
        if group + 1 == groups {
            self.flush(index)?;
        }
        Ok(c)
    }
}
