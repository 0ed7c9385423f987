//! Building a harness with Verilator: `verilator --cc` writes C++, then
//! g++ compiles it directly (no make): the Verilator runtime
//! (`verilated.cpp`, ...) once per tool version into the cache, the model in
//! a few translation units in parallel, the driver with the model's slow
//! code. The result is cached by content hash (see [`crate::cache`]).

use super::SimError;
use crate::cache;
use crate::hash::hex_sha256;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod procs;
mod toolchain;

use procs::{excerpt, io, mk_list, run_parallel, split_by_size, user_paths};
use toolchain::CXX_COMMON;
pub use toolchain::{toolchain, Toolchain};

/// The hand-written driver (the same for every design).
pub const DRIVER_CPP: &str = include_str!("../../../templates/sim/driver.cpp");

/// Everything a harness is built from.
pub struct BuildInputs {
    /// For messages: what is being built.
    pub label: String,
    /// Verilog sources, `(relative path, contents)`, in compile order.
    pub sources: Vec<(PathBuf, Vec<u8>)>,
    /// `(source subfolder, the user's folder it was read from)`: messages
    /// name the user's files (not part of the cache key).
    pub origins: Vec<(PathBuf, PathBuf)>,
    /// The harness top (`SimBundle`).
    pub wrapper: String,
    /// `sim_adapter.h`.
    pub adapter: String,
    /// Build with `--trace` (VCD) support.
    pub trace: bool,
    pub profile: Profile,
    /// Many PEs: keep modules as C++ classes instead of flattening them
    /// (with [`Profile::Run`]).
    pub large: bool,
    /// Overrides from the environment (see [`Tuning::from_settings`]).
    pub tuning: Tuning,
}

/// How a build may be tuned from outside: compile jobs, the model's g++
/// optimization, extra Verilator flags (experiments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// Parallel compile jobs (at least 1).
    pub jobs: usize,
    /// Replaces the profile's g++ optimization when set.
    pub sim_opt: Option<String>,
    /// Appended to the profile's Verilator flags.
    pub verilator_flags: Vec<String>,
}

impl Tuning {
    /// `SPARQGEN_BUILD_JOBS` (else the available cores),
    /// `SPARQGEN_SIM_OPT` and `SPARQGEN_VERILATOR_FLAGS`.
    pub fn from_settings(s: &crate::settings::Settings) -> Tuning {
        Tuning {
            jobs: s
                .build_jobs
                .or_else(|| std::thread::available_parallelism().ok())
                .map_or(1, |n| n.get()),
            sim_opt: s.sim_opt.clone(),
            verilator_flags: s.verilator_flags.clone(),
        }
    }
}

impl Default for Tuning {
    /// The process's settings ([`crate::settings::get`]).
    fn default() -> Self {
        Tuning::from_settings(crate::settings::get())
    }
}

/// A compiled harness.
#[derive(Debug, Clone)]
pub struct Built {
    pub exe: PathBuf,
    pub key: String,
    /// True when the harness came from the cache.
    pub cached: bool,
    /// Seconds in `verilator --cc`, in g++ (model + driver + link), total.
    pub verilate_secs: f64,
    pub compile_secs: f64,
    pub total_secs: f64,
    /// Warnings Verilator printed (the RTL still built).
    pub warnings: Vec<String>,
}

/// What a build optimizes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// `-O1`: builds several times faster than `-O2`; what `verify` and the
    /// tests use (their runs are short next to a build).
    #[default]
    Build,
    /// `-O2`: about 1.4x the simulation speed of `-O1` on a 16x16 array,
    /// for benchmarks and long runs.
    Run,
}

/// g++ optimization of the model; [`Tuning::sim_opt`] overrides it.
fn model_opt(profile: Profile, tuning: &Tuning) -> String {
    tuning.sim_opt.clone().unwrap_or_else(|| {
        match profile {
            Profile::Build => "-O1",
            Profile::Run => "-O2",
        }
        .to_string()
    })
}

/// Verilator flags of a profile, plus [`Tuning::verilator_flags`]
/// (experiments). For large arrays `--inline-mult 1` keeps each PE a C++
/// class of its own instead of flattening the array: a 16x16 array's `-O2`
/// build drops from minutes to under one at about the same simulation
/// speed (a single PE runs faster flattened).
fn extra_verilator_flags(profile: Profile, large: bool, tuning: &Tuning) -> Vec<String> {
    let mut v: Vec<String> = match profile {
        Profile::Run if large => vec!["--inline-mult".into(), "1".into()],
        _ => Vec::new(),
    };
    v.extend(tuning.verilator_flags.iter().cloned());
    v
}

/// Verilator's flags: speed over checking (X assignment and initial values
/// fast, assertions off), warnings reported but not fatal (the generated RTL
/// is lint-clean; an edited one should still simulate).
const VERILATOR_FLAGS: &[&str] = &[
    "--cc",
    "--prefix",
    "Vsim",
    "--top-module",
    "SimBundle",
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "--no-timing",
    "-Wno-fatal",
];

/// The cache key of a build.
pub fn key(tc: &Toolchain, inputs: &BuildInputs) -> String {
    let mut text = Vec::new();
    let mut add = |s: &[u8]| {
        text.extend_from_slice(&(s.len() as u64).to_le_bytes());
        text.extend_from_slice(s);
    };
    add(b"sparqgen harness v1");
    add(tc.verilator.as_bytes());
    add(tc.cxx.as_bytes());
    add(tc.cxx_version.as_bytes());
    add(format!(
        "{VERILATOR_FLAGS:?}{:?}{CXX_COMMON:?}{}",
        extra_verilator_flags(inputs.profile, inputs.large, &inputs.tuning),
        model_opt(inputs.profile, &inputs.tuning)
    )
    .as_bytes());
    add(&[u8::from(inputs.trace)]);
    add(DRIVER_CPP.as_bytes());
    add(inputs.adapter.as_bytes());
    add(inputs.wrapper.as_bytes());
    for (p, c) in &inputs.sources {
        add(p.to_string_lossy().as_bytes());
        add(c);
    }
    hex_sha256(&text)[..24].to_string()
}

/// Build (or find in the cache under `root`, see [`cache::root`]) the
/// harness for `inputs`.
pub fn build(inputs: &BuildInputs, root: &Path) -> Result<Built, SimError> {
    let tc = toolchain()?;
    let root = root.to_path_buf();
    let start = Instant::now();
    let key = key(&tc, inputs);
    let dest = root.join(format!("harness-{key}"));
    let exe = dest.join("harness");
    if exe.exists() {
        return Ok(cached(exe, key));
    }
    std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
    let _lock = cache::lock(&root, &key).map_err(|e| io(&root, e))?;
    if exe.exists() {
        return Ok(cached(exe, key));
    }
    // Builds of large arrays take minutes: say so before, and when done.
    crate::errln!(
        "sim: building the Verilator harness for {} (not cached yet; a 64x64 array takes \
         about 3 minutes and 2.6 GB)...",
        inputs.label
    );
    let opt = model_opt(inputs.profile, &inputs.tuning);
    let jobs = inputs.tuning.jobs.max(1);
    let runtime = tc.runtime(&root, inputs.trace, &opt, jobs)?;
    let stage = cache::staging(&dest).map_err(|e| io(&dest, e))?;
    let dir = stage.path();
    let src = dir.join("src");
    let obj = dir.join("obj");
    std::fs::create_dir_all(&obj).map_err(|e| io(&obj, e))?;
    let mut vfiles = Vec::new();
    for (rel, contents) in &inputs.sources {
        let p = src.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        std::fs::write(&p, contents).map_err(|e| io(&p, e))?;
        vfiles.push(p);
    }
    let top = src.join("SimBundle.v");
    std::fs::write(&top, &inputs.wrapper).map_err(|e| io(&top, e))?;
    vfiles.push(top);
    let adapter = src.join("sim_adapter.h");
    std::fs::write(&adapter, &inputs.adapter).map_err(|e| io(&adapter, e))?;
    let driver = src.join("driver.cpp");
    std::fs::write(&driver, DRIVER_CPP).map_err(|e| io(&driver, e))?;

    // 1. Verilog -> C++
    let t = Instant::now();
    let mut cmd = Command::new("verilator");
    cmd.args(VERILATOR_FLAGS)
        .args(extra_verilator_flags(
            inputs.profile,
            inputs.large,
            &inputs.tuning,
        ))
        .arg("-Mdir")
        .arg(&obj);
    if inputs.trace {
        cmd.arg("--trace");
    }
    cmd.args(&vfiles);
    let out = crate::process::output_within(&mut cmd, crate::process::BUILD).map_err(|e| {
        SimError::Tool {
            message: e.to_string(),
        }
    })?;
    let log_text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let log = dir.join("verilator.log");
    let _ = std::fs::write(&log, &log_text);
    if !out.status.success() {
        // keep the failed build for inspection, outside the cache's names
        let kept = root.join(format!("failed-{key}"));
        let _ = std::fs::remove_dir_all(&kept);
        let _ = cache::publish(stage, &kept);
        return Err(SimError::Verilator {
            label: inputs.label.clone(),
            log: kept.join("verilator.log"),
            excerpt: user_paths(&excerpt(&log_text, "%Error"), &src, &inputs.origins),
        });
    }
    // the warnings, naming the user's files; kept beside the harness so a
    // cached build reports them too
    let warnings: Vec<String> = log_text
        .lines()
        .filter(|l| l.starts_with("%Warning"))
        .map(|l| user_paths(l, &src, &inputs.origins))
        .collect();
    let _ = std::fs::write(dir.join(WARNINGS_FILE), warnings.join("\n"));
    let verilate_secs = t.elapsed().as_secs_f64();

    // 2. C++ -> harness
    let t = Instant::now();
    let classes = std::fs::read_to_string(obj.join("Vsim_classes.mk"))
        .map_err(|e| io(&obj.join("Vsim_classes.mk"), e))?;
    let fast: Vec<String> = mk_list(&classes, "VM_CLASSES_FAST")
        .into_iter()
        .chain(mk_list(&classes, "VM_SUPPORT_FAST"))
        .collect();
    let slow: Vec<String> = mk_list(&classes, "VM_CLASSES_SLOW")
        .into_iter()
        .chain(mk_list(&classes, "VM_SUPPORT_SLOW"))
        .collect();
    let groups = split_by_size(&obj, &fast, jobs);
    let mut units: Vec<(String, String, Vec<String>)> = Vec::new();
    for (i, g) in groups.into_iter().enumerate() {
        units.push((format!("fast_{i}"), opt.clone(), g));
    }
    let mut slow_unit: Vec<String> = slow;
    slow_unit.push("../src/driver".to_string());
    units.push(("slow".to_string(), opt.clone(), slow_unit));
    let mut cmds = Vec::new();
    let mut objs = Vec::new();
    for (name, o, files) in &units {
        let unit = obj.join(format!("unit_{name}.cpp"));
        let body: String = files
            .iter()
            .map(|f| format!("#include \"{f}.cpp\"\n"))
            .collect();
        std::fs::write(&unit, body).map_err(|e| io(&unit, e))?;
        let o_file = obj.join(format!("unit_{name}.o"));
        let mut c = Command::new(&tc.cxx);
        c.args(CXX_COMMON)
            .args(Toolchain::trace_defs(inputs.trace))
            .args(tc.includes())
            .arg(format!("-I{}", runtime.pch_dir.display()))
            .args(["-include", "sim_pch.h", "-Winvalid-pch"])
            .arg(format!("-I{}", obj.display()))
            .arg(format!("-I{}", src.display()))
            .args(o.split_whitespace())
            .arg("-c")
            .arg(&unit)
            .arg("-o")
            .arg(&o_file);
        cmds.push((format!("unit_{name}.cpp"), c));
        objs.push(o_file);
    }
    let build_log = dir.join("build.log");
    run_parallel(cmds, &build_log, &inputs.label, jobs)?;
    let mut link = Command::new(&tc.cxx);
    link.args(&objs)
        .args(&runtime.objs)
        .args(["-pthread", "-lpthread", "-latomic", "-o"])
        .arg(dir.join("harness"));
    run_parallel(vec![("link".into(), link)], &build_log, &inputs.label, jobs)?;
    let compile_secs = t.elapsed().as_secs_f64();
    // The generated C++ and objects are large and no longer needed.
    let _ = std::fs::remove_dir_all(&obj);
    let total_secs = start.elapsed().as_secs_f64();
    let info = format!(
        "label: {}\nverilator: {}\ncxx: {}\nopt: {}\ntrace: {}\nverilate_secs: {verilate_secs:.2}\n\
         compile_secs: {compile_secs:.2}\n",
        inputs.label, tc.verilator, tc.cxx_version, opt, inputs.trace
    );
    let _ = std::fs::write(dir.join("info.yaml"), info);
    if dest.exists() {
        let _ = std::fs::remove_dir_all(&dest);
    }
    cache::publish(stage, &dest).map_err(|e| io(&dest, e))?;
    crate::errln!(
        "sim: built in {total_secs:.1} s (Verilator {verilate_secs:.1} s, C++ {compile_secs:.1} s)"
    );
    Ok(Built {
        exe,
        key,
        cached: false,
        verilate_secs,
        compile_secs,
        total_secs,
        warnings,
    })
}

/// The build's Verilator warnings, one a line, in its cache entry.
const WARNINGS_FILE: &str = "warnings.txt";

fn cached(exe: PathBuf, key: String) -> Built {
    // the warnings of the build, kept beside the harness
    let warnings = exe
        .parent()
        .and_then(|d| std::fs::read_to_string(d.join(WARNINGS_FILE)).ok())
        .map(|text| text.lines().map(str::to_string).collect())
        .unwrap_or_default();
    Built {
        exe,
        key,
        cached: true,
        verilate_secs: 0.0,
        compile_secs: 0.0,
        total_secs: 0.0,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_overrides_the_profile() {
        let none = Tuning {
            jobs: 1,
            sim_opt: None,
            verilator_flags: Vec::new(),
        };
        assert_eq!(model_opt(Profile::Build, &none), "-O1");
        assert_eq!(model_opt(Profile::Run, &none), "-O2");
        assert!(extra_verilator_flags(Profile::Build, true, &none).is_empty());
        assert_eq!(
            extra_verilator_flags(Profile::Run, true, &none),
            ["--inline-mult", "1"]
        );
        let set = Tuning {
            sim_opt: Some("-O3".into()),
            verilator_flags: vec!["--x-assign".into(), "0".into()],
            ..none
        };
        assert_eq!(model_opt(Profile::Build, &set), "-O3");
        assert_eq!(
            extra_verilator_flags(Profile::Run, true, &set),
            ["--inline-mult", "1", "--x-assign", "0"]
        );
    }
}
