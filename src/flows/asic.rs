//! `sparqgen asic` as a library call: generate the design in memory, lay it
//! out with qflow ([`crate::asic`]), and write `DIR/<name>/asic/`
//! atomically; with `compare`, the PE against mac8x8 and mac4x8 and a 4x4
//! array of each through the same flow, per activation per cycle.

use crate::asic::{self, AsicError, AsicReport, Options};
use crate::config::{ArrayShape, Design, PeKind};
use crate::flows::sweep::{command_task, missing_text, regression, SlurmJob};
use crate::output::{check_replaceable, write_dir, DirOptions, FileSet};
use crate::rtl;
use crate::sweep::slurm::SlurmOptions;
use crate::synth::{compare, flow};
use anyhow::{bail, Context, Result};
use askama::Template;
use std::path::{Path, PathBuf};

/// Sub-folder of `DIR/<name>/` the layout goes to (kept when the design is
/// regenerated).
pub use crate::rtl::ASIC_DIR;

/// What to lay out and where.
pub struct Request {
    pub design: Design,
    /// Output root: the layout goes to `out/<name>/asic/`.
    pub out: PathBuf,
    pub opts: Options,
    /// Lay out the design as described (an array too); by default its PE.
    pub whole: bool,
    /// Also the baselines and N x N arrays (`--compare`).
    pub compare: bool,
    /// N of the compared arrays (4 by default).
    pub compare_array: u32,
    pub force: bool,
    /// Run each layout as a Slurm task (one array job) instead of here.
    pub slurm: Option<SlurmRequest>,
    /// Keep each layout's qflow project in `keep_work/<name>/` (for reading
    /// its logs and opening it in Magic) instead of a temporary folder that
    /// is removed, whether the layout succeeds or fails.
    pub keep_work: Option<PathBuf>,
    /// Go on from the routing a kept project holds (with `keep_work`),
    /// where [`asic::qflow::Project::routed`] finds it the same.
    pub resume: bool,
}

/// `--slurm`: where the job folder goes and the Slurm options.
pub struct SlurmRequest {
    /// The job folder (default: `sparqgen-jobs/asic`, as for `verify`).
    pub dir: Option<PathBuf>,
    pub options: SlurmOptions,
}

/// What was written.
pub struct Done {
    pub dest: PathBuf,
    pub report: AsicReport,
    pub markdown: String,
    pub compare: Vec<AsicReport>,
}

#[derive(Template)]
#[template(path = "asic/report.md")]
struct ReportMd<'a> {
    version: &'a str,
    r: &'a AsicReport,
    top: &'a str,
    short_hash: &'a str,
    synth_area: String,
    compare: Option<String>,
}

/// The design `sparqgen asic` lays out: the design itself when it is a
/// single PE or `whole` is asked for, else its PE alone.
pub fn target(base: &Design, whole: bool) -> Result<Design> {
    if whole || base.array() == ArrayShape::Single {
        Ok(base.clone())
    } else {
        compare::pe_design(base, base.pe().kind(), &format!("{}_pe", base.name()))
    }
}

/// The designs `--compare` lays out: the PE, mac8x8 and mac4x8 (each once),
/// alone and as an `n` x `n` systolic array.
pub fn compare_designs(base: &Design, n: u32) -> Result<Vec<Design>> {
    let mut kinds = vec![base.pe().kind()];
    for k in [PeKind::Mac8x8, PeKind::Mac4x8] {
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let mut out = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let stem = match kind {
            PeKind::Mac8x8 => "mac8x8".to_string(),
            PeKind::Mac4x8 => "mac4x8".to_string(),
            _ => format!("cmp{i}"),
        };
        out.push(compare::pe_design(
            base,
            *kind,
            &format!("{}_{stem}_pe", base.name()),
        )?);
        out.push(
            Design::new(
                &format!("{}_{stem}_sa{n}x{n}", base.name()),
                base.pe().with_kind(*kind),
                ArrayShape::Systolic { rows: n, cols: n },
            )
            .with_context(|| format!("derived {n}x{n} array"))?,
        );
    }
    Ok(out)
}

/// Yosys onto the OSU cells: the pre-layout area of `d` (um^2).
fn synth_area(d: &Design) -> Result<f64> {
    let job = compare::job(d, false)?;
    let out = flow::liberty(
        &[job],
        Path::new(asic::qflow::LIBERTY),
        &mut flow::Scripts::default(),
    )?;
    Ok(out[0].result.area)
}

/// The file that marks a folder `--keep-work` made (and may empty again).
const KEPT_MARKER: &str = ".sparqgen-kept-work";

/// Lay out one design in a fresh work folder.
fn one(
    d: &Design,
    tools: &asic::qflow::Versions,
    opts: &Options,
    keep_work: Option<&Path>,
    resume: bool,
    say: &mut dyn FnMut(&str),
) -> Result<asic::Layout> {
    let chosen = opts.for_design(d);
    let defaulted = chosen.knobs.utilization != opts.knobs.utilization;
    if defaulted {
        say(&format!(
            "asic: {}: placement density {} (an array's default; --utilization U to choose)",
            d.name(),
            asic::ARRAY_UTILIZATION
        ));
    }
    let opts = &chosen;
    let g = rtl::generate(d)?;
    let temp;
    let mut routed = None;
    let work = match keep_work {
        Some(root) => {
            // Absolute: qflow and OpenSTA run in folders of their own.
            let dir = std::path::absolute(root.join(d.name()))
                .with_context(|| format!("--keep-work: {}", root.display()))?;
            // Only a folder an earlier --keep-work made (its marker) is
            // emptied; anything else there is the user's, and is refused.
            let marker = dir.join(KEPT_MARKER);
            if dir.exists() && !marker.exists() {
                anyhow::bail!(
                    "--keep-work: {} exists and was not made by --keep-work; \
                     remove it or choose another DIR",
                    dir.display()
                );
            }
            if resume {
                let source = asic::one_source(&g)?;
                let top = &g.manifest.top;
                match asic::qflow::Project::routed(&dir, top, &source, opts.knobs) {
                    Ok(kept) => routed = Some(kept),
                    Err(why) if dir.exists() => say(&format!(
                        "asic: {}: --resume: not going on from {}: {why}; running the whole flow",
                        d.name(),
                        dir.display()
                    )),
                    Err(_) => say(&format!(
                        "asic: {}: --resume: nothing kept in {} yet; running the whole flow",
                        d.name(),
                        dir.display()
                    )),
                }
            }
            if dir.exists() && routed.is_none() {
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("--keep-work: cannot empty {}", dir.display()))?;
            }
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&marker, "a qflow project kept by sparqgen asic\n"))
                .with_context(|| format!("--keep-work: cannot create {}", dir.display()))?;
            say(&format!(
                "asic: {}: qflow project kept in {}",
                d.name(),
                dir.display()
            ));
            dir
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("sparqgen-asic-")
                .tempdir()
                .context("cannot create a work folder for qflow")?;
            temp.path().to_path_buf()
        }
    };
    let mut l = asic::lay_out(d, &g, tools, opts, &work, routed, say)?;
    if defaulted {
        l.report.notes.push(format!(
            "Placement density {} (qflow's initial_density): an array's default when \
             --utilization is not given (at GrayWolf's own, about 97 %, the 4x4 SPARQ array \
             left nets unrouted).",
            asic::ARRAY_UTILIZATION
        ));
    }
    say(&format!(
        "asic: {}: Yosys onto the same cells (pre-layout area)",
        d.name()
    ));
    l.report.synth_cell_area_um2 = Some(synth_area(d)?);
    Ok(l)
}

fn per_act(v: f64, r: &AsicReport) -> f64 {
    v / r.activations_per_cycle.max(1) as f64
}

/// The comparison table (markdown), one row per layout.
pub fn compare_table(rows: &[AsicReport]) -> String {
    let mut s = String::from(
        "| PE | array | act/cycle | synth um^2 | synth um^2/act | die um^2 | die um^2/act | cell um^2 (routed) | utilization | Fmax pre-route MHz | Fmax post-route MHz | failed nets | DRC | LVS | netlist = model | GrayWolf fast | flow s |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|\n",
    );
    for r in rows {
        let synth = r.synth_cell_area_um2.unwrap_or(f64::NAN);
        s.push_str(&format!(
            "| {} | {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1} % | {:.1} | {:.1} | {} | {} | {} | {} | {} | {:.0} |\n",
            r.pe,
            r.array,
            r.activations_per_cycle,
            synth,
            per_act(synth, r),
            r.die.area_um2,
            per_act(r.die.area_um2, r),
            r.cell_area_um2,
            r.utilization * 100.0,
            r.timing_pre_route.fmax_mhz,
            r.timing_post_route.fmax_mhz,
            r.failed_nets,
            r.drc_errors,
            if r.lvs_match { "match" } else { "MISMATCH" },
            r.equivalence.verdict,
            r.placer_fast,
            r.seconds,
        ));
    }
    s
}

/// The command-line options that reproduce `opts` in a task's
/// `sparqgen asic` (the design file and `--whole` come first).
fn task_options(opts: &Options) -> Vec<String> {
    let mut a = vec!["--clock-mhz".to_string(), opts.clock_mhz.to_string()];
    if let Some(l) = opts.limit {
        a.extend([
            "--step-minutes".into(),
            l.as_secs().div_ceil(60).max(1).to_string(),
        ]);
    }
    if let Some(u) = opts.knobs.utilization {
        a.extend(["--utilization".into(), u.to_string()]);
    }
    if let Some(l) = opts.knobs.route_layers {
        a.extend(["--route-layers".into(), l.to_string()]);
    }
    if let Some(f) = opts.knobs.place_fast {
        a.extend(["--place-fast".into(), f.to_string()]);
    }
    if !opts.prove {
        a.push("--no-prove".into());
    }
    a
}

/// Every file of a folder sparqgen wrote (its marker left out), paths
/// relative to it; refuses a folder whose files changed since.
fn read_written(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    match crate::output::changed_files(dir) {
        Some(c) if c.is_empty() => {}
        Some(c) => bail!(
            "{}: files changed since the task wrote them: {}",
            dir.display(),
            c.join(", ")
        ),
        None => bail!(
            "{}: no layout written there (no {})",
            dir.display(),
            crate::output::MARKER
        ),
    }
    fn walk(root: &Path, rel: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        let here = root.join(rel);
        let mut entries: Vec<_> = std::fs::read_dir(&here)
            .with_context(|| format!("cannot list {}", here.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let r = rel.join(e.file_name());
            if e.file_type()?.is_dir() {
                walk(root, &r, out)?;
            } else if r.as_os_str() != crate::output::MARKER {
                let bytes = std::fs::read(root.join(&r))
                    .with_context(|| format!("cannot read {}", root.join(&r).display()))?;
                out.push((r.to_string_lossy().into_owned(), bytes));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out)?;
    Ok(out)
}

/// Lay out `designs` as one Slurm array job, one `sparqgen asic D --whole`
/// task each (the job folder keeps each task's design, output and log; a
/// resubmission runs only the tasks without a result).
fn on_slurm(
    req: &Request,
    slurm: &SlurmRequest,
    designs: &[Design],
    tools: &asic::qflow::Versions,
) -> Result<Vec<asic::Layout>> {
    let default = PathBuf::from("sparqgen-jobs").join("asic");
    let dir = std::path::absolute(slurm.dir.as_ref().unwrap_or(&default))?;
    let out = dir.join("out");
    let common = task_options(&req.opts);
    let tools_text = serde_json::to_string(tools)?;
    let mut tasks = Vec::new();
    for d in designs {
        let yaml = d.to_yaml();
        let path = dir.join("designs").join(format!("{}.yaml", d.name()));
        std::fs::create_dir_all(dir.join("designs"))
            .with_context(|| format!("cannot create the job folder {}", dir.display()))?;
        crate::output::write_file(&path, yaml.as_bytes())?;
        let mut args = vec![
            "asic".to_string(),
            path.display().to_string(),
            "--whole".into(),
            "-o".into(),
            out.display().to_string(),
            "--force".into(),
        ];
        args.extend(common.iter().cloned());
        tasks.push(command_task(
            d.name(),
            args,
            &[yaml.as_bytes()],
            &tools_text,
        ));
    }
    let job = SlurmJob {
        dir: dir.clone(),
        options: &slurm.options,
    };
    let (done, missing) = regression(job, tasks, &tools_text)?;
    if !missing.is_empty() {
        bail!("{}", missing_text(&missing));
    }
    let mut layouts = Vec::new();
    for (d, r) in designs.iter().zip(&done) {
        let folder = out.join(d.name()).join(ASIC_DIR);
        let log = dir.join(crate::sweep::LOGS_DIR);
        if r.code != 0 && !folder.join("asic.json").exists() {
            bail!(
                "the layout of {} failed on Slurm (exit {}); its task's log is in {}",
                d.name(),
                r.code,
                log.display()
            );
        }
        let files = read_written(&folder)?;
        let get = |name: &str| {
            files
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.clone())
                .with_context(|| format!("{}: no {name}", folder.display()))
        };
        let report: AsicReport = serde_json::from_slice(&get("asic.json")?)
            .with_context(|| format!("{}/asic.json is not a layout report", folder.display()))?;
        let png = get("layout.png")?;
        // What the local run adds itself.
        let files = files
            .into_iter()
            .filter(|(n, _)| !matches!(n.as_str(), "asic.json" | "report.md" | "layout.png"))
            .collect();
        layouts.push(asic::Layout { report, files, png });
    }
    Ok(layouts)
}

/// Run the request; a routing failure comes back as an [`AsicError`]
/// (`Routing`) inside the error.
pub fn run(req: &Request, say: &mut dyn FnMut(&str)) -> Result<Done> {
    let tools = asic::qflow::find_tools()?;
    let dest = req.out.join(req.design.name()).join(ASIC_DIR);
    let out_opts = DirOptions {
        force: req.force,
        keep: &[],
    };
    check_replaceable(&dest, &out_opts)?;
    let d = target(&req.design, req.whole)?;
    if d.name() != req.design.name() {
        say(&format!(
            "asic: laying out the PE of {} alone as {} (--whole: the {} as described)",
            req.design.name(),
            d.name(),
            asic::array_words(req.design.array())
        ));
    }
    let same = |a: &Design, b: &Design| a.pe() == b.pe() && a.array() == b.array();
    let compared = if req.compare {
        compare_designs(&req.design, req.compare_array)?
    } else {
        Vec::new()
    };
    // Every layout to make: the design, then the compared ones it is not.
    let mut all = vec![d.clone()];
    all.extend(compared.iter().filter(|c| !same(c, &d)).cloned());
    let mut layouts = match &req.slurm {
        Some(s) => on_slurm(req, s, &all, &tools)?.into_iter(),
        None => {
            let mut v = Vec::new();
            for x in &all {
                v.push(one(
                    x,
                    &tools,
                    &req.opts,
                    req.keep_work.as_deref(),
                    req.resume,
                    say,
                )?);
            }
            v.into_iter()
        }
    };
    let main = layouts.next().context("the design's layout")?;
    let mut set = FileSet::default();
    for (rel, bytes) in &main.files {
        set.add(rel, bytes.clone());
    }
    set.add("layout.png", main.png.clone());

    let mut rows = Vec::new();
    if req.compare {
        for c in compared {
            let l = if same(&c, &d) {
                main.report.clone()
            } else {
                let l = layouts.next().context("a compared layout")?;
                set.add(format!("compare/{}.png", c.name()), l.png);
                set.add(
                    format!("compare/{}.def", c.name()),
                    l.files
                        .iter()
                        .find(|(n, _)| n.ends_with(".def"))
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default(),
                );
                l.report
            };
            set.add(
                format!("compare/{}.json", c.name()),
                serde_json::to_string_pretty(&l)? + "\n",
            );
            rows.push(l);
        }
        set.add(
            "compare/compare.json",
            serde_json::to_string_pretty(&rows)? + "\n",
        );
    }
    let r = &main.report;
    let markdown = ReportMd {
        version: env!("CARGO_PKG_VERSION"),
        r,
        top: &r.top,
        short_hash: &d.short_hash(),
        synth_area: r
            .synth_cell_area_um2
            .map_or("not run".into(), |a| format!("{a:.0} um^2")),
        compare: req.compare.then(|| compare_table(&rows)),
    }
    .render()
    .context("rendering report.md")?;
    set.add("asic.json", serde_json::to_string_pretty(r)? + "\n");
    set.add("report.md", markdown.clone());
    write_dir(&dest, &set, &out_opts)
        .with_context(|| format!("cannot write the layout to {}", dest.display()))?;
    Ok(Done {
        dest,
        report: main.report,
        markdown,
        compare: rows,
    })
}

/// Whether an error is a verdict on the layout (unrouted nets, design-rule
/// errors: exit 1) rather than bad input, a missing or failing tool (exit 2).
pub fn is_layout_failure(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<AsicError>(),
        Some(AsicError::Routing { .. } | AsicError::Drc { .. } | AsicError::Lvs { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drc_and_lvs_errors_are_verdicts_on_the_layout_not_tool_failures() {
        let drc = anyhow::Error::from(AsicError::Drc {
            top: "t".into(),
            count: 4,
            kinds: vec![asic::qflow::DrcKind {
                why: "Metal2 spacing < 3 (Mosis #9.2)".into(),
                count: 4,
                boxes_um: vec![[1.0, 2.0, 1.3, 2.3]],
            }],
            tail: "drc = 4".into(),
        });
        assert!(is_layout_failure(&drc));
        let text = drc.to_string();
        assert!(text.contains("4 design-rule error(s)"), "{text}");
        assert!(
            text.contains("by rule:\n  4 x Metal2 spacing < 3 (Mosis #9.2) (first at (1.00, 2.00)"),
            "{text}"
        );
        let lvs = anyhow::Error::from(AsicError::Lvs {
            top: "t".into(),
            errors: 3,
            unmatched: vec!["NOR3X1_295/A".into()],
            tail: "Total errors = 3".into(),
        });
        assert!(is_layout_failure(&lvs));
        let text = lvs.to_string();
        assert!(
            text.contains("3 difference(s)") && text.contains(": NOR3X1_295/A\n"),
            "{text}"
        );
        let stage = anyhow::Error::from(AsicError::Stage {
            stage: "qflow lvs gdsii".into(),
            why: "exit 1".into(),
            tail: String::new(),
        });
        assert!(!is_layout_failure(&stage));
    }

    #[test]
    fn compare_lays_out_each_kind_alone_and_as_an_array() {
        let base = Design::default_design();
        let ds = compare_designs(&base, 4).unwrap();
        // Arrays get a routable density unless the user chose one.
        let density = |d: &Design, o: &Options| o.for_design(d).knobs.utilization;
        let user = Options {
            knobs: asic::qflow::Knobs {
                utilization: Some(0.9),
                ..Default::default()
            },
            ..Default::default()
        };
        for d in &ds {
            let want = (d.array() != ArrayShape::Single).then_some(asic::ARRAY_UTILIZATION);
            assert_eq!(density(d, &Options::default()), want, "{}", d.name());
            assert_eq!(density(d, &user), Some(0.9), "{}", d.name());
        }
        let kinds: Vec<_> = ds.iter().map(|d| (d.pe().kind(), d.array())).collect();
        let arr = ArrayShape::Systolic { rows: 4, cols: 4 };
        assert_eq!(
            kinds,
            [
                (base.pe().kind(), ArrayShape::Single),
                (base.pe().kind(), arr),
                (PeKind::Mac8x8, ArrayShape::Single),
                (PeKind::Mac8x8, arr),
                (PeKind::Mac4x8, ArrayShape::Single),
                (PeKind::Mac4x8, arr),
            ]
        );
        // The first is the PE `asic` lays out by default, so it is reused.
        let pe = target(&base, false).unwrap();
        assert_eq!((pe.pe(), pe.array()), (ds[0].pe(), ds[0].array()));
        assert_eq!(target(&base, true).unwrap().hash(), base.hash());
        // A baseline design: each baseline once.
        let mac = base.with_kind(PeKind::Mac4x8).unwrap();
        let kinds: Vec<_> = compare_designs(&mac, 2)
            .unwrap()
            .iter()
            .map(|d| d.pe().kind())
            .collect();
        assert_eq!(
            kinds,
            [
                PeKind::Mac4x8,
                PeKind::Mac4x8,
                PeKind::Mac8x8,
                PeKind::Mac8x8
            ]
        );
    }
}
