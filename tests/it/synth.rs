//! `sparqgen synth`: the JSON contract, the liberty flow, the baselines
//! comparison and the claims the sweep checks.

use crate::util::{run, write};
use sparqgen::config::{Design, PeKind, PlacementSet, Rounding, SparqArith};
use sparqgen::synth::compare::{cost_pes, Workload};
use sparqgen::synth::flow::Scripts;
use sparqgen::synth::report::findings;
use sparqgen::tools::Tool;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn json_report_of_a_single_pe_has_the_contract_fields() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "pe.yaml", "name: pe_json\narray: {kind: single}\n");
    let r = run(&["synth", "pe.yaml", "--json", "-o", "out"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value =
        serde_json::from_str(&r.stdout()).expect("one JSON object on stdout");
    assert!(v["generic"]["cells"].as_u64().unwrap() > 500, "{v}");
    assert!(v["generic"]["transistors"].as_u64().unwrap() > 2000);
    assert!(v["ice40"]["lut4"].as_u64().unwrap() > 100);
    let fmax = &v["ice40"]["fmax_mhz"];
    assert!(fmax.is_null() || fmax.as_f64().unwrap() > 1.0, "{fmax}");
    assert_eq!(v["activations_per_cycle"], 2);
    let design = Design::from_path(&d.join("pe.yaml")).unwrap();
    assert_eq!(v["design_hash"], design.hash());
    assert!(v["tools"]["yosys"].as_str().unwrap().starts_with("Yosys "));
    // the PE against the baselines at equal activation throughput
    assert_eq!(v["baselines"][0]["kind"], "mac8x8");
    assert_eq!(v["baselines"][1]["kind"], "mac4x8");
    assert!(v["comparison"]["vs_mac8x8"].as_f64().unwrap() > 0.0);
    // the PE's gate netlist passed the same vectors as the RTL
    let check = v["netlist_check"].as_str().unwrap();
    assert!(
        check.contains("0 mismatches") && check.ends_with("PASS."),
        "{check}"
    );
    // reports land beside the design
    for f in [
        "synth.json",
        "synth.md",
        "synth_generic.ys",
        "synth_ice40.ys",
    ] {
        assert!(d.join("out/pe_json/reports").join(f).is_file(), "{f}");
    }
    let md = std::fs::read_to_string(d.join("out/pe_json/reports/synth.md")).unwrap();
    assert!(
        md.contains(&design.hash()) && md.contains("Yosys 0.23"),
        "{md}"
    );
}

/// An array is priced against the same shape built of each baseline, per
/// activation per cycle of the whole design; a single PE has no such table.
#[test]
#[ignore = "full tier (Yosys): scripts/test.sh runs it"]
fn an_array_is_compared_with_baseline_arrays_of_its_shape() {
    crate::util::need(&[Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let yaml = "name: dot_arr\npe: {acc_bits: 20}\narray: {kind: dot, lanes: 2}\n";
    write(d, "d.yaml", yaml);
    let args = ["synth", "d.yaml", "--json", "--target", "generic"];
    let r = run(
        &[&args[..], &["--no-netlist-check", "-o", "out"]].concat(),
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    let arrays = v["arrays"].as_array().expect("an arrays table");
    let labels: Vec<&str> = arrays.iter().map(|a| a["pe"].as_str().unwrap()).collect();
    assert_eq!(labels, ["sparq 5opt round", "mac8x8", "mac4x8"]);
    // the design's own row is the whole design's generic area
    assert_eq!(arrays[0]["transistors"], v["generic"]["transistors"]);
    assert_eq!(arrays[0]["activations_per_cycle"], 4);
    assert_eq!(arrays[1]["activations_per_cycle"], 2);
    for a in arrays {
        let per = a["transistors"].as_f64().unwrap() / a["activations_per_cycle"].as_f64().unwrap();
        assert!((a["transistors_per_activation"].as_f64().unwrap() - per).abs() < 1e-6);
        assert!(a["transistors"].as_u64().unwrap() > 1000, "{a}");
    }
    let text = v["array_comparison"].as_str().unwrap();
    assert!(text.contains("the mac4x8 array's"), "{text}");
    let md = std::fs::read_to_string(d.join("out/dot_arr/reports/synth.md")).unwrap();
    assert!(md.contains("baseline arrays of the same shape"), "{md}");
    assert_eq!(arrays[0]["shape"], "dot x2");

    write(d, "pe.yaml", "name: pe_arr\narray: {kind: single}\n");
    let r = run(
        &[
            "synth",
            "pe.yaml",
            "--json",
            "--target",
            "generic",
            "--no-netlist-check",
            "-o",
            "out",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    assert_eq!(v["arrays"].as_array().map(Vec::len), Some(0));
    assert!(v["array_comparison"].is_null());
}

#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn liberty_flow_reports_library_area() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator, Tool::Sta]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "m.yaml",
        "name: lib_pe\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    let lib = fixture("tiny.lib");
    let r = run(
        &[
            "synth",
            "m.yaml",
            "--target",
            "liberty",
            "--liberty",
            lib.to_str().unwrap(),
            "--json",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    assert!(v["liberty"]["area"].as_f64().unwrap() > 100.0, "{v}");
    assert!(
        v["liberty"]["cells_by_type"]["NAND2"].as_u64().unwrap() > 0,
        "{v}"
    );
    assert!(v["generic"].is_null() && v["ice40"].is_null());
    // a library without timing arcs or power tables: area, and why not more
    assert_eq!(v["liberty"]["area_um2"], v["liberty"]["area"]);
    assert!(v["liberty"]["power"].is_null(), "{v}");
    assert!(
        v["liberty"]["note"].as_str().unwrap().contains("no timing"),
        "{v}"
    );
    assert!(v["pe"]["liberty"]["area"].as_f64().unwrap() > 100.0, "{v}");
}

#[test]
fn bad_synth_arguments_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "x.lib", "library(x) {}\n");
    let r = run(&["synth", "--liberty", "x.lib"], d);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("--liberty is only used with --target liberty"),
        "{}",
        r.stderr()
    );
    let r = run(
        &["synth", "--target", "liberty", "--liberty", "nope.lib"],
        d,
    );
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("nope.lib"), "{}", r.stderr());
}

/// The trade-off the paper claims, measured on our RTL: more placements
/// cost more logic, and a SPARQ PE beats mac8x8 per activation per cycle.
#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn placements_cost_logic_and_sparq_beats_mac8x8_per_activation() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator]);
    let base = Design::from_yaml("name: claims\narray: {kind: single}").unwrap();
    let sparq = |placements| {
        PeKind::Sparq(SparqArith {
            placements,
            rounding: Rounding::RoundHalfEven,
            pair_sharing: true,
            stc: false,
        })
    };
    let kinds = [
        sparq(PlacementSet::Opt2),
        sparq(PlacementSet::Opt3),
        sparq(PlacementSet::Opt5),
        PeKind::Mac8x8,
        PeKind::Mac4x8,
    ];
    let costs = cost_pes(
        &base,
        &kinds,
        &Workload::ReluLike,
        false,
        false,
        &mut Scripts::default(),
    )
    .unwrap();
    let t: Vec<u64> = costs.iter().map(|c| c.generic.transistors).collect();
    let f = findings(&costs);
    assert!(
        t[0] < t[1] && t[1] < t[2],
        "2opt < 3opt < 5opt expected: {t:?}\n{f:?}"
    );
    for c in &costs[..3] {
        assert!(
            c.transistors_per_activation < costs[3].transistors_per_activation,
            "{} vs mac8x8: {f:?}",
            c.label()
        );
        // and more placements buy accuracy
        assert!(c.sqnr_db.unwrap() > 15.0);
    }
    assert!(costs[0].sqnr_db < costs[1].sqnr_db && costs[1].sqnr_db < costs[2].sqnr_db);
    assert!(f.iter().any(|l| l.contains("holds")), "{f:?}");
}

/// A PE's area does not depend on what else the flow prices, or in which
/// order: each design is synthesized in a Yosys process of its own.
#[test]
#[ignore = "full tier (Yosys, Verilator): scripts/test.sh runs it"]
fn a_pe_costs_the_same_alone_and_after_others() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator]);
    let base = Design::from_yaml("name: order\narray: {kind: single}").unwrap();
    let price = |kinds: &[PeKind]| -> Vec<u64> {
        cost_pes(
            &base,
            kinds,
            &Workload::ReluLike,
            false,
            false,
            &mut Scripts::default(),
        )
        .unwrap()
        .iter()
        .map(|c| c.generic.transistors)
        .collect()
    };
    let sparq = base.pe().kind();
    let alone = price(&[PeKind::Mac4x8]);
    let after = price(&[sparq, PeKind::Mac8x8, PeKind::Mac4x8]);
    assert_eq!(alone[0], after[2], "mac4x8 alone vs after two other PEs");
    let mac8 = price(&[PeKind::Mac8x8]);
    assert_eq!(mac8[0], after[1], "mac8x8 alone vs after the SPARQ PE");
}

/// A Yosys failure names a script and a log that still exist when the user
/// reads the message (the work folder itself is temporary).
#[test]
#[ignore = "full tier (Yosys): scripts/test.sh runs it"]
fn a_yosys_failure_points_at_logs_that_exist() {
    crate::util::need(&[Tool::Yosys]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "d.yaml",
        "name: t\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    // a library with no flip-flops: dfflibmap cannot map the accumulator
    write(d, "bad.lib", "library(x) { }\n");
    let r = run(
        &[
            "synth",
            "d.yaml",
            "--target",
            "liberty",
            "--liberty",
            "bad.lib",
            "-o",
            "out",
        ],
        d,
    );
    assert_eq!(r.code(), 2, "{}\n{}", r.stdout(), r.stderr());
    let err = r.stderr();
    let log = err
        .split("(full log: ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_else(|| panic!("no log path in: {err}"));
    let log = std::path::Path::new(log);
    assert!(log.is_file(), "{} does not exist: {err}", log.display());
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("ERROR"), "{text}");
    let _ = std::fs::remove_dir_all(log.parent().unwrap());
}
