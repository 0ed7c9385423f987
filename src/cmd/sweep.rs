//! The sweep's cluster options (`synth --sweep --slurm`, `--emit-jobs`),
//! `sparqgen gather DIR` and the task runner `sparqgen sweep-task`.

use anyhow::Result;
use clap::Args;
use sparqgen::flows::{self, sweep::SlurmJob};
use sparqgen::sweep::{self, slurm, Jobs};
use sparqgen::synth::compare::PeCost;
use sparqgen::synth::flow::Scripts;
use std::path::{Path, PathBuf};

pub use sparqgen::flows::sweep::{design_tasks, missing_text, write_jobs, SweepSpec};

/// Where independent jobs run: here (default) or as a Slurm array job.
#[derive(Args, Clone, Default)]
pub struct SlurmArgs {
    /// Run the independent jobs (sweep variants, designs) as one Slurm
    /// array job, one task each, wait for it and gather the results into
    /// the same report. A resubmitted run reuses the results that finished.
    #[arg(long)]
    pub slurm: bool,
    /// Slurm partition.
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Slurm time limit per task (`30:00`, `1-00:00:00`).
    #[arg(long, value_name = "T")]
    pub time: Option<String>,
    /// Job folder for --slurm (default: OUT/<name>-sweep for a sweep,
    /// sparqgen-jobs/<command> otherwise).
    #[arg(long, value_name = "DIR")]
    pub jobs_dir: Option<PathBuf>,
}

#[derive(Args, Clone, Default)]
pub struct ClusterArgs {
    /// PE variants of the sweep: `all`, or indices and ranges such as
    /// `0-5,40` (the order of the sweep table: 40 SPARQ variants, then
    /// mac8x8 and mac4x8).
    #[arg(long, value_name = "LIST", default_value = "all", value_parser = variants)]
    pub variants: Variants,
    /// Write the sweep's job list and batch script to DIR and stop (submit
    /// with `sbatch DIR/sweep.sbatch`, then `sparqgen gather DIR`).
    #[arg(long, value_name = "DIR", requires = "sweep", conflicts_with = "slurm")]
    pub emit_jobs: Option<PathBuf>,
    #[command(flatten)]
    pub cluster: SlurmArgs,
}

/// The variants a sweep prices (indices into `compare::all_kinds`).
#[derive(Clone, Default, Debug)]
pub struct Variants(pub Vec<usize>);

fn variants(s: &str) -> Result<Variants, String> {
    sweep::parse_variants(s).map(Variants)
}

impl SlurmArgs {
    pub fn options(&self) -> slurm::SlurmOptions {
        slurm::SlurmOptions {
            partition: self.partition.clone(),
            time: self.time.clone(),
        }
    }
}

/// `synth --sweep --emit-jobs DIR`: write and explain; nothing runs.
pub fn emit_only(dir: &Path, jobs: &Jobs, c: &ClusterArgs) -> Result<i32> {
    let dir = std::path::absolute(dir)?;
    let todo = slurm::emit(&dir, jobs, &c.cluster.options())?;
    outln!(
        "wrote {}/{} and {} ({} of {} variants to run, {} finished results reused)",
        dir.display(),
        sweep::JOBS_FILE,
        slurm::SCRIPT,
        todo.len(),
        jobs.variants.len(),
        jobs.variants.len() - todo.len()
    );
    outln!("submit:  sbatch {}", dir.join(slurm::SCRIPT).display());
    outln!(
        "or run:  sparqgen sweep-task {} INDEX   (INDEX in {:?})",
        dir.display(),
        todo
    );
    outln!("then:    sparqgen gather {}", dir.display());
    Ok(0)
}

#[derive(Args)]
pub struct GatherArgs {
    /// A job folder written by `synth --sweep --emit-jobs DIR` or `--slurm`.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

/// `sparqgen gather DIR`: the sweep report from the tasks' results;
/// writes `DIR/sweep.json`, `DIR/sweep.md` and `DIR/pareto.svg`.
pub fn gather(a: &GatherArgs) -> Result<i32> {
    let jobs = Jobs::read(&a.dir)?;
    let design = jobs.base_design()?;
    let (costs, missing) = sweep::gather(&a.dir)?;
    let report = sparqgen::flows::synth::sweep_report(&design, &jobs, costs);
    for (name, text) in [
        ("sweep.json", report.to_json()),
        ("sweep.md", report.to_markdown()),
        (
            "pareto.svg",
            sparqgen::flows::synth::pareto(&design, &report.sweep),
        ),
    ] {
        sparqgen::output::write_file(&a.dir.join(name), text.as_bytes())?;
    }
    if a.json {
        outln!("{}", report.to_json());
    } else {
        out!("{}", report.to_markdown());
    }
    if missing.is_empty() {
        Ok(0)
    } else {
        errln!("{}", missing_text(&missing));
        Ok(1)
    }
}

#[derive(Args)]
pub struct TaskArgs {
    /// The job folder.
    dir: PathBuf,
    /// The task's index (Slurm: $SLURM_ARRAY_TASK_ID).
    index: usize,
}

/// `sparqgen sweep-task DIR INDEX`: price one variant, write its result.
pub fn task(a: &TaskArgs) -> Result<i32> {
    let out = sweep::run_task(&a.dir, a.index)?;
    outln!("wrote {}", out.display());
    Ok(0)
}

/// A regression on Slurm: one `sparqgen` command per task (`verify` of
/// one design, ...), exit 0 only when every task passed.
pub fn regression(
    c: &SlurmArgs,
    command: &str,
    tasks: Vec<sweep::CommandTask>,
    tools: &str,
) -> Result<i32> {
    let default = PathBuf::from("sparqgen-jobs").join(command);
    let dir = std::path::absolute(c.jobs_dir.as_ref().unwrap_or(&default))?;
    let options = c.options();
    let job = SlurmJob {
        dir: dir.clone(),
        options: &options,
    };
    let (done, missing) = flows::sweep::regression(job, tasks, tools)?;
    let failed: Vec<_> = done.iter().filter(|r| r.code != 0).collect();
    for r in &done {
        outln!(
            "{:<28} {}",
            r.name,
            if r.code == 0 { "PASS" } else { "FAIL" }
        );
    }
    if !missing.is_empty() {
        errln!("{}", missing_text(&missing));
    }
    outln!(
        "{command} on Slurm: {} passed, {} failed, {} without a result (logs in {})",
        done.len() - failed.len(),
        failed.len(),
        missing.len(),
        dir.join(sweep::LOGS_DIR).display()
    );
    Ok(if failed.is_empty() && missing.is_empty() {
        0
    } else {
        1
    })
}

/// The sweep's costs: priced here, or (`--slurm`) by a Slurm array job.
pub fn costs(
    c: &ClusterArgs,
    spec: &SweepSpec,
    scripts: &mut Scripts,
    quiet: bool,
) -> Result<Vec<PeCost>> {
    let options = c.cluster.options();
    let job = c.cluster.slurm.then(|| SlurmJob {
        dir: c
            .cluster
            .jobs_dir
            .clone()
            .unwrap_or_else(|| spec.default_dir.clone()),
        options: &options,
    });
    flows::sweep::costs(&c.variants.0, job, spec, scripts, quiet)
}
