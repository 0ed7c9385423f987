//! `sparqgen run`: generate, verify (called as a library function with
//! verify's defaults), the model and the PE report, in one command.

use crate::util::write;
use crate::verify::sparqgen;
use sparqgen::tools::Tool;

#[test]
#[ignore = "full tier (Verilator, Yosys): scripts/test.sh runs it"]
fn run_generates_verifies_and_prices_one_design() {
    crate::util::need(&[Tool::Verilator, Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "pe.yaml", "name: run_pe\narray: {kind: single}\n");
    let r = sparqgen(&["run", "pe.yaml"], d);
    let out = r.stdout();
    assert_eq!(r.code(), 0, "{out}\n{}", r.stderr());
    // verify ran on the folder just written, with verify's defaults
    assert!(out.contains("rtl: wrote rtl_out/run_pe/"), "{out}");
    assert!(
        out.contains("PASS: every output matched the model"),
        "{out}"
    );
    let verify_at = out.find("PASS: every output").unwrap();
    let model_at = out.find("model: GEMM").expect("the model ran");
    assert!(verify_at < model_at, "verify runs before the model: {out}");
    // then the PE report, written beside the RTL
    assert!(
        out.contains("synth: the PE against mac8x8 and mac4x8"),
        "{out}"
    );
    for f in ["synth.json", "synth.md", "synth_generic.ys"] {
        assert!(d.join("rtl_out/run_pe/reports").join(f).is_file(), "{f}");
    }
    // and, beside the single PEs, a 4x4 array of the PE against baseline
    // arrays (what a user builds: the decode shared per row)
    let json = std::fs::read_to_string(d.join("rtl_out/run_pe/reports/synth.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["array_sampled"], true, "{v}");
    let shapes: Vec<&str> = v["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["shape"].as_str().unwrap())
        .collect();
    assert_eq!(shapes, ["4x4 systolic"; 3]);
    // with the OSU 0.18 um cells and OpenSTA installed, the PE against both
    // baselines in um^2, MHz and pJ/MAC, and the arrays in um^2
    if std::path::Path::new(sparqgen::tools::OSU018_LIB).is_file()
        && sparqgen::tools::find(Tool::Sta).is_ok()
    {
        for c in std::iter::once(&v["pe"]).chain(v["baselines"].as_array().unwrap()) {
            let l = &c["liberty"];
            assert!(l["area_um2"].as_f64().unwrap() > 1000.0, "{c}");
            assert!(l["fmax_mhz"].as_f64().unwrap() > 1.0, "{c}");
            assert!(
                l["power"]["energy_pj_per_mac"].as_f64().unwrap() > 0.0,
                "{c}"
            );
        }
        for a in v["arrays"].as_array().unwrap() {
            assert!(a["liberty"]["area_um2"].as_f64().unwrap() > 1000.0, "{a}");
        }
        assert!(out.contains("pJ/MAC"), "{out}");
    }
    // a pass leaves no failure report behind
    assert!(!d.join("sparqgen-verify").exists());
}
