//! Co-simulation of generated RTL against the model (`sparqgen verify`).
//!
//! Needs Verilator 5.006+, g++ and Icarus (scripts/setup.sh installs
//! them). Harness builds go to a cache under target/ shared by these
//! tests; each configuration is built once per bundle.

use crate::util;
use sparqgen::config::Design;
use sparqgen::golden;
use sparqgen::sim::{self, report, Dut, VerifyOptions};
use sparqgen::tools::Tool;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The build cache these tests share.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sim-cache")
}

fn configs(sub: &str) -> Vec<Design> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("verif/configs")
        .join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| Design::from_path(p).unwrap_or_else(|e| panic!("{}: {e:#}", p.display())))
        .collect()
}

fn options(vectors: u64) -> VerifyOptions {
    VerifyOptions {
        vectors,
        cache_dir: Some(cache_dir()),
        report_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-reports")),
        ..VerifyOptions::default()
    }
}

/// `sparqgen` with the tests' build cache.
pub fn sparqgen(args: &[&str], dir: &Path) -> util::Run {
    let out = util::bin()
        .args(args)
        .current_dir(dir)
        .env("SPARQGEN_CACHE", cache_dir())
        .output()
        .expect("run sparqgen");
    util::Run { out }
}

fn check(outcome: &sim::Outcome) {
    print!("{}", report::summary(outcome));
    assert!(outcome.passed(), "{}", report::failure(outcome, "(test)"));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn every_pe_variant_matches_the_model_over_every_pair() {
    crate::util::need(&[Tool::Verilator]);
    let designs = configs("pe");
    assert_eq!(
        designs.len(),
        42,
        "5 placement sets x 2 roundings x 2 sharing x 2 stc + 2 baselines"
    );
    let duts: Vec<Dut> = designs.iter().map(|d| Dut::generate(d).unwrap()).collect();
    let outcome = sim::verify(&duts, &options(20_000)).unwrap();
    check(&outcome);
    for (m, d) in outcome.members.iter().zip(&designs) {
        // the sweep: every pair against 8 weight pairs (SPARQ), every
        // (a, b) (mac8x8) or 65,536 (q1, q2, b1, b2) (mac4x8)
        let sweep = if d.sparq().is_some() {
            65_536 * 8
        } else {
            65_536
        };
        assert!(m.checks > sweep, "{}: {} outputs checked", m.name, m.checks);
    }
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn arrays_and_dot_units_match_the_model() {
    crate::util::need(&[Tool::Verilator]);
    let designs = configs("arrays");
    let duts: Vec<Dut> = designs.iter().map(|d| Dut::generate(d).unwrap()).collect();
    let outcome = sim::verify(&duts, &options(60_000)).unwrap();
    check(&outcome);
    assert!(outcome.members.iter().all(|m| m.checks > 2_000));
}

/// Every configuration of the golden GEMM file, through RTL of three array
/// shapes, against the reference kernel's C.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn golden_gemms_match_the_reference_kernel() {
    crate::util::need(&[Tool::Verilator]);
    let path = golden::default_dir().join("gemm_cases.json");
    let cases = Arc::new(golden::read_gemm_cases(&path).unwrap());
    let mut configs: Vec<sparqgen::config::SparqArith> = Vec::new();
    for c in cases.iter() {
        if !configs.contains(&c.arith) {
            configs.push(c.arith);
        }
    }
    assert!(configs.len() >= 10, "{} configurations", configs.len());
    let shapes = [
        "{kind: single}",
        "{kind: dot, lanes: 3}",
        "{kind: systolic, rows: 2, cols: 3}",
    ];
    let duts: Vec<Dut> = configs
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let yaml = format!(
                "name: golden{i}\npe: {{kind: sparq, window_bits: {}, placements: {}, rounding: {}, \
                 stc: {}}}\narray: {}\n",
                a.placements.window_bits(),
                a.placements.count(),
                a.rounding.yaml_name(),
                a.stc,
                shapes[i % shapes.len()]
            );
            Dut::generate(&Design::from_yaml(&yaml).unwrap_or_else(|e| panic!("{yaml}: {e}")))
                .unwrap()
        })
        .collect();
    let opts = VerifyOptions {
        golden: Some(cases.clone()),
        ..options(0)
    };
    let outcome = sim::verify(&duts, &opts).unwrap();
    check(&outcome);
    for ((m, d), a) in outcome.members.iter().zip(&duts).zip(&configs) {
        let want: u64 = cases
            .iter()
            .filter(|c| c.arith == *a)
            .map(|c| c.c.data.len() as u64)
            .sum();
        // a systolic array also checks the padding rows and columns of
        // its edge tiles, so it checks at least the file's outputs
        if matches!(
            d.design.array(),
            sparqgen::config::ArrayShape::Systolic { .. }
        ) {
            assert!(m.checks >= want, "{}: {} < {want}", m.name, m.checks);
        } else {
            assert_eq!(m.checks, want, "{}", m.name);
        }
    }
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn cli_verifies_a_design_file_and_exits_zero() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = util::write(
        dir.path(),
        "d.yaml",
        "name: cli_dot\npe: {kind: sparq, placements: 3, rounding: truncate}\narray: {kind: dot, lanes: 2}\n",
    );
    let r = sparqgen(
        &[
            "verify",
            d.to_str().unwrap(),
            "--quick",
            "--vectors",
            "4000",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    let out = r.stdout();
    assert!(
        out.contains("cli_dot") && out.contains("0 mismatches") && out.contains("PASS"),
        "{out}"
    );
    assert!(out.contains("cycles/s") && out.contains("MAC/s"), "{out}");
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn cli_replays_the_golden_file_on_a_design() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = util::write(
        dir.path(),
        "d.yaml",
        "name: cli_golden\npe: {kind: sparq, window_bits: 3, placements: 6, rounding: round_half_even}\n\
         array: {kind: systolic, rows: 2, cols: 2}\n",
    );
    let file = golden::default_dir().join("gemm_cases.json");
    let r = sparqgen(
        &[
            "verify",
            d.to_str().unwrap(),
            "--golden",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("PASS"), "{}", r.stdout());
    // a design no case matches is a usage error, not a pass
    let m = util::write(
        dir.path(),
        "m.yaml",
        "name: cli_mac\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    let r = sparqgen(
        &[
            "verify",
            m.to_str().unwrap(),
            "--golden",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 2, "{}{}", r.stdout(), r.stderr());
    assert!(
        r.stderr().contains("no case of the golden file matches"),
        "{}",
        r.stderr()
    );
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn cli_verifies_a_generated_folder() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = util::write(
        dir.path(),
        "d.yaml",
        "name: cli_folder\npe: {kind: sparq, stc: true, pipeline: 1}\narray: {kind: single}\n",
    );
    let g = util::run(&["generate", d.to_str().unwrap(), "-o", "out"], dir.path());
    assert_eq!(g.code(), 0, "{}", g.stderr());
    let r = sparqgen(
        &["verify", "--rtl", "out/cli_folder", "--vectors", "4000"],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("PASS"));
}

#[test]
#[ignore = "full tier (Verilator, Icarus): scripts/test.sh runs it"]
fn icarus_runs_the_same_vectors_as_a_second_simulator() {
    crate::util::need(&[Tool::Verilator, Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let d = util::write(
        dir.path(),
        "d.yaml",
        "name: cli_icarus\npe: {kind: sparq, window_bits: 2, placements: 7, stc: true, pipeline: 2}\n\
         array: {kind: dot, lanes: 3}\n",
    );
    let r = sparqgen(
        &[
            "verify",
            d.to_str().unwrap(),
            "--sim",
            "icarus",
            "--icarus-cycles",
            "6000",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert!(
        r.stdout().contains("under icarus") && r.stdout().contains("PASS"),
        "{}",
        r.stdout()
    );
}

#[test]
fn missing_verilator_is_a_clear_message_not_a_compiler_dump() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sparqgen"))
        .args(["verify", "--quick"])
        .current_dir(dir.path())
        .env("PATH", dir.path())
        .env("SPARQGEN_CACHE", cache_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("verilator was not found"), "{err}");
    assert!(err.contains("apt-get install -y verilator"), "{err}");
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn a_verilog_error_in_an_edited_folder_is_reported_by_verilator() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let g = util::run(&["generate", "-o", "out"], dir.path());
    assert_eq!(g.code(), 0, "{}", g.stderr());
    let top = dir.path().join("out/sparq_sa8x8/sparq_sa8x8_top.v");
    let mut text = std::fs::read_to_string(&top).unwrap();
    text = text.replacen("endmodule", "wire oops = ;\nendmodule", 1);
    std::fs::write(&top, text).unwrap();
    let r = sparqgen(
        &["verify", "--rtl", "out/sparq_sa8x8", "--quick"],
        dir.path(),
    );
    assert_eq!(r.code(), 2, "{}{}", r.stdout(), r.stderr());
    let err = r.stderr();
    assert!(
        err.contains("Verilator rejected the RTL") && err.contains("sparq_sa8x8_top.v"),
        "{err}"
    );
    assert!(err.contains("was edited after generation"), "{err}");
}

/// Two threads building the same harness at once: one builds, the other
/// waits for it; both get the same binary and the cache holds one entry.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn concurrent_builds_of_one_configuration_share_the_cache() {
    crate::util::need(&[Tool::Verilator]);
    let name = format!("race{}", std::process::id());
    let d = Design::from_yaml(&format!(
        "name: {name}\npe: {{kind: mac8x8}}\narray: {{kind: single}}"
    ))
    .unwrap();
    let dut = Dut::generate(&d).unwrap();
    let bundle = sim::bundle::Bundle::new(std::slice::from_ref(&dut));
    let inputs = bundle.build_inputs(
        false,
        sim::verilator::Profile::Build,
        &sim::verilator::Tuning::default(),
    );
    let root = cache_dir();
    let built: Vec<sim::verilator::Built> = std::thread::scope(|s| {
        let a = s.spawn(|| sim::verilator::build(&inputs, &root).unwrap());
        let b = s.spawn(|| sim::verilator::build(&inputs, &root).unwrap());
        vec![a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(built[0].exe, built[1].exe);
    assert_eq!(
        built.iter().filter(|b| b.cached).count(),
        1,
        "exactly one of the two threads built"
    );
    assert!(built[0].exe.exists());
}

/// An edited folder whose Verilator build warns of a net with two drivers
/// fails, even when every output happens to match (a 3x5 array whose row-0
/// clear is disconnected and column 1's doubly driven), and a cached build
/// of the same files fails the same way.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn broken_rtl_never_passes_on_matching_outputs() {
    util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    util::write(
        d,
        "sa.yaml",
        "name: brk\npe: {kind: mac8x8}\narray: {kind: systolic, rows: 3, cols: 5}\n",
    );
    assert_eq!(
        util::run(&["generate", "sa.yaml", "-o", "gen"], d).code(),
        0
    );
    let f = d.join("gen/brk/brk_systolic_array.v");
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains("assign clear_w[0] = clear_i;"), "{text}");
    std::fs::write(
        &f,
        text.replace(
            "assign clear_w[0] = clear_i;",
            "assign clear_w[1] = clear_i;",
        ),
    )
    .unwrap();
    let cache = d.join("cache");
    for round in ["fresh build", "cached build"] {
        let out = util::bin()
            .args(["verify", "--rtl", "gen/brk", "--quick", "--no-vcd"])
            .env("SPARQGEN_CACHE", &cache)
            .current_dir(d)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{round}: {text}");
        assert!(text.contains("FAIL: the RTL is broken"), "{round}: {text}");
        assert!(
            text.contains("MULTIDRIVEN") && text.contains("gen/brk/brk_systolic_array.v"),
            "{round}: {text}"
        );
        assert!(!text.contains("PASS"), "{round}: {text}");
    }
}
