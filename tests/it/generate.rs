//! `sparqgen generate`: the whole hardware matrix is lint-clean in
//! Verilator, compiles in Icarus and synthesizes in Yosys without latches or
//! warnings; the generated datapath matches the model (`arith`) under Icarus
//! (every activation pair for every dense configuration); output is
//! byte-stable and the manifest reads back; bad designs and unwritable
//! folders are clear errors.

use crate::util::{run, write};
use sparqgen::config::Design;
use sparqgen::rtl::{self, Direction, Manifest};
use sparqgen::sim::layout::Layout;
use sparqgen::sim::stimulus::{seed_of, MemberCtx, PlanOptions, Spec};
use sparqgen::sim::{self, Dut, SimKind, VerifyOptions};
use sparqgen::tools::Tool;
use std::path::{Path, PathBuf};
use std::process::Command;

fn design(yaml: &str) -> Design {
    Design::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

/// Every SPARQ PE the schema allows (placement set x rounding x sharing x
/// stc), then both baselines; each at pipeline 0, 1, 2; `array` appended.
fn pe_variants(array: &str) -> Vec<Design> {
    let mut v = Vec::new();
    let mut i = 0;
    let mut push = |pe: String| {
        for p in 0..=2 {
            i += 1;
            v.push(design(&format!(
                "name: v{i}\npe: {{{pe}, pipeline: {p}}}\narray: {array}"
            )));
        }
    };
    for (n, pl) in [(4, 5), (4, 3), (4, 2), (3, 6), (2, 7)] {
        for r in ["truncate", "round_half_even"] {
            for sharing in [true, false] {
                for stc in [false, true] {
                    push(format!(
                        "kind: sparq, window_bits: {n}, placements: {pl}, rounding: {r}, \
                         pair_sharing: {sharing}, stc: {stc}"
                    ));
                }
            }
        }
    }
    push("kind: mac8x8".into());
    push("kind: mac4x8".into());
    v
}

/// Arrays and dot units over a spread of PEs.
fn array_variants() -> Vec<Design> {
    let pes = [
        "kind: sparq",
        "kind: sparq, stc: true, pipeline: 2",
        "kind: mac8x8, pipeline: 1",
        "kind: mac4x8",
        "kind: sparq, window_bits: 3, placements: 6, rounding: truncate, pipeline: 1",
        "kind: sparq, window_bits: 2, placements: 7, pair_sharing: false",
    ];
    let mut v = Vec::new();
    for (r, c, n) in [(1, 1, 6), (2, 3, 6), (8, 8, 2), (16, 16, 1)] {
        for (j, pe) in pes.iter().take(n).enumerate() {
            v.push(design(&format!(
                "name: sa{r}x{c}_{j}\npe: {{{pe}}}\narray: {{kind: systolic, rows: {r}, cols: {c}}}"
            )));
        }
    }
    for lanes in [1, 4, 16] {
        for (j, pe) in pes.iter().enumerate() {
            v.push(design(&format!(
                "name: dot{lanes}_{j}\npe: {{{pe}}}\narray: {{kind: dot, lanes: {lanes}}}"
            )));
        }
    }
    // the adder tree capped at the narrowest accumulator the schema allows
    v.push(design(NARROW_DOT));
    v
}

/// 17 mac4x8 lanes sum to at most 65280: 17 signed bits, one less than a
/// tree that grows a bit per level would have.
const NARROW_DOT: &str =
    "name: dot17n\npe: {kind: mac4x8, acc_bits: 17}\narray: {kind: dot, lanes: 17}";

fn generate_into(dir: &Path, d: &Design) -> (Manifest, PathBuf) {
    let g = sparqgen::flows::generate(d).unwrap_or_else(|e| panic!("{}: {e}", d.name()));
    let folder = g.write(dir, false).unwrap();
    (g.manifest, folder)
}

fn output_of(cmd: &mut Command) -> (bool, String) {
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

/// Verilator `--lint-only -Wall` and `iverilog -g2005` on one generated
/// folder: both must print nothing.
fn lint(m: &Manifest, folder: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let (ok, text) = output_of(
        Command::new("verilator")
            .args(["--lint-only", "-Wall", "-f"])
            .arg(&m.filelist)
            .args(["--top-module", &m.top])
            .current_dir(folder),
    );
    if !ok || !text.is_empty() {
        errors.push(format!("{}: verilator --lint-only -Wall:\n{text}", m.top));
    }
    let (ok, text) = output_of(
        Command::new("iverilog")
            .args(["-g2005", "-o", "/dev/null", "-s", &m.top, "-c"])
            .arg(&m.filelist)
            .current_dir(folder),
    );
    if !ok || !text.is_empty() {
        errors.push(format!("{}: iverilog -g2005:\n{text}", m.top));
    }
    errors
}

/// Yosys `synth` on one generated folder: no warning, no latch, and the
/// top's ports are the manifest's.
fn synth(m: &Manifest, folder: &Path) -> Vec<String> {
    let script = format!(
        "read_verilog {files}\nhierarchy -check -top {top}\nsynth -top {top}\n\
         select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr t:$_DLATCH_* t:$_DLATCHSR_* t:$_SR_*\n\
         write_json synth.json\n",
        files = m.files.join(" "),
        top = m.top
    );
    std::fs::write(folder.join("synth.ys"), script).unwrap();
    let (ok, text) = output_of(
        Command::new("yosys")
            .args(["-q", "-l", "synth.log", "-s", "synth.ys"])
            .current_dir(folder),
    );
    let log = std::fs::read_to_string(folder.join("synth.log")).unwrap_or_default();
    let mut errors = Vec::new();
    if !ok || !text.is_empty() {
        errors.push(format!("{}: yosys synth:\n{text}", m.top));
    }
    for line in log.lines() {
        if line.contains("Warning") || line.starts_with("Latch inferred") {
            errors.push(format!("{}: yosys: {line}", m.top));
        }
    }
    if ok {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("synth.json")).unwrap()).unwrap();
        let ports = &json["modules"][&m.top]["ports"];
        let mut got: Vec<(String, String, usize)> = ports
            .as_object()
            .unwrap_or_else(|| panic!("{}: no ports in synth.json", m.top))
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    p["direction"].as_str().unwrap().to_string(),
                    p["bits"].as_array().unwrap().len(),
                )
            })
            .collect();
        let mut want: Vec<(String, String, usize)> = m
            .ports
            .iter()
            .map(|p| {
                let dir = match p.direction {
                    Direction::Input => "input",
                    Direction::Output => "output",
                };
                (p.name.clone(), dir.to_string(), p.width as usize)
            })
            .collect();
        got.sort();
        want.sort();
        if got != want {
            errors.push(format!(
                "{}: ports in Verilog {got:?} != manifest {want:?}",
                m.top
            ));
        }
    }
    errors
}

/// The matrix: every PE variant x pipeline 0/1/2 (both baselines
/// included) as a single PE, systolic arrays 1x1, 2x3, 8x8, 16x16 and dot
/// units of 1, 4, 16 lanes. Each is lint-clean (Verilator -Wall prints
/// nothing), compiles in Icarus, and synthesizes in Yosys 0.23 with no latch
/// and no warning.
#[test]
#[ignore = "full tier (Verilator, Icarus, Yosys): scripts/test.sh runs it"]
fn whole_matrix_is_lint_clean_and_synthesizes() {
    crate::util::need(&[Tool::Verilator, Tool::Iverilog, Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let mut designs = pe_variants("{kind: single}");
    assert_eq!(designs.len(), 126);
    designs.extend(array_variants());
    let generated: Vec<(Manifest, PathBuf)> = designs
        .iter()
        .map(|d| generate_into(dir.path(), d))
        .collect();
    let errors: Vec<String> = crate::util::flat_map(&generated, |(m, folder)| {
        let mut e = lint(m, folder);
        e.extend(synth(m, folder));
        e
    });
    assert!(
        errors.is_empty(),
        "{} problems in {} designs:\n{}",
        errors.len(),
        designs.len(),
        errors.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The datapath against the model, under Icarus, through the library's
// co-simulation (`sim::verify` with `SimKind::Icarus`): the same stimulus,
// encodings and expected values as `sparqgen verify`.
// ---------------------------------------------------------------------------

/// Co-simulate `designs` under Icarus, in two harnesses (one per core), and
/// require every sampled output to match the model. Each design runs every
/// activation pair once when `pairs` (one vector per pair: every (a1, a2)
/// of a SPARQ PE, every (a, b) of mac8x8, every (q1, q2, b1) of mac4x8),
/// then a `budget`-cycle share of its default plan: random valid/clear
/// sequences, the accumulator past its wrap and GEMMs (systolic arrays:
/// streamed tiles, stalls and the closing clear).
fn icarus_matches_model(designs: &[Design], pairs: bool, budget: u64) {
    let half = designs.len().div_ceil(2).max(1);
    std::thread::scope(|s| {
        for group in designs.chunks(half) {
            s.spawn(move || icarus_group(group, pairs, budget));
        }
    });
}

fn icarus_group(designs: &[Design], pairs: bool, budget: u64) {
    let duts: Vec<Dut> = designs
        .iter()
        .map(|d| Dut::generate(d).unwrap_or_else(|e| panic!("{}: {e}", d.name())))
        .collect();
    let layout = Layout::new(duts.iter().map(|d| &d.ports));
    let plans: Vec<Vec<Spec>> = duts
        .iter()
        .zip(&layout.slots)
        .enumerate()
        .map(|(i, (dut, slot))| {
            let ctx = MemberCtx::new(
                &dut.design,
                &dut.ports,
                slot,
                None,
                seed_of(7, 16, i as u64),
            );
            let mut plan = Vec::new();
            if pairs {
                for first in (0..65_536).step_by(16_384) {
                    plan.push(Spec::Pairs {
                        first,
                        count: 16_384,
                    });
                }
            }
            let full = ctx.plan(&PlanOptions {
                vectors: budget,
                exhaustive: false,
            });
            plan.extend(ctx.subset(full, budget));
            plan
        })
        .collect();
    let o = sim::verify(
        &duts,
        &VerifyOptions {
            sim: SimKind::Icarus,
            plans: Some(plans),
            vcd: false,
            ..VerifyOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}", designs[0].name()));
    let details: Vec<String> = o
        .details
        .iter()
        .map(|d| {
            format!(
                "{} {}: cycle {} out {} expected {} got {}\n{}",
                d.design, d.spec, d.cycle, d.out, d.expected, d.actual, d.inputs
            )
        })
        .collect();
    assert!(
        o.passed(),
        "{} mismatches:\n{}",
        o.mismatches,
        details.join("\n")
    );
    for m in &o.members {
        assert!(
            m.checks > 0 && m.mismatches == 0,
            "{}: {} checks",
            m.name,
            m.checks
        );
    }
}

/// Every activation pair of every PE variant (placement set x rounding x
/// sharing x 2:4, both baselines) through a single PE at pipeline 0, then
/// random sequences and GEMMs.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn pe_datapath_matches_model_for_every_pair() {
    crate::util::need(&[Tool::Iverilog]);
    let designs: Vec<Design> = pe_variants("{kind: single}")
        .into_iter()
        .filter(|d| d.pe().pipeline().stages() == 0)
        .collect();
    icarus_matches_model(&designs, true, 4_000);
}

/// Pipelines 1 and 2 keep valid/clear with their operands; narrow
/// accumulators wrap modulo 2^acc_bits.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn pipelined_pes_and_narrow_accumulators_match_model() {
    crate::util::need(&[Tool::Iverilog]);
    let mut designs: Vec<Design> = pe_variants("{kind: single}")
        .into_iter()
        .filter(|d| d.pe().pipeline().stages() > 0)
        .collect();
    for y in [
        "name: w1\npe: {acc_bits: 17, pipeline: 1}\narray: {kind: single}",
        "name: w2\npe: {kind: mac8x8, acc_bits: 16}\narray: {kind: single}",
        "name: w3\npe: {kind: mac4x8, acc_bits: 13, pipeline: 2}\narray: {kind: single}",
        "name: w4\npe: {stc: true, acc_bits: 17}\narray: {kind: single}",
    ] {
        designs.push(design(y));
    }
    icarus_matches_model(&designs, false, 4_000);
}

/// Dot units (1, 3, 4 lanes, and 17 lanes at the narrowest accumulator).
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn dot_units_match_model() {
    crate::util::need(&[Tool::Iverilog]);
    let mut designs = Vec::new();
    for lanes in [1, 3, 4] {
        for (j, pe) in [
            "kind: sparq",
            "kind: sparq, stc: true, pipeline: 2",
            "kind: mac8x8, pipeline: 1",
            "kind: mac4x8, pipeline: 2",
            "kind: sparq, window_bits: 2, placements: 7, rounding: truncate, pipeline: 1",
            "kind: sparq, window_bits: 3, placements: 6, acc_bits: 19",
        ]
        .iter()
        .enumerate()
        {
            if lanes != 3 && pe.contains("acc_bits: 19") {
                continue;
            }
            designs.push(design(&format!(
                "name: dot{lanes}_{j}\npe: {{{pe}}}\narray: {{kind: dot, lanes: {lanes}}}"
            )));
        }
    }
    designs.push(design(NARROW_DOT));
    icarus_matches_model(&designs, false, 4_000);
}

/// Systolic arrays: skew and the streaming output chain per the contract,
/// tiles back to back, against the model's GEMM.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn systolic_arrays_match_model() {
    crate::util::need(&[Tool::Iverilog]);
    let mut designs = Vec::new();
    for (r, c) in [(1, 1), (2, 3), (3, 2), (4, 4)] {
        for (j, pe) in [
            "kind: sparq",
            "kind: sparq, stc: true, pipeline: 2",
            "kind: mac8x8, pipeline: 1",
            "kind: mac4x8",
            "kind: sparq, window_bits: 3, placements: 6, rounding: truncate, pipeline: 2",
        ]
        .iter()
        .enumerate()
        {
            designs.push(design(&format!(
                "name: sa{r}x{c}_{j}\npe: {{{pe}}}\narray: {{kind: systolic, rows: {r}, cols: {c}}}"
            )));
        }
    }
    icarus_matches_model(&designs, false, 6_000);
}

// ---------------------------------------------------------------------------
// Stable output, manifest, CLI.
// ---------------------------------------------------------------------------

/// Two runs give the same bytes; the content hash covers every file and
/// changes exactly when some file does.
#[test]
fn output_is_byte_stable_and_hash_tracks_content() {
    let a = design("name: x\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}");
    let g1 = sparqgen::flows::generate(&a).unwrap();
    let g2 = sparqgen::flows::generate(&a).unwrap();
    assert_eq!(g1.files.files, g2.files.files);
    // a different design changes content and hash; same content, same hash
    let b = design("name: x\npe: {pipeline: 2}\narray: {kind: systolic, rows: 2, cols: 3}");
    let g3 = sparqgen::flows::generate(&b).unwrap();
    assert_ne!(g1.manifest.content_hash, g3.manifest.content_hash);
    // the hash is over exactly the listed files
    let hashed: Vec<(String, Vec<u8>)> = g1
        .manifest
        .hashed_files()
        .into_iter()
        .map(|f| (f.clone(), g1.files.get(&f).unwrap().to_vec()))
        .collect();
    assert_eq!(
        rtl::content_hash(hashed.iter().map(|(p, c)| (p.as_str(), c.as_slice()))),
        g1.manifest.content_hash
    );
    assert_eq!(
        g1.files.files.len(),
        g1.manifest.hashed_files().len() + 1,
        "every file but the manifest is hashed"
    );
    // no timestamps or absolute paths: the folder written twice is identical
    let dir = tempfile::tempdir().unwrap();
    let f1 = g1.write(&dir.path().join("one"), false).unwrap();
    let f2 = g2.write(&dir.path().join("two"), false).unwrap();
    for (p, _) in &g1.files.files {
        assert_eq!(
            std::fs::read(f1.join(p)).unwrap(),
            std::fs::read(f2.join(p)).unwrap()
        );
    }
}

/// `manifest.yaml` reads back into the same typed manifest; editing a file
/// is detected.
#[test]
fn manifest_reads_back_and_detects_edits() {
    let dir = tempfile::tempdir().unwrap();
    for yaml in [
        "name: m1\npe: {stc: true, pipeline: 2}\narray: {kind: systolic, rows: 3, cols: 5}",
        "name: m2\npe: {kind: mac4x8}\narray: {kind: dot, lanes: 7}",
        "name: m3\npe: {window_bits: 2, placements: 7}\narray: {kind: single}",
    ] {
        let d = design(yaml);
        let (m, folder) = generate_into(dir.path(), &d);
        let back = Manifest::read(&folder).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.design, d);
        back.check_files(&folder).unwrap();
        assert_eq!(back.top, format!("{}_top", d.name()));
        assert_eq!(back.files.last().unwrap(), &format!("{}_top.v", d.name()));
        assert_eq!(back.latency_cycles, d.pe().pipeline().stages() + 1);
        for f in &back.files {
            let text = std::fs::read_to_string(folder.join(f)).unwrap();
            assert!(
                text.lines().nth(1).unwrap().contains(&d.short_hash()),
                "{f} opens with its design hash"
            );
            assert!(
                text.ends_with("endmodule\n\n`default_nettype wire\n"),
                "{f}"
            );
        }
        let top = folder.join(&back.files[back.files.len() - 1]);
        let mut text = std::fs::read_to_string(&top).unwrap();
        text.push_str("// edited\n");
        std::fs::write(&top, text).unwrap();
        let e = back.check_files(&folder).unwrap_err().to_string();
        assert!(e.contains("content_hash") && e.contains("edited"), "{e}");
    }
    let m = Manifest::read(&dir.path().join("m1")).unwrap();
    assert_eq!(m.flush_cycles, Some(2 + 4 + 2));
    assert_eq!(m.drain_cycles, Some(5));
    assert_eq!((m.pe.act_bits, m.pe.wgt_bits, m.pe.acc_bits), (32, 20, 32));
    assert_eq!(m.port("res_o").unwrap().width, 3 * 32);
    assert_eq!(m.port("wgt_i").unwrap().width, 5 * 20);
    let e = Manifest::read(&dir.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("manifest.yaml") && e.contains("sparqgen generate"),
        "{e}"
    );
}

/// Every example design in configs/ is valid and generates.
#[test]
fn example_configs_generate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let d = Design::from_path(&path).unwrap();
            sparqgen::flows::generate(&d).unwrap();
            n += 1;
        }
    }
    assert!(n >= 5, "{n} example designs");
}

/// Module names carry the design name: two designs compile together.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn two_designs_share_one_project() {
    crate::util::need(&[Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("iverilog");
    cmd.args(["-g2005", "-o", "/dev/null"]);
    for yaml in [
        "name: left\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 2}",
        "name: right\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 2}",
    ] {
        let (m, folder) = generate_into(dir.path(), &design(yaml));
        cmd.args(["-s", &m.top]);
        for f in &m.files {
            cmd.arg(folder.join(f));
        }
    }
    let (ok, text) = output_of(&mut cmd);
    assert!(ok && text.is_empty(), "{text}");
}

#[test]
fn cli_generate_writes_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", "name: clitest\narray: {kind: dot, lanes: 2}\n");
    let r = run(&["generate", "d.yaml"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("rtl_out/clitest"), "{}", r.stdout());
    let m = Manifest::read(&d.join("rtl_out/clitest")).unwrap();
    assert_eq!(m.top, "clitest_top");
    assert!(d.join("rtl_out/clitest/clitest.f").exists());
    assert!(d.join("rtl_out/clitest/README.md").exists());
    // -o, and the embedded default design
    let r = run(&["generate", "-o", "elsewhere"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(d.join("elsewhere/sparq_sa8x8/sparq_sa8x8_top.v").exists());
}

#[test]
fn cli_generate_rejects_bad_designs_and_leaves_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (yaml, want) in [
        (
            "name: bad\npe: {window_bits: 4, placements: 6}\n",
            "pe.placements: 6 is not allowed with window_bits 4",
        ),
        (
            "name: bad\npe: {pipeline: 3}\n",
            "pe.pipeline: 3 is not allowed",
        ),
        (
            "name: bad\narray: {kind: dot, rows: 2}\n",
            "array.rows: is not used",
        ),
        ("name: Bad\n", "name:"),
    ] {
        write(d, "bad.yaml", yaml);
        let r = run(&["generate", "bad.yaml", "-o", "out"], d);
        assert_eq!(r.code(), 2, "{yaml}");
        assert!(r.stderr().contains(want), "{yaml}: {}", r.stderr());
        assert!(r.stderr().contains("bad.yaml"), "{}", r.stderr());
        assert!(!d.join("out").exists(), "{yaml}: no output folder");
    }
}

#[test]
fn cli_generate_reports_an_unwritable_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a file where the output folder should be: unwritable for anyone,
    // root included
    write(d, "blocker", "not a folder");
    let r = run(&["generate", "-o", "blocker/sub"], d);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("output folder") && r.stderr().contains("blocker"),
        "{}",
        r.stderr()
    );
    let r = run(&["generate", "-o", "blocker"], d);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("blocker"), "{}", r.stderr());
    assert_eq!(
        std::fs::read_to_string(d.join("blocker")).unwrap(),
        "not a folder"
    );
}

/// A systolic array of dense SPARQ PEs trims each row once at its edge: the
/// array instantiates the decode in its row loop, its PE takes the row's
/// code and has no decode of its own. 2:4 PEs keep theirs (the weights'
/// indices pick the activations); the single PE has the same decode inside.
#[test]
fn dense_sparq_arrays_decode_each_row_once() {
    let text = |d: &Design, module: &str| -> String {
        let g = sparqgen::flows::generate(d).unwrap();
        String::from_utf8(g.files.get(&format!("{module}.v")).unwrap().to_vec()).unwrap()
    };
    for pe in [
        "{}",
        "{pair_sharing: false}",
        "{window_bits: 3, placements: 6}",
    ] {
        let d = design(&format!(
            "name: r\npe: {pe}\narray: {{kind: systolic, rows: 4, cols: 4}}"
        ));
        let array = text(&d, "r_systolic_array");
        let pe_v = text(&d, "r_pe");
        let row_loop = &array[array.find("begin : gen_act_row").unwrap()..];
        let row_loop = &row_loop[..row_loop.find("endgenerate").unwrap()];
        assert_eq!(row_loop.matches("r_decode u_decode").count(), 1, "{pe}");
        assert!(!pe_v.contains("r_decode"), "{pe}: the PE decodes again");
        assert!(pe_v.contains("code_i"), "{pe}");
        let single = design(&format!("name: r\npe: {pe}\narray: {{kind: single}}"));
        assert!(text(&single, "r_pe").contains("r_decode u_decode"), "{pe}");
    }
    let stc = design("name: r\npe: {stc: true}\narray: {kind: systolic, rows: 4, cols: 4}");
    assert!(!text(&stc, "r_systolic_array").contains("r_decode"));
    assert!(text(&stc, "r_pe").contains("r_decode u_decode"));
}
