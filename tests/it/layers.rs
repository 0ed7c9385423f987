//! The layer order of `src/` (docs/architecture.md): every module may use
//! only the modules below it, so the generator never reaches into the
//! simulator, synthesis never into the proofs, and a leaf into nothing.
//! A path into a higher layer (`use crate::...`, an inline
//! `crate::x::f()`, or `super::` climbing out to the crate root) fails
//! this test with the file, the line and the rule it breaks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rank of every top-level module of the library. A module may use a
/// module of lower rank; leaves (rank 0) may use other leaves.
const RANKS: &[(&str, u32)] = &[
    // shared leaves
    ("output", 0),
    ("process", 0),
    ("tools", 0),
    ("settings", 0),
    ("cache", 0),
    ("npy", 0),
    ("svg", 0),
    ("input", 0),
    ("yaml", 0),
    ("workload", 0),
    ("hash", 0),
    ("tensor", 0),
    // the design description, then the model and what is derived from it
    ("config", 1),
    ("arith", 2),
    ("cycles", 2),
    ("golden", 3),
    // the generator: Verilog text and the manifest, nothing else
    ("rtl", 4),
    ("sim", 5),
    ("synth", 6),
    ("prove", 7),
    ("hcm", 7),
    // place and route, its routed netlist proven with `prove`
    ("asic", 8),
    ("net", 8),
    ("sweep", 8),
    // orchestration: may use everything below
    ("flows", 9),
];

fn rank(module: &str) -> Option<u32> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file below src/ (`sim/run/mod.rs` -> [sim, run]).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// The top-level modules a line of code names: `crate::x`, the members of
/// `crate::{x, y::z}`, and `super::` chains that climb to the crate root.
fn targets(line: &str, path: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut i = 0;
    while let Some(off) = line[i..].find("crate::") {
        let at = i + off;
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let rest = &line[at + "crate::".len()..];
        if before_ok {
            if let Some(group) = rest.strip_prefix('{') {
                // the group's top-level items: `{a, b::{c, d}, e}` -> a, b, e
                let (mut depth, mut start) = (0usize, true);
                for (k, ch) in group.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => start = true,
                        c if start && !c.is_whitespace() => {
                            start = false;
                            let name = ident(&group[k..]);
                            if !name.is_empty() {
                                out.push(name);
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                let name = ident(rest);
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
        i = at + "crate::".len();
    }
    // super:: chains: each `super` climbs one module
    let mut j = 0;
    while let Some(off) = line[j..].find("super::") {
        let at = j + off;
        let before_ok = at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric()
                || bytes[at - 1] == b'_'
                || bytes[at - 1] == b':');
        if before_ok {
            let mut depth = path.len();
            let mut rest = &line[at..];
            while let Some(r) = rest.strip_prefix("super::") {
                depth = depth.saturating_sub(1);
                rest = r;
            }
            if depth == 0 {
                let name = ident(rest);
                if !name.is_empty() {
                    out.push(name);
                }
            }
        }
        j = at + "super::".len();
    }
    out
}

/// The file's code as `(line number, text)`, a `use` that spans lines
/// joined into one entry at its first line.
fn statements(text: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (n, l) in text.lines().enumerate() {
        let c = code(l);
        if let Some((at, mut acc)) = open.take() {
            acc.push(' ');
            acc.push_str(c.trim());
            if c.contains(';') {
                out.push((at, acc));
            } else {
                open = Some((at, acc));
            }
        } else if c.trim_start().starts_with("use ") || c.trim_start().starts_with("pub use ") {
            if c.contains(';') {
                out.push((n + 1, c.to_string()));
            } else {
                open = Some((n + 1, c.trim().to_string()));
            }
        } else {
            out.push((n + 1, c.to_string()));
        }
    }
    out.extend(open);
    out
}

/// Code of a line without its `//` comment (doc links are not imports).
fn code(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

#[test]
fn imports_only_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let path = module_path(rel);
        // the binary's command line sits above every layer
        if path.is_empty() || path[0] == "main" || path[0] == "cmd" {
            continue;
        }
        let me = &path[0];
        let my_rank = rank(me).unwrap_or_else(|| {
            panic!(
                "src/{}: module `{me}` has no place in the layer order of tests/it/layers.rs",
                rel.display()
            )
        });
        *seen.entry(me.clone()).or_default() += 1;
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in &statements(&text) {
            for t in targets(line, &path) {
                if &t == me {
                    continue;
                }
                let Some(r) = rank(&t) else { continue };
                let ok = if my_rank == 0 { r == 0 } else { r < my_rank };
                if !ok {
                    bad.push(format!(
                        "src/{}:{n}: `{me}` (layer {my_rank}) uses `{t}` (layer {r}): {}",
                        rel.display(),
                        line.trim()
                    ));
                }
            }
        }
    }
    assert!(seen.len() >= 20, "found only {seen:?}");
    assert!(
        bad.is_empty(),
        "imports that point up the layer order (docs/architecture.md):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_layer_check_sees_what_it_must() {
    let p = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
    assert_eq!(
        targets("use crate::sim::layout::{ctrl};", &p("rtl/testbench")),
        ["sim"]
    );
    assert_eq!(
        targets("use crate::{prove, synth::flow};", &p("synth/netcheck")),
        ["prove", "synth"]
    );
    assert_eq!(
        targets(
            "let p = crate::prove::prove_gates(&t);",
            &p("synth/netcheck")
        ),
        ["prove"]
    );
    assert_eq!(
        targets("use super::super::hcm::arch;", &p("synth/run")),
        ["hcm"]
    );
    assert!(targets("use super::super::harness;", &p("sim/run/trace")).is_empty());
    assert!(targets("use mycrate::prove;", &p("rtl/x")).is_empty());
    assert_eq!(
        targets("use crate::{a::{b, c}, d};", &p("rtl/x")),
        ["a", "d"]
    );
    let joined = statements("use crate::{\n    config,\n    sim::{x, y},\n};\nfn f() {}\n");
    assert_eq!(targets(&joined[0].1, &p("rtl/x")), ["config", "sim"]);
}

#[test]
fn cmd_net_and_net_rtl_do_not_import_each_other() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cmd");
    for (file, other) in [("net.rs", "net_rtl"), ("net_rtl.rs", "net")] {
        // net_rtl.rs's report moved into net/rtl_report.rs: absent is fine
        let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let c = code(line);
            assert!(
                !c.contains(&format!("super::{other}::"))
                    && !c.contains(&format!("super::{other};")),
                "src/cmd/{file}:{}: imports cmd/{other}.rs: {}",
                n + 1,
                line.trim()
            );
        }
    }
}

/// Lines of `text` that unwrap or expect outside its unit tests with no
/// `// infallible: why` comment on one of the three lines before.
fn unjustified_panics(text: &str) -> Vec<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim() == "#[cfg(test)]")
        .unwrap_or(lines.len());
    (0..end)
        .filter(|&i| {
            let l = code(lines[i]);
            (l.contains(".unwrap()") || l.contains(".expect("))
                && !lines[i.saturating_sub(3)..=i]
                    .iter()
                    .any(|p| p.contains("// infallible: "))
        })
        .map(|i| i + 1)
        .collect()
}

#[test]
fn every_unwrap_in_src_says_why_it_cannot_fail() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut bad = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in unjustified_panics(&text) {
            bad.push(format!("{}:{line}", f.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "unwrap/expect on a path users reach: return an error, or say why it \
         cannot fail in a `// infallible: ...` comment just above:\n{}",
        bad.join("\n")
    );
    // The check sees what it must.
    assert_eq!(
        unjustified_panics("fn f() {\n    x.unwrap();\n}\n"),
        vec![2]
    );
    assert!(unjustified_panics("// infallible: y\nx.unwrap();\n").is_empty());
    assert!(unjustified_panics("#[cfg(test)]\nx.unwrap();\n").is_empty());
}
