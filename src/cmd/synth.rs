//! `sparqgen synth`: area of the design with Yosys, its PE against the
//! baselines, and (`--sweep`) every PE variant.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sparqgen::output::{check_replaceable, write_dir, DirOptions, FileSet};
use sparqgen::rtl;
use sparqgen::synth::compare::{self, Workload};
use sparqgen::synth::flow::{self, Scripts};
use sparqgen::synth::fmax;
use sparqgen::synth::netcheck;
use sparqgen::synth::plot;
use sparqgen::synth::report::{self, SynthReport, ToolVersions};
use sparqgen::tools::{self, Tool};
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// Generic CMOS gates: cells, transistor estimate, logic depth.
    Generic,
    /// Lattice iCE40: LUT4/carry/FF/DSP counts, Fmax with nextpnr-ice40.
    Ice40,
    /// Your cell library: give the .lib file with --liberty.
    Liberty,
    /// Generic and iCE40 (the default).
    All,
}

#[derive(Args)]
pub struct SynthArgs {
    /// Design description (YAML or JSON); default: the embedded default design.
    #[arg(value_name = "D.yaml")]
    design: Option<PathBuf>,
    /// Which flow(s) to run.
    #[arg(long, value_enum, default_value_t = TargetKind::All)]
    target: TargetKind,
    /// Liberty file for --target liberty.
    #[arg(long, value_name = "FILE.lib")]
    liberty: Option<PathBuf>,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Synthesize every PE variant and plot area against SQNR (pareto.svg).
    #[arg(long)]
    sweep: bool,
    /// Measure SQNR on your activations (.npy, any shape, uint8 values)
    /// instead of the seeded ReLU-like ones.
    #[arg(long, value_name = "FILE.npy")]
    acts: Option<PathBuf>,
    /// Output folder; reports go to DIR/<name>/reports/.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "rtl_out"
    )]
    out: PathBuf,
    /// Skip the whole design (only the PE comparison and the sweep): large
    /// arrays take minutes to synthesize.
    #[arg(long)]
    pe_only: bool,
    /// Skip the post-synthesis check (the PE's gate netlist co-simulated
    /// against the model under Verilator).
    #[arg(long)]
    no_netlist_check: bool,
    /// Replace the output folder even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    cluster: super::sweep::ClusterArgs,
}

impl SynthArgs {
    /// What `sparqgen run` asks for: the PE against the baselines (generic
    /// CMOS, iCE40 with Fmax), reports under rtl_out/<name>/reports/.
    pub fn pe_report(design: Option<PathBuf>, force: bool) -> SynthArgs {
        SynthArgs {
            design,
            target: TargetKind::All,
            liberty: None,
            json: false,
            sweep: false,
            acts: None,
            out: PathBuf::from("rtl_out"),
            pe_only: true,
            no_netlist_check: false,
            force,
            cluster: Default::default(),
        }
    }
}

fn say(json: bool, msg: &str) {
    if json {
        eprintln!("{msg}");
    } else {
        println!("{msg}");
    }
}

pub fn run(args: SynthArgs) -> Result<i32> {
    let design = super::load_design(args.design.as_deref())?;
    let (want_generic, want_ice40, want_liberty) = match args.target {
        TargetKind::Generic => (true, false, false),
        TargetKind::Ice40 => (false, true, false),
        TargetKind::Liberty => (false, false, true),
        TargetKind::All => (true, true, false),
    };
    if want_liberty && args.liberty.is_none() {
        bail!("--target liberty needs --liberty FILE.lib (your cell library)");
    }
    if args.liberty.is_some() && !want_liberty {
        bail!("--liberty is only used with --target liberty");
    }
    if let Some(lib) = args.liberty.as_deref().filter(|lib| !lib.is_file()) {
        bail!("--target liberty: {} is not a readable file", lib.display());
    }
    // Bad arguments first, then the tools: a usage error is not a missing tool.
    let yosys = tools::find(Tool::Yosys)?;
    let nextpnr = tools::find(Tool::NextpnrIce40).ok();
    let workload = match &args.acts {
        Some(p) => Workload::User(compare::read_acts(p)?),
        None => Workload::ReluLike,
    };

    if args.cluster.cluster.slurm && !args.sweep {
        bail!("--slurm runs the sweep's variants as Slurm tasks; add --sweep");
    }
    if let Some(dir) = &args.cluster.emit_jobs {
        let jobs = super::sweep::write_jobs(
            dir,
            &design,
            &args.cluster.variants.0,
            want_ice40,
            args.acts.as_deref(),
            &yosys.version,
        )?;
        return super::sweep::emit_only(dir, &jobs, &args.cluster);
    }
    let dest = args.out.join(&design.name()).join(rtl::REPORTS_DIR);
    let out_opts = DirOptions {
        force: args.force,
        keep: &[],
    };
    check_replaceable(&dest, &out_opts)?;
    let generated = rtl::generate(&design)?;
    let mut scripts = Scripts::default();
    let mut r = SynthReport {
        sparqgen_version: env!("CARGO_PKG_VERSION").into(),
        design: design.name().to_string(),
        design_hash: design.hash(),
        tools: ToolVersions {
            yosys: yosys.version.clone(),
            nextpnr_ice40: nextpnr.map(|n| n.version),
        },
        top: generated.manifest.top.clone(),
        activations_per_cycle: design_activations_per_cycle(&design),
        pe_count: generated.manifest.array.pe_count,
        generic: None,
        ice40: None,
        liberty: None,
        workload: workload.describe(),
        pe: None,
        baselines: Vec::new(),
        comparison: None,
        sweep: Vec::new(),
        findings: Vec::new(),
        netlist_check: None,
    };

    if !args.pe_only {
        say(
            args.json,
            &format!("synth: {} ({}), whole design", design.name(), r.top),
        );
        let job = compare::job(&design, want_ice40)?;
        if want_generic {
            r.generic = Some(
                flow::generic(std::slice::from_ref(&job), &mut scripts)?
                    .remove(0)
                    .result,
            );
        }
        if want_ice40 {
            let out = flow::ice40(std::slice::from_ref(&job), &mut scripts)?.remove(0);
            let mut area = out.result;
            fmax::place_design(&design, &mut area)?;
            r.ice40 = Some(area);
        }
        if want_liberty {
            let lib = args.liberty.as_deref().expect("checked above");
            r.liberty = Some(
                flow::liberty(std::slice::from_ref(&job), lib, &mut scripts)?
                    .remove(0)
                    .result,
            );
        }
    }

    if want_generic || want_ice40 {
        say(args.json, "synth: the PE against mac8x8 and mac4x8");
        let kinds = [
            design.pe().kind(),
            sparqgen::config::PeKind::Mac8x8,
            sparqgen::config::PeKind::Mac4x8,
        ];
        let mut costs = compare::cost_pes(
            &design,
            &kinds,
            &workload,
            want_ice40,
            want_ice40,
            &mut scripts,
        )?;
        let mac4 = costs.pop().expect("three costs");
        let mac8 = costs.pop().expect("three costs");
        let pe = costs.pop().expect("three costs");
        r.comparison = Some(report::compare(&pe, &mac8, &mac4));
        r.pe = Some(pe);
        r.baselines = vec![mac8, mac4];
    }

    let mut netlist_ok = true;
    if want_generic && !args.no_netlist_check {
        say(
            args.json,
            "synth: co-simulating the PE's gate netlist against the model",
        );
        let check = netcheck::check_pe(&design)?;
        netlist_ok = check.passed;
        r.netlist_check = Some(check.summary);
    }

    let mut files = FileSet::default();
    if args.sweep {
        say(
            args.json,
            &format!(
                "synth: sweep over {} PE variants (one Yosys run per target{})",
                args.cluster.variants.0.len(),
                if args.cluster.cluster.slurm {
                    ", as Slurm tasks"
                } else {
                    ""
                }
            ),
        );
        let spec = super::sweep::SweepSpec {
            design: &design,
            workload: &workload,
            acts: args.acts.as_deref(),
            ice40: want_ice40,
            tools: &yosys.version,
            default_dir: args.out.join(format!("{}-sweep", design.name())),
        };
        r.sweep = super::sweep::costs(&args.cluster, &spec, &mut scripts, args.json)?;
        r.findings = report::findings(&r.sweep);
        files.add("pareto.svg", pareto(&design, &r.sweep));
    }

    files.add("synth.json", r.to_json());
    files.add("synth.md", r.to_markdown());
    for (name, s) in [
        ("generic", &scripts.generic),
        ("ice40", &scripts.ice40),
        ("liberty", &scripts.liberty),
    ] {
        if let Some(s) = s {
            files.add(flow::script_name(name), s.clone());
        }
    }
    write_dir(&dest, &files, &out_opts)
        .with_context(|| format!("cannot write reports to {}", dest.display()))?;
    if args.json {
        println!("{}", r.to_json());
    } else {
        print!("{}", r.to_markdown());
        println!("\nreports: {}", dest.display());
    }
    Ok(if netlist_ok { 0 } else { 1 })
}

fn design_activations_per_cycle(d: &sparqgen::config::Design) -> u32 {
    use sparqgen::config::ArrayShape;
    let pe = d.pe().kind().activations_per_cycle();
    match d.array() {
        // each row's activations are reused by every column
        ArrayShape::Systolic { rows, .. } => rows * pe,
        ArrayShape::Dot { lanes } => lanes * pe,
        ArrayShape::Single => pe,
    }
}

/// The Pareto plot of a sweep.
pub fn pareto(design: &sparqgen::config::Design, sweep: &[compare::PeCost]) -> String {
    plot::pareto_svg(
        &format!(
            "PE area vs SQNR (acc {} bits, pipeline {})",
            design.pe().acc_bits(),
            design.pe().pipeline().stages()
        ),
        sweep,
    )
}

/// The report of a sweep gathered from its tasks' results (`gather`): the
/// sweep table and findings of the local run, nothing else synthesized.
pub fn sweep_report(
    design: &sparqgen::config::Design,
    jobs: &sparqgen::sweep::Jobs,
    sweep: Vec<compare::PeCost>,
) -> SynthReport {
    let findings = report::findings(&sweep);
    SynthReport {
        sparqgen_version: env!("CARGO_PKG_VERSION").into(),
        design: design.name().to_string(),
        design_hash: design.hash(),
        tools: ToolVersions {
            yosys: jobs.tools.clone(),
            nextpnr_ice40: None,
        },
        top: format!("{}_top", design.name()),
        activations_per_cycle: design_activations_per_cycle(design),
        pe_count: design.array().pe_count(),
        generic: None,
        ice40: None,
        liberty: None,
        workload: match &jobs.acts {
            None => compare::Workload::ReluLike.describe(),
            Some(p) => format!("activations from {}", p.display()),
        },
        pe: None,
        baselines: Vec::new(),
        comparison: None,
        sweep,
        findings,
        netlist_check: None,
    }
}
