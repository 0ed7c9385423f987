//! Running the compile commands of a build, and reading their output.

use crate::sim::SimError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub(super) fn io(path: &Path, e: std::io::Error) -> SimError {
    SimError::Io {
        what: path.display().to_string(),
        source: e,
    }
}

/// The entries of `NAME += \` lists in Verilator's `_classes.mk`.
pub(super) fn mk_list(mk: &str, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in mk.lines() {
        let t = line.trim();
        if !inside {
            if t.starts_with(name) && t.contains("+=") {
                inside = t.ends_with('\\');
            }
            continue;
        }
        let item = t.trim_end_matches('\\').trim();
        if !item.is_empty() {
            out.push(item.to_string());
        }
        if !t.ends_with('\\') {
            inside = false;
        }
    }
    out
}

/// Split files into at most `n` groups of similar total size (largest
/// first, each into the lightest group).
pub(super) fn split_by_size(dir: &Path, files: &[String], n: usize) -> Vec<Vec<String>> {
    let mut sized: Vec<(u64, &String)> = files
        .iter()
        .map(|f| {
            let len = std::fs::metadata(dir.join(format!("{f}.cpp")))
                .map(|m| m.len())
                .unwrap_or(0);
            (len, f)
        })
        .collect();
    sized.sort_by_key(|s| std::cmp::Reverse(s.0));
    let total: u64 = sized.iter().map(|s| s.0).sum();
    // Small models are not worth a second parse of the Verilator headers.
    let n = n.min((total / 400_000 + 1) as usize).max(1);
    let mut groups: Vec<(u64, Vec<String>)> = vec![(0, Vec::new()); n];
    for (len, f) in sized {
        // infallible: n is at least 1 (max(1) above)
        let g = groups.iter_mut().min_by_key(|g| g.0).expect("n >= 1");
        g.0 += len;
        g.1.push(f.clone());
    }
    groups
        .into_iter()
        .map(|g| g.1)
        .filter(|g| !g.is_empty())
        .collect()
}

/// Run compile commands, at most `jobs` at a time; on failure, an error
/// with the failing command's output.
pub(super) fn run_parallel(
    cmds: Vec<(String, Command)>,
    log: &Path,
    label: &str,
    jobs: usize,
) -> Result<(), SimError> {
    let max = jobs.max(1);
    let mut pending = cmds.into_iter();
    let mut running: Vec<(String, std::process::Child, Command, Instant)> = Vec::new();
    let mut text = String::new();
    let mut failure: Option<(String, String)> = None;
    loop {
        while failure.is_none() && running.len() < max {
            match pending.next() {
                Some((name, mut c)) => {
                    let child = c
                        .stdin(Stdio::null())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::piped())
                        .spawn()
                        .map_err(|e| io(Path::new(c.get_program()), e))?;
                    running.push((name, child, c, Instant::now()));
                }
                None => break,
            }
        }
        if running.is_empty() {
            break;
        }
        let (name, child, cmd, started) = running.remove(0);
        let out = crate::process::wait_output(child, started, crate::process::BUILD, &cmd)
            .map_err(|e| SimError::Tool {
                message: format!("{label}: {e}"),
            })?;
        let o = format!(
            "== {name}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        text.push_str(&o);
        if !out.status.success() && failure.is_none() {
            failure = Some((name, o));
        }
    }
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    if let Some((name, o)) = failure {
        return Err(SimError::Compile {
            label: label.to_string(),
            unit: name,
            log: log.to_path_buf(),
            excerpt: excerpt(&o, "error"),
        });
    }
    Ok(())
}

/// `text` with the build copies of the user's files named as the user's.
pub(super) fn user_paths(text: &str, src: &Path, origins: &[(PathBuf, PathBuf)]) -> String {
    origins.iter().fold(text.to_string(), |t, (sub, user)| {
        t.replace(
            &format!("{}/", src.join(sub).display()),
            &format!("{}/", user.display()),
        )
    })
}

/// The first lines of a tool's output that matter: those containing
/// `needle` and a little context, at most 20 lines.
pub(super) fn excerpt(text: &str, needle: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut keep = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.contains(needle) {
            keep.push(i);
        }
    }
    let picked: Vec<&str> = if keep.is_empty() {
        lines.iter().take(20).copied().collect()
    } else {
        keep.iter()
            .flat_map(|&i| i..(i + 3).min(lines.len()))
            .fold(Vec::new(), |mut v: Vec<usize>, i| {
                if !v.contains(&i) {
                    v.push(i);
                }
                v
            })
            .into_iter()
            .take(20)
            .map(|i| lines[i])
            .collect()
    };
    picked.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_classes_lists() {
        let mk = "VM_CLASSES_FAST += \\\n\tVt \\\n\tVt__a \\\n\nVM_CLASSES_SLOW += \\\n\tVt__Slow \\\n\nVM_SUPPORT_FAST += \\\n\n";
        assert_eq!(mk_list(mk, "VM_CLASSES_FAST"), vec!["Vt", "Vt__a"]);
        assert_eq!(mk_list(mk, "VM_CLASSES_SLOW"), vec!["Vt__Slow"]);
        assert!(mk_list(mk, "VM_SUPPORT_FAST").is_empty());
    }
}
