//! The generated modules' parameter guards: an out-of-range override
//! (`verilator -GAccBits=16` on a PE whose sum needs 17 bits) stops
//! elaboration with a message that states the rule, in Verilator, Icarus
//! and Yosys, instead of Verilator's internal error; the defaults and the
//! range's ends still lint clean.

use sparqgen::config::Design;
use sparqgen::rtl::Manifest;
use sparqgen::tools::Tool;
use std::path::{Path, PathBuf};
use std::process::Command;

fn generate_into(dir: &Path, yaml: &str) -> (Manifest, PathBuf) {
    let d = Design::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    let g = sparqgen::flows::generate(&d).unwrap();
    let folder = g.write(dir, false).unwrap();
    (g.manifest, folder)
}

/// Verilator `--lint-only -Wall` on the top with `-G` overrides: (success,
/// everything it printed).
fn verilator(m: &Manifest, folder: &Path, overrides: &[(&str, u32)]) -> (bool, String) {
    let mut cmd = Command::new("verilator");
    cmd.args(["--lint-only", "-Wall", "-f"])
        .arg(&m.filelist)
        .args(["--top-module", &m.top])
        .current_dir(folder);
    for (name, value) in overrides {
        cmd.arg(format!("-G{name}={value}"));
    }
    output(&mut cmd)
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The rule of parameter `name` as the guard states it.
fn rule(m: &Manifest, name: &str) -> (String, u32, u32) {
    let p = m
        .parameters
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{}: no parameter {name}", m.top));
    (
        format!("bad_parameter_{name}_must_be_{}_to_{}", p.min, p.max),
        p.min,
        p.max,
    )
}

fn rejects(m: &Manifest, folder: &Path, name: &str, value: u32) {
    let (msg, _, _) = rule(m, name);
    let (ok, text) = verilator(m, folder, &[(name, value)]);
    assert!(!ok, "{}: -G{name}={value} was accepted:\n{text}", m.top);
    assert!(
        text.contains(&msg),
        "{}: -G{name}={value} did not name the rule {msg}:\n{text}",
        m.top
    );
    assert!(
        !text.contains("Internal Error"),
        "{}: -G{name}={value}: Verilator crashed instead:\n{text}",
        m.top
    );
}

fn accepts(m: &Manifest, folder: &Path, overrides: &[(&str, u32)]) {
    let (ok, text) = verilator(m, folder, overrides);
    assert!(
        ok && text.is_empty(),
        "{}: {overrides:?} is not lint-clean:\n{text}",
        m.top
    );
}

/// A SPARQ PE's `AccBits` must hold one cycle's 17-bit sum: 16 used to be
/// a Verilator internal error (a zero-width replication); now it is the
/// guard's message. A systolic array's `Rows`/`Cols` and a dot unit's
/// `AccBits` (the adder tree's width) are guarded the same way.
#[test]
#[ignore = "full tier (Verilator, Icarus, Yosys): scripts/test.sh runs it"]
fn out_of_range_parameters_stop_elaboration_with_the_rule() {
    crate::util::need(&[Tool::Verilator, Tool::Iverilog, Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let (m, folder) = generate_into(
        dir.path(),
        "name: guard_pe\npe: {kind: sparq}\narray: {kind: single}",
    );
    let (msg, min, max) = rule(&m, "AccBits");
    assert_eq!((min, max), (17, 48));
    accepts(&m, &folder, &[]);
    accepts(&m, &folder, &[("AccBits", min)]);
    accepts(&m, &folder, &[("AccBits", max)]);
    rejects(&m, &folder, "AccBits", 16);
    rejects(&m, &folder, "AccBits", max + 1);

    // Icarus and Yosys stop at elaboration with the same name.
    let (ok, text) = output(
        Command::new("iverilog")
            .args(["-g2005", "-o", "/dev/null", "-s", &m.top])
            .arg(format!("-P{}.AccBits=16", m.top))
            .arg("-c")
            .arg(&m.filelist)
            .current_dir(&folder),
    );
    assert!(!ok && text.contains(&msg), "iverilog:\n{text}");
    let script = format!(
        "read_verilog {}\nchparam -set AccBits 16 {top}\nhierarchy -check -top {top}\n",
        m.files.join(" "),
        top = m.top
    );
    let (ok, text) = output(
        Command::new("yosys")
            .args(["-q", "-p", &script])
            .current_dir(&folder),
    );
    assert!(!ok && text.contains(&msg), "yosys:\n{text}");

    let (m, folder) = generate_into(
        dir.path(),
        "name: guard_sa\npe: {kind: sparq, pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}",
    );
    accepts(&m, &folder, &[]);
    accepts(&m, &folder, &[("Rows", 1), ("Cols", 1)]);
    rejects(&m, &folder, "Rows", 0);
    rejects(&m, &folder, "Cols", 65);
    rejects(&m, &folder, "AccBits", 16);

    let (m, folder) = generate_into(
        dir.path(),
        "name: guard_dot\npe: {kind: mac4x8}\narray: {kind: dot, lanes: 16}",
    );
    let (_, min, _) = rule(&m, "AccBits");
    assert_eq!(min, 17, "16 lanes of 13-bit sums");
    accepts(&m, &folder, &[]);
    accepts(&m, &folder, &[("AccBits", min)]);
    rejects(&m, &folder, "AccBits", min - 1);
}
