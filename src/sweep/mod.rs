//! A PE sweep as independent jobs: one job per PE variant, each run by
//! `sparqgen sweep-task DIR INDEX` (on this machine or as a Slurm array
//! task), each writing one JSON result keyed by the variant's design hash,
//! the flow and the tool versions, so a resubmitted sweep reuses what
//! finished. `gather` reads the results back in the local run's order.
//!
//! The job folder:
//! - `jobs.json`: the base design, the flow, the workload, the variants;
//! - `sweep.sbatch`: the Slurm batch script (an array over the variants);
//! - `results/<key>.json`: one [`PeCost`] per finished variant;
//! - `logs/task_<i>.log`: each task's output.

pub mod slurm;

use crate::config::{hex_sha256, Design, PeKind};
use crate::synth::compare::{self, PeCost, Workload};
use crate::synth::flow::Scripts;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const JOBS_FILE: &str = "jobs.json";
pub const RESULTS_DIR: &str = "results";
pub const LOGS_DIR: &str = "logs";

/// What every task of a sweep needs: written once, read by each task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Jobs {
    pub sparqgen_version: String,
    /// The base design (its accumulator, pipeline and name), as YAML.
    pub base: String,
    /// Also run the iCE40 flow (LUTs; no place-and-route in a sweep).
    pub ice40: bool,
    /// The user's activations for the SQNR column (absolute path), or the
    /// seeded ReLU-like workload.
    pub acts: Option<PathBuf>,
    /// Yosys (and nextpnr) versions the results are keyed by.
    pub tools: String,
    /// Indices into [`compare::all_kinds`], in report order.
    pub variants: Vec<usize>,
    /// A regression instead of a sweep: one sparqgen command per task.
    #[serde(default)]
    pub commands: Vec<CommandTask>,
}

/// One task of a regression: `sparqgen ARGS...`, its exit code recorded.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandTask {
    /// What it checks (a design name), for the report.
    pub name: String,
    pub args: Vec<String>,
    /// Hash of the arguments, the inputs' contents and the tool versions.
    pub key: String,
}

/// A finished regression task: 0 passed, 1 a check failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommandResult {
    pub name: String,
    pub code: i32,
}

/// One variant that has no result (yet), for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub index: usize,
    pub label: String,
    pub log: PathBuf,
}

impl Jobs {
    pub fn read(dir: &Path) -> Result<Jobs> {
        let path = dir.join(JOBS_FILE);
        let text = crate::input::read_text(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a sweep job folder?)",
                path.display(),
                dir.display()
            )
        })?;
        let jobs: Jobs = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a sweep job list", path.display()))?;
        if jobs.sparqgen_version != env!("CARGO_PKG_VERSION") {
            bail!(
                "{} was written by sparqgen {}, this is {}: write the jobs again",
                path.display(),
                jobs.sparqgen_version,
                env!("CARGO_PKG_VERSION")
            );
        }
        if jobs.task_count() == 0 {
            bail!(
                "{}: \"variants\" and \"commands\" are both empty: a job folder has at \
                 least one task (write the jobs again with `sparqgen synth --sweep --emit-jobs`)",
                path.display()
            );
        }
        Ok(jobs)
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir.join(RESULTS_DIR))
            .and_then(|_| std::fs::create_dir_all(dir.join(LOGS_DIR)))
            .with_context(|| format!("cannot create the job folder {}", dir.display()))?;
        let text = serde_json::to_string_pretty(self)?;
        crate::output::write_file(&dir.join(JOBS_FILE), text.as_bytes())?;
        Ok(())
    }

    pub fn base_design(&self) -> Result<Design> {
        Design::from_yaml(&self.base).context("the sweep's base design")
    }

    /// Tasks in the job: commands for a regression, else variants.
    pub fn task_count(&self) -> usize {
        if self.commands.is_empty() {
            self.variants.len()
        } else {
            self.commands.len()
        }
    }

    /// What task `task` checks, for messages.
    pub fn task_label(&self, task: usize) -> Result<String> {
        match self.commands.get(task) {
            Some(c) => Ok(c.name.clone()),
            None => Ok(self.kind(task)?.label()),
        }
    }

    fn kind(&self, task: usize) -> Result<PeKind> {
        let all = compare::all_kinds();
        let &i = self.variants.get(task).with_context(|| {
            format!(
                "task {task} is not in the job list (0..{})",
                self.variants.len()
            )
        })?;
        all.get(i)
            .copied()
            .with_context(|| format!("variant {i} does not exist (0..{})", all.len()))
    }

    fn workload(&self) -> Result<Workload> {
        Ok(match &self.acts {
            None => Workload::ReluLike,
            Some(p) => Workload::User(compare::read_acts(p)?),
        })
    }

    /// The result file of task `task`: keyed by the variant's design hash,
    /// the flow and the tool versions.
    pub fn result_path(&self, dir: &Path, task: usize) -> Result<PathBuf> {
        if !self.commands.is_empty() {
            let c = self.commands.get(task).with_context(|| {
                format!(
                    "task {task} is not in the job list (0..{})",
                    self.commands.len()
                )
            })?;
            return Ok(dir.join(RESULTS_DIR).join(format!(
                "{}-{}.json",
                c.name,
                &c.key[..16.min(c.key.len())]
            )));
        }
        let kind = self.kind(task)?;
        let base = self.base_design()?;
        // The name the task prices it under (its position in the list).
        let design = compare::pe_design(&base, kind, &format!("{}_cmp{task}", base.name()))?;
        let flow = if self.ice40 {
            "generic+ice40"
        } else {
            "generic"
        };
        let acts = self
            .acts
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        let key = hex_sha256(format!("{}|{flow}|{}|{acts}", design.hash(), self.tools).as_bytes());
        Ok(dir.join(RESULTS_DIR).join(format!(
            "{}-{}.json",
            kind.label().replace(' ', "_"),
            &key[..16]
        )))
    }

    /// Tasks without a result.
    pub fn missing(&self, dir: &Path) -> Result<Vec<usize>> {
        let mut v = Vec::new();
        for t in 0..self.task_count() {
            if !self.result_path(dir, t)?.exists() {
                v.push(t);
            }
        }
        Ok(v)
    }
}

/// Run task `task` of the sweep in `dir`: price one PE variant, write its
/// result. A task whose result exists does nothing.
pub fn run_task(dir: &Path, task: usize) -> Result<PathBuf> {
    let jobs = Jobs::read(dir)?;
    let out = jobs.result_path(dir, task)?;
    if out.exists() {
        return Ok(out);
    }
    if let Some(c) = jobs.commands.get(task) {
        let exe = std::env::current_exe().context("cannot find the sparqgen executable")?;
        let status = std::process::Command::new(exe)
            .args(&c.args)
            .status()
            .with_context(|| format!("cannot run sparqgen {}", c.args.join(" ")))?;
        let code = status.code().unwrap_or(-1);
        if code != 0 && code != 1 {
            bail!(
                "sparqgen {} ended with exit {code} (no result recorded)",
                c.args.join(" ")
            );
        }
        let r = CommandResult {
            name: c.name.clone(),
            code,
        };
        let text = serde_json::to_string_pretty(&r)?;
        crate::output::write_file(&out, text.as_bytes())?;
        return Ok(out);
    }
    let kind = jobs.kind(task)?;
    let base = jobs.base_design()?;
    let workload = jobs.workload()?;
    let mut scripts = Scripts::default();
    let cost = compare::cost_pes_at(
        &base,
        &[kind],
        task,
        &workload,
        jobs.ice40,
        false,
        &mut scripts,
    )?
    .pop()
    .context("one variant priced")?;
    let text = serde_json::to_string_pretty(&cost)?;
    crate::output::write_file(&out, text.as_bytes())?;
    Ok(out)
}

/// The results of the sweep in `dir`, in report order, and the variants
/// that have none.
pub fn gather(dir: &Path) -> Result<(Vec<PeCost>, Vec<Missing>)> {
    collect(dir)
}

/// The results of a regression in `dir`, in task order, and the tasks
/// that have none.
pub fn gather_commands(dir: &Path) -> Result<(Vec<CommandResult>, Vec<Missing>)> {
    collect(dir)
}

/// Every task's result file of the job in `dir`, read as `T`.
fn collect<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<(Vec<T>, Vec<Missing>)> {
    let jobs = Jobs::read(dir)?;
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for t in 0..jobs.task_count() {
        let path = jobs.result_path(dir, t)?;
        match crate::input::read_text(&path) {
            Ok(text) => done.push(
                serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a task result", path.display()))?,
            ),
            Err(_) => missing.push(Missing {
                index: t,
                label: jobs.task_label(t)?,
                log: dir.join(LOGS_DIR).join(format!("task_{t}.log")),
            }),
        }
    }
    Ok((done, missing))
}

/// Parse a variant selection: `all`, or indices and ranges (`0-5,9`) into
/// [`compare::all_kinds`].
pub fn parse_variants(s: &str) -> Result<Vec<usize>, String> {
    let n = compare::all_kinds().len();
    if s == "all" {
        return Ok((0..n).collect());
    }
    let mut v = Vec::new();
    for part in s.split(',') {
        let bad = || {
            format!("{part:?} is not allowed (allowed: all, or indices and ranges in 0..{n} such as 0-5,9)")
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (
                a.trim().parse::<usize>().map_err(|_| bad())?,
                b.trim().parse::<usize>().map_err(|_| bad())?,
            ),
            None => {
                let i = part.trim().parse::<usize>().map_err(|_| bad())?;
                (i, i)
            }
        };
        if a > b || b >= n {
            return Err(bad());
        }
        v.extend(a..=b);
    }
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn variant_lists() {
        assert_eq!(parse_variants("0-2,1,40").unwrap(), [0, 1, 2, 40]);
        assert_eq!(
            parse_variants("all").unwrap().len(),
            compare::all_kinds().len()
        );
        for bad in ["", "5-2", "99", "a-b", "0-"] {
            assert!(parse_variants(bad).is_err(), "{bad}");
        }
    }
}
