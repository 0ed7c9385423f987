//! `sparqgen bench ...`: throughput numbers, printed.

use anyhow::Result;
use clap::{Args, Subcommand};
use sparqgen::arith::peak::Peak;
use sparqgen::arith::{Kernel, Model, Tensor};
use sparqgen::config::{Design, PlacementSet, Rounding};
use sparqgen::workload::{prune_2_of_4, relu_like, weights, Rng};
use std::time::Instant;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// GEMM throughput of the model for every placement set and rounding.
    ///
    /// Default shape: M=12544, K=576, N=64, ResNet-18's 3x3x64 convolution
    /// at 56x56 with batch 4, half the activations zero and the rest
    /// ReLU-like (small values common, large ones rare).
    Model(ModelBench),
    /// Time `generate` (render, and render + atomic write) for a large
    /// systolic array and a wide dot unit.
    Generate(GenerateBench),
    /// Co-simulation throughput: a single PE (pair-vectors/s) and a 16x16
    /// systolic array (simulated MAC/s) under Verilator.
    Verify(super::verify::VerifyBench),
    /// Whole networks through the model: images/s for the digits CNN and a
    /// ResNet-18-shaped int8 graph (random weights) at batch 1.
    Net(super::net::NetBench),
    /// Prove every PE variant (40 SPARQ combinations, both baselines; single
    /// PE, pipeline 0) and print the time per variant.
    Prove(super::prove::ProveBench),
}

#[derive(Args)]
pub struct GenerateBench {
    /// Rows and columns of the systolic array.
    #[arg(long, default_value_t = 32)]
    dim: u32,
    /// Timed repetitions (the best is reported).
    #[arg(long, default_value_t = 20)]
    reps: usize,
}

#[derive(Args)]
pub struct ModelBench {
    /// GEMM rows (output pixels).
    #[arg(long, default_value_t = 12544, value_parser = clap::value_parser!(u32).range(1..))]
    m: u32,
    /// Reduction length.
    #[arg(long, default_value_t = 576, value_parser = clap::value_parser!(u32).range(1..))]
    k: u32,
    /// GEMM columns (output channels).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    n: u32,
    /// Timed repetitions per configuration (the best is reported).
    #[arg(long, default_value_t = 5)]
    pub(super) reps: usize,
    /// Fraction of activations that are zero (0..=1).
    #[arg(long, default_value_t = 0.5, value_parser = super::fraction)]
    pub(super) zeros: f64,
    /// Interleaved rounds (every configuration, and ORT with --compare-ort,
    /// once per round); each line reports the best over all rounds.
    /// Default 1, or 5 with --compare-ort.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub(super) rounds: Option<u32>,
    /// Also time ONNX Runtime's exact int8 GEMM (MatMulInteger, uint8 x
    /// uint8) on the same shape and threads, through python3 with
    /// onnxruntime (skipped with the install command when missing); first
    /// check its result equals the exact int8 model's, then print each
    /// configuration's ratio to it.
    #[arg(long)]
    compare_ort: bool,
    /// GEMM kernel: vnni (AVX-512 VNNI bytes, VBMI trim), vnni-scalar-trim,
    /// avx-vnni (bytes on ymm), avx2 (int16), portable. Default: the
    /// fastest this CPU has.
    #[arg(long, value_parser = super::kernel)]
    pub(super) kernel: Option<Kernel>,
    /// Shapes to time: `bench` (one GEMM of --m x --k x --n, every
    /// placement set and rounding) or `resnet18` (each GEMM of a batch-1
    /// ResNet-18 with its weights packed once, as `net` runs them: exact
    /// int8, the default SPARQ design and its 2:4 form; one line per shape
    /// and the MAC-weighted total).
    #[arg(long, value_enum, default_value_t = Shapes::Bench)]
    pub(super) shapes: Shapes,
}

/// The shape sets of `bench model --shapes`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shapes {
    Bench,
    Resnet18,
}

pub fn run(cmd: BenchCmd) -> Result<i32> {
    outln!("{}", sparqgen::process::machine_line());
    match cmd {
        BenchCmd::Model(b) => bench_model(&b),
        BenchCmd::Generate(b) => bench_generate(&b),
        BenchCmd::Verify(b) => super::verify::bench(&b),
        BenchCmd::Net(b) if b.rtl => bench_net_rtl(&b.digits),
        BenchCmd::Net(b) => super::net::bench(&b),
        BenchCmd::Prove(b) => super::prove::bench(&b),
    }
}

fn bench_model(b: &ModelBench) -> Result<i32> {
    if b.shapes == Shapes::Resnet18 {
        if b.compare_ort {
            errln!("bench model: --compare-ort times the bench shape only (allowed with --shapes bench)");
            return Ok(2);
        }
        return super::bench_shapes::resnet18(b);
    }
    let (m, k, n) = (b.m as usize, b.k as usize, b.n as usize);
    for (what, dims, elem) in [
        ("A (M x K)", [m, k], 1),
        ("B (N x K)", [n, k], 1),
        ("C (M x N)", [m, n], 4),
    ] {
        sparqgen::arith::checked_bytes(what, &dims, elem)?;
    }
    let mut rng = Rng::new(2021);
    let a = Tensor::new(vec![m, k], relu_like(m * k, b.zeros, &mut rng));
    let w = Tensor::new(vec![n, k], weights(n * k, &mut rng));
    // the same weights pruned to 2:4 for the stc lines (GMAC/s counts
    // dense-equivalent M x N x K, as the dense lines)
    let mut w24 = w.clone();
    prune_2_of_4(&mut w24.data, k);
    let macs = m as f64 * k as f64 * n as f64;
    let kernel = b.kernel.unwrap_or_else(Kernel::best);
    outln!(
        "bench model: M={} K={} N={} ({:.2} GMAC per GEMM), {:.0}% zero activations, \
         {} threads, {} kernel, best of {} per round",
        b.m,
        b.k,
        b.n,
        macs / 1e9,
        b.zeros * 100.0,
        rayon::current_num_threads(),
        kernel.name(),
        b.reps
    );
    // (label, model, 2:4 weights)
    let mut configs: Vec<(String, Model, bool)> = Vec::new();
    for set in PlacementSet::ALL {
        for rounding in [Rounding::RoundHalfEven, Rounding::Truncate] {
            let design = Design::from_yaml(&format!(
                "pe: {{window_bits: {}, placements: {}, rounding: {}}}",
                set.window_bits(),
                set.count(),
                rounding.yaml_name()
            ))?;
            configs.push((
                format!("{:<5} {:<5}", set.name(), rounding.short()),
                Model::new(&design),
                false,
            ));
        }
    }
    configs.push(("exact int8 ".to_string(), Model::exact(), false));
    for rounding in [Rounding::RoundHalfEven, Rounding::Truncate] {
        let design = Design::from_yaml(&format!(
            "pe: {{stc: true, rounding: {}}}",
            rounding.yaml_name()
        ))?;
        let set = design.sparq().map(|s| s.placements.name()).unwrap_or("?");
        configs.push((
            format!("2:4 {set} {}", rounding.short()),
            Model::new(&design),
            true,
        ));
    }
    let threads = rayon::current_num_threads();
    let mut ort = match b.compare_ort {
        true => super::bench_ort::Ort::start(&a, &w, threads)?,
        false => None,
    };
    let rounds = b.rounds.unwrap_or(if b.compare_ort { 5 } else { 1 }) as usize;
    let reps = b.reps.max(1);
    // times[0] is ORT's (when running), then one per configuration.
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); configs.len() + 1];
    // the instruction peak, measured in every round beside the GEMMs
    let mut peak: Option<sparqgen::arith::peak::Peak> = None;
    for _ in 0..rounds {
        peak = best_peak(peak, kernel);
        if let Some(ort) = ort.as_mut() {
            times[0].push(ort.round(reps)?);
        }
        for (i, (_, model, stc)) in configs.iter().enumerate() {
            let wv = if *stc { w24.view() } else { w.view() };
            let mut best = f64::INFINITY;
            for _ in 0..reps {
                let t = Instant::now();
                let c = model.gemm_with(kernel, &a.view(), &wv)?;
                best = best.min(t.elapsed().as_secs_f64());
                std::hint::black_box(c);
            }
            times[i + 1].push(best);
        }
    }
    drop(ort);
    let best = |t: &[f64]| t.iter().cloned().fold(f64::INFINITY, f64::min);
    let ort_best = (!times[0].is_empty()).then(|| best(&times[0]));
    if let Some(tb) = ort_best {
        outln!(
            "ORT MatMulInteger u8xu8  {:8.2} ms  {:6.2} GMAC/s  ({threads} threads, \
             best of {rounds} rounds x {reps})",
            tb * 1e3,
            macs / tb / 1e9
        );
    }
    print_peak(&peak, kernel);
    for (i, (label, _, _)) in configs.iter().enumerate() {
        let t = best(&times[i + 1]);
        out!("{label}  {:8.2} ms  {:6.2} GMAC/s", t * 1e3, macs / t / 1e9);
        if let Some(p) = &peak {
            out!("  {:5.1}% of peak", 100.0 * macs / t / p.all);
        }
        if let Some(tb) = ort_best {
            // Per-round ratios: each pair ran back to back.
            let mut per_round: Vec<f64> = times[0]
                .iter()
                .zip(&times[i + 1])
                .map(|(o, s)| o / s)
                .collect();
            per_round.sort_by(f64::total_cmp);
            out!(
                "  {:5.2}x ORT (best), {:5.2}x median round",
                tb / t,
                median(&per_round)
            );
        }
        outln!();
    }
    let io_bytes = a.data.len() + w.data.len() + m * n * 4;
    match peak_rss_bytes() {
        Some(peak) => outln!(
            "memory: peak RSS {:.1} MB for inputs + output of {:.1} MB ({:.2}x, whole process)",
            peak as f64 / 1e6,
            io_bytes as f64 / 1e6,
            peak as f64 / io_bytes as f64
        ),
        None => outln!("memory: peak RSS not available on this OS"),
    }
    Ok(0)
}

/// `acc` and a new measurement of `kernel`'s instruction peak, each field
/// the better of the two (the peak is measured in every round beside the
/// GEMMs).
pub(super) fn best_peak(acc: Option<Peak>, kernel: Kernel) -> Option<Peak> {
    let Some(p) = sparqgen::arith::peak::measure(kernel, 20) else {
        return acc;
    };
    Some(match acc {
        Some(q) => Peak {
            per_core: q.per_core.max(p.per_core),
            all: q.all.max(p.all),
            ..q
        },
        None => p,
    })
}

/// The peak line every share of peak refers to.
pub(super) fn print_peak(peak: &Option<Peak>, kernel: Kernel) {
    match peak {
        Some(p) => outln!(
            "peak ({}, 12 accumulators, best burst): {:6.2} GMAC/s per core, {:6.2} GMAC/s \
             on {} threads; shares below are of the latter",
            p.instruction,
            p.per_core / 1e9,
            p.all / 1e9,
            p.threads
        ),
        None => outln!("peak: not measured for the {} kernel", kernel.name()),
    }
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    let h = sorted.len() / 2;
    match sorted.len() % 2 {
        1 => sorted[h],
        _ => (sorted[h - 1] + sorted[h]) / 2.0,
    }
}

/// Peak resident set size of this process (Linux `VmHWM`).
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn bench_generate(b: &GenerateBench) -> Result<i32> {
    let dir = tempfile::tempdir()?;
    outln!("bench generate: best of {}", b.reps);
    for yaml in [
        format!(
            "name: sparq_sa{0}x{0}\narray: {{kind: systolic, rows: {0}, cols: {0}}}",
            b.dim
        ),
        format!(
            "name: sparq_stc_sa{0}x{0}\npe: {{stc: true, pipeline: 2}}\narray: {{kind: systolic, rows: {0}, cols: {0}}}",
            b.dim
        ),
        "name: sparq_dot256\npe: {window_bits: 3, placements: 6}\narray: {kind: dot, lanes: 256}"
            .to_string(),
    ] {
        let design = Design::from_yaml(&yaml)?;
        let (mut render, mut total) = (f64::INFINITY, f64::INFINITY);
        let (mut bytes, mut files) = (0, 0);
        for _ in 0..b.reps.max(1) {
            let t = Instant::now();
            let g = sparqgen::flows::generate(&design)?;
            render = render.min(t.elapsed().as_secs_f64());
            g.write(dir.path(), false)?;
            total = total.min(t.elapsed().as_secs_f64());
            bytes = g.files.files.iter().map(|(_, c)| c.len()).sum();
            files = g.files.files.len();
        }
        outln!(
            "{:<20} {:8.3} ms render  {:8.3} ms render + write  ({} files, {} bytes)",
            design.name(),
            render * 1e3,
            total * 1e3,
            files,
            bytes
        );
    }
    Ok(0)
}

/// `bench net --rtl`: MACs simulated per second of simulator time (the
/// harness streaming segments through Verilator and checking every
/// output; builds excluded, they are cached) on a 16x16 SPARQ array.
fn bench_net_rtl(digits: &std::path::Path) -> anyhow::Result<i32> {
    use sparqgen::net::rtl::{RtlEngine, RtlOptions};
    let d = Design::from_yaml(
        "name: bench_net_sa16\npe: {kind: sparq}\narray: {kind: systolic, rows: 16, cols: 16}\n",
    )?;
    outln!(
        "bench net --rtl: {} (harness builds cached and excluded; MAC/s = MACs run / \
         simulator seconds)",
        sparqgen::sim::describe(&d)
    );
    let mut bad = 0;
    let mut line = |what: &str, e: &RtlEngine, wall: f64| {
        let macs: u64 = e.layers.iter().map(|l| l.macs).sum();
        let cycles: u64 = e.layers.iter().map(|l| l.cycles).sum();
        let sim: f64 = e.layers.iter().map(|l| l.sim_secs).sum();
        let cpu: f64 = e.layers.iter().map(|l| l.sim_cpu_secs).sum();
        bad += e.mismatches();
        outln!(
            "bench net --rtl: {what}: {} MACs in {} cycles, {:.2} s simulating ({:.2} s wall, \
             simulator CPU {:.2} s): {:.1} M MAC/s simulated ({:.1} M MAC/s per simulator \
             core), {:.2} M cycles/s, {} mismatches (target: 50 M MAC/s)",
            macs,
            cycles,
            sim,
            wall,
            cpu,
            macs as f64 / sim.max(1e-9) / 1e6,
            macs as f64 / cpu.max(1e-9) / 1e6,
            cycles as f64 / sim.max(1e-9) / 1e6,
            e.mismatches()
        );
    };
    if digits.exists() {
        let plan = sparqgen::net::load(digits)?;
        let x = sparqgen::npy::read_f32(&digits.with_file_name("x_test.npy"), "x_test")?;
        let mut e = RtlEngine::new(&d, &plan.layers, RtlOptions::default())?;
        // warm-up: build (or find) the harness on a few images
        let warm = sparqgen::arith::Tensor::new(
            [&[1usize][..], &x.shape[1..]].concat(),
            x.data[..x.data.len() / x.shape[0]].to_vec(),
        );
        sparqgen::net::run_batches(&plan, &warm, 1, None, &mut e)?;
        let mut e = RtlEngine::new(&d, &plan.layers, RtlOptions::default())?;
        let t = std::time::Instant::now();
        sparqgen::net::run_batches(&plan, &x, 64, None, &mut e)?;
        line(
            &format!("digits, {} images, every tile", x.shape[0]),
            &e,
            t.elapsed().as_secs_f64(),
        );
    }
    let plan = sparqgen::net::load_bytes(&sparqgen::net::synthetic::resnet18_int8(1), "resnet18")?;
    let mut rng = sparqgen::workload::Rng::new(7);
    let x = sparqgen::arith::Tensor::new(
        vec![1, 3, 224, 224],
        (0..3 * 224 * 224)
            .map(|_| (rng.unit() * 4.0) as f32)
            .collect(),
    );
    let opts = RtlOptions {
        sample: Some(64),
        seed: 1,
        ..RtlOptions::default()
    };
    let mut e = RtlEngine::new(&d, &plan.layers, opts)?;
    let t = std::time::Instant::now();
    sparqgen::net::run_batches(&plan, &x, 1, None, &mut e)?;
    line(
        "ResNet-18-shaped int8 graph, 64 random tiles per layer (seed 1)",
        &e,
        t.elapsed().as_secs_f64(),
    );
    Ok(if bad == 0 { 0 } else { 1 })
}
