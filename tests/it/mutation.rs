//! Mutation tests: break generated RTL the way a hand edit or a generator
//! bug would, and show that `sparqgen verify --rtl` fails every time with a
//! report a person can act on (the design, the seed, the failing inputs
//! with expected and actual values, a VCD of the failing window).

use crate::util;
use crate::verify::sparqgen;
use sparqgen::tools::Tool;
use std::path::Path;

const DESIGN: &str = "name: mut_pe\npe: {kind: sparq, window_bits: 4, placements: 5, \
                      rounding: round_half_even}\narray: {kind: single}\n";

/// A held-out 3 x 5 streaming array (no other test uses this shape with
/// pipeline 1) for the array's control and output chain.
const ARRAY: &str = "name: mut_sa\npe: {kind: sparq, pipeline: 1}\n\
                     array: {kind: systolic, rows: 3, cols: 5}\n";

/// (what, file, original text, mutated text).
const MUTATIONS: &[(&str, &str, &str, &str)] = &[
    (
        "rounding condition: round half to even becomes half down at shift 4",
        "mut_pe_window.v",
        "(sel_o[4] & a_i[3] & (a_i[4] | (|a_i[2:0])))",
        "(sel_o[4] & a_i[3] & (a_i[4] & (|a_i[2:0])))",
    ),
    (
        "rounding saturation removed: 4'b1111 + 1 wraps instead of clamping",
        "mut_pe_window.v",
        "q_o = kept + {3'd0, round_up & ~(&kept)};",
        "q_o = kept + {3'd0, round_up};",
    ),
    (
        "mux inputs swapped: multiplier 1 takes the wrong weight of the pair",
        "mut_pe_pe.v",
        "wire [7:0] w1_dec = swap1_dec ? wgt_i[15:8] : wgt_i[7:0];",
        "wire [7:0] w1_dec = swap1_dec ? wgt_i[7:0] : wgt_i[15:8];",
    ),
    (
        "shift changed: multiplier 1's product at shift 2 is shifted by 1",
        "mut_pe_pair_mul.v",
        "({16{s1_i[2]}} & (prod1_ext << 2))",
        "({16{s1_i[2]}} & (prod1_ext << 1))",
    ),
    (
        "wide-path shift changed: the high half of a lone activation at 3",
        "mut_pe_decode.v",
        "s1_o = wide ? 5'b10000 : sel1[4:0];",
        "s1_o = wide ? 5'b01000 : sel1[4:0];",
    ),
    (
        "accumulator subtracts instead of adding",
        "mut_pe_pe.v",
        "acc_d = clear_i ? sum_ext : acc_q + sum_ext;",
        "acc_d = clear_i ? sum_ext : acc_q - sum_ext;",
    ),
];

/// Mutations of the streaming array: (what, original text, mutated text)
/// in `mut_sa_systolic_array.v`.
const ARRAY_MUTATIONS: &[(&str, &str, &str)] = &[
    (
        "row 0's clear disconnected: clear_w[0] undriven, clear_w[1] multiply driven",
        "assign clear_w[0] = clear_i;",
        "assign clear_w[1] = clear_i;",
    ),
    (
        "output chain never shifts: a released output register keeps its value",
        "out_d = left;",
        "out_d = out_q;",
    ),
    (
        "output chain holds for one cycle only: results shift before the row is final",
        "wire               hold_d = load | (hold_q & ~row_done);",
        "wire               hold_d = load;",
    ),
];

fn generate(dir: &Path) {
    generate_design(dir, DESIGN);
}

fn generate_design(dir: &Path, design: &str) {
    util::write(dir, "d.yaml", design);
    let g = util::run(&["generate", "d.yaml", "-o", "out"], dir);
    assert_eq!(g.code(), 0, "{}", g.stderr());
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn the_unmutated_folder_passes() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    let r = sparqgen(
        &["verify", "--rtl", "out/mut_pe", "--vectors", "20000"],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn every_mutation_fails_verify_with_a_useful_report() {
    crate::util::need(&[Tool::Verilator]);
    std::thread::scope(|s| {
        let handles: Vec<_> = MUTATIONS
            .iter()
            .map(|&(what, file, from, to)| s.spawn(move || mutate_and_verify(what, file, from, to)))
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn every_array_mutation_fails_verify_with_a_useful_report() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    generate_design(dir.path(), ARRAY);
    let r = sparqgen(
        &["verify", "--rtl", "out/mut_sa", "--vectors", "20000"],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "unmutated: {}{}", r.stdout(), r.stderr());
    for &(what, from, to) in ARRAY_MUTATIONS {
        mutate_design_and_verify(ARRAY, "mut_sa", what, "mut_sa_systolic_array.v", from, to);
    }
}

fn mutate_and_verify(what: &str, file: &str, from: &str, to: &str) {
    mutate_design_and_verify(DESIGN, "mut_pe", what, file, from, to);
}

fn mutate_design_and_verify(
    design: &str,
    name: &str,
    what: &str,
    file: &str,
    from: &str,
    to: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    generate_design(dir.path(), design);
    let folder = format!("out/{name}");
    let path = dir.path().join(&folder).join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text.matches(from).count(),
        1,
        "{what}: {from:?} must occur once in {file} (did the generator's text change?)"
    );
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    let r = sparqgen(
        &[
            "verify",
            "--rtl",
            &folder,
            "--vectors",
            "20000",
            "--seed",
            "5",
            "--max-mismatches",
            "50",
            "--report-dir",
            "rep",
        ],
        dir.path(),
    );
    let out = r.stdout();
    assert_eq!(r.code(), 1, "{what}: verify must fail\n{out}{}", r.stderr());
    let (design_line, repro) = (
        format!("design {name}"),
        format!("reproduce: sparqgen verify --rtl {folder} --seed 5"),
    );
    for needle in [
        "FAIL:",
        design_line.as_str(),
        repro.as_str(),
        "expected",
        "actual",
        "VCD of the failing window",
    ] {
        assert!(
            out.contains(needle),
            "{what}: report lacks {needle:?}:\n{out}"
        );
    }
    // the failing inputs are spelled out
    assert!(
        out.contains("a=(") || out.contains("A[") || out.contains("group a="),
        "{what}: no failing operands in the report:\n{out}"
    );
    let vcd = dir.path().join(format!("rep/{name}_seed5.vcd"));
    let meta = std::fs::metadata(&vcd).unwrap_or_else(|e| panic!("{what}: {}: {e}", vcd.display()));
    assert!(meta.len() > 1000, "{what}: VCD is {} bytes", meta.len());
    assert!(
        dir.path().join(format!("rep/{name}_seed5.txt")).exists(),
        "{what}: no report file"
    );
    println!(
        "{what}: FAIL as expected\n{}",
        out.lines().take(14).collect::<Vec<_>>().join("\n")
    );
}
