//! The process environment, read once: every variable sparqgen honours is
//! parsed here, on first use, into one typed [`Settings`]; the rest of the
//! crate takes its values from [`get`] (or as options and arguments) and
//! never calls `std::env::var` itself.
//!
//! | Variable | Value | Effect |
//! |---|---|---|
//! | `SPARQGEN_CACHE` | folder | build cache and HCM fits (default `$XDG_CACHE_HOME/sparqgen`, else `$HOME/.cache/sparqgen`, else `sparqgen-cache` in the temp folder) |
//! | `SPARQGEN_CACHE_DIR` | folder | deprecated alias of `SPARQGEN_CACHE`, read only when that is unset (warns) |
//! | `XDG_CACHE_HOME`, `HOME` | folder | where the default cache lives |
//! | `SPARQGEN_GOLDEN` | folder | reference vectors (default: the repository's `golden/`) |
//! | `SPARQGEN_BUILD_JOBS` | positive integer | parallel compile jobs of a Verilator build (default: available cores) |
//! | `SPARQGEN_SIM_OPT` | g++ flag, e.g. `-O2` | optimization of the simulation model (default `-O1` for checks, `-O2` for benchmarks) |
//! | `SPARQGEN_VERILATOR_FLAGS` | flags, space-separated | appended to every `verilator` call (experiments) |
//! | `CXX` | command | C++ compiler of the harness (default `g++`) |
//! | `SPARQGEN_PROVE_DEBUG` | set (any value) | `prove` prints the Yosys log of the control proof |
//! | `SPARQGEN_BENCH_DEBUG` | set (any value) | `bench verify` prints run/feed/check times |
//!
//! Empty values count as unset (the debug switches excepted: set is set).
//! A value that does not parse (`SPARQGEN_BUILD_JOBS=abc`) is reported once
//! per process, as a one-line warning on stderr that names the variable and
//! the allowed values, and the default is used; the library cannot exit,
//! and a typo in a tuning knob should not stop a run.

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Every environment setting of the process, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The cache root (see [`crate::cache`]).
    pub cache: PathBuf,
    /// `SPARQGEN_GOLDEN`: the golden folder, when set.
    pub golden: Option<PathBuf>,
    /// `SPARQGEN_BUILD_JOBS`: compile jobs, when set and valid.
    pub build_jobs: Option<NonZeroUsize>,
    /// `SPARQGEN_SIM_OPT`: the g++ optimization flag, when set.
    pub sim_opt: Option<String>,
    /// `SPARQGEN_VERILATOR_FLAGS`, split on whitespace.
    pub verilator_flags: Vec<String>,
    /// `CXX`: the C++ compiler command.
    pub cxx: String,
    /// `SPARQGEN_PROVE_DEBUG` is set.
    pub prove_debug: bool,
    /// `SPARQGEN_BENCH_DEBUG` is set.
    pub bench_debug: bool,
}

/// Variable names, for messages and tests.
pub const GOLDEN: &str = "SPARQGEN_GOLDEN";
pub const BUILD_JOBS: &str = "SPARQGEN_BUILD_JOBS";
pub const SIM_OPT: &str = "SPARQGEN_SIM_OPT";
pub const VERILATOR_FLAGS: &str = "SPARQGEN_VERILATOR_FLAGS";
pub const CXX: &str = "CXX";
pub const PROVE_DEBUG: &str = "SPARQGEN_PROVE_DEBUG";
pub const BENCH_DEBUG: &str = "SPARQGEN_BENCH_DEBUG";

/// The settings of this process: the environment is read on the first
/// call, and its warnings printed then, once.
pub fn get() -> &'static Settings {
    static SETTINGS: OnceLock<Settings> = OnceLock::new();
    SETTINGS.get_or_init(|| {
        let (settings, warnings) = Settings::from_vars(|name| std::env::var_os(name));
        for w in warnings {
            crate::errln!("{w}");
        }
        settings
    })
}

impl Settings {
    /// The settings the variables `var` returns, and one warning line per
    /// value that was ignored or is deprecated.
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> (Settings, Vec<String>) {
        let mut warnings = Vec::new();
        let (cache, cache_warning) = crate::cache::resolve(&var);
        warnings.extend(cache_warning);
        let set = |name: &str| var(name).is_some();
        let nonempty = |name: &str| var(name).filter(|v| !v.is_empty());
        // a string-valued variable: unset/empty is None, non-UTF-8 a warning
        let mut text = |name: &str, allowed: &str| match nonempty(name)?.into_string() {
            Ok(s) if !s.trim().is_empty() => Some(s),
            Ok(_) => None,
            Err(v) => {
                warnings.push(ignored(name, &v.to_string_lossy(), allowed));
                None
            }
        };
        let sim_opt = text(SIM_OPT, "a g++ optimization flag such as -O2");
        let verilator_flags = text(VERILATOR_FLAGS, "verilator flags separated by spaces")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let cxx = text(CXX, "a C++ compiler command").unwrap_or_else(|| "g++".into());
        let jobs = text(BUILD_JOBS, "a positive integer");
        let build_jobs = jobs.and_then(|s| match s.trim().parse::<NonZeroUsize>() {
            Ok(n) => Some(n),
            Err(_) => {
                warnings.push(ignored(BUILD_JOBS, &s, "a positive integer"));
                None
            }
        });
        let settings = Settings {
            cache,
            golden: nonempty(GOLDEN).map(PathBuf::from),
            build_jobs,
            sim_opt,
            verilator_flags,
            cxx,
            prove_debug: set(PROVE_DEBUG),
            bench_debug: set(BENCH_DEBUG),
        };
        (settings, warnings)
    }
}

fn ignored(name: &str, value: &str, allowed: &str) -> String {
    format!("warning: {name}={value:?} ignored (allowed: {allowed}); using the default")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &[(&str, &str)]) -> (Settings, Vec<String>) {
        Settings::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn defaults_when_unset() {
        let (s, w) = with(&[("HOME", "/h")]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.cache, PathBuf::from("/h/.cache/sparqgen"));
        assert_eq!(s.golden, None);
        assert_eq!(s.build_jobs, None);
        assert_eq!(s.sim_opt, None);
        assert!(s.verilator_flags.is_empty());
        assert_eq!(s.cxx, "g++");
        assert!(!s.prove_debug && !s.bench_debug);
    }

    #[test]
    fn values_are_parsed() {
        let (s, w) = with(&[
            (BUILD_JOBS, "3"),
            (SIM_OPT, "-O2"),
            (VERILATOR_FLAGS, " --inline-mult  1 "),
            (CXX, "clang++"),
            (GOLDEN, "/g"),
            (PROVE_DEBUG, ""),
            (BENCH_DEBUG, "1"),
            ("SPARQGEN_CACHE", "/c"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.build_jobs, NonZeroUsize::new(3));
        assert_eq!(s.sim_opt.as_deref(), Some("-O2"));
        assert_eq!(s.verilator_flags, ["--inline-mult", "1"]);
        assert_eq!(s.cxx, "clang++");
        assert_eq!(s.golden, Some(PathBuf::from("/g")));
        assert_eq!(s.cache, PathBuf::from("/c"));
        assert!(s.prove_debug && s.bench_debug);
    }

    #[test]
    fn a_bad_value_warns_once_and_keeps_the_default() {
        for bad in ["abc", "0", "-2"] {
            let (s, w) = with(&[(BUILD_JOBS, bad)]);
            assert_eq!(s.build_jobs, None);
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(
                w[0].contains(BUILD_JOBS)
                    && w[0].contains(bad)
                    && w[0].contains("positive integer")
                    && !w[0].contains('\n'),
                "{}",
                w[0]
            );
        }
        // empty is unset, not an error
        let (s, w) = with(&[(BUILD_JOBS, ""), (SIM_OPT, " ")]);
        assert!(w.is_empty() && s.build_jobs.is_none() && s.sim_opt.is_none());
    }

    #[test]
    fn the_deprecated_cache_variable_warns() {
        let (s, w) = with(&[("SPARQGEN_CACHE_DIR", "/old")]);
        assert_eq!(s.cache, PathBuf::from("/old"));
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("SPARQGEN_CACHE=/old"), "{}", w[0]);
    }
}
