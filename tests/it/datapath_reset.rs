//! `pe.datapath_reset: false`: the datapath flip-flops (pipeline operand
//! and sum registers, systolic skew registers) lose their reset, the
//! accumulators and valid/clear keep it; the default is today's RTL, byte
//! for byte, with today's design hash.

use crate::util::{run, write};
use sparqgen::config::Design;

fn design(yaml: &str) -> Design {
    Design::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

fn text(d: &Design, file: &str) -> String {
    let g = sparqgen::flows::generate(d).unwrap();
    String::from_utf8(g.files.get(file).unwrap().to_vec()).unwrap()
}

const SA: &str =
    "name: dr\npe: {kind: sparq, pipeline: 2}\narray: {kind: systolic, rows: 2, cols: 3}";

#[test]
fn the_default_keeps_every_reset_and_the_design_hash() {
    let omitted = design(SA);
    let explicit = design(&SA.replace("pipeline: 2", "pipeline: 2, datapath_reset: true"));
    assert_eq!(omitted, explicit);
    assert_eq!(omitted.hash(), explicit.hash());
    assert!(!omitted.canonical_json().contains("datapath_reset"));
    let a = sparqgen::flows::generate(&omitted).unwrap();
    let b = sparqgen::flows::generate(&explicit).unwrap();
    assert_eq!(a.files.files, b.files.files);
    let pe = text(&omitted, "dr_pe.v");
    assert!(!pe.contains("no reset"), "{pe}");
}

#[test]
fn without_datapath_reset_only_control_and_accumulators_reset() {
    let d = design(&SA.replace("pipeline: 2", "pipeline: 2, datapath_reset: false"));
    assert!(!d.pe().datapath_reset());
    assert_ne!(d.hash(), design(SA).hash());
    // the validated design round-trips with the field
    assert_eq!(Design::from_yaml(&d.to_yaml()).unwrap(), d);

    let pe = text(&d, "dr_pe.v");
    // operands and sum: clocked without reset
    assert!(
        pe.contains("always @(posedge clk_i) begin\n    c1_q <= c1_dec;"),
        "{pe}"
    );
    assert!(pe.contains("sum_b_q <= sum_a;\n  end"), "{pe}");
    assert!(!pe.contains("sum_b_q   <= {SumBits{1'b0}}"), "{pe}");
    // valid/clear and the accumulator: reset
    for reset in [
        "valid_a_q <= 1'b0;",
        "valid_b_q <= 1'b0;",
        "acc_q <= {AccBits{1'b0}};",
    ] {
        assert!(pe.contains(reset), "{reset} missing:\n{pe}");
    }
    let sa = text(&d, "dr_systolic_array.v");
    assert!(!sa.contains("act_q <= {RowBits{1'b0}}"), "{sa}");
    assert!(!sa.contains("wgt_q <= {WgtBits{1'b0}}"), "{sa}");
    assert!(sa.contains("valid_q <= 1'b0;"), "{sa}");
    // the output chain holds results, like the accumulators: reset
    assert!(sa.contains("out_q <= {AccBits{1'b0}};"), "{sa}");
    assert!(sa.contains("hold_q <= 1'b0;"), "{sa}");
    let readme = text(&d, "README.md");
    assert!(
        readme.contains("Datapath flip-flops have no reset"),
        "{readme}"
    );
}

#[test]
fn a_non_boolean_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "d.yaml", "pe: {datapath_reset: maybe}\n");
    let r = run(&["generate", f.to_str().unwrap(), "-o", "out"], dir.path());
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("pe.datapath_reset"), "{}", r.stderr());
    assert!(r.stderr().contains("boolean"), "{}", r.stderr());
    assert!(!dir.path().join("out").exists());
}

/// Reset-less datapath registers hold anything after reset; co-simulation
/// (`verify`, which resets mid-stream too) and `prove` show it never
/// reaches an output: arrays and a dot unit at pipeline 0, 1, 2.
#[test]
#[ignore = "full tier (Verilator, Yosys): scripts/test.sh runs it"]
fn reset_less_datapaths_verify_and_prove() {
    use sparqgen::tools::Tool;
    crate::util::need(&[Tool::Verilator, Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for p in 0..=2 {
        files.push(write(
            dir.path(),
            &format!("sa{p}.yaml"),
            &format!(
                "name: nr_sa{p}\npe: {{kind: sparq, pipeline: {p}, datapath_reset: false}}\n\
                 array: {{kind: systolic, rows: 2, cols: 3}}\n"
            ),
        ));
    }
    files.push(write(
        dir.path(),
        "dot.yaml",
        "name: nr_dot\npe: {kind: sparq, stc: true, pipeline: 2, datapath_reset: false}\n\
         array: {kind: dot, lanes: 3}\n",
    ));
    let args: Vec<&str> = files.iter().map(|f| f.to_str().unwrap()).collect();
    for cmd in ["verify", "prove"] {
        let mut a = vec![cmd];
        a.extend(&args);
        let r = run(&a, dir.path());
        assert_eq!(r.code(), 0, "{cmd}:\n{}\n{}", r.stdout(), r.stderr());
    }
}
