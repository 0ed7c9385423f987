//! Running Yosys: find it (with the version check and install hint of
//! [`crate::tools`]), run a script in a work folder with a time limit, and
//! read `stat -json` output into cell and transistor counts.
//!
//! Scripts come from templates (the caller renders them); this module only
//! writes the text to `<workdir>/run.ys`, runs `yosys -q -l yosys.log -s
//! run.ys` there and returns the log. Files the script writes (`tee -q -o
//! stat.json stat -json ...`) land in the work folder.

use crate::tools::{self, Found, Tool, ToolError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one Yosys process may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum YosysError {
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("yosys failed (exit {code}) running {script}: {message}\n(full log: {log})")]
    Failed {
        code: String,
        script: String,
        message: String,
        log: String,
    },
    #[error(
        "yosys did not finish within {seconds} s running {script}; it was stopped (log: {log})"
    )]
    Timeout {
        seconds: u64,
        script: String,
        log: String,
    },
    #[error("cannot read Yosys stat JSON{from}: {why}")]
    Stat { from: String, why: String },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> YosysError + '_ {
    move |source| YosysError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Find Yosys (0.23 or newer) on PATH.
pub fn find() -> Result<Found, YosysError> {
    Ok(tools::find(Tool::Yosys)?)
}

/// Run `script` with Yosys in `workdir` (which must exist) and return the
/// log. Fails with the log's first `ERROR:` line on a non-zero exit.
pub fn run_script(script: &str, workdir: &Path) -> Result<String, YosysError> {
    run_script_timeout(script, workdir, DEFAULT_TIMEOUT)
}

/// Copy a failed run's script and logs out of `workdir` (usually a
/// temporary folder that is deleted when the error propagates) into a
/// folder that stays, so the paths the error names still exist when the
/// user reads them. Returns the script's and the log's paths (the
/// originals if the copy fails).
fn keep_for_user(workdir: &Path, script: &str, log: &str, also: &[&str]) -> (String, String) {
    let kept = tempfile::Builder::new()
        .prefix("sparqgen-yosys-failed-")
        .tempdir()
        .map(|d| d.keep());
    let copied = |dir: &Path| {
        [script, log].iter().chain(also).all(|f| {
            !workdir.join(f).exists() || std::fs::copy(workdir.join(f), dir.join(f)).is_ok()
        })
    };
    let dir = match kept {
        Ok(dir) if copied(&dir) => dir,
        _ => workdir.to_path_buf(),
    };
    (
        dir.join(script).display().to_string(),
        dir.join(log).display().to_string(),
    )
}

/// [`run_script`] with a time limit of its own.
pub fn run_script_timeout(
    script: &str,
    workdir: &Path,
    timeout: Duration,
) -> Result<String, YosysError> {
    run_script_as(script, workdir, "run", timeout)
}

/// [`run_script_timeout`] with the script in `<workdir>/<name>.ys` and the
/// log in `<name>.log` (`run`: `run.ys` and `yosys.log`), so that several
/// Yosys processes can share one folder.
pub fn run_script_as(
    script: &str,
    workdir: &Path,
    name: &str,
    timeout: Duration,
) -> Result<String, YosysError> {
    let found = find()?;
    let script_name = format!("{name}.ys");
    let log_name = if name == "run" {
        "yosys.log".to_string()
    } else {
        format!("{name}.log")
    };
    let script_path = workdir.join(&script_name);
    let log_path = workdir.join(&log_name);
    std::fs::write(&script_path, script).map_err(io_err(&script_path))?;
    let stderr_name = format!("{name}.stderr");
    let stderr_path = workdir.join(&stderr_name);
    let stderr_file = std::fs::File::create(&stderr_path).map_err(io_err(&stderr_path))?;
    let mut child = Command::new(&found.program)
        .args(["-q", "-l", &log_name, "-s", &script_name])
        .current_dir(workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .map_err(io_err(Path::new(&found.program)))?;
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io_err(&script_path))? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            let (script, log) = keep_for_user(workdir, &script_name, &log_name, &[]);
            return Err(YosysError::Timeout {
                seconds: timeout.as_secs(),
                script,
                log,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let message = log
            .lines()
            .chain(stderr.lines())
            .find(|l| l.trim_start().starts_with("ERROR"))
            .map(|l| l.trim().to_string())
            .or_else(|| stderr.lines().last().map(|l| l.trim().to_string()))
            .unwrap_or_else(|| "no error message".to_string());
        let (script, log) = keep_for_user(workdir, &script_name, &log_name, &[&stderr_name]);
        return Err(YosysError::Failed {
            code: status
                .code()
                .map_or("by a signal".to_string(), |c| c.to_string()),
            script,
            message,
            log,
        });
    }
    Ok(log)
}

/// Warning lines of a Yosys log (generated input should produce none).
pub fn warnings(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.trim_start().starts_with("Warning:"))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Cell counts of one module, or of the whole design, from `stat -json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CellStats {
    pub cells: u64,
    pub cells_by_type: BTreeMap<String, u64>,
    /// `stat -tech cmos` transistor estimate, when the stat ran with it.
    pub transistors: Option<u64>,
    /// False when Yosys marked the estimate as a lower bound ("1234+": some
    /// cell types have no transistor count, e.g. flip-flops with reset).
    pub transistors_exact: bool,
}

/// Everything `stat -json` printed: the design totals (with `-top`, summed
/// over the hierarchy) and each module on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    pub design: CellStats,
    pub modules: BTreeMap<String, CellStats>,
}

fn parse_cells(v: &serde_json::Value, what: &str) -> Result<CellStats, String> {
    let cells = v
        .get("num_cells")
        .and_then(|n| n.as_u64())
        .ok_or_else(|| format!("{what} has no num_cells"))?;
    let mut by_type = BTreeMap::new();
    if let Some(map) = v.get("num_cells_by_type").and_then(|m| m.as_object()) {
        for (k, n) in map {
            let n = n
                .as_u64()
                .ok_or_else(|| format!("{what}: count of {k} is not a number"))?;
            by_type.insert(k.clone(), n);
        }
    }
    // Yosys 0.23 prints the estimate as a string ("30200" or "30200+"),
    // later versions as a number.
    let (transistors, exact) = match v.get("estimated_num_transistors") {
        None => (None, false),
        Some(serde_json::Value::Number(n)) => (n.as_u64(), true),
        Some(serde_json::Value::String(s)) => {
            let exact = !s.ends_with('+');
            let n = s
                .trim_end_matches('+')
                .parse::<u64>()
                .map_err(|_| format!("{what}: transistor estimate {s:?} is not a number"))?;
            (Some(n), exact)
        }
        Some(other) => {
            return Err(format!(
                "{what}: transistor estimate {other} is not a number"
            ))
        }
    };
    Ok(CellStats {
        cells,
        cells_by_type: by_type,
        transistors,
        transistors_exact: exact,
    })
}

/// Parse the text of `stat -json` (as written by `tee -q -o FILE stat
/// -json ...`). `from` names the file in errors.
pub fn parse_stat_json(text: &str, from: &str) -> Result<Stat, YosysError> {
    let err = |why: String| YosysError::Stat {
        from: if from.is_empty() {
            String::new()
        } else {
            format!(" {from}")
        },
        why,
    };
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    let design = v
        .get("design")
        .ok_or_else(|| err("no \"design\" section".into()))?;
    let design = parse_cells(design, "design").map_err(err)?;
    let mut modules = BTreeMap::new();
    if let Some(map) = v.get("modules").and_then(|m| m.as_object()) {
        for (name, m) in map {
            let name = name.trim_start_matches('\\').to_string();
            let stats = parse_cells(m, &format!("module {name}")).map_err(err)?;
            modules.insert(name, stats);
        }
    }
    Ok(Stat { design, modules })
}

/// Read and parse a stat JSON file.
pub fn read_stat_json(path: &Path) -> Result<Stat, YosysError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    parse_stat_json(&text, &path.display().to_string())
}

/// A fresh temporary work folder (removed when dropped), or `keep` if given.
pub fn workdir(keep: Option<&Path>) -> Result<(Option<tempfile::TempDir>, PathBuf), YosysError> {
    match keep {
        Some(p) => {
            std::fs::create_dir_all(p).map_err(io_err(p))?;
            Ok((None, p.to_path_buf()))
        }
        None => {
            let t = tempfile::Builder::new()
                .prefix("sparqgen-yosys-")
                .tempdir()
                .map_err(io_err(&std::env::temp_dir()))?;
            let p = t.path().to_path_buf();
            Ok((Some(t), p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_yosys_023_stat_json() {
        let text = r#"{
   "creator": "Yosys 0.23 (git sha1 7ce5011c24b)",
   "invocation": "stat -json -tech cmos -top top ",
   "modules": {
      "\\top": {
         "num_wires": 10, "num_cells": 7,
         "num_cells_by_type": { "$_NAND_": 4, "$_DFF_P_": 2, "sub": 1 },
         "estimated_num_transistors": "48+"
      },
      "\\sub": {
         "num_cells": 2,
         "num_cells_by_type": { "$_NOT_": 2 },
         "estimated_num_transistors": "4"
      }
   },
   "design": {
      "num_cells": 8,
      "num_cells_by_type": { "$_NAND_": 4, "$_DFF_P_": 2, "$_NOT_": 2 },
      "estimated_num_transistors": "52"
   }
}"#;
        let s = parse_stat_json(text, "x.json").unwrap();
        assert_eq!(s.design.cells, 8);
        assert_eq!(s.design.transistors, Some(52));
        assert!(s.design.transistors_exact);
        assert_eq!(s.modules["top"].transistors, Some(48));
        assert!(!s.modules["top"].transistors_exact);
        assert_eq!(s.modules["sub"].cells_by_type["$_NOT_"], 2);
        let e = parse_stat_json("{}", "y.json").unwrap_err().to_string();
        assert!(e.contains("y.json") && e.contains("design"), "{e}");
    }

    #[test]
    fn newer_numeric_estimate() {
        let s = parse_stat_json(
            r#"{"design": {"num_cells": 1, "estimated_num_transistors": 6}}"#,
            "",
        )
        .unwrap();
        assert_eq!(s.design.transistors, Some(6));
        assert!(s.design.transistors_exact);
    }
}
