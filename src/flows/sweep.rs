//! Sweeps and regressions as library calls: the job folder of a sweep, its
//! costs priced here or by a Slurm array job, and regressions (one
//! `sparqgen` command per design) on Slurm. `sparqgen synth --sweep`,
//! `verify --slurm`, `prove --slurm` and `gather` call these; progress goes
//! to stderr unless `quiet`.

use crate::config::Design;
use crate::sweep::{self, slurm, CommandResult, CommandTask, Jobs, Missing};
use crate::synth::compare::{self, PeCost, Workload};
use crate::synth::flow::Scripts;
use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// Where a sweep or regression runs on Slurm: its job folder and options.
pub struct SlurmJob<'a> {
    pub dir: PathBuf,
    pub options: &'a slurm::SlurmOptions,
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

/// The sweep's `variants` priced here, or (`slurm`) by a Slurm array job.
pub fn costs(
    variants: &[usize],
    slurm: Option<SlurmJob>,
    spec: &SweepSpec,
    scripts: &mut Scripts,
    quiet: bool,
) -> Result<Vec<PeCost>> {
    let Some(job) = slurm else {
        let all = compare::all_kinds();
        let kinds: Vec<_> = variants.iter().map(|&i| all[i]).collect();
        return compare::cost_pes(
            spec.design,
            &kinds,
            spec.workload,
            spec.ice40,
            false,
            scripts,
        );
    };
    let dir = std::path::absolute(&job.dir)?;
    let jobs = write_jobs(
        &dir,
        spec.design,
        variants,
        spec.ice40,
        spec.acts,
        spec.tools,
    )?;
    submit_and_wait(&dir, &jobs, job.options, quiet)?;
    let (costs, missing) = sweep::gather(&dir)?;
    if !missing.is_empty() {
        bail!("{}", missing_text(&missing));
    }
    Ok(costs)
}

/// Submit the tasks of `dir` that have no result and wait for them.
fn submit_and_wait(
    dir: &Path,
    jobs: &Jobs,
    options: &slurm::SlurmOptions,
    quiet: bool,
) -> Result<()> {
    let todo = slurm::emit(dir, jobs, options)?;
    if !quiet {
        crate::errln!(
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
            crate::errln!("slurm: submitted array job {id}");
        }
        slurm::wait(dir, jobs, &id, quiet)?;
    }
    Ok(())
}

/// The tasks without a result, one a line with its log.
pub fn missing_text(missing: &[Missing]) -> String {
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

/// A regression on Slurm: write the job folder, run every task without a
/// result, and gather: the results in task order and the tasks that have
/// none.
pub fn regression(
    job: SlurmJob,
    tasks: Vec<CommandTask>,
    tools: &str,
) -> Result<(Vec<CommandResult>, Vec<Missing>)> {
    let dir = std::path::absolute(&job.dir)?;
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
    submit_and_wait(&dir, &jobs, job.options, false)?;
    sweep::gather_commands(&dir)
}

/// A regression task: its name, arguments and a key over the arguments,
/// the inputs' contents and the tool versions.
pub fn command_task(name: &str, args: Vec<String>, inputs: &[&[u8]], tools: &str) -> CommandTask {
    let mut h = args.join("\0").into_bytes();
    for i in inputs {
        h.extend_from_slice(&(i.len() as u64).to_le_bytes());
        h.extend_from_slice(i);
    }
    h.extend_from_slice(tools.as_bytes());
    CommandTask {
        name: name.to_string(),
        args,
        key: crate::hash::hex_sha256(&h),
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
) -> Result<Vec<CommandTask>> {
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
        let dut = crate::sim::Dut::from_folder(folder)
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
