//! `sparqgen synth`: area of the design with Yosys, its PE against the
//! baselines, and (`--sweep`) every PE variant.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use sparqgen::flows::synth::{SynthOptions, Targets};
use sparqgen::output::{check_replaceable, write_dir, DirOptions};
use sparqgen::rtl;
use sparqgen::synth::{
    compare::{self, Workload},
    report::ToolVersions,
};
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetKind {
    /// Generic CMOS gates: cells, transistor estimate, logic depth.
    Generic,
    /// Lattice iCE40: LUT4/carry/FF/DSP counts, Fmax with nextpnr-ice40.
    Ice40,
    /// A standard-cell library: area (um^2), OpenSTA timing and power on
    /// simulated activity; the OSU 0.18 um library unless --liberty.
    Liberty,
    /// Generic and iCE40, and the OSU 0.18 um library when it is installed
    /// (the default).
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
    /// Liberty file for --target liberty (default: the OSU 0.18 um library
    /// of Debian's qflow-tech-osu018).
    #[arg(long, value_name = "FILE.lib")]
    liberty: Option<PathBuf>,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Synthesize every PE variant and plot area against SQNR (pareto.svg).
    #[arg(long)]
    sweep: bool,
    /// Measure SQNR and power on your activations (.npy, any shape, uint8
    /// values) instead of the seeded ReLU-like ones.
    #[arg(long, value_name = "FILE.npy")]
    acts: Option<PathBuf>,
    /// With --acts DIR: the network the layers belong to (int8 MODEL.onnx,
    /// a layer table or a built-in, as `hcm` takes it), for its energy per
    /// image (each layer's MACs x its measured pJ/MAC).
    #[arg(long, value_name = "MODEL.onnx", requires = "acts")]
    net: Option<String>,
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
    /// With the cell library: also measure the arrays' power (the 4x4
    /// array comparison, or the whole design when it is a systolic array),
    /// simulating their whole gate netlists on the workload (minutes).
    #[arg(long)]
    array_power: bool,
    /// The main job: with --pe-only, also price a 4x4 array of the PE
    /// against baseline arrays (not a flag: `run` sets it).
    #[arg(skip)]
    array_sample: bool,
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
            net: None,
            out: PathBuf::from("rtl_out"),
            pe_only: true,
            no_netlist_check: false,
            array_power: false,
            array_sample: true,
            force,
            cluster: Default::default(),
        }
    }
}

/// The layers of a `net --acts DIR` folder: every `<layer>.npy`, sorted by
/// name, in the order a PE pairs its activations.
fn read_layers(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("--acts {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("--acts {}: no <layer>.npy files (write them with `sparqgen net MODEL.onnx --acts DIR`)", dir.display());
    }
    files
        .iter()
        .map(|f| {
            let name = f
                .file_stem()
                .map_or(String::new(), |s| s.to_string_lossy().into_owned());
            let t = sparqgen::hcm::acts::read_any(f, &format!("--acts layer {name}"))?;
            if t.data.is_empty() {
                bail!("--acts {}: no activations", f.display());
            }
            Ok((name, sparqgen::synth::ppa::pair_order(&t)))
        })
        .collect()
}

/// The network's name and the MACs per image of each layer of `layers`
/// (matched by name: `net --acts` names files after the nodes as `hcm`
/// names the layers). Every compute layer needs its file and every file a
/// layer, or the sum would not be the network's.
fn layer_macs(
    net: &str,
    dir: &std::path::Path,
    layers: &[(String, Vec<u8>)],
) -> Result<(String, Vec<u64>)> {
    let n = super::hcm::load_network(net).with_context(|| format!("--net {net}"))?;
    let table: Vec<(String, u64)> = n
        .layers
        .iter()
        .filter_map(|l| l.gemm().map(|g| (l.name.clone(), g.macs())))
        .collect();
    let missing: Vec<&str> = table
        .iter()
        .filter(|(name, _)| !layers.iter().any(|(l, _)| l == name))
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        bail!(
            "--acts {}: no activations for the layer(s) {} of --net {net} (energy per image needs every compute layer)",
            dir.display(),
            missing.join(", ")
        );
    }
    let macs = layers
        .iter()
        .map(|(name, _)| {
            table
                .iter()
                .find(|(l, _)| l == name)
                .map(|(_, m)| *m)
                .with_context(|| {
                    format!(
                    "--acts {}: {name}.npy names no compute layer of --net {net} (its layers: {})",
                    dir.display(),
                    table.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>().join(", ")
                )
                })
        })
        .collect::<Result<Vec<u64>>>()?;
    Ok((n.name.clone(), macs))
}

fn say(json: bool, msg: &str) {
    if json {
        errln!("{msg}");
    } else {
        outln!("{msg}");
    }
}

pub fn run(args: SynthArgs) -> Result<i32> {
    let design = super::load_design(args.design.as_deref())?;
    let (generic, ice40, liberty) = match args.target {
        TargetKind::Generic => (true, false, false),
        TargetKind::Ice40 => (false, true, false),
        TargetKind::Liberty => (false, false, true),
        TargetKind::All => (true, true, false),
    };
    if args.liberty.is_some() && !liberty {
        bail!("--liberty is only used with --target liberty");
    }
    if let Some(lib) = args.liberty.as_deref().filter(|lib| !lib.is_file()) {
        bail!("--target liberty: {} is not a readable file", lib.display());
    }
    // Bad arguments first, then the tools: a usage error is not a missing tool.
    let tools = ToolVersions::find()?;
    let lib = if liberty {
        // asked for: the library and OpenSTA must be there
        let lib = match &args.liberty {
            Some(l) => l.clone(),
            None => sparqgen::tools::osu018()?,
        };
        sparqgen::tools::find(sparqgen::tools::Tool::Sta)?;
        Some(lib)
    } else if args.target == TargetKind::All {
        // the default covers the library when it and OpenSTA are installed
        sparqgen::tools::osu018()
            .ok()
            .filter(|_| tools.opensta.is_some())
    } else {
        None
    };
    let mut layers = Vec::new();
    let mut network = None;
    if args.net.is_some() && !args.acts.as_deref().is_some_and(|p| p.is_dir()) {
        bail!("--net gives energy per image with --acts DIR (a folder of layer activations from `sparqgen net MODEL.onnx --acts DIR`)");
    }
    let workload = match &args.acts {
        Some(p) if p.is_dir() => {
            if lib.is_none() {
                bail!("--acts DIR (per-layer energy) needs the cell-library flow: --target liberty, or --target all with {} installed", sparqgen::tools::OSU018_LIB);
            }
            if args.sweep || args.cluster.emit_jobs.is_some() {
                bail!("--acts DIR is for energy per layer; the sweep takes one --acts FILE.npy");
            }
            layers = read_layers(p)?;
            if let Some(n) = &args.net {
                network = Some(layer_macs(n, p, &layers)?);
            }
            Workload::User(layers.iter().flat_map(|(_, v)| v.iter().copied()).collect())
        }
        Some(p) => Workload::User(compare::read_acts(p)?),
        None => Workload::ReluLike,
    };

    if args.array_power && lib.is_none() {
        bail!("--array-power measures power on the cell library: add --target liberty");
    }
    if args.cluster.cluster.slurm && !args.sweep {
        bail!("--slurm runs the sweep's variants as Slurm tasks; add --sweep");
    }
    if let Some(dir) = &args.cluster.emit_jobs {
        let jobs = super::sweep::write_jobs(
            dir,
            &design,
            &args.cluster.variants.0,
            ice40,
            args.acts.as_deref(),
            &tools.yosys,
        )?;
        return super::sweep::emit_only(dir, &jobs, &args.cluster);
    }
    let dest = args.out.join(design.name()).join(rtl::REPORTS_DIR);
    let out_opts = DirOptions {
        force: args.force,
        keep: &[],
    };
    check_replaceable(&dest, &out_opts)?;
    let yosys_version = tools.yosys.clone();
    let opts = SynthOptions {
        tools,
        targets: Targets {
            generic,
            ice40,
            liberty: lib,
        },
        workload,
        whole_design: !args.pe_only,
        netlist_check: !args.no_netlist_check,
        array_sample: args.array_sample,
        array_power: args.array_power,
        layers,
        network,
    };
    let mut s = sparqgen::flows::synth::synthesize(&design, &opts, &mut |msg| say(args.json, msg))?;

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
            workload: &opts.workload,
            acts: args.acts.as_deref(),
            ice40,
            tools: &yosys_version,
            default_dir: args.out.join(format!("{}-sweep", design.name())),
        };
        let costs = super::sweep::costs(&args.cluster, &spec, &mut s.scripts, args.json)?;
        s.add_sweep(costs);
        if let Some(lib) = &opts.targets.liberty {
            say(
                args.json,
                "synth: the PE and baselines at pipeline 0, 1 and 2 on the cell library (OpenSTA)",
            );
            s.report.pipeline_timing =
                sparqgen::synth::ppa::pipelines(&design, lib, &mut s.scripts)?;
        }
    }

    write_dir(&dest, &s.files(&design), &out_opts)
        .with_context(|| format!("cannot write reports to {}", dest.display()))?;
    if args.json {
        outln!("{}", s.report.to_json());
    } else {
        out!("{}", s.report.to_markdown());
        outln!("\nreports: {}", dest.display());
    }
    Ok(if s.netlist_passed { 0 } else { 1 })
}
