//! `sparqgen prove`: generated PEs are proven equal to the model, held-out
//! designs too, and mutants of their RTL are refuted with a counterexample
//! that `verify` replays.

use crate::util;
use sparqgen::tools::Tool;
use std::path::Path;

fn prove(args: &[&str], dir: &Path) -> util::Run {
    let mut a = vec!["prove"];
    a.extend_from_slice(args);
    util::run(&a, dir)
}

fn json(r: &util::Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout()))
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn the_default_design_is_proven_and_one_proof_covers_every_pe() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let r = prove(&["--json"], dir.path());
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    let v = json(&r);
    assert_eq!(v["proven"], true);
    let d = &v["designs"][0];
    assert_eq!(d["rtl"]["verdict"], "proven");
    assert_eq!(d["pe_count"], 64);
    let coverage = d["coverage"].as_str().unwrap();
    assert!(coverage.contains("covers all 64 PEs"), "{coverage}");
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn the_default_pe_gate_netlist_is_proven() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let r = prove(&["--gates", "--json"], dir.path());
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert_eq!(json(&r)["designs"][0]["gates"]["verdict"], "proven");
}

const HELD_OUT_PE: &str = "name: h_pe\npe: {kind: sparq, window_bits: 3, placements: 6, \
    rounding: round_half_even, pair_sharing: false, pipeline: 2}\narray: {kind: single}\n";
const HELD_OUT_DOT: &str = "name: h_dot\npe: {kind: sparq, window_bits: 2, placements: 7, \
    rounding: truncate, stc: true, pipeline: 1, acc_bits: 24}\narray: {kind: dot, lanes: 2}\n";
const HELD_OUT_BASE: &str = "name: h_base\npe: {kind: mac4x8, pipeline: 1, acc_bits: 20}\n\
    array: {kind: systolic, rows: 2, cols: 3}\n";

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn held_out_designs_are_proven() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    util::write(dir.path(), "pe.yaml", HELD_OUT_PE);
    util::write(dir.path(), "dot.yaml", HELD_OUT_DOT);
    util::write(dir.path(), "base.yaml", HELD_OUT_BASE);
    let r = prove(&["pe.yaml", "dot.yaml", "base.yaml"], dir.path());
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert_eq!(
        r.stdout().matches(": PROVEN in").count(),
        3,
        "{}",
        r.stdout()
    );
}

/// (design, what, file, original text, mutated text): each mutant is
/// caught by co-simulation too.
const MUTANTS: &[(&str, &str, &str, &str, &str)] = &[
    (
        HELD_OUT_PE,
        "rounding: half to even becomes half down at shift 2",
        "h_pe_window.v",
        "(sel_o[2] & a_i[1] & (a_i[2] | a_i[0]))",
        "(sel_o[2] & a_i[1] & (a_i[2] & a_i[0]))",
    ),
    (
        HELD_OUT_PE,
        "multiplier 2 takes weight b1",
        "h_pe_pe.v",
        "w2_dec = wgt_i[15:8]",
        "w2_dec = wgt_i[7:0]",
    ),
    (
        HELD_OUT_PE,
        "accumulator subtracts",
        "h_pe_pe.v",
        "acc_q + sum_ext",
        "acc_q - sum_ext",
    ),
    (
        HELD_OUT_PE,
        "clear without valid keeps the accumulator",
        "h_pe_pe.v",
        "acc_d = {AccBits{1'b0}};",
        "acc_d = acc_q;",
    ),
    (
        HELD_OUT_DOT,
        "2:4 slot 2 reads the activation at idx1",
        "h_dot_decode.v",
        "hot2 = 4'b0001 << wgt_i[19:18];",
        "hot2 = 4'b0001 << wgt_i[17:16];",
    ),
    (
        HELD_OUT_DOT,
        "a zero weight keeps its activation in the pair",
        "h_dot_decode.v",
        "if (b1 == 8'd0) a1 = 8'd0;",
        "if (b1 == 8'd1) a1 = 8'd0;",
    ),
    (
        HELD_OUT_DOT,
        "the adder tree zero-extends lane 1",
        "h_dot_dot_unit.v",
        "{rhs[Lvl0Bits-1], rhs}",
        "{1'b0, rhs}",
    ),
    (
        HELD_OUT_DOT,
        "the adder tree ORs two lanes (right whenever one lane is zero)",
        "h_dot_dot_unit.v",
        "{lhs[Lvl0Bits-1], lhs} + {rhs[Lvl0Bits-1], rhs}",
        "{lhs[Lvl0Bits-1], lhs} | {rhs[Lvl0Bits-1], rhs}",
    ),
    (
        HELD_OUT_BASE,
        "weight 2 zero-extended",
        "h_base_pair_mul.v",
        "$signed({{4{w2_i[7]}}, w2_i})",
        "$signed({4'd0, w2_i})",
    ),
    (
        HELD_OUT_BASE,
        "clear travels as valid through the pipeline stage",
        "h_base_pe.v",
        "clear_b_q <= clear_i;",
        "clear_b_q <= valid_i;",
    ),
];

fn mutate(dir: &Path, design: &str, file: &str, from: &str, to: &str) -> String {
    util::write(dir, "d.yaml", design);
    let g = util::run(&["generate", "d.yaml", "-o", "out"], dir);
    assert_eq!(g.code(), 0, "{}", g.stderr());
    let name = design
        .strip_prefix("name: ")
        .and_then(|s| s.split('\n').next())
        .unwrap();
    let folder = format!("out/{name}");
    let path = dir.join(&folder).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{file}: `{from}` not found once"
    );
    std::fs::write(&path, text.replace(from, to)).unwrap();
    folder
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn every_mutant_is_refuted_with_a_counterexample() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    std::thread::scope(|s| {
        let handles: Vec<_> = MUTANTS
            .iter()
            .map(|&(design, what, file, from, to)| {
                s.spawn(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let folder = mutate(dir.path(), design, file, from, to);
                    let r = prove(&["--rtl", &folder], dir.path());
                    let text = format!("{what}:\n{}{}", r.stdout(), r.stderr());
                    assert_eq!(r.code(), 1, "{text}");
                    assert!(r.stdout().contains("REFUTED"), "{text}");
                    assert!(
                        r.stdout().contains("counterexample") || r.stdout().contains("control:"),
                        "{text}"
                    );
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn a_counterexample_names_its_operands_and_verify_replays_it() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = "name: cx\npe: {kind: sparq, window_bits: 4, placements: 5}\narray: {kind: single}\n";
    let folder = mutate(
        dir.path(),
        d,
        "cx_pair_mul.v",
        "({16{s1_i[3]}} & (prod1_ext << 3))",
        "({16{s1_i[3]}} & (prod1_ext << 2))",
    );
    let r = prove(&["--rtl", &folder, "--json"], dir.path());
    assert_eq!(r.code(), 1, "{}{}", r.stdout(), r.stderr());
    let v = json(&r);
    let cex = &v["designs"][0]["rtl"]["counterexample"];
    let (expected, actual) = (
        cex["expected"].as_i64().unwrap(),
        cex["actual"].as_i64().unwrap(),
    );
    assert_ne!(expected, actual);
    // The model's value for these operands, from the model itself.
    let acts: Vec<u8> = serde_json::from_value(cex["acts"].clone()).unwrap();
    let b: Vec<i64> = serde_json::from_value(cex["weights"].clone()).unwrap();
    let design = sparqgen::config::Design::from_yaml(d).unwrap();
    let [h1, h2] = sparqgen::arith::Model::new(&design).pair(acts[0], acts[1]);
    assert_eq!(expected, i64::from(h1) * b[0] + i64::from(h2) * b[1]);

    let replay = dir.path().join("sparqgen-prove/cx_cex.json");
    assert!(replay.exists(), "{}", r.stderr());
    let v = util::run(
        &[
            "verify",
            "--rtl",
            &folder,
            "--golden",
            "sparqgen-prove/cx_cex.json",
            "--no-vcd",
        ],
        dir.path(),
    );
    assert_eq!(v.code(), 1, "{}{}", v.stdout(), v.stderr());
    assert!(
        v.stdout()
            .contains(&format!("expected {expected}, actual {actual}")),
        "{}",
        v.stdout()
    );
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    util::write(
        dir.path(),
        "bad.yaml",
        "name: b\npe: {kind: sparq, window_bits: 5}\n",
    );
    for args in [
        vec!["bad.yaml"],
        vec!["missing.yaml"],
        vec!["--rtl", "no_such_folder"],
    ] {
        let r = prove(&args, dir.path());
        assert_eq!(r.code(), 2, "{args:?}: {}{}", r.stdout(), r.stderr());
        assert!(r.stderr().starts_with("error: "), "{}", r.stderr());
    }
}

/// CI's budget check: all 42 PE variants (40 SPARQ combinations and both
/// baselines, single PE, pipeline 0); about 2 minutes on the 2-core VM.
#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn every_pe_variant_is_proven() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let r = util::run(&["bench", "prove"], dir.path());
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert_eq!(
        r.stdout().matches(" proven\n").count(),
        42,
        "{}",
        r.stdout()
    );
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn a_bsparq_counterexample_replays_too() {
    util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let folder = mutate(
        dir.path(),
        HELD_OUT_PE,
        "h_pe_pe.v",
        "w2_dec = wgt_i[15:8]",
        "w2_dec = wgt_i[7:0]",
    );
    let r = prove(&["--rtl", &folder], dir.path());
    assert_eq!(r.code(), 1, "{}{}", r.stdout(), r.stderr());
    assert!(
        r.stdout().contains("replay in simulation"),
        "{}",
        r.stdout()
    );
    let v = util::run(
        &[
            "verify",
            "--rtl",
            &folder,
            "--golden",
            "sparqgen-prove/h_pe_cex.json",
            "--no-vcd",
        ],
        dir.path(),
    );
    assert_eq!(v.code(), 1, "{}{}", v.stdout(), v.stderr());
}

#[test]
#[ignore = "full tier (Yosys): scripts/test.sh runs it"]
fn an_undefined_bit_is_a_refutation_naming_it() {
    util::need(&[Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let d = "name: cx\npe: {kind: sparq, window_bits: 4, placements: 5}\narray: {kind: single}\n";
    // s1_i is 5 bits wide and c1_i reaches 15: the select is `x` above 4.
    let folder = mutate(
        dir.path(),
        d,
        "cx_pair_mul.v",
        "({16{s1_i[3]}} & (prod1_ext << 3))",
        "({16{s1_i[c1_i]}} & (prod1_ext << 3))",
    );
    let r = prove(&["--rtl", &folder], dir.path());
    let text = format!("{}{}", r.stdout(), r.stderr());
    assert_eq!(r.code(), 1, "{text}");
    assert!(r.stdout().contains("REFUTED"), "{text}");
    assert!(r.stdout().contains("undefined: "), "{text}");
    assert!(r.stdout().contains("a bit is `x`"), "{text}");
    assert!(
        r.stdout().contains("cx_pe.v:"),
        "the register is named: {text}"
    );
    let r = prove(&["--rtl", &folder, "--json"], dir.path());
    assert_eq!(r.code(), 1);
    assert_eq!(json(&r)["designs"][0]["rtl"]["part"], "undefined");
}
