//! External processes with a time limit: a tool that hangs (a `verilator
//! --version` that never returns, a compiler stuck on a huge unit) is
//! killed and reported, never waited on forever.

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a version probe (`tool --version`) may take.
pub const PROBE: Duration = Duration::from_secs(10);
/// How long one build step (Verilator, one C++ unit, a link, Icarus) may take.
pub const BUILD: Duration = Duration::from_secs(30 * 60);
/// How long one place-and-route run may take.
pub const PNR: Duration = Duration::from_secs(30 * 60);

/// A process that did not finish in time (it was killed).
#[derive(Debug, thiserror::Error)]
#[error(
    "{program} did not finish within {secs} s and was stopped (sparqgen's limit for this step); \
     is it waiting for input or stuck? Try running it by hand: {command}"
)]
pub struct TimedOut {
    pub program: String,
    pub secs: u64,
    pub command: String,
}

/// Why a process produced no output.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    TimedOut(#[from] TimedOut),
}

/// Run `cmd` to completion with its stdout and stderr captured (stdin is
/// closed), killing it after `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Result<Output, RunError> {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            source,
        })?;
    wait_output(child, Instant::now(), limit, cmd)
}

/// As [`output_within`], for a script that starts tools of its own (qflow
/// runs GrayWolf, Qrouter, Magic under tcsh): the command runs in a process
/// group of its own, and past `limit` the whole group is killed, so no
/// grandchild keeps running.
pub fn group_output_within(cmd: &mut Command, limit: Duration) -> Result<Output, RunError> {
    use std::os::unix::process::CommandExt;
    let child = cmd
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RunError::Spawn {
            program: cmd.get_program().to_string_lossy().into_owned(),
            source,
        })?;
    wait_inner(child, Instant::now(), limit, cmd, true)
}

/// Wait for a child of `cmd`, spawned at `started` with piped stdout and
/// stderr, for at most `limit` from then; past it the child is killed.
pub fn wait_output(
    child: Child,
    started: Instant,
    limit: Duration,
    cmd: &Command,
) -> Result<Output, RunError> {
    wait_inner(child, started, limit, cmd, false)
}

fn wait_inner(
    mut child: Child,
    started: Instant,
    limit: Duration,
    cmd: &Command,
    group: bool,
) -> Result<Output, RunError> {
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let spawn_err = |source| RunError::Spawn {
        program: cmd.get_program().to_string_lossy().into_owned(),
        source,
    };
    let mut nap = Duration::from_millis(1);
    let status = loop {
        if let Some(s) = child.try_wait().map_err(spawn_err)? {
            break s;
        }
        if started.elapsed() >= limit {
            if group {
                // SAFETY: kill(2) on the group this child leads; no memory involved.
                unsafe {
                    libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            return Err(TimedOut {
                program: cmd.get_program().to_string_lossy().into_owned(),
                secs: limit.as_secs(),
                command: describe(cmd),
            }
            .into());
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(50));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The command line, shell-quoted enough to paste.
pub fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| {
            let s = a.to_string_lossy();
            if s.contains(|c: char| c.is_whitespace() || c == '\'') {
                format!("'{}'", s.replace('\'', r"'\''"))
            } else {
                s.into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The machine a benchmark ran on, for the line every bench prints first:
/// cores, and the load average (from `/proc/loadavg`, Linux) so that a
/// number measured while other work shared the cores says so.
pub fn machine_line() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").ok().and_then(|t| {
        let v: Vec<f64> = t
            .split_whitespace()
            .take(3)
            .filter_map(|x| x.parse().ok())
            .collect();
        (v.len() == 3).then(|| (v[0], v[1], v[2]))
    });
    match load {
        Some((a, b, c)) => format!(
            "machine: {cores} core(s), load average {a:.2} {b:.2} {c:.2} (1/5/15 min){}",
            if a > cores as f64 + 0.5 {
                "; other work shares the cores, so the rates below are lower than this \
                 machine's idle rates"
            } else {
                ""
            }
        ),
        None => format!("machine: {cores} core(s), load average unknown"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanging_process_is_stopped() {
        let t = Instant::now();
        let e =
            output_within(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        assert!(e.to_string().contains("did not finish within"), "{e}");
        let ok = output_within(Command::new("echo").arg("hi"), PROBE).unwrap();
        assert_eq!(ok.stdout, b"hi\n");
        // A script whose grandchild would outlive it: the group goes too.
        let t = Instant::now();
        let e = group_output_within(
            Command::new("sh").args(["-c", "sleep 30; echo late"]),
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5), "{e}");
    }
}
