//! Yosys flows (generic CMOS, iCE40, a user's liberty library) and
//! nextpnr-ice40 for Fmax: scripts from templates, numbers from `stat -json`.

use super::yosys;
use crate::tools::{self, Tool};
use anyhow::{bail, Context, Result};
use askama::Template;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// One design to synthesize: its Verilog files and top module.
#[derive(Debug, Clone)]
pub struct Job {
    /// File name -> Verilog text.
    pub files: Vec<(String, String)>,
    pub top: String,
    /// Also write the mapped netlist (Verilog for generic, JSON for iCE40).
    pub netlist: bool,
}

struct JobView {
    files: Vec<String>,
    top: String,
    stem: String,
    netlist: bool,
}

#[derive(Template)]
#[template(path = "synth/generic.ys")]
struct GenericScript<'a> {
    version: &'a str,
    jobs: &'a [JobView],
}

#[derive(Template)]
#[template(path = "synth/ice40.ys")]
struct Ice40Script<'a> {
    version: &'a str,
    jobs: &'a [JobView],
}

#[derive(Template)]
#[template(path = "synth/liberty.ys")]
struct LibertyScript<'a> {
    version: &'a str,
    jobs: &'a [JobView],
    liberty: &'a str,
    /// ABC's delay target, ps: [`abc_delay_ps`].
    delay_ps: u64,
    constr: &'a str,
    /// Map delay-targeted with buffering and sizing: only a library with
    /// timing tables allows it ([`has_timing`]).
    buffered: bool,
}

/// Whether a liberty text has delay tables (`cell_rise`): ABC's buffering
/// and sizing need them, and fail on a library of areas and functions only.
pub fn has_timing(liberty_text: &str) -> bool {
    liberty_text.contains("cell_rise")
}

/// Constraints ABC's liberty mapping reads (`abc -constr`), as the SDC
/// `generate` writes them: no load on the outputs, and no driving cell
/// (ideal inputs). Given with a delay target, they switch ABC's script to
/// the one that buffers high fan-out nets and sizes gates (`buffer; upsize
/// -D; dnsize -D`).
pub const ABC_CONSTR: &str = "set_load 0.0\n";

/// The file name of [`ABC_CONSTR`] beside the liberty script.
pub const ABC_CONSTR_FILE: &str = "abc.constr";

/// ABC's delay target for the liberty mapping, ps: the period of the clock
/// of the SDC `generate` writes by default (100 MHz: 10,000 ps).
pub fn abc_delay_ps() -> u64 {
    crate::rtl::constraints::period_ps(crate::rtl::flow_files::DEFAULT_CLOCK_KHZ)
}

/// Area on the generic CMOS gate set (NAND, NOR, NOT, flip-flops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenericArea {
    pub cells: u64,
    /// Yosys's `stat -tech cmos` transistor estimate, flip-flops included.
    pub transistors: u64,
    pub cells_by_type: BTreeMap<String, u64>,
    /// Longest topological path, in cells (`ltp -noff`).
    pub logic_depth: Option<u64>,
}

/// iCE40 resources (`synth_ice40`) and, where placed, Fmax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ice40Area {
    pub lut4: u64,
    pub carry: u64,
    pub dff: u64,
    pub dsp: u64,
    pub ram: u64,
    /// Device it was placed on (`up5k`, `hx8k`), if any.
    pub device: Option<String>,
    /// Fmax from nextpnr-ice40, `None` when not placed.
    pub fmax_mhz: Option<f64>,
    /// Why there is no Fmax (does not fit, nextpnr missing, ...).
    pub note: Option<String>,
}

/// Area in a cell library (the OSU 0.18 um one, or the user's), and where
/// OpenSTA ran, timing and power ([`super::ppa`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LibertyArea {
    pub library: String,
    pub cells: u64,
    /// The library's area unit (um^2 for OSU 0.18), as `stat -liberty`.
    pub area: f64,
    /// `area` again, under the name that says its unit.
    #[serde(default)]
    pub area_um2: f64,
    pub cells_by_type: BTreeMap<String, u64>,
    /// Highest clock at which the design's SDC is met, by OpenSTA.
    #[serde(default)]
    pub fmax_mhz: Option<f64>,
    /// The critical path's length at that clock (its period less slack).
    #[serde(default)]
    pub critical_path_ns: Option<f64>,
    #[serde(default)]
    pub critical_path: Option<super::sta::CriticalPath>,
    /// Power at the report's clock on measured switching activity.
    #[serde(default)]
    pub power: Option<super::sta::Power>,
    /// Why timing or power is missing, when it is.
    #[serde(default)]
    pub note: Option<String>,
}

/// What one flow run produced for one job.
#[derive(Debug, Clone)]
pub struct Output<T> {
    pub result: T,
    /// The mapped netlist, when asked for.
    pub netlist: Option<String>,
}

/// The Yosys script a flow ran, kept for the reports folder.
#[derive(Debug, Clone, Default)]
pub struct Scripts {
    pub generic: Option<String>,
    pub ice40: Option<String>,
    pub liberty: Option<String>,
}

fn stem(i: usize) -> String {
    format!("job{i}")
}

/// Lay the jobs' files out in `dir` (each job in its own folder so equal
/// file names cannot collide) and describe them for a template.
fn lay_out(jobs: &[Job], dir: &Path) -> Result<Vec<JobView>> {
    jobs.iter()
        .enumerate()
        .map(|(i, job)| {
            let sub = dir.join(format!("src{i}"));
            std::fs::create_dir_all(&sub)?;
            let mut files = Vec::new();
            for (name, text) in &job.files {
                let p = sub.join(name);
                std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
                files.push(format!("src{i}/{name}"));
            }
            Ok(JobView {
                files,
                top: job.top.clone(),
                stem: stem(i),
                netlist: job.netlist,
            })
        })
        .collect()
}

/// Lay the jobs out in a temporary folder, run each job's script in a Yosys
/// process of its own (in parallel, on threads of their own: see
/// [`super::fanout`]) and keep the whole flow's script in
/// `slot` for the report. One process per job: Yosys numbers the objects
/// it creates with a counter that `design -reset` does not reset, and ABC's
/// result depends on those names, so a job sharing a process with others
/// got an area that depended on what ran before it (a mac8x8 PE: 6,126 or
/// 5,908 transistors).
fn run_flow(
    jobs: &[Job],
    extra: &[(&str, &str)],
    slot: &mut Option<String>,
    render: impl Fn(&[JobView]) -> askama::Result<String> + Sync,
) -> Result<(tempfile::TempDir, Vec<JobView>)> {
    let dir = tempfile::tempdir()?;
    let views = lay_out(jobs, dir.path())?;
    for (name, text) in extra {
        let p = dir.path().join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let script = render(&views)?;
    super::fanout::run(&views, |v| -> Result<()> {
        let one = render(std::slice::from_ref(v))?;
        yosys::run_script_as(&one, dir.path(), &v.stem, yosys::DEFAULT_TIMEOUT)?;
        Ok(())
    })?;
    *slot = Some(script);
    Ok((dir, views))
}

/// A job's netlist file (`<stem>.<ext>`), when it asked for one.
fn read_netlist(dir: &Path, v: &JobView, ext: &str) -> Result<Option<String>> {
    if !v.netlist {
        return Ok(None);
    }
    let p = dir.join(format!("{}.{ext}", v.stem));
    Ok(Some(std::fs::read_to_string(&p).with_context(|| {
        format!("yosys wrote no {}", p.display())
    })?))
}

fn read_stat(path: &Path) -> Result<yosys::CellStats> {
    Ok(yosys::read_stat_json(path)?.design)
}

fn read_depth(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let at = text.find("length=")?;
    text[at + 7..].split(')').next()?.trim().parse().ok()
}

/// Generic CMOS area of each job (a Yosys process each, see `run_flow`).
pub fn generic(jobs: &[Job], scripts: &mut Scripts) -> Result<Vec<Output<GenericArea>>> {
    let (dir, views) = run_flow(jobs, &[], &mut scripts.generic, |jobs| {
        GenericScript {
            version: env!("CARGO_PKG_VERSION"),
            jobs,
        }
        .render()
    })?;
    views
        .iter()
        .map(|v| {
            let s = read_stat(&dir.path().join(format!("{}.stat.json", v.stem)))?;
            if !s.transistors_exact {
                bail!("yosys gave only a lower bound for the transistor count of {}: a cell type without a CMOS cost is left", v.top);
            }
            let transistors = s.transistors.context("stat -tech cmos gave no transistor estimate")?;
            let netlist = read_netlist(dir.path(), v, "netlist.v")?;
            Ok(Output {
                result: GenericArea {
                    cells: s.cells,
                    transistors,
                    cells_by_type: s.cells_by_type,
                    logic_depth: read_depth(&dir.path().join(format!("{}.ltp.txt", v.stem))),
                },
                netlist,
            })
        })
        .collect()
}

fn count(by_type: &BTreeMap<String, u64>, pred: impl Fn(&str) -> bool) -> u64 {
    by_type
        .iter()
        .filter(|(k, _)| pred(k))
        .map(|(_, v)| v)
        .sum()
}

/// iCE40 resources of each job (a Yosys process each); JSON netlists are
/// returned for placement when asked for.
pub fn ice40(jobs: &[Job], scripts: &mut Scripts) -> Result<Vec<Output<Ice40Area>>> {
    let (dir, views) = run_flow(jobs, &[], &mut scripts.ice40, |jobs| {
        Ice40Script {
            version: env!("CARGO_PKG_VERSION"),
            jobs,
        }
        .render()
    })?;
    views
        .iter()
        .map(|v| {
            let s = read_stat(&dir.path().join(format!("{}.stat.json", v.stem)))?;
            let by = &s.cells_by_type;
            let netlist = read_netlist(dir.path(), v, "ice40.json")?;
            Ok(Output {
                result: Ice40Area {
                    lut4: count(by, |k| k == "SB_LUT4"),
                    carry: count(by, |k| k == "SB_CARRY"),
                    dff: count(by, |k| k.starts_with("SB_DFF")),
                    dsp: count(by, |k| k == "SB_MAC16"),
                    ram: count(by, |k| k.starts_with("SB_RAM") || k.starts_with("SB_SPRAM")),
                    device: None,
                    fmax_mhz: None,
                    note: None,
                },
                netlist,
            })
        })
        .collect()
}

/// Area of each job in the liberty library at `lib`.
pub fn liberty(
    jobs: &[Job],
    lib: &Path,
    scripts: &mut Scripts,
) -> Result<Vec<Output<LibertyArea>>> {
    if !lib.is_file() {
        bail!("--target liberty: {} is not a readable file", lib.display());
    }
    let lib_abs = std::fs::canonicalize(lib)?;
    let lib_text = lib_abs.display().to_string();
    let buffered = has_timing(
        &std::fs::read_to_string(&lib_abs)
            .with_context(|| format!("--target liberty: cannot read {}", lib.display()))?,
    );
    let extra = [(ABC_CONSTR_FILE, ABC_CONSTR)];
    let (dir, views) = run_flow(jobs, &extra, &mut scripts.liberty, |jobs| {
        LibertyScript {
            version: env!("CARGO_PKG_VERSION"),
            jobs,
            liberty: &lib_text,
            delay_ps: abc_delay_ps(),
            constr: ABC_CONSTR_FILE,
            buffered,
        }
        .render()
    })
    .with_context(|| format!("synthesis onto {} failed", lib.display()))?;
    views
        .iter()
        .map(|v| {
            let s = read_stat(&dir.path().join(format!("{}.stat.json", v.stem)))?;
            let text = std::fs::read_to_string(dir.path().join(format!("{}.area.txt", v.stem)))?;
            let area = text
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("Chip area for module")
                        .and_then(|r| r.rsplit(':').next())
                })
                .and_then(|a| a.trim().parse::<f64>().ok())
                .context("yosys printed no chip area: does the library give cell areas?")?;
            Ok(Output {
                result: LibertyArea {
                    library: lib.display().to_string(),
                    cells: s.cells,
                    area,
                    area_um2: area,
                    cells_by_type: s.cells_by_type,
                    fmax_mhz: None,
                    critical_path_ns: None,
                    critical_path: None,
                    power: None,
                    note: None,
                },
                netlist: read_netlist(dir.path(), v, "lib.v")?,
            })
        })
        .collect()
}

/// iCE40 devices tried for placement, smallest first: (name, nextpnr flag,
/// package, logic cells).
pub const ICE40_DEVICES: &[(&str, &str, &str, u64)] = &[
    ("up5k", "--up5k", "sg48", 5280),
    ("hx8k", "--hx8k", "ct256", 7680),
];

#[derive(Deserialize)]
struct NextpnrReport {
    fmax: BTreeMap<String, NextpnrClock>,
}

#[derive(Deserialize)]
struct NextpnrClock {
    achieved: f64,
}

/// Place and route a wrapped design's JSON netlist on the smallest device
/// whose logic cells hold `lcs`; fills `device`, `fmax_mhz` and `note`.
pub fn place(json_netlist: &str, lcs: u64, area: &mut Ice40Area) -> Result<()> {
    if let Err(e) = tools::find(Tool::NextpnrIce40) {
        area.note = Some(format!("not placed: {e}"));
        return Ok(());
    }
    let Some(&(name, flag, package, cap)) = ICE40_DEVICES.iter().find(|d| lcs <= d.3 * 9 / 10)
    else {
        area.note = Some(format!(
            "does not fit: about {lcs} logic cells, the largest device tried ({}) has {}",
            ICE40_DEVICES.last().map_or("", |d| d.0),
            ICE40_DEVICES.last().map_or(0, |d| d.3)
        ));
        return Ok(());
    };
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("net.json"), json_netlist)?;
    let mut cmd = Command::new("nextpnr-ice40");
    cmd.args([
        flag,
        "--package",
        package,
        "--json",
        "net.json",
        "--report",
        "report.json",
    ])
    .args([
        "--freq",
        "100",
        "--timing-allow-fail",
        "--quiet",
        "--seed",
        "1",
    ])
    .current_dir(dir.path());
    let out = crate::process::output_within(&mut cmd, crate::process::PNR)
        .context("cannot run nextpnr-ice40")?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err
            .lines()
            .find(|l| l.contains("ERROR"))
            .unwrap_or("nextpnr-ice40 failed");
        area.note = Some(format!("not placed on {name} ({cap} LCs): {first}"));
        return Ok(());
    }
    let text = std::fs::read_to_string(dir.path().join("report.json"))
        .context("nextpnr wrote no report")?;
    let report: NextpnrReport =
        serde_json::from_str(&text).context("nextpnr report is not JSON")?;
    area.device = Some(name.to_string());
    area.fmax_mhz = report.fmax.values().map(|c| c.achieved).reduce(f64::min);
    if area.fmax_mhz.is_none() {
        area.note = Some("placed, but nextpnr found no register-to-register path".into());
    }
    Ok(())
}

/// Where the jobs' temporary folders go is up to the OS; only scripts are
/// kept. A path for a report's script copy.
pub fn script_name(target: &str) -> PathBuf {
    PathBuf::from(format!("synth_{target}.ys"))
}
