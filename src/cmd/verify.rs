//! `sparqgen verify`: co-simulate generated (or already generated, possibly
//! edited) RTL under Verilator or Icarus against the bit-exact model; and
//! `sparqgen bench verify`, the co-simulation throughput.
//!
//! Exit codes: 0 every output matched, 1 a mismatch, 2 usage, I/O or tool
//! error.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sparqgen::config::Design;
use sparqgen::golden;
use sparqgen::sim::report;
use sparqgen::sim::stimulus::{ActDist, GemmSpec, Spec, WgtDist, SWEEP_VARIANTS};
use sparqgen::sim::{Dut, Outcome, SimKind, VerifyOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Sim {
    /// Verilator 5.006+: the whole plan, compiled harness.
    Verilator,
    /// Icarus Verilog 11+: an independent second simulator, on a subset.
    Icarus,
}

/// Where a failure report goes unless `--report-dir` says otherwise.
pub const REPORT_DIR: &str = "sparqgen-verify";

#[derive(Args)]
pub struct VerifyArgs {
    /// Design descriptions (YAML or JSON). Several are co-simulated in one
    /// harness build. Default (with no --rtl either): the embedded default
    /// design.
    #[arg(value_name = "D.yaml")]
    pub designs: Vec<PathBuf>,
    /// A folder that `sparqgen generate` wrote (DIR/<name>, with its
    /// manifest.yaml and filelist), simulated as it is now, edits included.
    /// Repeatable.
    #[arg(long = "rtl", value_name = "DIR/<name>")]
    pub rtl: Vec<PathBuf>,
    /// Replay the GEMM cases of FILE (the format of
    /// golden/gemm_cases.json) whose configuration matches each
    /// design, comparing the RTL with the file's C (the reference kernel's
    /// output) instead of running the default plan.
    #[arg(long, value_name = "FILE")]
    pub golden: Option<PathBuf>,
    /// Seed of every random vector; a failure report names it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Random cycles per design (random valid/clear sequences and random
    /// GEMMs), on top of the exhaustive pair sweep and the directed cases
    /// (at most 10^10: about 1000 s of simulation of a single PE).
    #[arg(long, default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(0..=10_000_000_000))]
    pub vectors: u64,
    /// Simulator. Icarus runs a subset of the same plan (--icarus-cycles).
    #[arg(long, value_enum, default_value = "verilator")]
    pub sim: Sim,
    /// Cycle budget per design under Icarus.
    #[arg(long, default_value_t = 40_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub icarus_cycles: u64,
    /// Skip the exhaustive sweep of every activation pair.
    #[arg(long)]
    pub quick: bool,
    /// Where a failure report and the VCD of the failing window go.
    #[arg(long, value_name = "DIR", default_value = REPORT_DIR)]
    pub report_dir: PathBuf,
    /// No VCD on a mismatch (saves the second, traced build).
    #[arg(long)]
    pub no_vcd: bool,
    /// Stop feeding vectors after this many mismatches.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_mismatches: u64,
    #[command(flatten)]
    pub cluster: super::sweep::SlurmArgs,
}

impl From<Sim> for SimKind {
    fn from(s: Sim) -> SimKind {
        match s {
            Sim::Verilator => SimKind::Verilator,
            Sim::Icarus => SimKind::Icarus,
        }
    }
}

pub fn run(args: &VerifyArgs) -> Result<i32> {
    if args.cluster.slurm {
        return on_slurm(args);
    }
    let mut duts = Vec::new();
    for path in &args.designs {
        let design = Design::from_path(path)?;
        duts.push(Dut::generate(&design).with_context(|| format!("design {}", path.display()))?);
    }
    for folder in &args.rtl {
        let dut =
            Dut::from_folder(folder).with_context(|| format!("--rtl {}", folder.display()))?;
        if dut.edited() {
            errln!(
                "note: {} was edited after generation; verifying the files as they are",
                folder.display()
            );
        }
        duts.push(dut);
    }
    if duts.is_empty() {
        duts.push(Dut::generate(&Design::default_design())?);
    }
    let golden = match &args.golden {
        Some(p) => Some(Arc::new(golden::read_gemm_cases(p)?)),
        None => None,
    };
    let opts = VerifyOptions {
        seed: args.seed,
        vectors: args.vectors,
        exhaustive: !args.quick,
        sim: args.sim.into(),
        golden,
        progress: true,
        vcd: !args.no_vcd,
        report_dir: Some(args.report_dir.clone()),
        max_mismatches: args.max_mismatches.max(1),
        icarus_cycles: args.icarus_cycles,
        ..VerifyOptions::default()
    };
    let outcome = sparqgen::sim::verify(&duts, &opts)?;
    out!("{}", report::summary(&outcome));
    finish(&outcome, &reproduce(args), &args.report_dir)
}

/// Print PASS, or the failure report (also written into `dir`); the exit code.
pub fn finish(outcome: &Outcome, reproduce: &str, dir: &Path) -> Result<i32> {
    if outcome.passed() {
        outln!("PASS: every output matched the model");
        return Ok(0);
    }
    let text = report::failure(outcome, reproduce);
    out!("{text}");
    if let Some(first) = outcome.details.first() {
        let path = dir.join(format!("{}_seed{}.txt", first.design, outcome.seed));
        let full = format!("{}{text}", report::summary(outcome));
        let written = std::fs::create_dir_all(dir)
            .map_err(anyhow::Error::from)
            .and_then(|_| Ok(sparqgen::output::write_file(&path, full.as_bytes())?));
        match written {
            Ok(()) => outln!("report: {}", path.display()),
            Err(e) => errln!("warning: cannot write {}: {e}", path.display()),
        }
    }
    Ok(1)
}

/// `verify --slurm`: each design (and each --rtl folder) is one Slurm task
/// running `sparqgen verify` on it with the same options.
fn on_slurm(args: &VerifyArgs) -> Result<i32> {
    use super::sweep::{design_tasks, regression};
    let tools = sparqgen::tools::find(sparqgen::tools::Tool::Verilator)?.version;
    let abs = |p: &Path| -> Result<String> { Ok(std::path::absolute(p)?.display().to_string()) };
    let mut common = vec![
        "--seed".to_string(),
        args.seed.to_string(),
        "--vectors".into(),
        args.vectors.to_string(),
        "--sim".into(),
        match args.sim {
            Sim::Verilator => "verilator".into(),
            Sim::Icarus => "icarus".into(),
        },
        "--icarus-cycles".into(),
        args.icarus_cycles.to_string(),
        "--max-mismatches".into(),
        args.max_mismatches.to_string(),
        "--report-dir".into(),
        abs(&args.report_dir)?,
    ];
    if args.quick {
        common.push("--quick".into());
    }
    if args.no_vcd {
        common.push("--no-vcd".into());
    }
    let mut golden_bytes = Vec::new();
    if let Some(g) = &args.golden {
        common.extend(["--golden".into(), abs(g)?]);
        golden_bytes = std::fs::read(g).with_context(|| format!("cannot read {}", g.display()))?;
    }
    let tasks = design_tasks(
        "verify",
        &args.designs,
        &args.rtl,
        &common,
        &golden_bytes,
        &tools,
    )?;
    regression(&args.cluster, "verify", tasks, &tools)
}

/// The command line that reproduces this run.
fn reproduce(a: &VerifyArgs) -> String {
    let mut parts = vec!["sparqgen verify".to_string()];
    parts.extend(a.designs.iter().map(|p| p.display().to_string()));
    parts.extend(a.rtl.iter().map(|p| format!("--rtl {}", p.display())));
    if let Some(g) = &a.golden {
        parts.push(format!("--golden {}", g.display()));
    }
    parts.push(format!("--seed {}", a.seed));
    parts.push(format!("--vectors {}", a.vectors));
    if a.quick {
        parts.push("--quick".into());
    }
    if let Sim::Icarus = a.sim {
        parts.push(format!("--sim icarus --icarus-cycles {}", a.icarus_cycles));
    }
    parts.join(" ")
}

// ---------------------------------------------------------------------------
// sparqgen bench verify
// ---------------------------------------------------------------------------

#[derive(Args)]
pub struct VerifyBench {
    /// Pair-vectors streamed through the single PE (in exhaustive sweeps of
    /// 524,288).
    #[arg(long, default_value_t = 8 * 524_288)]
    pub pe_vectors: u64,
    /// Rows and columns of the systolic array.
    #[arg(long, default_value_t = 16)]
    pub size: u32,
    /// K of the GEMM on the array (M = N = 4 * size).
    #[arg(long, default_value_t = 8192)]
    pub k: usize,
    /// Harness processes run at once, each on its share of the specs
    /// (default: the machine's cores). Every output is still checked.
    #[arg(long)]
    pub shards: Option<usize>,
}

pub fn bench(b: &VerifyBench) -> Result<i32> {
    if b.size == 0 || b.k == 0 {
        bail!("--size and --k must be at least 1");
    }
    let shards = match b.shards {
        Some(0) => bail!("--shards must be at least 1"),
        Some(n) => n.min(64),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    outln!(
        "bench verify: Verilator co-simulation against the model, harness builds excluded \
         (cached by content hash); {shards} harness process(es) at once, each on its share \
         of the specs; 'per core' is the simulator processes' own CPU time"
    );
    // 1. a single PE: exhaustive sweeps, one pair-vector per cycle
    let pe = Design::from_yaml("name: bench_pe\narray: {kind: single}")?;
    let dut = Dut::generate(&pe)?;
    let sweep = 65536 * SWEEP_VARIANTS;
    let mut specs = Vec::new();
    let mut left = b.pe_vectors;
    while left > 0 {
        for first in (0..sweep).step_by(16_384) {
            if left == 0 {
                break;
            }
            let count = u64::from(16_384u32.min(sweep - first)).min(left) as u32;
            specs.push(Spec::Sweep { first, count });
            left -= u64::from(count);
        }
    }
    let o = bench_sharded(&dut, specs, shards)?;
    let v = o.vectors as f64;
    outln!(
        "single PE ({}): {} pair-vectors in {:.2} s: {}pair-vectors/s wall{}, {} mismatches \
         (target: 20 M pair-vectors/s wall)",
        sparqgen::sim::describe(&pe),
        report::thousands(o.vectors),
        o.wall_secs,
        report::si(v / o.wall_secs.max(1e-9)),
        per_core(o.sim_cpu_secs, v, "pair-vectors/s"),
        o.mismatches
    );
    // 2. a systolic array: one GEMM tiled over it, then the same GEMM on a
    // mac8x8 array of the same size through the same harness (reference)
    let mut failed = o.mismatches > 0;
    let mn = 4 * b.size as usize;
    let mut rates = Vec::new();
    for (name, pe) in [("bench_sa", "{}"), ("bench_sa_mac8x8", "{kind: mac8x8}")] {
        let sa = Design::from_yaml(&format!(
            "name: {name}\npe: {pe}\narray: {{kind: systolic, rows: {0}, cols: {0}}}",
            b.size
        ))?;
        let dut = Dut::generate(&sa)?;
        let o = bench_sharded(&dut, tile_specs(b.size as usize, mn, b.k), shards)?;
        let macs = o.macs as f64;
        let rate = macs / o.wall_secs.max(1e-9);
        outln!(
            "{0}x{0} systolic array ({1}): GEMM {mn}x{2} . ({mn}x{2})^T = {3} MACs in {4} cycles, \
             {5:.2} s: {6}MAC/s wall{7}, {8}cycles/s, {9} mismatches",
            b.size,
            sparqgen::sim::describe(&sa),
            b.k,
            report::thousands(o.macs),
            report::thousands(o.cycles),
            o.wall_secs,
            report::si(rate),
            per_core(o.sim_cpu_secs, macs, "MAC/s"),
            report::si(o.cycles as f64 / o.wall_secs.max(1e-9)),
            o.mismatches
        );
        failed |= o.mismatches > 0;
        rates.push(rate);
    }
    outln!(
        "SPARQ array / mac8x8 array (same run, same harness): {:.2}x the MAC/s \
         (target for 16x16 SPARQ: 200 M MAC/s wall)",
        rates[0] / rates[1].max(1e-9)
    );
    Ok(if failed { 1 } else { 0 })
}

/// The bench GEMM `C = A (mn x k) . B (mn x k)^T` as one spec per output
/// tile of the array: each tile's stimulus is generated while the
/// simulator runs the previous one (one spec is expanded whole before its
/// first cycle is sent). Every output is still checked against the model.
fn tile_specs(size: usize, mn: usize, k: usize) -> Vec<Spec> {
    let tiles = mn.div_ceil(size);
    (0..tiles * tiles)
        .map(|t| {
            Spec::Gemm(GemmSpec {
                label: "bench",
                seed: 7 + t as u64,
                m: size,
                n: size,
                k,
                zeros: 50,
                acts: ActDist::ReluLike,
                wgts: WgtDist::Uniform,
                bubbles: false,
            })
        })
        .collect()
}

/// A benchmark part's totals over its shards.
struct Sharded {
    vectors: u64,
    macs: u64,
    cycles: u64,
    mismatches: u64,
    /// From the first shard's start to the last one's end.
    wall_secs: f64,
    /// Summed over the shards' simulator processes.
    sim_cpu_secs: Option<f64>,
}

/// Run `specs` as `shards` harness processes at once (specs dealt round
/// robin), after a first spec alone that builds or finds the harness, so
/// that the wall time is the runs' and not the build's.
fn bench_sharded(dut: &Dut, specs: Vec<Spec>, shards: usize) -> Result<Sharded> {
    let first = specs
        .first()
        .cloned()
        .context("a benchmark part has no specs")?;
    bench_run(dut, vec![first], true)?;
    let mut parts: Vec<Vec<Spec>> = vec![Vec::new(); shards.min(specs.len())];
    let n = parts.len();
    for (i, s) in specs.into_iter().enumerate() {
        parts[i % n].push(s);
    }
    let start = std::time::Instant::now();
    let outcomes: Vec<Result<Outcome>> = std::thread::scope(|scope| {
        let runs: Vec<_> = parts
            .into_iter()
            .map(|p| scope.spawn(move || bench_run(dut, p, false)))
            .collect();
        runs.into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| bail!("a benchmark shard panicked"))
            })
            .collect()
    });
    let wall_secs = start.elapsed().as_secs_f64();
    let mut t = Sharded {
        vectors: 0,
        macs: 0,
        cycles: 0,
        mismatches: 0,
        wall_secs,
        sim_cpu_secs: Some(0.0),
    };
    for o in outcomes {
        let o = o?;
        t.vectors += o.vectors();
        t.macs += o.macs();
        t.cycles += o.cycles;
        t.mismatches += o.mismatches;
        t.sim_cpu_secs = t.sim_cpu_secs.zip(o.sim_cpu_secs).map(|(a, b)| a + b);
    }
    Ok(t)
}

fn bench_run(dut: &Dut, specs: Vec<Spec>, announce: bool) -> Result<Outcome> {
    let opts = VerifyOptions {
        plans: Some(vec![specs]),
        vcd: false,
        profile: sparqgen::sim::verilator::Profile::Run,
        ..VerifyOptions::default()
    };
    let o = sparqgen::sim::verify(std::slice::from_ref(dut), &opts)?;
    if sparqgen::settings::get().bench_debug {
        errln!(
            "  run {:.3} s, feed {:.3} s, check {:.3} s, sim cpu {:?} s",
            o.run_secs,
            o.feed_secs,
            o.check_secs,
            o.sim_cpu_secs
        );
    }
    let b = &o.build;
    if !announce {
        return Ok(o);
    }
    outln!(
        "  {}: harness {}",
        dut.design.name(),
        if b.cached {
            "from the cache".to_string()
        } else {
            format!(
                "built in {:.1} s (verilator {:.1} s, C++ {:.1} s)",
                b.total_secs, b.verilate_secs, b.compile_secs
            )
        }
    );
    Ok(o)
}

fn per_core(sim_cpu_secs: Option<f64>, units: f64, what: &str) -> String {
    match sim_cpu_secs.filter(|&c| c > 0.0) {
        Some(cpu) => format!(" ({}{what} per simulator core)", report::si(units / cpu)),
        None => String::new(),
    }
}
