//! Building a harness with Verilator: `verilator --cc` writes C++, then
//! g++ compiles it directly (no make): the Verilator runtime
//! (`verilated.cpp`, ...) once per tool version into the cache, the model in
//! a few translation units in parallel, the driver with the model's slow
//! code. The result is cached by content hash (see [`super::cache`]).

use super::cache;
use super::SimError;
use crate::config::hex_sha256;
use crate::tools::{self, Tool};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The hand-written driver (the same for every design).
pub const DRIVER_CPP: &str = include_str!("../../templates/sim/driver.cpp");

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

/// The toolchain as found on this machine.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub verilator: String,
    pub root: PathBuf,
    pub cxx: String,
    pub cxx_version: String,
}

/// Flags for the generated C++ that Verilator's own makefile would pass.
const CXX_COMMON: &[&str] = &[
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

/// g++ optimization of the model; `SPARQGEN_SIM_OPT` overrides it.
fn model_opt(profile: Profile) -> String {
    std::env::var("SPARQGEN_SIM_OPT")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| {
            match profile {
                Profile::Build => "-O1",
                Profile::Run => "-O2",
            }
            .to_string()
        })
}

/// Verilator flags of a profile, plus `SPARQGEN_VERILATOR_FLAGS`
/// (experiments). For large arrays `--inline-mult 1` keeps each PE a C++
/// class of its own instead of flattening the array: a 16x16 array's `-O2`
/// build drops from minutes to under one at about the same simulation
/// speed (a single PE runs faster flattened).
fn extra_verilator_flags(profile: Profile, large: bool) -> Vec<String> {
    let mut v: Vec<String> = match profile {
        Profile::Run if large => vec!["--inline-mult".into(), "1".into()],
        _ => Vec::new(),
    };
    if let Ok(s) = std::env::var("SPARQGEN_VERILATOR_FLAGS") {
        v.extend(s.split_whitespace().map(str::to_string));
    }
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

/// Parallel compile jobs: `SPARQGEN_BUILD_JOBS`, else the available cores.
fn jobs() -> usize {
    std::env::var("SPARQGEN_BUILD_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
}

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
    let cxx = std::env::var("CXX")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "g++".into());
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
    fn includes(&self) -> Vec<String> {
        vec![
            format!("-I{}", self.root.join("include").display()),
            format!("-I{}", self.root.join("include/vltstd").display()),
        ]
    }

    fn trace_defs(trace: bool) -> [&'static str; 2] {
        if trace {
            ["-DVM_TRACE=1", "-DVM_TRACE_VCD=1"]
        } else {
            ["-DVM_TRACE=0", "-DVM_TRACE_VCD=0"]
        }
    }

    /// The Verilator runtime objects and a precompiled `verilated.h`, built
    /// once per toolchain and flags. The precompiled header cuts each of the
    /// model's translation units from ~3.5 s to ~0.6 s.
    fn runtime(&self, cache_root: &Path, trace: bool, opt: &str) -> Result<Runtime, SimError> {
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
        )?;
        if dest.exists() {
            let _ = std::fs::remove_dir_all(&dest);
        }
        cache::publish(stage, &dest).map_err(|e| io(&dest, e))?;
        Ok(rt)
    }
}

/// Compiled Verilator runtime and precompiled header.
struct Runtime {
    objs: Vec<PathBuf>,
    pch_dir: PathBuf,
}

/// Optimization of the Verilator runtime library (built once).
const RUNTIME_OPT: &str = "-O1";

fn io(path: &Path, e: std::io::Error) -> SimError {
    SimError::Io {
        what: path.display().to_string(),
        source: e,
    }
}

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
        extra_verilator_flags(inputs.profile, inputs.large),
        model_opt(inputs.profile)
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
    eprintln!(
        "sim: building the Verilator harness for {} (not cached yet; a 64x64 array takes \
         about 3 minutes and 2.6 GB)...",
        inputs.label
    );
    let opt = model_opt(inputs.profile);
    let runtime = tc.runtime(&root, inputs.trace, &opt)?;
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
        .args(extra_verilator_flags(inputs.profile, inputs.large))
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
    let warnings: Vec<String> = log_text
        .lines()
        .filter(|l| l.starts_with("%Warning"))
        .map(str::to_string)
        .collect();
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
    let groups = split_by_size(&obj, &fast, jobs().max(1));
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
    run_parallel(cmds, &build_log, &inputs.label)?;
    let mut link = Command::new(&tc.cxx);
    link.args(&objs)
        .args(&runtime.objs)
        .args(["-pthread", "-lpthread", "-latomic", "-o"])
        .arg(dir.join("harness"));
    run_parallel(vec![("link".into(), link)], &build_log, &inputs.label)?;
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
    eprintln!(
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

fn cached(exe: PathBuf, key: String) -> Built {
    Built {
        exe,
        key,
        cached: true,
        verilate_secs: 0.0,
        compile_secs: 0.0,
        total_secs: 0.0,
        warnings: Vec::new(),
    }
}

/// The entries of `NAME += \` lists in Verilator's `_classes.mk`.
fn mk_list(mk: &str, name: &str) -> Vec<String> {
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
fn split_by_size(dir: &Path, files: &[String], n: usize) -> Vec<Vec<String>> {
    let mut sized: Vec<(u64, &String)> = files
        .iter()
        .map(|f| {
            let len = std::fs::metadata(dir.join(format!("{f}.cpp")))
                .map(|m| m.len())
                .unwrap_or(0);
            (len, f)
        })
        .collect();
    sized.sort_by(|a, b| b.0.cmp(&a.0));
    let total: u64 = sized.iter().map(|s| s.0).sum();
    // Small models are not worth a second parse of the Verilator headers.
    let n = n.min((total / 400_000 + 1) as usize).max(1);
    let mut groups: Vec<(u64, Vec<String>)> = vec![(0, Vec::new()); n];
    for (len, f) in sized {
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

/// Run compile commands, at most [`jobs`] at a time; on failure, an error
/// with the failing command's output.
fn run_parallel(cmds: Vec<(String, Command)>, log: &Path, label: &str) -> Result<(), SimError> {
    let max = jobs();
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

/// The first lines of a tool's output that matter: those containing
/// `needle` and a little context, at most 20 lines.
/// `text` with the build copies of the user's files named as the user's.
fn user_paths(text: &str, src: &Path, origins: &[(PathBuf, PathBuf)]) -> String {
    origins.iter().fold(text.to_string(), |t, (sub, user)| {
        t.replace(
            &format!("{}/", src.join(sub).display()),
            &format!("{}/", user.display()),
        )
    })
}

fn excerpt(text: &str, needle: &str) -> String {
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
