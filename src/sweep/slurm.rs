//! Slurm: the batch script of a sweep, its submission as one array job,
//! and waiting with progress from `squeue`.

use super::{Jobs, LOGS_DIR};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub const SCRIPT: &str = "sweep.sbatch";

/// Where and how long the tasks may run.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// Per-task limit in Slurm's format (`30:00`, `1-00:00:00`).
    pub time: Option<String>,
}

/// `1,3,5-7` for Slurm's `--array`.
fn array_spec(tasks: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tasks.len() {
        let start = tasks[i];
        let mut end = start;
        while i + 1 < tasks.len() && tasks[i + 1] == end + 1 {
            i += 1;
            end = tasks[i];
        }
        parts.push(if end > start {
            format!("{start}-{end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(",")
}

fn quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// The batch script that runs `tasks` of the sweep in `dir` (absolute).
pub fn script(dir: &Path, tasks: &[usize], exe: &Path, opts: &SlurmOptions) -> String {
    let mut s =
        String::from("#!/bin/sh\n# sparqgen jobs: one array task per PE variant or design.\n");
    s.push_str("#SBATCH --job-name=sparqgen-sweep\n");
    s.push_str(&format!("#SBATCH --array={}\n", array_spec(tasks)));
    s.push_str(&format!(
        "#SBATCH --output=\"{}/task_%a.log\"\n",
        dir.join(LOGS_DIR).display()
    ));
    s.push_str("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    if let Some(p) = &opts.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &opts.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    s.push_str(&format!(
        "exec {} sweep-task {} \"$SLURM_ARRAY_TASK_ID\"\n",
        quote(exe),
        quote(dir)
    ));
    s
}

/// Write the script for the tasks of `dir` that have no result; returns
/// them (empty: nothing to run).
pub fn emit(dir: &Path, jobs: &Jobs, opts: &SlurmOptions) -> Result<Vec<usize>> {
    let missing = jobs.missing(dir)?;
    let exe = std::env::current_exe().context("cannot find the sparqgen executable")?;
    let text = script(dir, &missing, &exe, opts);
    crate::output::write_file(&dir.join(SCRIPT), text.as_bytes())?;
    Ok(missing)
}

fn run(cmd: &mut Command, what: &str) -> Result<String> {
    let out = crate::process::output_within(cmd, Duration::from_secs(60)).map_err(|e| {
        anyhow::anyhow!(
            "{e}; {what} needs Slurm's client tools on PATH (apt-get install -y slurm-client) \
             and a reachable controller (SLURM_CONF)"
        )
    })?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submit the script in `dir`; returns the job id.
pub fn submit(dir: &Path) -> Result<String> {
    let out = run(
        Command::new("sbatch")
            .arg("--parsable")
            .arg(dir.join(SCRIPT)),
        "sbatch",
    )?;
    let id = out.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() {
        bail!("sbatch printed no job id");
    }
    Ok(id)
}

/// Wait until job `id` has left the queue, printing progress (results
/// written so far) to stderr.
pub fn wait(dir: &Path, jobs: &Jobs, id: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    let total = jobs.task_count();
    let mut last = usize::MAX;
    let mut failures = 0;
    loop {
        let q = match run(
            Command::new("squeue").args(["-h", "-j", id, "-o", "%i %T"]),
            "squeue",
        ) {
            Ok(q) => q,
            // A job the controller has forgotten has finished.
            Err(e) if e.to_string().contains("Invalid job id") => String::new(),
            // A busy controller: ask again, for a while.
            Err(e) => {
                failures += 1;
                if failures > 20 {
                    return Err(e.context(format!("waiting for Slurm job {id}")));
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        failures = 0;
        let done = total - jobs.missing(dir)?.len();
        if !quiet && done != last {
            crate::errln!(
                "slurm: job {id}: {done}/{total} results after {:.0} s",
                start.elapsed().as_secs_f64()
            );
            last = done;
        }
        if q.trim().is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn array_specs() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
        assert_eq!(array_spec(&[4]), "4");
    }
}
