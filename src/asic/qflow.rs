//! Driving qflow: the project folder it wants (`source/`, `synthesis/`,
//! `layout/`, `log/`, `project_vars.sh`), each of its runs under a time
//! limit, and what its logs say (routed and failed nets, DRC, LVS).

use super::AsicError;
use crate::process;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The technology qflow runs on, and where Debian installs it.
pub const TECH: &str = "osu018";
pub const TECH_DIR: &str = "/usr/share/qflow/tech/osu018";
pub const LIBERTY: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lib";
pub const LEF: &str = "/usr/share/qflow/tech/osu018/osu018_stdcells.lef";
/// GrayWolf's parameter file for the technology (qflow copies it to
/// `layout/<top>.par` unless one is there).
pub const PAR: &str = "/usr/share/qflow/tech/osu018/osu018.par";
/// The filler cell qflow adds to continue the rows.
pub const FILL: &str = "FILL";
/// Where qflow keeps its helper programs (rc2dly).
pub const BIN_DIR: &str = "/usr/lib/qflow/bin";
/// The one line that installs the flow.
pub const INSTALL: &str =
    "apt-get install --no-install-recommends qflow qflow-tech-osu018 (or run scripts/setup.sh)";

/// A qflow project in a folder of its own.
pub struct Project {
    pub dir: PathBuf,
    pub top: String,
}

/// What the user may set for placement and routing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Knobs {
    /// Target placement density (qflow's `initial_density`, 0..1).
    pub utilization: Option<f64>,
    /// Metal layers the router may use (1..6; qflow's `route_layers`).
    pub route_layers: Option<u32>,
    /// GrayWolf's `TWSC*fast N`: its annealing tries 1/N of its usual moves
    /// per cell and temperature (1: its full schedule); `None`: chosen from
    /// the cell count by [`auto_fast`].
    pub place_fast: Option<u32>,
}

/// Cells per step of [`auto_fast`]: up to this many, GrayWolf runs its
/// full schedule.
pub const CELLS_PER_FAST: usize = 3000;

/// The `fast` divisor for a netlist of `cells` cells: 1 up to
/// [`CELLS_PER_FAST`] cells (a PE), then one more per [`CELLS_PER_FAST`]
/// (GrayWolf's moves per temperature grow as cells^(4/3); this keeps a 4x4
/// array's placement to tens of minutes instead of hours).
pub fn auto_fast(cells: usize) -> u32 {
    (cells.div_ceil(CELLS_PER_FAST)).clamp(1, 16) as u32
}

/// Minutes each step may take per 1,000 cells when [`step_limit`] chooses.
pub const MINUTES_PER_KILOCELL: u64 = 5;

/// The time limit of each step after synthesis when the user sets none:
/// [`crate::process::PNR`] (30 minutes), or [`MINUTES_PER_KILOCELL`] per
/// 1,000 cells when more. A PE (1,600 cells) gets 30 minutes; a 4x4 SPARQ
/// array (26,900) 135, where its placement alone took over 30 minutes on a
/// loaded 2-core machine and its routing about an hour.
pub fn step_limit(cells: usize) -> Duration {
    let scaled = Duration::from_secs(MINUTES_PER_KILOCELL * 60 * cells as u64 / 1000);
    scaled.max(process::PNR)
}

/// Up to this many cells qrouter runs its stage 3 (rip-up and reroute of
/// every net after all are routed, to shorten them); above, it stops when
/// stage 2 has routed every net. On the 4x4 arrays (19,800 to 26,900
/// cells) stage 2 routed every net each time, and stage 3's two rounds took
/// about an hour more.
pub const ROUTE_CLEANUP_CELLS: usize = 3000;

/// Whether qrouter runs its stage 3 on a netlist of `cells` cells.
pub fn route_cleanup(cells: usize) -> bool {
    cells <= ROUTE_CLEANUP_CELLS
}

/// The qrouter script of [`Project::write_route_script`]; `None` for
/// qflow's own.
pub fn route_script(top: &str, cleanup: bool) -> Option<String> {
    (!cleanup).then(|| {
        format!(
            "# written by sparqgen: qrouter's standard routing with stage 3 bypassed\n\
             qrouter::standard_route {top}_route.def false true\nquit\n"
        )
    })
}

/// qflow's `project_vars.sh` for the user's settings.
pub fn vars_text(knobs: Knobs) -> String {
    let mut vars = String::from("#!/usr/bin/tcsh -f\n# written by sparqgen\n");
    if let Some(u) = knobs.utilization {
        vars.push_str(&format!("set initial_density = {u}\n"));
    }
    if let Some(l) = knobs.route_layers {
        vars.push_str(&format!("set route_layers = {l}\n"));
    }
    vars
}

/// The logic cells of qflow's synthesized netlist (its BLIF's gates,
/// fanout buffers included): what GrayWolf will place.
pub fn blif_cells(blif: &str) -> usize {
    blif.lines().filter(|l| l.starts_with(".gate ")).count()
}

/// GrayWolf's parameter file: the technology's, with `TWSC*fast N` and
/// `TWSC*gr_placement_improve : off` when `fast` > 1. The second halves
/// GrayWolf's own global-routing passes (8 -> 4) and drops the cell swaps
/// between them; on a 4x4 array those passes, not the anneal, were most of
/// the placement time. Qrouter does the real routing either way.
pub fn par_text(tech_par: &str, fast: u32) -> String {
    let mut s = tech_par.trim_end().to_string();
    s.push('\n');
    if fast > 1 {
        s.push_str(&format!(
            "\n# written by sparqgen: 1/{fast} of the annealing moves per cell and temperature\nTWSC*fast : {fast}\n\
             # and 4 global-routing passes without cell swaps instead of 8 with them\nTWSC*gr_placement_improve : off\n"
        ));
    }
    s
}

impl Project {
    /// A project for module `top` whose Verilog is `source` (one file).
    pub fn create(dir: &Path, top: &str, source: &str, knobs: Knobs) -> std::io::Result<Project> {
        for sub in ["source", "synthesis", "layout", "log"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let p = Project {
            dir: dir.to_path_buf(),
            top: top.to_string(),
        };
        std::fs::write(p.source(), source)?;
        std::fs::write(dir.join("project_vars.sh"), vars_text(knobs))?;
        Ok(p)
    }

    /// The routed project an earlier run left in `dir` (`--keep-work`), for
    /// going on from its routing: only when it was made from the same
    /// `source` with the same settings and its router routed every net.
    /// With its cell count; else why not.
    pub fn routed(
        dir: &Path,
        top: &str,
        source: &str,
        knobs: Knobs,
    ) -> Result<(Project, usize), String> {
        let p = Project {
            dir: dir.to_path_buf(),
            top: top.to_string(),
        };
        let read = |f: PathBuf| std::fs::read_to_string(f).unwrap_or_default();
        if read(p.source()) != source {
            return Err(
                "its Verilog differs from the design's (the design or sparqgen changed)".into(),
            );
        }
        if read(dir.join("project_vars.sh")) != vars_text(knobs) {
            return Err("it was made with other settings (--utilization, --route-layers)".into());
        }
        let cells = blif_cells(&read(p.synthesis(".blif")));
        let fast = knobs.place_fast.unwrap_or_else(|| auto_fast(cells));
        let par = std::fs::read_to_string(PAR).map_err(|e| format!("{PAR}: {e}"))?;
        if cells == 0 || read(p.layout(".par")) != par_text(&par, fast) {
            return Err("its synthesis or placement settings differ (--place-fast)".into());
        }
        let script = route_script(top, route_cleanup(cells)).unwrap_or_default();
        if read(p.layout(".cfg2")) != script {
            return Err("it was routed with another qrouter script (an older sparqgen)".into());
        }
        if route_verdict(&p.read_log("route")) != Some(Routed::All) || !p.layout(".def").is_file() {
            return Err("its routing did not finish with every net routed".into());
        }
        Ok((p, cells))
    }

    pub fn source(&self) -> PathBuf {
        self.dir.join("source").join(format!("{}.v", self.top))
    }

    pub fn synthesis(&self, ext: &str) -> PathBuf {
        self.dir
            .join("synthesis")
            .join(format!("{}{ext}", self.top))
    }

    pub fn layout(&self, ext: &str) -> PathBuf {
        self.dir.join("layout").join(format!("{}{ext}", self.top))
    }

    pub fn log(&self, stage: &str) -> PathBuf {
        self.dir.join("log").join(format!("{stage}.log"))
    }

    /// Write GrayWolf's parameter file (after `qflow synthesize`, before
    /// `qflow place`).
    pub fn write_par(&self, fast: u32) -> std::io::Result<()> {
        let tech = std::fs::read_to_string(PAR)?;
        std::fs::write(self.layout(".par"), par_text(&tech, fast))
    }

    /// qrouter's script (`layout/<top>.cfg2`, which qflow's placement step
    /// puts in place of its own routing command): without a file, qflow's
    /// `qrouter::standard_route`; when `cleanup` is false, the same
    /// routine with its stage 3 bypassed (see [`route_cleanup`]). Written
    /// before `qflow place`.
    pub fn write_route_script(&self, cleanup: bool) -> std::io::Result<()> {
        let path = self.layout(".cfg2");
        match route_script(&self.top, cleanup) {
            Some(text) => std::fs::write(path, text),
            None if path.exists() => std::fs::remove_file(path),
            None => Ok(()),
        }
    }

    /// Magic on the routed layout again, to list what its design-rule
    /// errors are (qflow's DRC step prints only their number). Empty when
    /// Magic could not say.
    pub fn drc_kinds(&self, limit: Duration) -> Vec<DrcKind> {
        let script = self.dir.join("layout").join("sparqgen_drc_why.tcl");
        if std::fs::write(&script, drc_why_script(&self.top)).is_err() {
            return Vec::new();
        }
        let mut cmd = Command::new("magic");
        cmd.args(["-dnull", "-noconsole"])
            .arg(&script)
            .current_dir(self.dir.join("layout"));
        match process::group_output_within(&mut cmd, limit) {
            Ok(out) => drc_kinds(&String::from_utf8_lossy(&out.stdout)),
            Err(_) => Vec::new(),
        }
    }

    /// Rip up `nets` and route them again in a fresh qrouter session on
    /// the routed layout ([`reroute_script`]); then their routes and wire
    /// delays replace theirs in `layout/<top>.def` (whose text is `def`)
    /// and `.rc` (the DEF as it was is kept as `<top>_lvs_open.def`). Every
    /// other net keeps its route. The nets qrouter could not route again
    /// are an error.
    pub fn reroute(&self, nets: &[String], def: &str, limit: Duration) -> Result<(), AsicError> {
        let stage = "qrouter (routing nets again)";
        let err = |why: String, tail: String| AsicError::Stage {
            stage: stage.into(),
            why,
            tail,
        };
        let layout = self.dir.join("layout");
        let cfg = std::fs::read_to_string(self.layout(".cfg"))
            .map_err(|e| err(format!("no router settings ({e})"), String::new()))?;
        let script = reroute_script(&cfg, &self.top, nets).ok_or_else(|| {
            err(
                "the router settings have no read_def, or a net's name cannot be quoted".into(),
                String::new(),
            )
        })?;
        let unrouted = super::def::unroute_nets(def, nets).ok_or_else(|| {
            err(
                "a net to route again is not in the routed DEF".into(),
                String::new(),
            )
        })?;
        std::fs::write(self.layout("_reroute_in.def"), unrouted)
            .map_err(|e| err(e.to_string(), String::new()))?;
        let name = format!("{}_reroute.cfg", self.top);
        std::fs::write(layout.join(&name), script)
            .map_err(|e| err(e.to_string(), String::new()))?;
        let mut cmd = Command::new(Path::new(BIN_DIR).join("qrouter"));
        cmd.args(["-nog", "-s", &name]).current_dir(&layout);
        let out = process::group_output_within(&mut cmd, limit)
            .map_err(|e| err(e.to_string(), String::new()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::write(self.log("reroute"), &text);
        let (failed, all) = reroute_failures(&text, nets);
        if !all || !failed.is_empty() {
            return Err(err(
                if all {
                    format!("qrouter could not route {} again", failed.join(", "))
                } else {
                    "qrouter did not route every net again".into()
                },
                tail(&text, 12),
            ));
        }
        let read = |p: PathBuf| {
            std::fs::read_to_string(&p)
                .map_err(|e| err(format!("{} ({e})", p.display()), tail(&text, 12)))
        };
        let new_def = read(self.layout("_reroute.def"))?;
        let spliced = super::def::splice_nets(def, &new_def, nets).ok_or_else(|| {
            err(
                "the rerouted DEF does not have the nets' entries where the routed one has them"
                    .into(),
                String::new(),
            )
        })?;
        let write = |p: PathBuf, text: &str| {
            std::fs::write(&p, text)
                .map_err(|e| err(format!("{} ({e})", p.display()), String::new()))
        };
        write(self.layout("_lvs_open.def"), def)?;
        write(self.layout(".def"), &spliced)?;
        if let (Ok(rc), Ok(new_rc)) = (
            std::fs::read_to_string(self.layout(".rc")),
            std::fs::read_to_string(self.layout("_reroute.rc")),
        ) {
            write(
                self.layout(".rc"),
                &super::def::splice_rc(&rc, &new_rc, nets),
            )?;
        }
        Ok(())
    }

    pub fn read_log(&self, stage: &str) -> String {
        std::fs::read_to_string(self.log(stage)).unwrap_or_default()
    }

    /// `qflow STAGES -T osu018 TOP` in the project, killed with every tool
    /// it started after `limit`. Returns qflow's own output.
    pub fn run(&self, stages: &[&str], limit: Duration) -> Result<String, AsicError> {
        let mut cmd = Command::new("qflow");
        cmd.args(stages)
            .args(["-T", TECH, &self.top])
            .current_dir(&self.dir);
        let what = format!("qflow {}", stages.join(" "));
        let out = process::group_output_within(&mut cmd, limit).map_err(|e| AsicError::Stage {
            stage: what.clone(),
            why: match e {
                process::RunError::TimedOut(_) => format!(
                    "{e}; if it was only slow (a large design, a busy machine), give it longer: \
                     --step-minutes N (this limit: {} min)",
                    limit.as_secs().div_ceil(60)
                ),
                _ => e.to_string(),
            },
            tail: String::new(),
        })?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            return Err(AsicError::Stage {
                stage: what,
                why: format!("it exited with {}", out.status),
                tail: tail(&text, 20),
            });
        }
        Ok(text)
    }
}

/// The last `n` lines of a log.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The `n` lines of the router's log up to its `Final:` verdict (after it
/// comes the list of failed nets, which the error gives separately).
pub fn verdict_context(log: &str, n: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    match lines.iter().rposition(|l| l.starts_with("Final:")) {
        Some(end) => lines[end.saturating_sub(n - 1)..=end].join("\n"),
        None => tail(log, n),
    }
}

/// What the router's log says at the end.
#[derive(Debug, Clone, PartialEq)]
pub enum Routed {
    All,
    Failed(usize),
}

/// qrouter's verdict: `Final: No failed routes!` or `Final: Failed net
/// routes: N`; `None` when it did not get that far.
pub fn route_verdict(log: &str) -> Option<Routed> {
    let last = log.lines().rev().find(|l| l.starts_with("Final:"))?;
    if last.contains("No failed routes") {
        return Some(Routed::All);
    }
    last.rsplit(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .map(Routed::Failed)
}

/// The failed nets qrouter lists in `layout/fail.out` (first line a count).
pub fn failed_nets(fail_out: &str) -> Vec<String> {
    fail_out
        .lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Magic's DRC count (`drc = N`, the last one).
pub fn drc_errors(log: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("drc = ")?.trim().parse().ok())
}

/// One kind of design-rule error Magic found: its rule, how many error
/// areas, and the areas (um: llx, lly, urx, ury; the first
/// [`DRC_BOXES_LISTED`] of them).
#[derive(Debug, Clone, PartialEq)]
pub struct DrcKind {
    pub why: String,
    pub count: usize,
    pub boxes_um: Vec<[f64; 4]>,
}

/// How many error areas of each kind [`drc_why_script`] lists.
pub const DRC_BOXES_LISTED: usize = 200;

impl std::fmt::Display for DrcKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} x {}", self.count, self.why)?;
        if let Some([x0, y0, x1, y1]) = self.boxes_um.first() {
            write!(f, " (first at ({x0:.2}, {y0:.2}) - ({x1:.2}, {y1:.2}) um)")?;
        }
        Ok(())
    }
}

/// Magic's script that checks the routed layout of `top` (as qflow's DRC
/// step does) and prints each error kind: `DRCSCALE s` (um per internal
/// unit), then `DRCWHY count<TAB>rule<TAB>llx lly urx ury<TAB>...` per kind
/// (up to [`DRC_BOXES_LISTED`] areas).
pub fn drc_why_script(top: &str) -> String {
    let last = DRC_BOXES_LISTED - 1;
    format!(
        "lef read {LEF}\nload {top}\ndrc on\nselect top cell\nexpand\ndrc check\ndrc catchup\n\
         puts stdout \"DRCSCALE [cif scale out]\"\n\
         foreach {{why boxes}} [drc listall why] {{\n  \
         puts stdout \"DRCWHY [llength $boxes]\\t$why\\t[join [lrange $boxes 0 {last}] \"\\t\"]\"\n}}\nquit -noprompt\n"
    )
}

/// The error kinds in the output of [`drc_why_script`], most frequent first.
pub fn drc_kinds(out: &str) -> Vec<DrcKind> {
    let scale = out
        .lines()
        .find_map(|l| l.strip_prefix("DRCSCALE ")?.trim().parse::<f64>().ok())
        .unwrap_or(1.0);
    let mut kinds: Vec<DrcKind> = out
        .lines()
        .filter_map(|l| {
            let mut f = l.strip_prefix("DRCWHY ")?.split('\t');
            let count = f.next()?.trim().parse().ok()?;
            let why = f.next()?.trim().to_string();
            let boxes_um = f
                .filter_map(|b| {
                    let v: Vec<f64> = b
                        .split_whitespace()
                        .filter_map(|v| v.parse::<f64>().ok())
                        .collect();
                    Some(<[f64; 4]>::try_from(v).ok()?.map(|v| v * scale))
                })
                .collect();
            Some(DrcKind {
                why,
                count,
                boxes_um,
            })
        })
        .collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.count));
    kinds
}

/// Netgen's verdict: (matched, the verdict line, total errors).
pub fn lvs_result(log: &str) -> (bool, String, Option<u64>) {
    let verdict = log
        .lines()
        .rev()
        .find(|l| {
            l.starts_with("Result:")
                || l.contains("Netlists match")
                || l.contains("Netlists do not match")
        })
        .unwrap_or("no LVS verdict in the log")
        .trim()
        .to_string();
    let errors = log.lines().rev().find_map(|l| {
        l.trim()
            .strip_prefix("Total errors = ")?
            .trim()
            .parse()
            .ok()
    });
    let matched =
        verdict.contains("match uniquely") && !verdict.contains("do not") && errors == Some(0);
    (matched, verdict, errors)
}

/// The nets Netgen's `comp.out` lists with "(no matching net)" on the
/// other side, as that side names them (`Net: NAME  |(no matching net)`).
pub fn lvs_unmatched(comp: &str) -> Vec<String> {
    let mut nets: Vec<String> = comp
        .lines()
        .filter(|l| l.contains("(no matching net)"))
        .flat_map(|l| l.split('|'))
        .filter_map(|side| side.trim().strip_prefix("Net: "))
        .map(|n| n.trim().to_string())
        .collect();
    nets.dedup();
    nets
}

/// Every net name in Netgen's list of mismatched nets (`comp.out`, the
/// class fragments after "NET mismatches"), from both circuits: the
/// layout's (`CELL/PIN` when the net carries no label) and the netlist's.
pub fn lvs_mismatched(comp: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let Some(from) = comp.find("NET mismatches") else {
        return names;
    };
    for line in comp[from..].lines() {
        for side in line.split('|') {
            if let Some(n) = side.trim().strip_prefix("Net: ") {
                let n = n.trim().to_string();
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        }
    }
    names
}

/// The qrouter script that routes `nets` again on the routed layout: the
/// router's settings as qflow wrote them for the project (`cfg`, up to its
/// `read_def`), the routed DEF with those nets left unrouted
/// (`<top>_reroute_in.def`, [`super::def::unroute_nets`]), each net routed
/// by stage 1 alone (it rips up no other net), and the DEF and wire delays
/// written to `<top>_reroute.def` and `.rc`. No `cleanup` of adjacent vias
/// after it: that clean-up is where qrouter drops a via from a route that
/// it routed whole (seen on the mac8x8 4x4 array, where its routes end
/// beside their pins; routed again without it, they reach them). Magic's
/// DRC judges the result. `None` when `cfg` has no `read_def` or a net's name does not
/// go into Tcl braces as it is.
pub fn reroute_script(cfg: &str, top: &str, nets: &[String]) -> Option<String> {
    let head: Vec<&str> = cfg
        .lines()
        .take_while(|l| !l.trim_start().starts_with("read_def"))
        .collect();
    if head.len() == cfg.lines().count()
        || nets.is_empty()
        || nets.iter().any(|n| {
            n.is_empty() || n.contains(['{', '}', '\\']) || n.contains(char::is_whitespace)
        })
    {
        return None;
    }
    let braced: Vec<String> = nets.iter().map(|n| format!("{{{n}}}")).collect();
    let mut s = String::from("# written by sparqgen: route again the nets LVS found open\n");
    for l in head {
        s.push_str(l);
        s.push('\n');
    }
    s.push_str(&format!("read_def {top}_reroute_in.def\n"));
    // The name goes through a variable: inside quotes Tcl would substitute
    // its `$` and `[`.
    for b in &braced {
        s.push_str(&format!(
            "set net {b}\nputs \"{REROUTED} [stage1 route $net] $net\"\n"
        ));
    }
    s.push_str(&format!(
        "write_def {top}_reroute.def\nwrite_delays {top}_reroute.rc\nquit\n"
    ));
    Some(s)
}

/// How the reroute script marks each net's stage-1 result in qrouter's
/// output: `sparqgen-rerouted FAILED-COUNT NET`.
const REROUTED: &str = "sparqgen-rerouted";

/// The nets qrouter's output says it could not route again (each net's
/// stage 1 result other than 0), and whether it said something for every
/// one of `nets`.
pub fn reroute_failures(out: &str, nets: &[String]) -> (Vec<String>, bool) {
    let mut failed = Vec::new();
    let mut seen = 0;
    for l in out.lines() {
        let Some(rest) = l.trim().strip_prefix(REROUTED) else {
            continue;
        };
        let rest = rest.trim();
        let Some((count, net)) = rest.split_once(' ') else {
            continue;
        };
        if !nets.iter().any(|n| n == net) {
            continue;
        }
        seen += 1;
        if count.trim() != "0" {
            failed.push(net.to_string());
        }
    }
    (failed, seen == nets.len())
}

/// Versions of the tools, for the report.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Versions {
    pub qflow: String,
    pub yosys: String,
    pub graywolf: String,
    pub qrouter: String,
    pub magic: String,
    pub netgen: String,
    pub opensta: String,
}

fn probe(program: &str, args: &[&str], last: bool) -> String {
    let Ok(out) = process::output_within(Command::new(program).args(args), process::PROBE) else {
        return "unknown".into();
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let line = if last {
        lines.next_back()
    } else {
        lines.next()
    };
    line.unwrap_or("unknown").to_string()
}

/// qflow and the OSU 0.18 um files present (else [`AsicError::Missing`]),
/// with the versions of the tools that can tell.
pub fn find_tools() -> Result<Versions, AsicError> {
    let qflow = process::output_within(Command::new("qflow").arg("-v"), process::PROBE);
    let missing = |what: &str| AsicError::Missing {
        what: what.to_string(),
    };
    let qflow = match qflow {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .lines()
            .next()
            .unwrap_or("qflow")
            .trim()
            .to_string(),
        Err(_) => return Err(missing("qflow was not found on PATH")),
    };
    for f in [LIBERTY, LEF, PAR] {
        if !Path::new(f).is_file() {
            return Err(missing(&format!(
                "the OSU 0.18 um library ({f}) is not installed"
            )));
        }
    }
    if !Path::new(BIN_DIR).join("rc2dly").is_file() {
        return Err(missing(&format!(
            "qflow's rc2dly ({BIN_DIR}/rc2dly) is missing"
        )));
    }
    Ok(Versions {
        qflow,
        yosys: probe("yosys", &["-V"], false),
        graywolf: "graywolf (as packaged with qflow; it prints no version)".into(),
        qrouter: format!(
            "qrouter {}",
            probe(&format!("{BIN_DIR}/qrouter"), &["-v", "0", "-h"], true)
        ),
        magic: format!("magic {}", probe("magic", &["--version"], false)),
        netgen: "netgen (version in logs/lvs.log)".into(),
        opensta: format!("OpenSTA {}", probe("sta", &["-version"], false)),
    })
}

/// Netgen's version from the LVS log (it has no version flag of its own).
pub fn netgen_version(lvs_log: &str) -> Option<String> {
    lvs_log
        .lines()
        .find(|l| l.starts_with("Netgen "))
        .map(|l| l.split(" compiled").next().unwrap_or(l).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_logs_verdicts() {
        assert_eq!(
            route_verdict("x\nFinal: No failed routes!\n"),
            Some(Routed::All)
        );
        assert_eq!(
            route_verdict("Final: Failed net routes: 1690\n"),
            Some(Routed::Failed(1690))
        );
        assert_eq!(route_verdict("Nets remaining: 3\n"), None);
        assert_eq!(
            failed_nets("2 nets failed to route:\n vdd\n _255_\n"),
            ["vdd", "_255_"]
        );
        assert_eq!(
            drc_errors("Loading\ndrc = 0\nDRC checking script ended"),
            Some(0)
        );
        assert_eq!(drc_errors("nothing"), None);
        assert_eq!(step_limit(1648), process::PNR);
        assert_eq!(step_limit(26_889), Duration::from_secs(134 * 60 + 26));
        // Magic's own output for a layout with two kinds of error (the
        // lines around them are Magic's chatter).
        let kinds = drc_kinds(
            "Root cell box:\nDRCSCALE 0.10000000149011612\n\
             DRCWHY 1\tMetal1 width < 3 (Mosis #7.1)\t1000 1000 1002 1002\n\
             DRCWHY 2\tMetal2 spacing < 3 (Mosis #9.2)\t2001 2002 2003 2003\t3001 3002 3003 3003\n",
        );
        assert_eq!(kinds.len(), 2);
        assert_eq!(kinds[0].why, "Metal2 spacing < 3 (Mosis #9.2)");
        assert_eq!(kinds[0].count, 2);
        assert_eq!(kinds[0].boxes_um.len(), 2);
        assert!((kinds[0].boxes_um[1][1] - 300.2).abs() < 1e-4);
        assert!((kinds[0].boxes_um[0][0] - 200.1).abs() < 1e-4);
        assert!((kinds[1].boxes_um[0][3] - 100.2).abs() < 1e-4);
        assert_eq!(
            kinds[1].to_string(),
            "1 x Metal1 width < 3 (Mosis #7.1) (first at (100.00, 100.00) - (100.20, 100.20) um)"
        );
        assert!(drc_kinds("drc = 0").is_empty());
        let (ok, v, e) = lvs_result(
            "Netlists match uniquely.\nResult: Circuits match uniquely.\nTotal errors = 0\n",
        );
        assert!(ok, "{v}");
        assert_eq!(e, Some(0));
        let (ok, _, _) = lvs_result("Netlists do not match.\nTotal errors = 3\n");
        assert!(!ok);
        // Netgen's comp.out on the mac8x8 array: two fragments with a
        // partner, one pin alone on each side.
        let comp = "Net: OAI21X1_3340/A                        |Net: _14915_                               \n  OAI21X1/A = 2                            |  AOI21X1/Y = 1\n\
                    Net: NOR3X1_295/A                          |(no matching net)                          \n  NOR3X1/A = 1                             |\n\
                    (no matching net)                          |Net: _1_                                   \n";
        assert_eq!(lvs_unmatched(comp), ["NOR3X1_295/A", "_1_"]);
        assert!(lvs_unmatched("Netlists match uniquely.").is_empty());
        assert!(lvs_mismatched(comp).is_empty(), "no NET mismatches heading");
        let listed =
            format!("NET mismatches: Class fragments follow (with fanout counts):\n{comp}");
        assert_eq!(
            lvs_mismatched(&listed),
            ["OAI21X1_3340/A", "_14915_", "NOR3X1_295/A", "_1_"]
        );
        assert_eq!(
            blif_cells(".model t\n.gate INVX1 A=a Y=b\n.gate DFFSR D=b\n.end\n"),
            2
        );
        assert!(route_cleanup(1_648) && route_cleanup(3_000) && !route_cleanup(19_761));
        assert_eq!(route_script("t", true), None);
        let script = route_script("t", false).unwrap();
        assert!(
            script.contains("\nqrouter::standard_route t_route.def false true\nquit\n"),
            "{script}"
        );
        assert_eq!(auto_fast(0), 1);
        assert_eq!(auto_fast(1_700), 1);
        assert_eq!(auto_fast(3_000), 1);
        assert_eq!(auto_fast(3_001), 2);
        assert_eq!(auto_fast(26_889), 9);
        assert_eq!(auto_fast(1_000_000), 16);
        let par = par_text("RULES\nENDRULES\n", 4);
        assert!(par.starts_with("RULES\nENDRULES\n"));
        assert!(par.contains("\nTWSC*fast : 4\n"), "{par}");
        assert!(par.contains("\nTWSC*gr_placement_improve : off\n"), "{par}");
        assert!(!par_text("RULES\n", 1).contains("fast"));
        assert!(!par_text("RULES\n", 1).contains("improve"));
        assert_eq!(
            netgen_version("Netgen 1.5.133 compiled on Thu Dec  1 22:32:11 UTC 2022").as_deref(),
            Some("Netgen 1.5.133")
        );
    }

    #[test]
    fn nets_are_routed_again_with_the_projects_settings() {
        let cfg = "# qrouter runtime script for project t\n\nverbose 1\nread_lef /x.lef\n\
                   via stack 1\nobstruction 0 0 1 1 metal1\nread_def t.def\n\
                   qrouter::standard_route t_route.def false true\nquit\n";
        let nets = vec!["_16488_".to_string(), "act_i[3_bF$buf2]".to_string()];
        let s = reroute_script(cfg, "t", &nets).unwrap();
        assert!(
            s.contains("via stack 1\nobstruction 0 0 1 1 metal1\nread_def t_reroute_in.def\n"),
            "{s}"
        );
        assert!(
            s.contains("read_def t_reroute_in.def\nset net {_16488_}\n"),
            "{s}"
        );
        assert!(
            s.contains(
                "set net {act_i[3_bF$buf2]}\nputs \"sparqgen-rerouted [stage1 route $net] $net\"\n"
            ),
            "{s}"
        );
        assert!(s.ends_with("write_def t_reroute.def\nwrite_delays t_reroute.rc\nquit\n"));
        // No clean-up, no standard route, nothing qflow wrote after read_def.
        assert!(
            !s.contains("cleanup") && !s.contains("standard_route"),
            "{s}"
        );
        assert_eq!(s.matches("read_def").count(), 1);
        assert!(reroute_script("verbose 1\n", "t", &nets).is_none());
        assert!(reroute_script(cfg, "t", &[]).is_none());
        assert!(reroute_script(cfg, "t", &["a}b".to_string()]).is_none());
        assert!(reroute_script(cfg, "t", &["a b".to_string()]).is_none());
        let out = "Nets remaining: 3\nsparqgen-rerouted 0 _16488_\nsparqgen-rerouted 1 act_i[3_bF$buf2]\n";
        assert_eq!(
            reroute_failures(out, &nets),
            (vec!["act_i[3_bF$buf2]".to_string()], true)
        );
        let (failed, all) = reroute_failures("sparqgen-rerouted 0 _16488_\n", &nets);
        assert!(failed.is_empty() && !all);
    }
}
