//! The sweep's cluster options (`synth --sweep --slurm`, `--emit-jobs`),
//! `sparqgen gather DIR` and the task runner `sparqgen sweep-task`.

use anyhow::{bail, Result};
use clap::Args;
use sparqgen::config::Design;
use sparqgen::sweep::{self, slurm, Jobs};
use sparqgen::synth::compare::{self, PeCost, Workload};
use sparqgen::synth::flow::Scripts;
use std::path::{Path, PathBuf};

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
    fn options(&self) -> slurm::SlurmOptions {
        slurm::SlurmOptions {
            partition: self.partition.clone(),
            time: self.time.clone(),
        }
    }
}

/// Write the job folder for `design`'s sweep.
pub fn write_jobs(
    dir: &Path,
    design: &Design,
    variants: &[usize],
    ice40: bool,
    acts: Option<&Path>,
    tools: &str,
) -> Result<Jobs> {
    let dir_abs = std::path::absolute(dir)?;
    let acts = acts.map(std::path::absolute).transpose()?;
    let jobs = Jobs {
        sparqgen_version: env!("CARGO_PKG_VERSION").into(),
        base: design.to_yaml(),
        ice40,
        acts,
        tools: tools.to_string(),
        variants: variants.to_vec(),
        commands: Vec::new(),
    };
    jobs.write(&dir_abs)?;
    Ok(jobs)
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

/// What a sweep prices, wherever it runs.
pub struct SweepSpec<'a> {
    pub design: &'a Design,
    pub workload: &'a Workload,
    pub acts: Option<&'a Path>,
    pub ice40: bool,
    /// Tool versions the results are keyed by.
    pub tools: &'a str,
    /// The job folder when --jobs-dir is not given.
    pub default_dir: PathBuf,
}

/// The sweep's costs: priced here, or (`--slurm`) by a Slurm array job.
pub fn costs(
    c: &ClusterArgs,
    spec: &SweepSpec,
    scripts: &mut Scripts,
    quiet: bool,
) -> Result<Vec<PeCost>> {
    if !c.cluster.slurm {
        let all = compare::all_kinds();
        let kinds: Vec<_> = c.variants.0.iter().map(|&i| all[i]).collect();
        return compare::cost_pes(
            spec.design,
            &kinds,
            spec.workload,
            spec.ice40,
            false,
            scripts,
        );
    }
    let dir = std::path::absolute(c.cluster.jobs_dir.as_ref().unwrap_or(&spec.default_dir))?;
    let jobs = write_jobs(
        &dir,
        spec.design,
        &c.variants.0,
        spec.ice40,
        spec.acts,
        spec.tools,
    )?;
    submit_and_wait(&dir, &jobs, &c.cluster, quiet)?;
    let (costs, missing) = sweep::gather(&dir)?;
    if !missing.is_empty() {
        bail!("{}", missing_text(&missing));
    }
    Ok(costs)
}

/// Submit the tasks of `dir` that have no result and wait for them.
fn submit_and_wait(dir: &Path, jobs: &Jobs, c: &SlurmArgs, quiet: bool) -> Result<()> {
    let todo = slurm::emit(dir, jobs, &c.options())?;
    if !quiet {
        errln!(
            "slurm: {} of {} tasks to run ({} finished results reused), jobs in {}",
            todo.len(),
            jobs.task_count(),
            jobs.task_count() - todo.len(),
            dir.display()
        );
    }
    if !todo.is_empty() {
        let id = slurm::submit(dir)?;
        if !quiet {
            errln!("slurm: submitted array job {id}");
        }
        slurm::wait(dir, jobs, &id, quiet)?;
    }
    Ok(())
}

fn missing_text(missing: &[sweep::Missing]) -> String {
    let mut s = format!(
        "{} sweep task(s) failed or did not finish (resubmit to run only these):",
        missing.len()
    );
    for m in missing {
        s.push_str(&format!(
            "\n  task {} ({}): log {}",
            m.index,
            m.label,
            m.log.display()
        ));
    }
    s
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
    let jobs = Jobs {
        sparqgen_version: env!("CARGO_PKG_VERSION").into(),
        base: String::new(),
        ice40: false,
        acts: None,
        tools: tools.to_string(),
        variants: Vec::new(),
        commands: tasks,
    };
    jobs.write(&dir)?;
    submit_and_wait(&dir, &jobs, c, false)?;
    let (done, missing) = sweep::gather_commands(&dir)?;
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

/// A regression task: its name, arguments and a key over the arguments,
/// the inputs' contents and the tool versions.
pub fn command_task(
    name: &str,
    args: Vec<String>,
    inputs: &[&[u8]],
    tools: &str,
) -> sweep::CommandTask {
    let mut h = args.join("\0").into_bytes();
    for i in inputs {
        h.extend_from_slice(&(i.len() as u64).to_le_bytes());
        h.extend_from_slice(i);
    }
    h.extend_from_slice(tools.as_bytes());
    sweep::CommandTask {
        name: name.to_string(),
        args,
        key: sparqgen::config::hex_sha256(&h),
    }
}

/// One task per design file and per `--rtl` folder: `sparqgen COMMAND
/// <it> COMMON...`, keyed by the design (or the folder's Verilog), `extra`
/// (another input file's bytes) and the tool versions.
pub fn design_tasks(
    command: &str,
    designs: &[PathBuf],
    rtl: &[PathBuf],
    common: &[String],
    extra: &[u8],
    tools: &str,
) -> Result<Vec<sweep::CommandTask>> {
    let abs = |p: &Path| -> Result<String> { Ok(std::path::absolute(p)?.display().to_string()) };
    let mut tasks = Vec::new();
    for path in designs {
        let design = Design::from_path(path)?;
        let mut a = vec![command.to_string(), abs(path)?];
        a.extend(common.iter().cloned());
        let text = design.to_yaml();
        tasks.push(command_task(
            design.name(),
            a,
            &[text.as_bytes(), extra],
            tools,
        ));
    }
    for folder in rtl {
        let dut = sparqgen::sim::Dut::from_folder(folder)
            .map_err(|e| anyhow::anyhow!("--rtl {}: {e}", folder.display()))?;
        let mut a = vec![command.to_string(), "--rtl".into(), abs(folder)?];
        a.extend(common.iter().cloned());
        let mut inputs: Vec<&[u8]> = dut.sources.iter().map(|(_, t)| t.as_slice()).collect();
        inputs.push(extra);
        tasks.push(command_task(dut.design.name(), a, &inputs, tools));
    }
    if tasks.is_empty() {
        bail!("{command} --slurm needs design files or --rtl folders: one Slurm task each");
    }
    Ok(tasks)
}
