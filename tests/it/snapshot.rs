//! Generated-text snapshots: every file `sparqgen generate` writes for a few
//! designs is committed under `tests/snapshots/<name>/`, so a change in the
//! generated Verilog (or filelist, manifest, README, core file) shows up in
//! review as a diff. `SPARQGEN_BLESS=1 cargo test --test it snapshot`
//! rewrites them after a deliberate change.

use sparqgen::config::Design;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

fn bless() -> bool {
    std::env::var_os("SPARQGEN_BLESS").is_some_and(|v| v == "1")
}

/// Files under `dir`, relative, sorted.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

/// The first line where `want` and `got` differ, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  snapshot:  {w}\n  generated: {g}", i + 1);
        }
    }
    format!(
        "lengths differ: snapshot {} lines, generated {} lines",
        want.lines().count(),
        got.lines().count()
    )
}

fn check(yaml: &str) {
    let design = Design::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"));
    let generated = sparqgen::flows::generate(&design).unwrap();
    let dir = root().join(design.name());
    if bless() {
        let _ = std::fs::remove_dir_all(&dir);
        for (rel, text) in &generated.files.files {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, text).unwrap();
        }
        eprintln!("blessed {}", dir.display());
        return;
    }
    let hint = "if the change is intended, run `SPARQGEN_BLESS=1 cargo test --test it snapshot` \
                and commit tests/snapshots/";
    let mut problems = Vec::new();
    let generated_names: BTreeSet<PathBuf> = generated
        .files
        .files
        .iter()
        .map(|(p, _)| p.clone())
        .collect();
    for (rel, text) in &generated.files.files {
        let p = dir.join(rel);
        match std::fs::read(&p) {
            Err(_) => problems.push(format!(
                "{}: generated but not in the snapshot",
                rel.display()
            )),
            Ok(want) if want != *text => problems.push(format!(
                "{}: differs from the snapshot at {}",
                rel.display(),
                first_difference(
                    &String::from_utf8_lossy(&want),
                    &String::from_utf8_lossy(text)
                )
            )),
            Ok(_) => {}
        }
    }
    for stale in files_under(&dir).difference(&generated_names) {
        problems.push(format!(
            "{}: in the snapshot but no longer generated",
            stale.display()
        ));
    }
    assert!(
        problems.is_empty(),
        "design {} ({}):\n{}\n{hint}",
        design.name(),
        dir.display(),
        problems.join("\n")
    );
}

#[test]
fn snapshot_sparq_pe_5opt_round() {
    check(
        "name: snap_pe5\npe: {kind: sparq, window_bits: 4, placements: 5, rounding: round_half_even, \
         acc_bits: 24}\narray: {kind: single}\n",
    );
}

#[test]
fn snapshot_sparq_pe_7opt_stc_pipelined() {
    check(
        "name: snap_pe7_stc\npe: {kind: sparq, window_bits: 2, placements: 7, rounding: truncate, \
         stc: true, acc_bits: 20, pipeline: 2}\narray: {kind: single}\n",
    );
}

#[test]
fn snapshot_sparq_systolic_2x3_6opt() {
    check(
        "name: snap_sa2x3\npe: {kind: sparq, window_bits: 3, placements: 6, rounding: round_half_even, \
         acc_bits: 32, pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}\n",
    );
}

#[test]
fn snapshot_mac4x8_dot3() {
    check("name: snap_dot3\npe: {kind: mac4x8, acc_bits: 24}\narray: {kind: dot, lanes: 3}\n");
}
