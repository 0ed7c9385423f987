//! `sparqgen prove`: prove that every PE kind of a design computes exactly
//! the model's arithmetic for every input (and with `--gates`, that its
//! synthesized gate netlist does too); `sparqgen bench prove` times the
//! proof of every PE variant.
//!
//! Exit codes: 0 proven, 1 refuted (a counterexample is printed and, when
//! the golden format can state it, written for `verify --golden`), 2 bad
//! input or a tool error.

use anyhow::{bail, Context, Result};
use clap::Args;
use sparqgen::prove::{self, Options, Report, Target};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct ProveArgs {
    /// Design descriptions (YAML or JSON). Default (with no --rtl either):
    /// the embedded default design.
    #[arg(value_name = "D.yaml")]
    pub designs: Vec<PathBuf>,
    /// A folder that `sparqgen generate` wrote (DIR/<name>), proven as it
    /// is now, edits included. Repeatable.
    #[arg(long = "rtl", value_name = "DIR/<name>")]
    pub rtl: Vec<PathBuf>,
    /// Also prove the generic gate netlist (Yosys `synth -flatten; abc -g
    /// cmos2`, the one `synth` prices) against the model: logic
    /// equivalence after synthesis, by the same method.
    #[arg(long)]
    pub gates: bool,
    /// Print one JSON object: {"proven", "designs": [...]}.
    #[arg(long)]
    pub json: bool,
    /// Where a counterexample is written as a GEMM case for `verify --golden`.
    #[arg(long, value_name = "DIR", default_value = "sparqgen-prove")]
    pub report_dir: PathBuf,
    #[command(flatten)]
    pub cluster: super::sweep::SlurmArgs,
}

#[derive(Args)]
pub struct ProveBench {
    /// Also prove each variant's gate netlist.
    #[arg(long)]
    gates: bool,
}

/// The targets and how `verify` names each.
fn targets(args: &ProveArgs) -> Result<Vec<(Target, String)>> {
    let mut t = Vec::new();
    for p in &args.designs {
        let d = super::load_design(Some(p))?;
        t.push((Target::generate(&d)?, p.display().to_string()));
    }
    for f in &args.rtl {
        let target = Target::from_folder(f).with_context(|| format!("--rtl {}", f.display()))?;
        t.push((target, format!("--rtl {}", f.display())));
    }
    if t.is_empty() {
        t.push((Target::generate(&super::load_design(None)?)?, String::new()));
    }
    Ok(t)
}

pub fn run(args: &ProveArgs) -> Result<i32> {
    if args.cluster.slurm {
        // One Slurm task per design or folder, each `sparqgen prove` on it.
        let tools = sparqgen::tools::find(sparqgen::tools::Tool::Yosys)?.version;
        let mut common = vec![
            "--report-dir".to_string(),
            std::path::absolute(&args.report_dir)?.display().to_string(),
        ];
        if args.gates {
            common.push("--gates".into());
        }
        let tasks =
            super::sweep::design_tasks("prove", &args.designs, &args.rtl, &common, &[], &tools)?;
        return super::sweep::regression(&args.cluster, "prove", tasks, &tools);
    }
    let opts = Options { gates: args.gates };
    let mut reports = Vec::new();
    for (t, arg) in targets(args)? {
        let r = prove::prove(&t, opts)?;
        if !args.json {
            out!("{}", r.text());
        }
        if !r.passed() {
            // The verdict is never lost to an unwritable report folder: the
            // replay file is a convenience, its failure a warning.
            match write_replay(&r, &args.report_dir) {
                Ok(Some(path)) => {
                    let msg = format!(
                        "  replay in simulation: sparqgen verify {}--golden {}",
                        if arg.is_empty() {
                            String::new()
                        } else {
                            format!("{arg} ")
                        },
                        path.display()
                    );
                    if args.json {
                        errln!("{msg}");
                    } else {
                        outln!("{msg}");
                    }
                }
                Ok(None) => {}
                Err(e) => errln!(
                    "warning: the counterexample was not saved for replay ({e:#}); \
                     the verdict stands"
                ),
            }
        }
        reports.push(r);
    }
    let proven = reports.iter().all(Report::passed);
    if args.json {
        let v = serde_json::json!({
            "proven": proven,
            "designs": reports.iter().map(Report::json).collect::<Vec<_>>(),
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
    }
    Ok(if proven { 0 } else { 1 })
}

/// Write the counterexample as a golden GEMM case (temp file, renamed).
fn write_replay(r: &Report, dir: &Path) -> Result<Option<PathBuf>> {
    let Some(case) = r.replay_case() else {
        return Ok(None);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("{}_cex.json", r.design));
    let tmp = dir.join(format!(".{}_cex.json.tmp", r.design));
    std::fs::write(&tmp, serde_json::to_string_pretty(&case)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(Some(path))
}

/// Prove every PE variant (single PE, pipeline 0), one line each.
pub fn bench(b: &ProveBench) -> Result<i32> {
    let opts = Options { gates: b.gates };
    let all = Instant::now();
    let mut failed = 0;
    for d in prove::variants()? {
        let t = Target::generate(&d)?;
        let r = prove::prove(&t, opts)?;
        outln!(
            "{:<44} {:>7.2} s  {:>3} cases {:>6} classes  {}",
            r.pe,
            r.seconds,
            r.cases,
            r.classes,
            if r.passed() { "proven" } else { "REFUTED" }
        );
        failed += usize::from(!r.passed());
    }
    outln!("total {:.1} s", all.elapsed().as_secs_f64());
    if failed > 0 {
        bail!("{failed} variants were not proven");
    }
    Ok(0)
}
