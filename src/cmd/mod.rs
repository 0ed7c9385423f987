//! One module per subcommand; this file holds the clap tree and shared
//! argument helpers.

mod asic;
mod bench;
mod bench_ort;
mod bench_shapes;
mod flow;
mod generate;
mod hcm;
mod model;
mod net;
mod prove;
mod sweep;
mod synth;
mod verify;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use sparqgen::config::Design;
use std::path::PathBuf;

const ABOUT: &str = "SPARQ processing elements from one YAML design: Verilog, a bit-exact \
model, Verilator co-simulation, Yosys area and the HCM metric.";

const LONG_ABOUT: &str = "\
SPARQ (Shomron et al., NeurIPS 2021) trims 8-bit activations to an n-bit window
at their leading one (bSPARQ) and lets an activation whose partner is zero use
the pair's whole budget (vSPARQ). sparqgen reads one design description and
drives everything from it.

A design (YAML or JSON; every field optional, defaults shown):

  name: sparq_sa8x8            # [a-z][a-z0-9_]*: module prefix, output folder
  pe:
    kind: sparq                # sparq | mac8x8 | mac4x8
    window_bits: 4             # sparq: 4 | 3 | 2
    placements: 5              # sparq: 5 | 3 | 2 (4 bits), 6 (3 bits), 7 (2 bits)
    rounding: round_half_even  # sparq: truncate | round_half_even
    pair_sharing: true         # sparq: vSPARQ on, or bSPARQ alone
    stc: false                 # sparq: 2:4 structured-sparse weights
    acc_bits: 32               # accumulator width
    pipeline: 0                # register stages in the PE: 0 | 1 | 2
  array:
    kind: systolic             # systolic (rows, cols) | dot (lanes) | single
    rows: 8
    cols: 8

Without a design file, the embedded default above is used.";

#[derive(Parser)]
#[command(name = "sparqgen", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bit-exact SPARQ model on tensors (.npy in, .npy out).
    #[command(subcommand)]
    Model(model::ModelCmd),
    /// Measure throughput (prints numbers; no pass/fail).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// The main job on one design (default: the embedded default design).
    Run(RunArgs),
    /// Write the design's Verilog, filelist, manifest and README to DIR/<name>/.
    Generate(generate::GenerateArgs),
    /// Synthesize with Yosys: area (generic CMOS, iCE40 LUTs and Fmax, or
    /// your cell library), the PE against mac8x8 and mac4x8 at equal
    /// activation throughput, and with --sweep every PE variant.
    Synth(synth::SynthArgs),
    /// Co-simulate the RTL under Verilator (or Icarus) against the model.
    Verify(verify::VerifyArgs),
    /// Validate a design and print it with every default filled in.
    Check(DesignArg),
    /// The HCM metric: BOPS, traffic and roofline per layer (`hcm fit`: the area model).
    Hcm(hcm::HcmArgs),
    /// The report of a sweep whose tasks ran elsewhere (`synth --sweep
    /// --emit-jobs DIR` or `--slurm`): DIR/sweep.md, sweep.json, pareto.svg.
    Gather(sweep::GatherArgs),
    /// Run one task of a sweep job folder (what each Slurm array task runs).
    #[command(hide = true)]
    SweepTask(sweep::TaskArgs),
    /// Run an int8 ONNX network through each design: accuracy and per-layer error.
    Net(net::NetArgs),
    /// Prove every PE kind equal to the model for every input (exit 1 with a
    /// counterexample otherwise).
    Prove(prove::ProveArgs),
    /// Lay out the design's PE (or with --whole the design) with qflow on the
    /// OSU 0.18 um cells: routed DEF and GDS, DRC, LVS, post-route timing,
    /// a picture, and the routed netlist proven equal to the model.
    Asic(asic::AsicArgs),
}

#[derive(Args)]
pub struct RunArgs {
    /// Design description (YAML or JSON); default: the embedded default.
    #[arg(value_name = "D.yaml")]
    pub design: Option<PathBuf>,
    /// Replace rtl_out/<name>/ even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    pub force: bool,
    /// Also lay the PE out through qflow on OSU 0.18 um against both
    /// baselines and a 4x4 array of each (`sparqgen asic --compare`: minutes
    /// for each PE, up to two or three hours for each array on 2 cores),
    /// written to rtl_out/<name>/asic/.
    #[arg(long)]
    pub asic: bool,
}

/// clap parser for a fraction in 0..=1 (`--zeros`, `--zero-fraction`).
pub fn fraction(s: &str) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "{s} is not allowed (allowed: a fraction from 0 to 1, e.g. 0.5)"
        )),
    }
}

/// A GEMM kernel this CPU can run, by name.
pub fn kernel(s: &str) -> std::result::Result<sparqgen::arith::Kernel, String> {
    use sparqgen::arith::Kernel;
    let names = |f: fn(&Kernel) -> bool| {
        Kernel::ALL
            .iter()
            .filter(|k| f(k))
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match Kernel::from_name(s) {
        Some(k) if k.available() => Ok(k),
        Some(_) => Err(format!(
            "{s} needs a CPU feature this CPU lacks (available here: {})",
            names(|k| k.available())
        )),
        None => Err(format!(
            "{s} is not a kernel (allowed: {})",
            names(|_| true)
        )),
    }
}

/// A design file, or the embedded default.
#[derive(Args, Clone)]
pub struct DesignArg {
    /// Design description (YAML or JSON). Default: the embedded default
    /// design (SPARQ 4-bit 5opt, round half even, 8x8 systolic).
    #[arg(long = "design", value_name = "D.yaml")]
    pub design: Option<PathBuf>,
}

impl DesignArg {
    pub fn load(&self) -> Result<Design> {
        load_design(self.design.as_deref())
    }
}

/// Load a design file, or the embedded default.
pub fn load_design(path: Option<&std::path::Path>) -> Result<Design> {
    match path {
        Some(p) => Design::from_path(p),
        None => Ok(Design::default_design()),
    }
}

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Model(m) => model::run(m),
        Command::Bench(b) => bench::run(b),
        Command::Generate(g) => generate::run(&g),
        Command::Verify(v) => verify::run(&v),
        Command::Synth(s) => synth::run(s),
        Command::Run(r) => flow::run(r.design.as_deref(), r.force, r.asic),
        Command::Hcm(h) => hcm::run(h),
        Command::Gather(g) => sweep::gather(&g),
        Command::SweepTask(t) => sweep::task(&t),
        Command::Net(n) => net::run(&n),
        Command::Prove(p) => prove::run(&p),
        Command::Asic(a) => asic::run(&a),
        Command::Check(d) => {
            let design = d.load()?;
            out!("{}", design.to_yaml());
            outln!("# hash: {}", design.hash());
            outln!(
                "# accumulator: {} bits, exact for K <= {} (wraps modulo 2^{} beyond)",
                design.pe().acc_bits(),
                design.exact_k_max(),
                design.pe().acc_bits()
            );
            Ok(0)
        }
    }
}
