//! Shared helpers: a temp dir per test and a command builder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sparqgen"))
}

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

pub fn run(args: &[&str], dir: &Path) -> Run {
    let out = bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run sparqgen");
    Run { out }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn write_npy(dir: &Path, name: &str, descr: &str, shape: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, sparqgen::npy::encode_raw(descr, shape, body)).unwrap();
    p
}

/// The first line of every full-tier test (`#[ignore = "full tier ..."]`,
/// run by `scripts/test.sh` with `--include-ignored`): a missing tool fails
/// the test with the command that installs it, never a silent pass.
pub fn need(tools: &[sparqgen::tools::Tool]) {
    for &tool in tools {
        if let Err(e) = sparqgen::tools::find(tool) {
            panic!("this full-tier test needs {}: {e}", tool.program());
        }
    }
}

/// Runs `f` on every item on threads of their own (not rayon's pool, which
/// compute needs), collecting what every call returns, in the items' order.
pub fn flat_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> Vec<R> + Sync) -> Vec<R> {
    let all = sparqgen::synth::fanout::run(items, |x| Ok::<_, std::convert::Infallible>(f(x)));
    all.unwrap_or_else(|e| match e {})
        .into_iter()
        .flatten()
        .collect()
}
