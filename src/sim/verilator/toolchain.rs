//! The toolchain (Verilator and a C++ compiler, found once per process)
//! and the Verilator runtime it compiles once into the cache.

use super::procs::{io, run_parallel};
use crate::cache;
use crate::hash::hex_sha256;
use crate::sim::SimError;
use crate::tools::{self, Tool};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The toolchain as found on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub verilator: String,
    pub root: PathBuf,
    pub cxx: String,
    pub cxx_version: String,
}

/// Flags for the generated C++ that Verilator's own makefile would pass.
pub(super) const CXX_COMMON: &[&str] = &[
    "-std=gnu++17",
    "-faligned-new",
    "-fcf-protection=none",
    "-Wno-bool-operation",
    "-Wno-sign-compare",
    "-Wno-uninitialized",
    "-Wno-unused-but-set-variable",
    "-Wno-unused-parameter",
    "-Wno-unused-variable",
    "-Wno-shadow",
    "-DVM_COVERAGE=0",
    "-DVM_SC=0",
    "-DVM_TRACE_FST=0",
];

/// Find Verilator (5.006 or newer) and a C++ compiler; found once per
/// process (asking the tools takes about 0.3 s, and `net --rtl` builds or
/// looks up a harness per layer).
pub fn toolchain() -> Result<Toolchain, SimError> {
    static FOUND: std::sync::OnceLock<Toolchain> = std::sync::OnceLock::new();
    if let Some(t) = FOUND.get() {
        return Ok(t.clone());
    }
    let t = find_toolchain()?;
    Ok(FOUND.get_or_init(|| t).clone())
}

fn find_toolchain() -> Result<Toolchain, SimError> {
    let found = tools::find(Tool::Verilator)?;
    let root = crate::process::output_within(
        Command::new("verilator").args(["--getenv", "VERILATOR_ROOT"]),
        crate::process::PROBE,
    )
    .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|p| p.join("include/verilated.h").exists())
        .ok_or_else(|| SimError::Tool {
            message: "verilator is installed but its runtime headers (VERILATOR_ROOT/include/\
                      verilated.h) were not found; reinstall it with: apt-get install -y --reinstall verilator"
                .into(),
        })?;
    let cxx = crate::settings::get().cxx.clone();
    let cxx_version =
        crate::process::output_within(Command::new(&cxx).arg("--version"), crate::process::PROBE)
            .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        })
        .ok_or_else(|| SimError::Tool {
            message: format!(
                "the C++ compiler {cxx:?} that Verilator's models need was not found; \
                 install it with: apt-get update && apt-get install -y g++ (or run scripts/setup.sh)"
            ),
        })?;
    Ok(Toolchain {
        verilator: found.version,
        root,
        cxx,
        cxx_version,
    })
}

impl Toolchain {
    pub(super) fn includes(&self) -> Vec<String> {
        vec![
            format!("-I{}", self.root.join("include").display()),
            format!("-I{}", self.root.join("include/vltstd").display()),
        ]
    }

    pub(super) fn trace_defs(trace: bool) -> [&'static str; 2] {
        if trace {
            ["-DVM_TRACE=1", "-DVM_TRACE_VCD=1"]
        } else {
            ["-DVM_TRACE=0", "-DVM_TRACE_VCD=0"]
        }
    }

    /// The Verilator runtime objects and a precompiled `verilated.h`, built
    /// once per toolchain and flags. The precompiled header cuts each of the
    /// model's translation units from ~3.5 s to ~0.6 s.
    pub(super) fn runtime(
        &self,
        cache_root: &Path,
        trace: bool,
        opt: &str,
        jobs: usize,
    ) -> Result<Runtime, SimError> {
        let names: &[&str] = if trace {
            &["verilated", "verilated_threads", "verilated_vcd_c"]
        } else {
            &["verilated", "verilated_threads"]
        };
        let key = hex_sha256(
            format!(
                "runtime\n{}\n{}\n{}\n{:?}\n{RUNTIME_OPT}\n{opt}\n{trace}",
                self.verilator, self.cxx, self.cxx_version, CXX_COMMON
            )
            .as_bytes(),
        )[..16]
            .to_string();
        let dest = cache_root.join(format!("runtime-{key}"));
        let objs: Vec<PathBuf> = names.iter().map(|n| dest.join(format!("{n}.o"))).collect();
        let rt = Runtime {
            objs: objs.clone(),
            pch_dir: dest.join("pch"),
        };
        let done = || dest.join("pch/sim_pch.h.gch").exists() && objs.iter().all(|o| o.exists());
        if done() {
            return Ok(rt);
        }
        let _lock = cache::lock(cache_root, &format!("runtime-{key}")).map_err(|e| io(&dest, e))?;
        if done() {
            return Ok(rt);
        }
        let stage = cache::staging(&dest).map_err(|e| io(&dest, e))?;
        let mut cmds = Vec::new();
        for n in names {
            let mut c = Command::new(&self.cxx);
            c.args(CXX_COMMON)
                .args(Toolchain::trace_defs(trace))
                .args(self.includes())
                .arg(RUNTIME_OPT)
                .arg("-c")
                .arg(self.root.join(format!("include/{n}.cpp")))
                .arg("-o")
                .arg(stage.path().join(format!("{n}.o")));
            cmds.push((format!("{n}.cpp"), c));
        }
        let pch = stage.path().join("pch");
        std::fs::create_dir_all(&pch).map_err(|e| io(&pch, e))?;
        let header = if trace {
            "#include \"verilated.h\"\n#include \"verilated_vcd_c.h\"\n"
        } else {
            "#include \"verilated.h\"\n"
        };
        std::fs::write(pch.join("sim_pch.h"), header).map_err(|e| io(&pch, e))?;
        let mut c = Command::new(&self.cxx);
        c.args(CXX_COMMON)
            .args(Toolchain::trace_defs(trace))
            .args(self.includes())
            .args(opt.split_whitespace())
            .args(["-x", "c++-header"])
            .arg(pch.join("sim_pch.h"))
            .arg("-o")
            .arg(pch.join("sim_pch.h.gch"));
        cmds.push(("sim_pch.h".into(), c));
        run_parallel(
            cmds,
            &stage.path().join("build.log"),
            "the Verilator runtime",
            jobs,
        )?;
        if dest.exists() {
            let _ = std::fs::remove_dir_all(&dest);
        }
        cache::publish(stage, &dest).map_err(|e| io(&dest, e))?;
        Ok(rt)
    }
}

/// Compiled Verilator runtime and precompiled header.
pub(super) struct Runtime {
    pub(super) objs: Vec<PathBuf>,
    pub(super) pch_dir: PathBuf,
}

/// Optimization of the Verilator runtime library (built once).
const RUNTIME_OPT: &str = "-O1";
