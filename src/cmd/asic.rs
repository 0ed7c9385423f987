//! `sparqgen asic`: the design (by default its PE) through qflow on the OSU
//! 0.18 um library to a routed, DRC- and LVS-checked layout.

use anyhow::{bail, Result};
use clap::Args;
use sparqgen::asic::{qflow::Knobs, Options};
use sparqgen::flows::asic::{self, Request, SlurmRequest};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct AsicArgs {
    /// Design description (YAML or JSON); default: the embedded default design.
    #[arg(value_name = "D.yaml")]
    design: Option<PathBuf>,
    /// Output folder; the layout goes to DIR/<name>/asic/.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "rtl_out"
    )]
    out: PathBuf,
    /// Clock of the timing constraint in MHz (the report gives Fmax anyway).
    #[arg(long, value_name = "F", default_value_t = 100.0)]
    clock_mhz: f64,
    /// Target placement density, 0 to 1 (qflow's initial_density; default:
    /// as dense as GrayWolf places for a PE, about 97 %, and 0.7 for an
    /// array, where 97 % leaves nets unrouted).
    #[arg(long, value_name = "U")]
    utilization: Option<f64>,
    /// Metal layers the router may use, 1 to 6 (default: all 6).
    #[arg(long, value_name = "N")]
    route_layers: Option<u32>,
    /// GrayWolf's placement speed-up, 1 to 16: its annealing tries 1/N of
    /// its usual moves per cell and temperature (default: 1 up to 3,000
    /// cells, one more per 3,000 cells, so a 4x4 array places in minutes).
    #[arg(long, value_name = "N")]
    place_fast: Option<u32>,
    /// Lay out the design as described (a whole array) instead of its PE.
    #[arg(long)]
    whole: bool,
    /// Also lay out mac8x8 and mac4x8, and a 4x4 array of each PE, through
    /// the same flow: area and Fmax per activation per cycle.
    #[arg(long)]
    compare: bool,
    /// Size N of the N x N arrays --compare lays out (a 4x4 array is about
    /// 25,000 cells: GrayWolf alone takes tens of minutes on a busy machine).
    #[arg(long, value_name = "N", default_value_t = 4)]
    compare_array: u32,
    /// Skip the check that the routed netlist equals the model (a PE's
    /// proof; an array's co-simulation under Verilator).
    #[arg(long)]
    no_prove: bool,
    /// Time limit of each flow step, in minutes (default: 30, or 5 per
    /// 1,000 cells of the synthesized netlist when more: 135 for a 4x4
    /// SPARQ array).
    #[arg(long, value_name = "MIN")]
    step_minutes: Option<u64>,
    /// Slurm: each layout (the design and, with --compare, every compared
    /// one) is one task of a Slurm array job running `sparqgen asic` on it;
    /// the job folder (default: sparqgen-jobs/asic) keeps each task's
    /// design, layout and log, and a resubmission reuses finished layouts.
    #[command(flatten)]
    cluster: super::sweep::SlurmArgs,
    /// Keep each layout's qflow project (logs, DEF, Magic's database) in
    /// DIR/<name>/ instead of a temporary folder removed at the end: for
    /// reading why a layout failed, or opening it in Magic. Not with --slurm
    /// (the job folder keeps each task's output).
    #[arg(long, value_name = "DIR")]
    keep_work: Option<PathBuf>,
    /// With --keep-work: go on from the routing a killed or failed earlier
    /// run left in DIR/<name>/ (hours for an array) when it was made from
    /// the same Verilog with the same settings and every net was routed;
    /// migration, DRC, LVS, timing and the netlist check run again. Where
    /// the kept project does not qualify, it says why and runs the whole
    /// flow.
    #[arg(long, requires = "keep_work")]
    resume: bool,
    /// Replace the output folder even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    force: bool,
}

pub fn run(args: &AsicArgs) -> Result<i32> {
    if !(args.clock_mhz.is_finite() && args.clock_mhz > 0.0 && args.clock_mhz <= 10_000.0) {
        bail!(
            "--clock-mhz: {} is not allowed (allowed: a frequency above 0 and up to 10000 MHz, e.g. 100)",
            args.clock_mhz
        );
    }
    if let Some(u) = args
        .utilization
        .filter(|u| !(u.is_finite() && *u > 0.0 && *u <= 1.0))
    {
        bail!(
            "--utilization: {u} is not allowed (allowed: a density above 0 and up to 1, e.g. 0.6)"
        );
    }
    if let Some(l) = args.route_layers.filter(|l| !(1..=6).contains(l)) {
        bail!("--route-layers: {l} is not allowed (allowed: 1 to 6, the OSU 0.18 um metal layers)");
    }
    if let Some(f) = args.place_fast.filter(|f| !(1..=16).contains(f)) {
        bail!("--place-fast: {f} is not allowed (allowed: 1 to 16; 1 is GrayWolf's full schedule)");
    }
    if !(1..=16).contains(&args.compare_array) {
        bail!(
            "--compare-array: {} is not allowed (allowed: 1 to 16)",
            args.compare_array
        );
    }
    if args.step_minutes == Some(0) {
        bail!("--step-minutes: 0 is not allowed (allowed: 1 or more)");
    }
    if !args.cluster.slurm
        && (args.cluster.partition.is_some()
            || args.cluster.time.is_some()
            || args.cluster.jobs_dir.is_some())
    {
        bail!("--partition, --time and --jobs-dir are Slurm options: add --slurm");
    }
    if args.cluster.slurm && args.keep_work.is_some() {
        bail!("--keep-work is not allowed with --slurm (each task's folder in the job folder keeps its output)");
    }
    let design = super::load_design(args.design.as_deref())?;
    let req = Request {
        design,
        out: args.out.clone(),
        opts: Options {
            clock_mhz: args.clock_mhz,
            knobs: Knobs {
                utilization: args.utilization,
                route_layers: args.route_layers,
                place_fast: args.place_fast,
            },
            limit: args.step_minutes.map(|m| Duration::from_secs(m * 60)),
            prove: !args.no_prove,
        },
        whole: args.whole,
        compare: args.compare,
        compare_array: args.compare_array,
        force: args.force,
        slurm: args.cluster.slurm.then(|| SlurmRequest {
            dir: args.cluster.jobs_dir.clone(),
            options: args.cluster.options(),
        }),
        keep_work: args.keep_work.clone(),
        resume: args.resume,
    };
    execute(&req)
}

/// Run the layout flow of `req` and print what it found; exit 1 when the
/// layout is not clean (routing failure, DRC, LVS, proof refuted).
pub fn execute(req: &Request) -> Result<i32> {
    match asic::run(req, &mut |m| outln!("{m}")) {
        Ok(done) => {
            let r = &done.report;
            outln!(
                "asic: {}: die {:.0} um^2 ({:.1} x {:.1} um), cells {:.0} um^2, utilization {:.1} %, \
                 wire {:.0} um, {} nets routed{}, {} failed, DRC {}, LVS {}, Fmax {:.1} MHz after \
                 routing ({:.1} before), netlist = model: {}",
                r.top,
                r.die.area_um2,
                r.die.width_um,
                r.die.height_um,
                r.cell_area_um2,
                r.utilization * 100.0,
                r.wire_length_um,
                r.routed_nets,
                match r.rerouted_nets.len() {
                    0 => String::new(),
                    n => format!(" ({n} of them again after LVS found them open)"),
                },
                r.failed_nets,
                r.drc_errors,
                if r.lvs_match { "match" } else { "MISMATCH" },
                r.timing_post_route.fmax_mhz,
                r.timing_pre_route.fmax_mhz,
                r.equivalence.verdict
            );
            if !done.compare.is_empty() {
                out!("{}", asic::compare_table(&done.compare));
            }
            outln!(
                "asic: wrote {}/ (report.md, asic.json, layout.png)",
                done.dest.display()
            );
            let clean = r.drc_errors == 0 && r.lvs_match && !r.equivalence.failed();
            Ok(if clean { 0 } else { 1 })
        }
        Err(e) if asic::is_layout_failure(&e) => {
            errln!("error: {e}");
            Ok(1)
        }
        Err(e) => Err(e),
    }
}
