//! `sparqgen net MODEL.onnx --input X.npy`: a whole int8 network through
//! each design's arithmetic; accuracy, agreement with exact int8 and per
//! MAC layer statistics.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use sparqgen::arith::Tensor;
use sparqgen::config::{Design, PeKind};
use sparqgen::net::{self, DesignEngine, Plan};
use sparqgen::npy;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct NetArgs {
    /// An int8 ONNX model (onnxruntime quantize_static: QDQ or QOperator).
    #[arg(value_name = "MODEL.onnx")]
    pub model: PathBuf,
    /// The model's first input: float32 (or float64), batch first.
    #[arg(long, value_name = "X.npy")]
    pub input: PathBuf,
    /// Class labels (integers, one per image) for top-1 accuracy.
    #[arg(long, value_name = "L.npy")]
    pub labels: Option<PathBuf>,
    /// A design to run (repeat to compare). Default: exact int8 (mac8x8),
    /// the embedded default SPARQ design and mac4x8.
    #[arg(long = "design", value_name = "D.yaml")]
    pub designs: Vec<PathBuf>,
    /// Write the first design's first output (float32, the graph's shape).
    #[arg(long, value_name = "Y.npy")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Per MAC layer statistics: each layer's SQNR against exact int8
    /// products on the same activations (an exact reference GEMM beside
    /// every design GEMM) and vSPARQ's wide-pair share. `off` runs each
    /// design's arithmetic alone (accuracy and top-1 agreement over a
    /// dataset need nothing more); the layer table then shows `off` and
    /// the JSON has null for both.
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = ["on", "off"])]
    pub layer_stats: String,
    /// Images per batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Write each MAC layer's uint8 input activations (first design, every
    /// image) to DIR/<layer>.npy, the files `hcm MODEL.onnx --acts DIR` reads
    /// (<layer>: the node name with `_` as `__` and any byte other than
    /// letters, digits, `-` and `.` as `_XX` in hex, so names never collide).
    #[arg(long, value_name = "DIR")]
    pub acts: Option<PathBuf>,
    /// Replace the --acts folder even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    pub force: bool,
    /// Also run every MAC layer on each design's generated RTL under
    /// Verilator, tile by tile, comparing every output with the model and
    /// counting cycles (default design: the embedded one).
    #[arg(long)]
    pub rtl: bool,
    /// With --rtl: run N seeded random output tiles per layer (first batch)
    /// instead of all.
    #[arg(long, value_name = "N", requires = "rtl")]
    pub rtl_sample: Option<usize>,
    /// With --rtl-sample: the seed choosing the tiles.
    #[arg(long, value_name = "SEED", default_value_t = 1, requires = "rtl")]
    pub rtl_seed: u64,
    /// With --rtl: run on this folder that `sparqgen generate` wrote
    /// (DIR/<name>, maybe edited since) instead of generating the design;
    /// its manifest gives the design.
    #[arg(long, value_name = "DIR", requires = "rtl", conflicts_with = "designs")]
    pub rtl_folder: Option<PathBuf>,
}

#[derive(Serialize)]
struct LayerReport {
    name: String,
    op: String,
    /// MACs per image.
    macs: u64,
    /// Against exact int8 products on the same activations; null when
    /// exact or with `--layer-stats off`, the string "-inf" when the exact
    /// products are all 0 but the design's are not (no signal).
    sqnr_db: Option<Sqnr>,
    /// Activation pairs with exactly one zero; null for designs without
    /// vSPARQ and with `--layer-stats off`.
    wide_pair_share: Option<f64>,
    /// With --rtl: the layer on the generated RTL.
    #[serde(skip_serializing_if = "Option::is_none")]
    rtl: Option<net::rtl_report::RtlReport>,
}

/// A layer's SQNR: dB, or no signal at all (exact sum 0, error not 0).
#[derive(Serialize, Clone, Copy)]
#[serde(untagged)]
enum Sqnr {
    Db(f64),
    NoSignal(&'static str),
}

impl Sqnr {
    /// None when exact.
    fn of(db: f64) -> Option<Sqnr> {
        if db.is_finite() {
            Some(Sqnr::Db(db))
        } else if db < 0.0 || db.is_nan() {
            Some(Sqnr::NoSignal("-inf"))
        } else {
            None
        }
    }

    fn text(s: Option<Sqnr>, digits: usize) -> String {
        match s {
            None => "exact".into(),
            Some(Sqnr::Db(v)) => format!("{v:.digits$}"),
            Some(Sqnr::NoSignal(_)) => "-inf (no signal)".into(),
        }
    }
}

#[derive(Serialize)]
struct DesignReport {
    design: String,
    pe: String,
    top1: Option<f64>,
    agreement: f64,
    images: usize,
    wall_s: f64,
    images_per_s: f64,
    layers: Vec<LayerReport>,
    /// With --rtl: the seed of --rtl-sample and the array's timing.
    #[serde(skip_serializing_if = "Option::is_none")]
    rtl: Option<net::rtl_report::RtlSummary>,
}

#[derive(Serialize)]
struct Report {
    model: String,
    images: usize,
    /// Whether the per-layer statistics were measured.
    layer_stats: bool,
    /// Why the layers' `sqnr_db` and `wide_pair_share` are null, when
    /// they were not measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    layer_stats_note: Option<&'static str>,
    designs: Vec<DesignReport>,
}

const STATS_OFF: &str = "--layer-stats off: the per-layer SQNR and wide-pair share were not \
     measured (no exact reference GEMMs); sqnr_db and wide_pair_share are null";

/// Keep freed memory in the process for the next allocation: a network
/// run allocates and frees megabyte tensors per layer and image, which
/// glibc otherwise maps fresh (and the kernel zeroes page by page) each
/// time: 15-20 % of a ResNet-18 run went to page faults.
fn reuse_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is called
    // before the run's threads allocate.
    unsafe {
        // the largest mmap threshold glibc accepts on 64 bits (32 MiB),
        // and no trimming of the heap's top below 1 GiB
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

pub fn builtin(kind: &str) -> Design {
    Design::from_yaml(&format!(
        "name: {kind}\npe: {{kind: {kind}}}\narray: {{kind: single}}\n"
    ))
    // infallible: kind is mac8x8 or mac4x8, valid designs
    .expect("a baseline design is valid")
}

fn designs(paths: &[PathBuf]) -> Result<Vec<Design>> {
    if paths.is_empty() {
        return Ok(vec![
            builtin("mac8x8"),
            Design::default_design(),
            builtin("mac4x8"),
        ]);
    }
    paths.iter().map(|p| Design::from_path(p)).collect()
}

fn argmax_rows(y: &Tensor<f32>) -> Vec<usize> {
    // a scalar output (rank 0) is one row
    let n = y.shape.first().copied().unwrap_or(1).max(1);
    let per = y.data.len() / n;
    (0..n)
        .map(|i| {
            let row = &y.data[i * per..(i + 1) * per];
            let mut best = 0;
            for (j, v) in row.iter().enumerate() {
                if *v > row[best] {
                    best = j;
                }
            }
            best
        })
        .collect()
}

/// Run `plan` on every image of `x` in batches through `design`'s
/// arithmetic (with `stats`, measuring each layer's statistics).
pub fn run_design(
    plan: &Plan,
    design: &Design,
    x: &Tensor<f32>,
    batch: usize,
    bar: Option<&indicatif::ProgressBar>,
    record: bool,
    stats: bool,
) -> Result<(Tensor<f32>, DesignEngine)> {
    let mut engine = DesignEngine::new(design, &plan.layers);
    engine.set_layer_stats(stats);
    if record {
        engine.record_inputs();
    }
    let y = net::run_design_batches(plan, x, batch, bar, &mut engine)?;
    Ok((y, engine))
}

fn progress(enabled: bool, total: u64) -> Option<indicatif::ProgressBar> {
    enabled.then(|| {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} images ({per_sec}) {msg}",
            )
            // infallible: a constant template
            .expect("a valid progress template"),
        );
        b
    })
}

/// Each layer's inputs as DIR/<layer>.npy, written into a temporary folder
/// that is renamed into place.
fn write_acts(dir: &Path, plan: &Plan, inputs: Vec<Option<Tensor<u8>>>, force: bool) -> Result<()> {
    let mut set = sparqgen::output::FileSet::default();
    let mut seen = std::collections::HashMap::new();
    for (l, t) in plan.layers.iter().zip(inputs) {
        let name = net::shapes::layer_name(&l.name);
        if let Some(other) = seen.insert(name.clone(), l.name.clone()) {
            bail!(
                "--acts: two MAC layers are both named {other:?}; their activation files \
                 would overwrite each other (give the nodes unique names)"
            );
        }
        if let Some(t) = t {
            set.add(format!("{name}.npy"), npy::to_bytes(&t));
        }
    }
    let opts = sparqgen::output::DirOptions { force, keep: &[] };
    sparqgen::output::write_dir(dir, &set, &opts)
        .with_context(|| format!("--acts {}", dir.display()))
}

fn read_labels(path: &Path, n: usize) -> Result<Vec<i64>> {
    let t = npy::read::<i32>(path, "labels (one integer per image)", 1)?;
    if t.data.len() != n {
        bail!("{}: {} labels for {n} images", path.display(), t.data.len());
    }
    if let Some(v) = t.data.iter().find(|&&v| v < 0) {
        bail!("{}: label {v} is not a class (0 or more)", path.display());
    }
    Ok(t.data.iter().map(|&v| i64::from(v)).collect())
}

/// Every label must name one of the output's classes.
fn check_labels(labels: &[i64], y: &Tensor<f32>, path: &Path) -> Result<()> {
    let rows = y.shape.first().copied().unwrap_or(0).max(1);
    let classes = y.data.len() / rows;
    if let Some(v) = labels.iter().find(|&&v| v >= classes as i64) {
        bail!(
            "{}: label {v} is outside the model's {classes} classes (0..={})",
            path.display(),
            classes.saturating_sub(1)
        );
    }
    Ok(())
}

pub fn run(args: &NetArgs) -> Result<i32> {
    reuse_freed_memory();
    if args.batch == 0 {
        bail!("--batch 0 is not allowed (images per batch: at least 1)");
    }
    let plan = net::load(&args.model)?;
    let x = npy::read_f32(&args.input, "the network input")?;
    plan.check_input(&x)?;
    let n = x.shape[0];
    let labels = args
        .labels
        .as_deref()
        .map(|p| read_labels(p, n))
        .transpose()?;
    if args.rtl_sample == Some(0) {
        bail!("--rtl-sample 0 is not allowed (tiles per layer: at least 1)");
    }
    let folder_dut = match &args.rtl_folder {
        Some(f) => Some(
            sparqgen::sim::Dut::from_folder(f)
                .with_context(|| format!("--rtl-folder {}", f.display()))?,
        ),
        None => None,
    };
    let designs = if let Some(dut) = &folder_dut {
        vec![dut.design.clone()]
    } else if args.rtl && args.designs.is_empty() {
        vec![Design::default_design()]
    } else {
        designs(&args.designs)?
    };
    let stats = args.layer_stats == "on";
    let bar = progress(!args.json && std::io::stderr().is_terminal(), 0);
    let has_exact = designs.iter().any(|d| d.pe().kind() == PeKind::Mac8x8);
    let total = n * (designs.len() + usize::from(!has_exact));
    if let Some(b) = &bar {
        b.set_length(total as u64);
    }
    let mut exact_top: Option<Vec<usize>> = None;
    if !has_exact {
        if let Some(b) = &bar {
            b.set_message("exact int8");
        }
        let (y, _) = run_design(
            &plan,
            &builtin("mac8x8"),
            &x,
            args.batch,
            bar.as_ref(),
            false,
            false,
        )?;
        exact_top = Some(argmax_rows(&y));
    }
    let mut reports = Vec::new();
    let mut first_out = None;
    let mut runs = Vec::new();
    for d in &designs {
        if let Some(b) = &bar {
            b.set_message(d.name().to_string());
        }
        let t = Instant::now();
        let record = args.acts.is_some() && runs.is_empty();
        let (y, mut engine, rtl) = if args.rtl {
            let opts = net::rtl::RtlOptions {
                sample: args.rtl_sample,
                seed: args.rtl_seed,
                ..Default::default()
            };
            let mut e = match &folder_dut {
                Some(dut) => net::rtl::RtlEngine::with_dut(dut.clone(), &plan.layers, opts),
                None => net::rtl::RtlEngine::new(d, &plan.layers, opts)
                    .with_context(|| format!("design {}", d.name()))?,
            };
            if record {
                e.model.record_inputs();
            }
            e.model.set_layer_stats(stats);
            let y = net::run_batches(&plan, &x, args.batch, bar.as_ref(), &mut e)
                .with_context(|| format!("design {} on its RTL", d.name()))?;
            let timing = e.timing;
            (y, e.model, Some((e.layers, timing)))
        } else {
            let (y, e) = run_design(&plan, d, &x, args.batch, bar.as_ref(), record, stats)
                .with_context(|| format!("design {}", d.name()))?;
            (y, e, None)
        };
        let secs = t.elapsed().as_secs_f64();
        if let (Some(l), Some(p)) = (&labels, &args.labels) {
            check_labels(l, &y, p)?;
        }
        if let (Some(dir), Some(inputs)) = (&args.acts, engine.inputs.take()) {
            write_acts(dir, &plan, inputs, args.force)?;
        }
        let top = argmax_rows(&y);
        if exact_top.is_none() && d.pe().kind() == PeKind::Mac8x8 {
            exact_top = Some(top.clone());
        }
        if first_out.is_none() {
            first_out = Some(y);
        }
        runs.push((d, top, engine, secs, rtl));
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let exact_top = exact_top.context("no exact (mac8x8) run to compare with")?;
    let mut rtl_mismatches = 0;
    for (d, top, engine, secs, rtl) in runs {
        let top1 = labels.as_ref().map(|l| {
            top.iter().zip(l).filter(|(p, l)| **p as i64 == **l).count() as f64 / n as f64
        });
        let agreement =
            top.iter().zip(&exact_top).filter(|(a, b)| a == b).count() as f64 / n as f64;
        let layers = engine
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerReport {
                name: l.name.clone(),
                op: l.op.clone(),
                macs: l.macs / n as u64,
                sqnr_db: Sqnr::of(l.sqnr_db()),
                wide_pair_share: (l.pairs > 0).then(|| l.wide_share()),
                rtl: rtl
                    .as_ref()
                    .map(|(r, t)| net::rtl_report::RtlReport::of(&r[i], t)),
            })
            .collect();
        let rtl_summary = rtl.as_ref().map(|(r, t)| {
            rtl_mismatches += r.iter().map(|l| l.mismatches).sum::<u64>();
            net::rtl_report::RtlSummary::of(d, t, args.rtl_sample, args.rtl_seed)
        });
        if let Some((r, _)) = &rtl {
            errout!("{}", net::rtl_report::mismatches(d, r));
        }
        reports.push(DesignReport {
            design: d.name().to_string(),
            pe: d.pe().kind().label(),
            top1,
            agreement,
            images: n,
            wall_s: secs,
            images_per_s: n as f64 / secs.max(1e-9),
            layers,
            rtl: rtl_summary,
        });
    }
    if let (Some(path), Some(y)) = (&args.out, &first_out) {
        npy::write_f32(path, y)?;
        if plan.output.elem_type == sparqgen::net::onnx::UINT8 && !args.json {
            errln!(
                "note: the graph's output {:?} is uint8 codes; --out {} holds them dequantized \
                 (float32, (q - zero point) * scale of the last QuantizeLinear)",
                plan.output.name,
                path.display()
            );
        }
    }
    let report = Report {
        model: args.model.display().to_string(),
        images: n,
        layer_stats: stats,
        layer_stats_note: (!stats).then_some(STATS_OFF),
        designs: reports,
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, plan.layers.len());
    }
    if rtl_mismatches > 0 {
        errln!("net --rtl: {rtl_mismatches} outputs of the RTL differ from the model");
        return Ok(1);
    }
    Ok(0)
}

/// Per design: the mean over MAC layers of the SQNR (dB), weighted by MACs
/// (exact layers count as infinite, layers without signal as -inf).
fn mean_sqnr(d: &DesignReport) -> Option<Sqnr> {
    let (mut num, mut den) = (0.0, 0.0);
    for l in &d.layers {
        let db = match l.sqnr_db {
            None => f64::INFINITY,
            Some(Sqnr::Db(v)) => v,
            Some(Sqnr::NoSignal(_)) => f64::NEG_INFINITY,
        };
        num += db * l.macs as f64;
        den += l.macs as f64;
    }
    if den > 0.0 {
        Sqnr::of(num / den)
    } else {
        None
    }
}

fn print_summary(r: &Report) {
    let sqnr = |d: &DesignReport| match r.layer_stats {
        true => Sqnr::text(mean_sqnr(d), 1),
        false => "off".into(),
    };
    outln!();
    outln!("| design | PE | top-1 | top-1 = exact int8 | SQNR dB (MAC-weighted) | images/s |");
    outln!("|---|---|---|---|---|---|");
    for d in &r.designs {
        outln!(
            "| {} | {} | {} | {:.1} % | {} | {:.0} |",
            d.design,
            d.pe,
            d.top1.map_or("-".into(), |t| format!("{:.1} %", t * 100.0)),
            d.agreement * 100.0,
            sqnr(d),
            d.images_per_s
        );
    }
}

fn print_text(r: &Report, layers: usize) {
    outln!(
        "net: {}: {} MAC layers, {} images",
        r.model,
        layers,
        r.images
    );
    if let Some(note) = r.layer_stats_note {
        outln!("note: {note}");
    }
    for d in &r.designs {
        let top1 = d.top1.map_or("n/a (no --labels)".to_string(), |t| {
            format!("{:.2} %", t * 100.0)
        });
        outln!(
            "design {} ({}): top-1 {}, top-1 agrees with exact int8 on {:.2} %, {:.3} s, {:.0} images/s",
            d.design,
            d.pe,
            top1,
            d.agreement * 100.0,
            d.wall_s,
            d.images_per_s
        );
        outln!(
            "  {:<16} {:<12} {:>12} {:>10} {:>11}",
            "layer",
            "op",
            "MACs/image",
            "SQNR dB",
            "wide pairs"
        );
        for l in &d.layers {
            let (sq, wide) = match r.layer_stats {
                true => (
                    Sqnr::text(l.sqnr_db, 2),
                    l.wide_pair_share
                        .map_or("-".to_string(), |v| format!("{:.1} %", v * 100.0)),
                ),
                false => ("off".to_string(), "off".to_string()),
            };
            outln!(
                "  {:<16} {:<12} {:>12} {:>10} {:>11}",
                l.name,
                l.op,
                l.macs,
                sq,
                wide
            );
        }
        if let Some(r) = &d.rtl {
            let rows: Vec<_> = d
                .layers
                .iter()
                .filter_map(|l| l.rtl.as_ref().map(|x| (l.name.as_str(), x)))
                .collect();
            out!("{}", net::rtl_report::table(r, &rows));
        }
    }
    if r.designs.len() > 1 {
        print_summary(r);
    }
}

#[derive(Args)]
pub struct NetBench {
    /// Time this int8 model (with --input) instead of the digits CNN and
    /// the ResNet-18-shaped graph.
    #[arg(value_name = "MODEL.onnx", requires = "input")]
    pub model: Option<PathBuf>,
    /// The images for MODEL.onnx (float32, batch first).
    #[arg(long, value_name = "X.npy", requires = "model")]
    pub input: Option<PathBuf>,
    /// The digits model (its x_test.npy beside it).
    #[arg(
        long,
        value_name = "MODEL.onnx",
        default_value = "networks/digits/digits_int8.onnx"
    )]
    pub digits: PathBuf,
    /// Timed ResNet-18 images per design (batch 1).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Images per batch for the digits model and MODEL.onnx (a graph that
    /// declares its batch, as the ResNet-18-shaped one, runs that).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Also time ONNX Runtime on the same model, images, batches and
    /// thread count, through python3 with onnxruntime (exit 2 with the
    /// install command when missing); first check that its output equals
    /// exact int8's, then print each design's images/s ratio to it.
    #[arg(long)]
    compare_ort: bool,
    /// Interleaved rounds (ORT with --compare-ort, then every design, once
    /// per round); each line reports the best round and, with ORT, the
    /// median of the per-round ratios. Default 1, or 5 with --compare-ort.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: Option<u32>,
    /// Also write the ResNet-18-shaped int8 model (about 12 MB) to FILE.
    #[arg(long, value_name = "FILE.onnx")]
    write_resnet18: Option<PathBuf>,
    /// Instead: simulated MAC/s of `net --rtl` on a generated 16x16 SPARQ
    /// array (digits, every tile; ResNet-18, sampled tiles).
    #[arg(long)]
    pub rtl: bool,
    /// Also print where each run's time goes: per op type and per MAC
    /// stage (im2col, the engine's GEMMs split into the design's, the exact
    /// reference's and the statistics, zero point + bias, requantization).
    #[arg(long)]
    profile: bool,
}

/// `plan` on `x` in batches of `batch` through `design` (with or without
/// per-layer statistics), profiled; prints the profile.
fn print_profile(
    what: &str,
    plan: &Plan,
    v: &Variant,
    x: &Tensor<f32>,
    batch: usize,
) -> Result<()> {
    let mut engine = v.engine(plan);
    // pack the weights first, as the timed rounds do
    if let Some(xb) = net::batches(plan, x, batch).next() {
        plan.run(&xb, &mut engine)?;
    }
    engine.secs = Default::default();
    engine.layers.iter_mut().for_each(|l| l.macs = 0);
    let mut prof = net::profile::Profile::default();
    let mut runs = 0;
    // batches that run side by side are profiled as one of their threads
    // runs them: one batch at a time on one thread
    let side = net::side_by_side(plan, &x.shape, batch);
    let mut all = || -> Result<()> {
        for xb in net::batches(plan, x, batch) {
            plan.run_profiled(&xb, &mut engine, Some(&mut prof))?;
            runs += 1;
        }
        Ok(())
    };
    let how = if side > 1 {
        net::on_one_thread(all)??;
        format!("1 thread (as each of the {side} threads that run batches side by side)")
    } else {
        all()?;
        format!("{} threads", rayon::current_num_threads())
    };
    outln!(
        "profile: {what} {}, {runs} runs of batch {batch}, {how}:",
        v.label()
    );
    out!("{}", prof.report(runs));
    let s = engine.secs.clone();
    let pct = |v: f64| 100.0 * v / prof.total.max(1e-12);
    outln!(
        "  of the engine: design GEMM {:.2} ms ({:.1}%), exact reference GEMM {:.2} ms ({:.1}%), \
         statistics {:.2} ms ({:.1}%) per run",
        s.design_gemm / runs as f64 * 1e3,
        pct(s.design_gemm),
        s.exact_gemm / runs as f64 * 1e3,
        pct(s.exact_gemm),
        s.statistics / runs as f64 * 1e3,
        pct(s.statistics)
    );
    if s.fused_lowering + s.fused_output > 0.0 {
        outln!(
            "  of the fused stage: im2col {:.2} ms ({:.1}%), requantization {:.2} ms ({:.1}%) \
             per run (its wall time shared out as the blocks' thread time)",
            s.fused_lowering / runs as f64 * 1e3,
            pct(s.fused_lowering),
            s.fused_output / runs as f64 * 1e3,
            pct(s.fused_output)
        );
    }
    // the design GEMM per layer: where the kernel's rate drops (small M)
    let mut rows: Vec<(usize, &(f64, [usize; 3]))> = s.per_layer.iter().enumerate().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    outln!("  design GEMM per layer (slowest first; M x K x N of one group, per run):");
    for (i, (secs, [m, k, n])) in rows.into_iter().take(8) {
        let l = &plan.layers[i];
        let macs = engine.layers[i].macs as f64 / runs as f64;
        let per = secs / runs as f64;
        outln!(
            "    {:<24} {m:>6} x {k:>5} x {n:>4}  {:7.3} ms  {:6.1} GMAC/s",
            l.name,
            per * 1e3,
            macs / per.max(1e-12) / 1e9
        );
    }
    Ok(())
}

/// A design as `bench net` times it: with or without per-layer statistics.
struct Variant {
    design: Design,
    stats: bool,
}

impl Variant {
    fn engine(&self, plan: &Plan) -> DesignEngine {
        let mut e = DesignEngine::new(&self.design, &plan.layers);
        e.set_layer_stats(self.stats);
        e
    }

    fn label(&self) -> String {
        let d = &self.design;
        let stats = match (d.pe().kind(), self.stats) {
            (PeKind::Mac8x8, _) => "exact: no layer statistics to measure",
            (_, true) => "layer stats on: + exact reference GEMMs, pair counts",
            (_, false) => "layer stats off",
        };
        format!("{} ({}, {stats})", d.name(), d.pe().kind().label())
    }
}

/// The median of values (the mean of the middle two for an even count).
fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let h = v.len() / 2;
    match v.len() % 2 {
        1 => v[h],
        _ => (v[h - 1] + v[h]) / 2.0,
    }
}

/// Compare ORT's output with exact int8's and say how they relate.
fn check_ort(theirs: Option<&Tensor<f32>>, ours: &Tensor<f32>) -> String {
    let Some(t) = theirs else {
        return "ORT's output is not float (uint8 codes); not compared".into();
    };
    if t.shape != ours.shape {
        return format!(
            "ORT's output has shape {:?}, exact int8's {:?}; not compared",
            t.shape, ours.shape
        );
    }
    let differ = t
        .data
        .iter()
        .zip(&ours.data)
        .filter(|(a, b)| a.to_bits() != b.to_bits())
        .count();
    if differ == 0 {
        format!(
            "ORT's output equals exact int8's bit for bit on all {} values",
            t.data.len()
        )
    } else {
        let max = t
            .data
            .iter()
            .zip(&ours.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        format!(
            "ORT's output differs from exact int8's on {differ} of {} values (max |diff| {max})",
            t.data.len()
        )
    }
}

/// Time `designs` on every image of `x` (and ORT with --compare-ort) in
/// interleaved rounds; print one line per design.
fn time_model(
    b: &NetBench,
    what: &str,
    model: &[u8],
    plan: &Plan,
    x: &Tensor<f32>,
    batch: usize,
) -> Result<()> {
    let variants = [
        Variant {
            design: builtin("mac8x8"),
            stats: true,
        },
        Variant {
            design: Design::default_design(),
            stats: true,
        },
        Variant {
            design: Design::default_design(),
            stats: false,
        },
    ];
    let batch = plan.batch_size(&x.shape, batch);
    let images = x.shape[0];
    let threads = rayon::current_num_threads();
    // one engine per line, kept across rounds: each packs its weights
    // once, in the warm-up pass (as ORT builds its session once)
    let mut engines: Vec<DesignEngine> = variants.iter().map(|v| v.engine(plan)).collect();
    // a warm-up pass of exact int8, which is also ORT's check
    let exact_y = net::run_design_batches(plan, x, batch, None, &mut engines[0])?;
    let macs = engines[0].layers.iter().map(|l| l.macs).sum::<u64>() / images as u64;
    for e in &mut engines[1..] {
        if let Some(xb) = net::batches(plan, x, batch).next() {
            plan.run(&xb, e)?;
        }
    }
    let mut ort = match b.compare_ort {
        true => {
            let o = super::bench_ort::OrtNet::start(model, x, batch, threads)?;
            outln!("bench net: {what}: {}", check_ort(o.y.as_ref(), &exact_y));
            Some(o)
        }
        false => None,
    };
    let rounds = b.rounds.unwrap_or(if b.compare_ort { 5 } else { 1 }) as usize;
    let side = net::side_by_side(plan, &x.shape, batch);
    // times[0]: ORT's (the faster of its two ways when we run batches side
    // by side), then one per variant; ORT's two ways apart
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len() + 1];
    let mut ort_ways: [Vec<f64>; 2] = Default::default();
    for _ in 0..rounds {
        if let Some(o) = ort.as_mut() {
            let t = o.ort.round(1)?;
            ort_ways[0].push(t);
            if side > 1 {
                let s = o.ort.round_with(1, "side")?;
                ort_ways[1].push(s);
                times[0].push(t.min(s));
            } else {
                times[0].push(t);
            }
        }
        for (i, e) in engines.iter_mut().enumerate() {
            let t = Instant::now();
            net::run_design_batches(plan, x, batch, None, e)?;
            times[i + 1].push(t.elapsed().as_secs_f64());
        }
    }
    drop(ort);
    let best = |t: &[f64]| t.iter().cloned().fold(f64::INFINITY, f64::min);
    let head = format!("{what} (batch {batch}, {threads} threads, best of {rounds} rounds)");
    if side > 1 {
        outln!(
            "bench net: {what}: sparqgen runs {side} batches side by side, one thread each; \
             ONNX Runtime is timed both ways (one batch at a time on {threads} intra-op threads, \
             and {threads} batches side by side on one each) and each round's faster way is \
             the reference of the ratios"
        );
    }
    let ways = ["one batch at a time", "batches side by side"];
    for (way, t) in ways.iter().zip(&ort_ways) {
        if t.is_empty() {
            continue;
        }
        let t = best(t);
        outln!(
            "bench net: {head} ONNX Runtime ({way}): {images} images in {t:.3} s, {:.1} \
             images/s, {:.2} GMAC/s",
            images as f64 / t,
            (macs * images as u64) as f64 / t / 1e9
        );
    }
    for (i, v) in variants.iter().enumerate() {
        let t = best(&times[i + 1]);
        out!(
            "bench net: {head} {}: {images} images in {t:.3} s, {:.1} images/s, {:.2} GMAC/s",
            v.label(),
            images as f64 / t,
            (macs * images as u64) as f64 / t / 1e9
        );
        if !times[0].is_empty() {
            let per_round: Vec<f64> = times[0]
                .iter()
                .zip(&times[i + 1])
                .map(|(o, s)| o / s)
                .collect();
            out!(
                ", {:.2}x ORT (best), {:.2}x median round",
                best(&times[0]) / t,
                median(&per_round)
            );
        }
        outln!();
    }
    if b.profile {
        for v in &variants {
            print_profile(what, plan, v, x, batch)?;
        }
    }
    Ok(())
}

pub fn bench(b: &NetBench) -> Result<i32> {
    reuse_freed_memory();
    let batch = b.batch as usize;
    if b.compare_ort && !super::bench_ort::available() {
        bail!("--compare-ort: {}", super::bench_ort::missing());
    }
    if let (Some(m), Some(xp)) = (&b.model, &b.input) {
        let bytes = std::fs::read(m).with_context(|| format!("read {}", m.display()))?;
        let plan = net::load(m)?;
        let x = npy::read_f32(xp, "the network input")?;
        plan.check_input(&x)?;
        let name = m
            .file_name()
            .map_or("model".into(), |f| f.to_string_lossy());
        time_model(b, &name, &bytes, &plan, &x, batch)?;
        return Ok(0);
    }
    if b.digits.exists() {
        let bytes =
            std::fs::read(&b.digits).with_context(|| format!("read {}", b.digits.display()))?;
        let plan = net::load(&b.digits)?;
        let x = npy::read_f32(&b.digits.with_file_name("x_test.npy"), "x_test")?;
        time_model(b, "digits", &bytes, &plan, &x, batch)?;
    } else {
        outln!(
            "bench net: {} not found, digits skipped",
            b.digits.display()
        );
    }
    let t = Instant::now();
    let bytes = net::synthetic::resnet18_int8(1);
    if let Some(p) = &b.write_resnet18 {
        std::fs::write(p, &bytes).with_context(|| format!("write {}", p.display()))?;
    }
    let plan = net::load_bytes(&bytes, "resnet18_int8")?;
    outln!(
        "bench net: ResNet-18-shaped int8 graph built and imported in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    let n = b.reps.max(1);
    let mut rng = sparqgen::workload::Rng::new(7);
    let x = Tensor::new(
        vec![n, 3, 224, 224],
        (0..n * 3 * 224 * 224)
            .map(|_| (rng.unit() * 4.0) as f32)
            .collect(),
    );
    time_model(b, "resnet18", &bytes, &plan, &x, 1)?;
    Ok(0)
}
