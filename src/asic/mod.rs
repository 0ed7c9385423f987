//! `sparqgen asic`: a generated design through qflow on the OSU 0.18 um
//! library, from Verilog to a routed, DRC- and LVS-checked layout.
//!
//! - [`qflow`]: the project folder, each qflow run under a time limit, and
//!   what its logs say (failed nets, DRC, LVS).
//! - [`def`]: the routed DEF and the LEF: die, core, cell area, wire length.
//! - [`sta`]: OpenSTA before routing and after it, with qrouter's extracted
//!   wire delays.
//! - [`picture`]: the layout drawn to a PNG without a display.
//! - [`proof`]: the routed gate netlist proven equal to the model (a PE)
//!   or co-simulated against it (an array).

pub mod def;
pub mod picture;
pub mod proof;
pub mod qflow;
pub mod sta;

use crate::config::{ArrayShape, Design};
use crate::rtl::Generated;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Why a layout was not made.
#[derive(Debug, thiserror::Error)]
pub enum AsicError {
    /// The flow is not installed (exit 2).
    #[error("{what}; install the flow with: {}", qflow::INSTALL)]
    Missing { what: String },
    /// The router left nets unrouted (exit 1).
    #[error(
        "routing failed: {count} net(s) of {top} could not be routed: {}{}\nlast lines of the router's log:\n{tail}",
        nets.iter().take(20).cloned().collect::<Vec<_>>().join(", "),
        if nets.len() > 20 { format!(" (and {} more)", nets.len() - 20) } else { String::new() }
    )]
    Routing {
        top: String,
        count: usize,
        nets: Vec<String>,
        tail: String,
    },
    /// The routed layout breaks design rules (exit 1).
    #[error("DRC failed: Magic counts {count} design-rule error(s) in the routed layout of {top}{}\nlast lines of its log:\n{tail}",
        if kinds.is_empty() { String::new() } else {
            format!("; by rule:\n{}", kinds.iter().map(|k| format!("  {k}")).collect::<Vec<_>>().join("\n"))
        })]
    Drc {
        top: String,
        count: u64,
        /// What the errors are (Magic's rule per kind), when Magic said.
        kinds: Vec<qflow::DrcKind>,
        tail: String,
    },
    /// The routed layout's connectivity differs from the netlist (exit 1).
    #[error(
        "LVS failed: Netgen finds {errors} difference(s) between the routed layout of {top} and its netlist{}\nlast lines of its log:\n{tail}",
        if unmatched.is_empty() { String::new() } else {
            format!("; nets of the layout with no partner in the netlist (a pin the router did not reach shows as CELL/PIN): {}", unmatched.join(", "))
        })]
    Lvs {
        top: String,
        errors: u64,
        unmatched: Vec<String>,
        tail: String,
    },
    /// A step of the flow failed or ran out of time.
    #[error("{stage} failed: {why}{}", if tail.is_empty() { String::new() } else { format!("\nlast lines of its log:\n{tail}") })]
    Stage {
        stage: String,
        why: String,
        tail: String,
    },
}

/// What the user sets.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clock of the timing constraint (MHz); Fmax is reported whatever it is.
    pub clock_mhz: f64,
    pub knobs: qflow::Knobs,
    /// Time limit of each qflow run and each other tool; `None`: chosen
    /// from the netlist's size by [`qflow::step_limit`].
    pub limit: Option<Duration>,
    /// Prove the routed netlist equal to the model (single PEs), or
    /// co-simulate it against the model (arrays).
    pub prove: bool,
}

/// An array's placement density when the user gives none: at GrayWolf's
/// own (about 97 %) the 4x4 SPARQ array left 24 nets unrouted; at 0.7 all
/// three 4x4 arrays (SPARQ, mac8x8, mac4x8) routed.
pub const ARRAY_UTILIZATION: f64 = 0.7;

impl Options {
    /// The options for laying out `design`: an array without a density of
    /// the user's gets [`ARRAY_UTILIZATION`].
    pub fn for_design(&self, design: &Design) -> Options {
        let mut o = self.clone();
        if design.array() != ArrayShape::Single && o.knobs.utilization.is_none() {
            o.knobs.utilization = Some(ARRAY_UTILIZATION);
        }
        o
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            clock_mhz: 100.0,
            knobs: qflow::Knobs::default(),
            limit: None,
            prove: true,
        }
    }
}

/// A rectangle's size for the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Area {
    pub width_um: f64,
    pub height_um: f64,
    pub area_um2: f64,
}

impl From<def::Rect> for Area {
    fn from(r: def::Rect) -> Area {
        Area {
            width_um: r.width(),
            height_um: r.height(),
            area_um2: r.area(),
        }
    }
}

/// Random cycles of an array's co-simulation after layout.
pub const COSIM_VECTORS: u64 = 100_000;

/// The routed netlist against the model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Equivalence {
    /// `proven` or `refuted` (a single PE's proof), `matched` or
    /// `mismatched` (an array's co-simulation), or `not_run`.
    pub verdict: String,
    pub method: String,
    pub detail: String,
}

impl Equivalence {
    /// The check ran and the netlist differs from the model.
    pub fn failed(&self) -> bool {
        matches!(self.verdict.as_str(), "refuted" | "mismatched")
    }
}

/// `asic.json`: what the flow made of one design.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AsicReport {
    pub design: String,
    pub design_hash: String,
    pub top: String,
    pub pe: String,
    pub array: String,
    pub activations_per_cycle: u32,
    pub library: String,
    pub die: Area,
    pub core: Area,
    /// Area of the logic cells (fill cells left out), um^2.
    pub cell_area_um2: f64,
    pub cells: usize,
    /// Before layout: Yosys onto the same cells (`synth --target liberty`),
    /// um^2; filled by the caller that ran it.
    pub synth_cell_area_um2: Option<f64>,
    /// Cell area over core area.
    pub utilization: f64,
    /// Routed signal wire, um.
    pub wire_length_um: f64,
    pub nets: usize,
    pub routed_nets: usize,
    pub failed_nets: usize,
    /// Nets routed a second time because LVS found them open after the
    /// first (see the notes).
    #[serde(default)]
    pub rerouted_nets: Vec<String>,
    pub drc_errors: u64,
    pub lvs_match: bool,
    pub lvs: String,
    pub timing_post_route: sta::Timing,
    pub timing_pre_route: sta::Timing,
    pub equivalence: Equivalence,
    pub notes: Vec<String>,
    pub tools: qflow::Versions,
    /// GrayWolf's `TWSC*fast` divisor (1: its full annealing schedule).
    #[serde(default = "one")]
    pub placer_fast: u32,
    /// Wall time of each step, in order.
    #[serde(default)]
    pub stage_seconds: Vec<StageTime>,
    /// Wall time of the whole flow.
    pub seconds: f64,
}

fn one() -> u32 {
    1
}

/// The wall time of one step of the flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageTime {
    pub stage: String,
    pub seconds: f64,
}

/// A finished layout: the report and the files to keep.
pub struct Layout {
    pub report: AsicReport,
    /// (relative path, contents) for the output folder.
    pub files: Vec<(String, Vec<u8>)>,
    pub png: Vec<u8>,
}

/// Describe an array shape in words.
pub fn array_words(a: ArrayShape) -> String {
    match a {
        ArrayShape::Systolic { rows, cols } => format!("systolic {rows}x{cols}"),
        ArrayShape::Dot { lanes } => format!("dot unit, {lanes} lanes"),
        ArrayShape::Single => "single PE".into(),
    }
}

/// The design's Verilog as the one source file qflow reads, in filelist
/// order.
pub fn one_source(g: &Generated) -> anyhow::Result<String> {
    let mut s = String::new();
    for (name, text) in g.verilog()? {
        s.push_str(&format!("// ---- {name}\n"));
        s.push_str(&String::from_utf8_lossy(&text));
        s.push('\n');
    }
    Ok(s)
}

fn io(stage: &str) -> impl Fn(std::io::Error) -> AsicError + '_ {
    move |e| AsicError::Stage {
        stage: stage.to_string(),
        why: e.to_string(),
        tail: String::new(),
    }
}

/// Record how long a step took.
fn timed(name: &str, stages: &mut Vec<StageTime>, t: Instant) {
    stages.push(StageTime {
        stage: name.to_string(),
        seconds: t.elapsed().as_secs_f64(),
    })
}

/// A new qflow project in `work` taken through synthesis, placement and
/// routing: the project, the placed cells, GrayWolf's `fast` and the time
/// limit of the later steps. Unrouted nets are an [`AsicError::Routing`].
fn synth_place_route(
    top: &str,
    source: &str,
    opts: &Options,
    work: &Path,
    stages: &mut Vec<StageTime>,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<(qflow::Project, usize, u32, Duration)> {
    let p = qflow::Project::create(work, top, source, opts.knobs).map_err(io("qflow project"))?;
    say(&format!("asic: {top}: qflow synthesize (osu018)"));
    let t = Instant::now();
    p.run(&["synthesize"], opts.limit.unwrap_or(crate::process::PNR))?;
    timed("qflow synthesize", stages, t);
    let blif = std::fs::read_to_string(p.synthesis(".blif")).map_err(io("qflow synthesize"))?;
    let placed_cells = qflow::blif_cells(&blif);
    let fast = opts
        .knobs
        .place_fast
        .unwrap_or_else(|| qflow::auto_fast(placed_cells));
    p.write_par(fast).map_err(io("GrayWolf parameters"))?;
    p.write_route_script(qflow::route_cleanup(placed_cells))
        .map_err(io("qrouter script"))?;
    let limit = opts
        .limit
        .unwrap_or_else(|| qflow::step_limit(placed_cells));
    say(&format!(
        "asic: {top}: qflow place ({placed_cells} cells; GrayWolf fast {fast})"
    ));
    let t = Instant::now();
    p.run(&["place"], limit)?;
    timed("qflow place", stages, t);
    say(&format!("asic: {top}: qflow route"));
    let t = Instant::now();
    p.run(&["route"], limit)?;
    timed("qflow route", stages, t);
    let route_log = p.read_log("route");
    match qflow::route_verdict(&route_log) {
        Some(qflow::Routed::All) => Ok((p, placed_cells, fast, limit)),
        Some(qflow::Routed::Failed(count)) => {
            let fail = std::fs::read_to_string(p.dir.join("layout/fail.out")).unwrap_or_default();
            Err(AsicError::Routing {
                top: top.to_string(),
                count,
                nets: qflow::failed_nets(&fail),
                tail: qflow::verdict_context(&route_log, 12),
            }
            .into())
        }
        None => {
            let (stage, log) = ["route", "place", "synth"]
                .iter()
                .map(|s| (*s, p.read_log(s)))
                .find(|(_, l)| !l.is_empty())
                .unwrap_or(("synth", String::new()));
            Err(AsicError::Stage {
                stage: format!("qflow ({stage})"),
                why: "the router gave no verdict".into(),
                tail: qflow::tail(&log, 20),
            }
            .into())
        }
    }
}

/// The most nets LVS may find open for sparqgen to route them again (more
/// is not a stray via but a layout gone wrong).
const REROUTE_MAX: usize = 50;

/// The via qrouter drops from metal2 to metal1, and the layer of its pad
/// that Magic may find alone.
const PAD_VIA: (&str, &str) = ("M2_M1", "metal1");

/// Where the DRC errors are all lone metal1 pads of [`PAD_VIA`] (each
/// error box exactly one pad, of an area rule): their centres (um). `None`
/// when any error is something else or not every box was listed.
fn lone_pads(kinds: &[qflow::DrcKind], pad: (f64, f64)) -> Option<Vec<(f64, f64)>> {
    let mut centres = Vec::new();
    for k in kinds {
        let rule = k.why.to_ascii_lowercase();
        if !(rule.starts_with(PAD_VIA.1) && rule.contains(" area ")) || k.boxes_um.len() != k.count
        {
            return None;
        }
        for [x0, y0, x1, y1] in &k.boxes_um {
            let same = |a: f64, b: f64| (a - b).abs() < 1e-3;
            if !(same(x1 - x0, pad.0) && same(y1 - y0, pad.1)) {
                return None;
            }
            centres.push(((x0 + x1) / 2.0, (y0 + y1) / 2.0));
        }
    }
    (!centres.is_empty()).then_some(centres)
}

/// `qflow migrate drc` on the routed project: Magic's DRC count and how
/// many lone via pads were taken off the DEF first. Errors that
/// are all lone metal1 pads (a via qrouter left at the end of a wire,
/// over no pin and no metal1 wire) are repaired once: the via is taken off
/// the DEF and both steps run again; any other error is an
/// [`AsicError::Drc`] with the errors by rule.
fn migrate_and_check(
    p: &qflow::Project,
    top: &str,
    limit: Duration,
    stages: &mut Vec<StageTime>,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<(u64, usize)> {
    let mut dropped = 0;
    loop {
        say(&format!("asic: {top}: qflow migrate drc"));
        let t = Instant::now();
        let ran = p.run(&["migrate", "drc"], limit);
        let drc_log = p.read_log("drc");
        // qflow's DRC step exits non-zero when Magic counts errors: that is
        // a verdict on the layout (exit 1), not a broken tool.
        if let (Err(_), Some(count @ 1..)) = (&ran, qflow::drc_errors(&drc_log)) {
            say(&format!(
                "asic: {top}: {count} DRC error(s); Magic again to list them by rule"
            ));
            let kinds = p.drc_kinds(limit);
            timed("qflow migrate drc", stages, t);
            if dropped == 0 {
                if let Some(n) = drop_lone_pads(p, &kinds) {
                    say(&format!(
                        "asic: {top}: {n} metal1 via pad(s) alone (a via the router left at a \
                         wire's end): taken off the routed DEF; migrating again (LVS checks \
                         the connectivity after)"
                    ));
                    dropped = n;
                    continue;
                }
            }
            return Err(AsicError::Drc {
                top: top.to_string(),
                count,
                kinds,
                tail: qflow::tail(&drc_log, 12),
            }
            .into());
        }
        ran?;
        timed("qflow migrate drc", stages, t);
        let drc = qflow::drc_errors(&drc_log).ok_or_else(|| AsicError::Stage {
            stage: "qflow drc".into(),
            why: "Magic reported no DRC count".into(),
            tail: qflow::tail(&drc_log, 20),
        })?;
        return Ok((drc, dropped));
    }
}

/// What migration, DRC and LVS made of a routed project.
struct Checked {
    drc: u64,
    /// Lone via pads taken off the DEF (see [`migrate_and_check`]).
    dropped: usize,
    /// Nets routed again after LVS found them open.
    rerouted: Vec<String>,
    lvs_log: String,
    lvs_match: bool,
    lvs_verdict: String,
    lvs_errors: Option<u64>,
}

/// Migration, DRC and LVS on the routed project. When LVS finds nets open
/// or split (up to [`REROUTE_MAX`]), they are routed again once
/// ([`qflow::Project::reroute`]) and the three run again; a layout that
/// still differs from its netlist is an [`AsicError::Lvs`].
fn check_layout(
    p: &qflow::Project,
    top: &str,
    limit: Duration,
    stages: &mut Vec<StageTime>,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<Checked> {
    let mut dropped = 0;
    let mut rerouted: Vec<String> = Vec::new();
    loop {
        let (drc, pads) = migrate_and_check(p, top, limit, stages, say)?;
        dropped += pads;
        say(&format!("asic: {top}: qflow lvs gdsii"));
        let t = Instant::now();
        let ran = p.run(&["lvs", "gdsii"], limit);
        let lvs_log = p.read_log("lvs");
        let (lvs_match, lvs_verdict, lvs_errors) = qflow::lvs_result(&lvs_log);
        timed("qflow lvs gdsii", stages, t);
        // qflow stops when Netgen finds the netlists differ: a verdict on
        // the layout (exit 1), with the nets that have no partner.
        if let (Err(_), Some(errors @ 1..)) = (&ran, lvs_errors) {
            let comp = std::fs::read_to_string(p.dir.join("layout/comp.out")).unwrap_or_default();
            if rerouted.is_empty() {
                let def_text = std::fs::read_to_string(p.layout(".def")).unwrap_or_default();
                let nets = def::nets_named(&def_text, &qflow::lvs_mismatched(&comp));
                if (1..=REROUTE_MAX).contains(&nets.len()) {
                    say(&format!(
                        "asic: {top}: LVS finds {} net(s) open or split ({}): routing them again \
                         (qrouter, every other net in place)",
                        nets.len(),
                        nets.join(", ")
                    ));
                    let t = Instant::now();
                    match p.reroute(&nets, &def_text, limit) {
                        Ok(()) => {
                            timed("qrouter: nets routed again", stages, t);
                            rerouted = nets;
                            continue;
                        }
                        Err(e) => say(&format!("asic: {top}: {e}")),
                    }
                }
            }
            return Err(AsicError::Lvs {
                top: top.to_string(),
                errors,
                unmatched: qflow::lvs_unmatched(&comp),
                tail: qflow::tail(&lvs_log, 12),
            }
            .into());
        }
        ran?;
        return Ok(Checked {
            drc,
            dropped,
            rerouted,
            lvs_log,
            lvs_match,
            lvs_verdict,
            lvs_errors,
        });
    }
}

/// Take the vias of lone pads off the routed DEF (all or none): how many.
fn drop_lone_pads(p: &qflow::Project, kinds: &[qflow::DrcKind]) -> Option<usize> {
    let lef = std::fs::read_to_string(qflow::LEF).ok()?;
    let pad = def::via_pad(&lef, PAD_VIA.0, PAD_VIA.1)?;
    let centres = lone_pads(kinds, pad)?;
    let path = p.layout(".def");
    let mut text = std::fs::read_to_string(&path).ok()?;
    for c in &centres {
        text = def::drop_via(&text, PAD_VIA.0, *c, PAD_VIA.1)?;
    }
    std::fs::write(&path, text).ok()?;
    Some(centres.len())
}

/// Run the whole flow on `design` (already generated as `g`) in `work` (an
/// empty folder); `say` gets one line per step. With `routed` (the project
/// an earlier run left in `work` and its cell count, as
/// [`qflow::Project::routed`] found it) synthesis, placement and routing
/// are not run again.
pub fn lay_out(
    design: &Design,
    g: &Generated,
    tools: &qflow::Versions,
    opts: &Options,
    work: &Path,
    routed: Option<(qflow::Project, usize)>,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<Layout> {
    let start = Instant::now();
    let top = g.manifest.top.clone();
    let source = one_source(g)?;
    let mut stages: Vec<StageTime> = Vec::new();
    let mut notes = Vec::new();
    let (p, placed_cells, fast, limit) = if let Some((p, cells)) = routed {
        let fast = opts
            .knobs
            .place_fast
            .unwrap_or_else(|| qflow::auto_fast(cells));
        say(&format!(
            "asic: {top}: going on from the routing kept in {} (same Verilog and settings; every net routed)",
            work.display()
        ));
        notes.push(format!(
            "Resumed (--resume): synthesis, placement and routing are those of an earlier run \
             kept in {} with the same Verilog and settings (its router routed every net); \
             their times are not in this report. The steps from migration on ran again.",
            work.display()
        ));
        let limit = opts.limit.unwrap_or_else(|| qflow::step_limit(cells));
        (p, cells, fast, limit)
    } else {
        synth_place_route(&top, &source, opts, work, &mut stages, say)?
    };

    let Checked {
        drc,
        dropped,
        rerouted,
        lvs_log,
        lvs_match,
        lvs_verdict,
        lvs_errors,
    } = check_layout(&p, &top, limit, &mut stages, say)?;
    if dropped > 0 {
        notes.push(format!(
            "DRC: the router left {dropped} via(s) from metal2 down to a metal1 pad alone \
             (Magic: metal1 area below the minimum; a via at the end of a wire or a piece of \
             its own, over no metal1 wire of its net); sparqgen took them off the routed DEF \
             and ran migration and DRC again. LVS then compares the connectivity with the \
             netlist (a pad that was a net's only way onto a pin would show there)."
        ));
    }
    if !rerouted.is_empty() {
        notes.push(format!(
            "LVS: on the first pass Netgen found {} net(s) open or split ({}) although qrouter \
             had reported every net routed (qrouter's clean-up of adjacent vias can leave a via \
             out of a route it rewrites: so it did on the mac8x8 4x4 array). sparqgen ripped \
             them up and routed them again in a fresh qrouter session on the routed layout \
             (stage 1 alone, every other net in place, no via clean-up), put their new routes \
             and wire delays into the DEF and the RC file, and ran migration, DRC and LVS \
             again: the DRC, LVS and timing in this report are those of the second pass.",
            rerouted.len(),
            rerouted.join(", ")
        ));
    }

    // Wire delays after routing: qrouter's RC trees as SDF.
    let rc = p.layout(".rc");
    let sdf = p.synthesis(".sdf");
    say(&format!("asic: {top}: OpenSTA before and after routing"));
    let t = Instant::now();
    let out = crate::process::group_output_within(
        Command::new(Path::new(qflow::BIN_DIR).join("rc2dly"))
            .arg("-r")
            .arg(&rc)
            .args(["-l", qflow::LIBERTY, "-d"])
            .arg(&sdf),
        limit,
    )
    .map_err(|e| AsicError::Stage {
        stage: "rc2dly".into(),
        why: e.to_string(),
        tail: String::new(),
    })?;
    let sdf_text = std::fs::read_to_string(&sdf).map_err(|e| AsicError::Stage {
        stage: "rc2dly".into(),
        why: format!("no SDF written ({e})"),
        tail: qflow::tail(&String::from_utf8_lossy(&out.stderr), 10),
    })?;
    // SDF cannot change bus delimiters; the netlist uses [ ].
    let sdf_text = sdf_text.replace('<', "[").replace('>', "]");
    std::fs::write(&sdf, &sdf_text).map_err(io("rc2dly"))?;
    let netlist_path = p.synthesis(".rtlnopwr.v");
    let netlist = std::fs::read_to_string(&netlist_path).map_err(io("post-route netlist"))?;
    let period = 1000.0 / opts.clock_mhz;
    let synth_dir = p.dir.join("synthesis");
    let (post, post_script, post_log) =
        sta::run(&synth_dir, &netlist_path, &top, Some(&sdf), period, limit)?;
    let (pre, pre_script, pre_log) =
        sta::run(&synth_dir, &netlist_path, &top, None, period, limit)?;
    timed("rc2dly and OpenSTA", &mut stages, t);

    let lef = std::fs::read_to_string(qflow::LEF).map_err(io("LEF"))?;
    let def_text = std::fs::read_to_string(p.layout(".def")).map_err(io("routed DEF"))?;
    let layout = def::parse(&def_text, &def::macro_sizes(&lef))?;
    let core = layout.core().ok_or_else(|| AsicError::Stage {
        stage: "DEF".into(),
        why: "no placed cells".into(),
        tail: String::new(),
    })?;
    let cell_area = layout.cell_area(qflow::FILL);
    let gds = std::fs::read(p.layout(".gds")).map_err(io("GDS"))?;

    let single = design.array() == ArrayShape::Single;
    let equivalence = if !opts.prove {
        Equivalence {
            verdict: "not_run".into(),
            method: "none".into(),
            detail: "not asked for".into(),
        }
    } else if !single {
        say(&format!(
            "asic: {top}: co-simulating the routed netlist against the model (Verilator)"
        ));
        let t = Instant::now();
        let o = proof::cosimulate_netlist(
            &g.manifest,
            &netlist,
            Path::new(qflow::LIBERTY),
            qflow::FILL,
            COSIM_VECTORS,
        )?;
        timed("co-simulation", &mut stages, t);
        Equivalence {
            verdict: if o.passed() { "matched" } else { "mismatched" }.into(),
            method: format!(
                "co-simulation of the routed gate netlist (OSU cells from their liberty \
                 functions) under Verilator against the model, `sparqgen verify`'s plan \
                 with {COSIM_VECTORS} random cycles (the proof takes one PE; the single-PE \
                 layout of the same PE is proven)"
            ),
            detail: crate::sim::report::summary(&o),
        }
    } else {
        say(&format!(
            "asic: {top}: proving the routed netlist equal to the model"
        ));
        let t = Instant::now();
        let r = proof::prove_netlist(
            &g.manifest,
            &netlist,
            Path::new(qflow::LIBERTY),
            qflow::FILL,
        )?;
        timed("proof", &mut stages, t);
        Equivalence {
            verdict: if r.passed() { "proven" } else { "refuted" }.into(),
            method: "sparqgen prove on the routed gate netlist (OSU cells from their liberty \
                     functions): every input, as `prove --gates`"
                .into(),
            detail: r.text(),
        }
    };

    let mut tools = tools.clone();
    if let Some(v) = qflow::netgen_version(&lvs_log) {
        tools.netgen = v;
    }
    let mut flow_notes = std::mem::take(&mut notes);
    let mut notes = vec![
        "The Debian OSU 0.18 um package has no cell layouts: the GDS places and routes \
         real cells but references them by name (their insides are not in the file), \
         DRC checks the routing and pins, and Netgen compares the cells as black boxes."
            .to_string(),
        "Timing: ideal clock, no input or output delay; the critical path includes the \
         capturing flop's setup time."
            .to_string(),
    ];
    if fast > 1 {
        notes.push(format!(
            "Placement: GrayWolf ran with `TWSC*fast {fast}` ({placed_cells} cells; its \
             annealing tried 1/{fast} of its usual moves per cell and temperature, a quicker \
             and coarser placement) and `TWSC*gr_placement_improve : off` (4 of its own \
             global-routing passes, without cell swaps between them, instead of 8). Routing, \
             DRC, LVS and timing are checked as for any layout."
        ));
    }
    if !qflow::route_cleanup(placed_cells) {
        notes.push(format!(
            "Routing: qrouter stopped when its stage 2 had routed every net; its stage 3 \
             (rip-up and reroute of every net to shorten it) runs up to {} cells. On the 4x4 \
             arrays stage 2 had routed every net, and stage 3 took about an hour more.",
            qflow::ROUTE_CLEANUP_CELLS
        ));
    }
    notes.append(&mut flow_notes);
    let report = AsicReport {
        design: design.name().to_string(),
        design_hash: design.hash(),
        top: top.clone(),
        pe: design.pe().kind().label(),
        array: array_words(design.array()),
        activations_per_cycle: design.activations_per_cycle(),
        library: format!("OSU 0.18 um ({})", qflow::LIBERTY),
        die: layout.die.into(),
        core: core.into(),
        cell_area_um2: cell_area,
        cells: layout.cell_count(qflow::FILL),
        synth_cell_area_um2: None,
        utilization: cell_area / core.area(),
        wire_length_um: layout.wire_length(),
        nets: layout.nets,
        routed_nets: layout.nets,
        failed_nets: 0,
        rerouted_nets: rerouted,
        drc_errors: drc,
        lvs_match,
        lvs: format!(
            "{lvs_verdict} (total errors: {})",
            lvs_errors.map_or("not reported".into(), |e| e.to_string())
        ),
        timing_post_route: post,
        timing_pre_route: pre,
        equivalence,
        notes,
        tools,
        placer_fast: fast,
        stage_seconds: stages,
        seconds: start.elapsed().as_secs_f64(),
    };
    let png = picture::png(&layout, qflow::FILL, 1000);
    let mut files: Vec<(String, Vec<u8>)> = vec![
        (format!("{top}.def"), def_text.into_bytes()),
        (format!("{top}.gds"), gds),
        (format!("{top}.v"), netlist.into_bytes()),
        (format!("{top}.sdf"), sdf_text.into_bytes()),
        ("source.v".into(), source.into_bytes()),
        ("sta_post.tcl".into(), post_script.into_bytes()),
        ("sta_pre.tcl".into(), pre_script.into_bytes()),
        ("logs/sta_post.log".into(), post_log.into_bytes()),
        ("logs/sta_pre.log".into(), pre_log.into_bytes()),
    ];
    if let Ok(rc) = std::fs::read(&rc) {
        files.push((format!("{top}.rc"), rc));
    }
    for stage in [
        "synth", "place", "route", "reroute", "migrate", "drc", "lvs", "gdsii",
    ] {
        if let Ok(text) = std::fs::read(p.log(stage)) {
            files.push((format!("logs/{stage}.log"), text));
        }
    }
    Ok(Layout { report, files, png })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_errors_that_are_all_lone_via_pads_are_repaired() {
        let kind = |why: &str, boxes: Vec<[f64; 4]>| qflow::DrcKind {
            why: why.into(),
            count: boxes.len(),
            boxes_um: boxes,
        };
        let pad = (0.4, 0.4);
        // Magic's rule and box for the mac8x8 array's one error.
        let m1 = kind(
            "Metal1 area < 20 (Mosis #+++)",
            vec![[86.2, 333.8, 86.6, 334.2]],
        );
        let c = lone_pads(std::slice::from_ref(&m1), pad).unwrap();
        assert_eq!(c.len(), 1);
        assert!((c[0].0 - 86.4).abs() < 1e-9 && (c[0].1 - 334.0).abs() < 1e-9);
        // A larger island, another rule beside it, boxes not all listed,
        // an area rule of another layer: no repair.
        let big = kind("Metal1 area < 20 (Mosis #+++)", vec![[0.0, 0.0, 0.4, 0.45]]);
        assert!(lone_pads(&[big], pad).is_none());
        let spacing = kind(
            "Metal1 spacing < 3 (Mosis #7.2)",
            vec![[0.0, 0.0, 0.4, 0.4]],
        );
        assert!(lone_pads(&[m1.clone(), spacing], pad).is_none());
        let mut unlisted = m1.clone();
        unlisted.count = 500;
        assert!(lone_pads(&[unlisted], pad).is_none());
        let m2 = kind("Metal2 area < 20 (Mosis #+++)", vec![[0.0, 0.0, 0.4, 0.4]]);
        assert!(lone_pads(&[m2], pad).is_none());
        assert!(lone_pads(&[], pad).is_none());
    }
}
