//! A sweep on a real one-node Slurm cluster (Debian's slurm-wlm and munge,
//! started here by scripts/slurm-local.sh): the gathered report equals the
//! local run's numbers, and a cancelled sweep resubmitted runs only what
//! is missing.

use crate::util::bin;
use sparqgen::tools::Tool;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One cluster at a time: scripts/slurm-local.sh starts slurmctld and
/// slurmd on fixed ports, and the tests of one binary run in parallel.
static ONE_CLUSTER: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) struct Cluster {
    dir: tempfile::TempDir,
    _one: std::sync::MutexGuard<'static, ()>,
}

impl Cluster {
    pub(crate) fn start() -> Cluster {
        // a test that failed while holding it leaves it poisoned; the
        // cluster it started was stopped by its Drop all the same
        let one = ONE_CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "a local Slurm cluster did not start (install with: apt-get install -y slurm-wlm \
             munge, or run scripts/setup.sh): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster { dir, _one: one }
    }
    pub(crate) fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.conf());
        c
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-local.sh")
}

fn sweep(args: &[&str], dir: &Path, conf: &Path) -> (serde_json::Value, String) {
    let out = bin()
        .args([
            "synth",
            "--sweep",
            "--target",
            "generic",
            "--pe-only",
            "--no-netlist-check",
            "--json",
        ])
        .args(args)
        .env("SLURM_CONF", conf)
        .current_dir(dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    (v["sweep"].clone(), err)
}

fn results(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("results"))
        .map(|r| r.count())
        .unwrap_or(0)
}

#[test]
#[ignore = "full tier (Slurm, Yosys, Verilator): scripts/test.sh runs it"]
fn sweep_on_slurm_equals_the_local_run_and_resumes() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator]);
    let cluster = Cluster::start();
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let conf = cluster.conf();

    let (local, _) = sweep(&["--variants", "0-5", "-o", "local"], w, &conf);
    let (remote, _) = sweep(&["--variants", "0-5", "--slurm", "-o", "remote"], w, &conf);
    assert_eq!(local.as_array().unwrap().len(), 6);
    assert_eq!(local, remote, "the gathered sweep equals the local one");

    // Emit, submit by hand, cancel after the first result, resubmit.
    let jobs = w.join("jobs");
    let out = bin()
        .args([
            "synth",
            "--sweep",
            "--target",
            "generic",
            "--variants",
            "0-11",
        ])
        .arg("--emit-jobs")
        .arg(&jobs)
        .current_dir(w)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = cluster
        .cmd("sbatch")
        .arg("--parsable")
        .arg(jobs.join("sweep.sbatch"))
        .output()
        .unwrap();
    assert!(
        id.status.success(),
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let t = Instant::now();
    while results(&jobs) == 0 {
        assert!(t.elapsed() < Duration::from_secs(300), "no task finished");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(cluster.cmd("scancel").arg(&id).status().unwrap().success());
    loop {
        let q = cluster
            .cmd("squeue")
            .args(["-h", "-j", &id])
            .stderr(Stdio::null())
            .output()
            .unwrap();
        if String::from_utf8_lossy(&q.stdout).trim().is_empty() {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(200));
    }
    let done = results(&jobs);
    assert!(
        done > 0 && done < 12,
        "cancelled midway: {done} of 12 finished"
    );
    // gather on a partial sweep names the missing tasks and fails
    let g = bin()
        .arg("gather")
        .arg(&jobs)
        .current_dir(w)
        .output()
        .unwrap();
    assert_eq!(g.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&g.stderr).contains("task_"));

    let (resumed, _) = sweep(
        &[
            "--variants",
            "0-11",
            "--slurm",
            "--jobs-dir",
            jobs.to_str().unwrap(),
            "-o",
            "resumed",
        ],
        w,
        &conf,
    );
    assert_eq!(resumed.as_array().unwrap().len(), 12);
    assert_eq!(
        resumed.as_array().unwrap()[..6],
        local.as_array().unwrap()[..]
    );
    let g = bin()
        .arg("gather")
        .arg(&jobs)
        .current_dir(w)
        .output()
        .unwrap();
    assert!(g.status.success(), "{}", String::from_utf8_lossy(&g.stderr));
    assert!(jobs.join("pareto.svg").exists());
    // the resubmission's array held only the tasks that had no result
    let script = std::fs::read_to_string(jobs.join("sweep.sbatch")).unwrap();
    let spec = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .unwrap();
    let count: usize = spec
        .split(',')
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum();
    assert_eq!(count, 12 - done, "resubmitted {spec} after {done} finished");

    // Regressions: one task per design; a second run reuses both.
    for (name, kind) in [("va", "mac8x8"), ("vb", "mac4x8")] {
        std::fs::write(
            w.join(format!("{name}.yaml")),
            format!("name: {name}\npe: {{kind: {kind}}}\narray: {{kind: single}}\n"),
        )
        .unwrap();
    }
    for (cmd, reused) in [
        ("verify", "0 finished results reused"),
        ("verify", "2 finished results reused"),
        ("prove", "0 finished results reused"),
    ] {
        let out = bin()
            .args([cmd, "va.yaml", "vb.yaml", "--slurm"])
            .args(if cmd == "verify" {
                &["--quick"][..]
            } else {
                &[]
            })
            .env("SLURM_CONF", &conf)
            .current_dir(w)
            .output()
            .unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{so}{se}");
        assert!(so.contains("2 passed, 0 failed"), "{so}");
        assert!(se.contains(reused), "{se}");
    }
}
