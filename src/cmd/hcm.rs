//! `sparqgen hcm NET.yaml` (the metric on a network and a hardware point)
//! and `sparqgen hcm fit` (the area model from Yosys).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use sparqgen::config::Design;
use sparqgen::hcm::{self, arch::ArrayModel, fit, hw::HwPoint, network::Network};
use std::path::{Path, PathBuf};

/// The fit must explain at least this much of the area's variance for
/// `hcm fit` to pass (exit 1 below it).
const R2_MIN: f64 = 0.99;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct HcmArgs {
    #[command(subcommand)]
    sub: Option<HcmSub>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Subcommand)]
enum HcmSub {
    /// Synthesize the paper's 3x3 reference PE for b = 2..16 with Yosys and
    /// fit area against b (quadratic) and against BOPS (linear).
    ///
    /// Results are cached (by the reference PE's templates, the flow and the
    /// Yosys version) in the hcm-fit folder of the sparqgen cache:
    /// $SPARQGEN_CACHE, else $XDG_CACHE_HOME/sparqgen, else
    /// ~/.cache/sparqgen; `hcm NET` reports read the cache. Exit 1 when the
    /// area-vs-BOPS R^2 is below 0.99.
    Fit(FitArgs),
}

#[derive(Args)]
struct FitArgs {
    /// Print the fit as one JSON object.
    #[arg(long)]
    json: bool,
    /// Synthesize again even if a cached fit exists.
    #[arg(long)]
    refresh: bool,
    /// Synthesize each width flat (slower; the default synthesizes the nine
    /// identical taps once and sums the hierarchy).
    #[arg(long)]
    flatten: bool,
    /// Also write the reference Verilog, the Yosys script, its log, the stat
    /// files and fit.json into DIR (synthesizes; replaces a DIR that an
    /// earlier `hcm fit --out` wrote, refuses any other).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Replace the output folder even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    pub force: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum AreaModel {
    /// The Yosys fit of `hcm fit` (run and cached on first use).
    Fit,
    /// No area estimate (no Yosys needed).
    None,
}

#[derive(Args)]
struct ReportArgs {
    /// Network layer table (YAML), a built-in (resnet18, vgg16, mobilenet_v2),
    /// or an int8 ONNX model (MODEL.onnx: layer shapes from the graph).
    #[arg(value_name = "NET.yaml", required = true)]
    net: Option<String>,
    /// PE array from this design. Default: the hardware file's own
    /// pe_array if it has one, else the embedded default design.
    #[arg(long, value_name = "D.yaml")]
    design: Option<PathBuf>,
    /// Hardware point (YAML), or a preset: eyeriss.
    #[arg(long, value_name = "HW.yaml", default_value = hcm::hw::DEFAULT_PRESET)]
    hw: String,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Write the roofline (one point per layer, both roofs) as SVG.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Folder of measured input activations, one <layer name>.npy per layer
    /// (uint8, N x C x H x W): SPARQ's wide-path share from the measured
    /// zeros instead of --zero-fraction.
    #[arg(long, value_name = "DIR")]
    acts: Option<PathBuf>,
    /// Zero fraction assumed for layers without measured activations (0..=1).
    #[arg(long, default_value_t = 0.5, value_parser = super::fraction)]
    zero_fraction: f64,
    /// Area estimate from the Yosys fit, or none.
    #[arg(long, value_enum, default_value = "fit")]
    area_model: AreaModel,
    /// Clock the array runs at (an ASIC clock), instead of the hardware
    /// point's.
    #[arg(long, value_name = "MHZ", conflicts_with = "synth_json")]
    clock_mhz: Option<f64>,
    /// Clock from a synthesis report (`sparqgen synth D.yaml --json`): its
    /// iCE40 Fmax placed by nextpnr (`ice40.fmax_mhz`).
    #[arg(long, value_name = "SYNTH.json")]
    synth_json: Option<PathBuf>,
    /// Energy per frame from the energies per MAC measured by `sparqgen
    /// synth D.yaml --target liberty --json` (its JSON, or its
    /// reports/synth.json): the PE of this report's array must be in it
    /// (the design's PE or a baseline); per-layer energies from `synth
    /// --acts DIR` are used for the layers they name.
    #[arg(long, value_name = "SYNTH.json")]
    energy: Option<PathBuf>,
}

/// The highest clock `--clock-mhz` takes: 100 GHz, far past any array, and
/// low enough that every rate and time computed from it stays finite.
const MAX_CLOCK_MHZ: f64 = 100_000.0;

/// The clock the array runs at, when the user names one: (MHz, where from).
fn clock_override(a: &ReportArgs) -> Result<Option<(f64, String)>> {
    if let Some(mhz) = a.clock_mhz {
        if !(mhz.is_finite() && mhz > 0.0 && mhz <= MAX_CLOCK_MHZ) {
            bail!(
                "--clock-mhz {mhz:?} is not allowed (allowed: > 0 and at most {MAX_CLOCK_MHZ} MHz)"
            );
        }
        return Ok(Some((mhz, "--clock-mhz".to_string())));
    }
    let Some(p) = &a.synth_json else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(p).with_context(|| format!("--synth-json {}", p.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--synth-json {}: not JSON", p.display()))?;
    match v["ice40"]["fmax_mhz"].as_f64() {
        Some(f) if f > 0.0 => Ok(Some((f, format!("iCE40 Fmax from {}", p.display())))),
        _ => bail!(
            "--synth-json {}: ice40.fmax_mhz is missing or null (the design was not placed:              run `sparqgen synth D.yaml --json` with nextpnr-ice40 installed)",
            p.display()
        ),
    }
}

pub fn run(args: HcmArgs) -> Result<i32> {
    match args.sub {
        Some(HcmSub::Fit(f)) => run_fit(f),
        None => run_report(args.report),
    }
}

fn run_fit(a: FitArgs) -> Result<i32> {
    let opts = fit::FitOptions {
        flatten: a.flatten,
        refresh: a.refresh,
        cache_dir: None,
        out: a.out.clone(),
        force: a.force,
    };
    let f = fit::fit(&opts).context("hcm fit")?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&f)?);
    } else {
        out!("{}", hcm::report::fit_text(&f));
        if let Some(out) = &a.out {
            outln!("wrote {}", out.display());
        }
    }
    if f.r2_bops < R2_MIN {
        errln!(
            "hcm fit: area vs BOPS R^2 = {:.5} is below {R2_MIN}: area does not follow BOPS here",
            f.r2_bops
        );
        return Ok(1);
    }
    Ok(0)
}

fn run_report(a: ReportArgs) -> Result<i32> {
    // infallible: clap refuses the command without NET
    let net_arg = a.net.as_deref().expect("clap requires NET");
    let net = load_network(net_arg)?;
    let mut hw = HwPoint::load(&a.hw)?;
    if let Some((mhz, from)) = clock_override(&a)? {
        hw.name = format!("{} at {mhz:.1} MHz ({from})", hw.name);
        hw.clock_mhz = mhz;
    }
    let design = a.design.as_deref().map(Design::from_path).transpose()?;
    let array = match (&design, &hw.pe_array) {
        (Some(d), _) => ArrayModel::from_design(d),
        (None, Some(pa)) => ArrayModel::from_hw(&hw.name, pa),
        (None, None) => ArrayModel::from_design(&Design::default_design()),
    };
    // bad input before the area fit's synthesis
    let energy = a
        .energy
        .as_deref()
        .map(hcm::energy::Measured::read)
        .transpose()?;
    if let Some(d) = &a.acts {
        if !d.is_dir() {
            bail!("--acts {}: not a folder", d.display());
        }
    }
    let area_fit = match a.area_model {
        AreaModel::None => None,
        AreaModel::Fit => {
            let opts = fit::FitOptions::default();
            if !fit::is_cached(&opts) {
                errln!(
                    "hcm: no cached area fit yet; synthesizing the reference PE with Yosys once \
                     (cached in {})",
                    fit::cache_dir().display()
                );
            }
            Some(fit::fit(&opts).context(
                "the area model needs the Yosys fit (pass --area-model none to skip it)",
            )?)
        }
    };
    let mut notes = Vec::new();
    // the design the array came from, when it came from one
    let checked = design
        .clone()
        .or_else(|| hw.pe_array.is_none().then(Design::default_design));
    if let (Some(m), Some(d)) = (&energy, &checked) {
        notes.extend(hcm::energy::mismatch(d, m)?);
    }
    let opts = hcm::Options {
        zero_fraction: a.zero_fraction,
        acts_dir: a.acts.clone(),
        energy,
    };
    let mut report = hcm::analyze(&net, &array, &hw, area_fit.as_ref(), &opts)
        .with_context(|| format!("hcm {net_arg}"))?;
    report.notes.extend(notes);
    if let Some(p) = &a.plot {
        let svg = hcm::plot::roofline_svg(&report).context("roofline template")?;
        write_file(p, svg.as_bytes())?;
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        out!("{}", hcm::report::text(&report));
        if let Some(p) = &a.plot {
            outln!("plot:      wrote {}", p.display());
        }
    }
    Ok(0)
}

/// Write a report file (see [`sparqgen::output::write_file`]).
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    Ok(sparqgen::output::write_file(path, bytes)?)
}

/// A layer table, a built-in network or an int8 ONNX model (`NET` of
/// `hcm`, `--net` of `synth`).
pub fn load_network(arg: &str) -> Result<Network> {
    if arg.ends_with(".onnx") {
        onnx_network(Path::new(arg))
    } else {
        Network::load(arg)
    }
}

/// The layer table of an int8 ONNX model (shapes from the graph).
fn onnx_network(path: &Path) -> Result<Network> {
    let plan = sparqgen::net::load(path)?;
    let name = path
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    Ok(sparqgen::net::shapes::hcm_network(&plan, &name)?)
}
