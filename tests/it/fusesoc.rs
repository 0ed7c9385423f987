//! What a generated folder gives downstream flows: the FuseSoC core, the
//! SDC and PCF constraints, the self-checking testbench. The fast tier
//! checks the files' contents; the full tier runs FuseSoC itself (lint,
//! sim, synth and pnr targets) and shows that the sim target fails on a
//! wrong datapath.

use crate::util::{need, run, write};
use sparqgen::config::Design;
use sparqgen::rtl::Manifest;
use sparqgen::tools::Tool;
use std::path::Path;
use std::process::Command;

fn generate(dir: &Path, yaml: &str, extra: &[&str]) -> (Manifest, std::path::PathBuf) {
    write(dir, "d.yaml", yaml);
    let mut args = vec!["generate", "d.yaml", "-o", "out"];
    args.extend_from_slice(extra);
    let r = run(&args, dir);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let name = Design::from_yaml(yaml).unwrap().name().to_string();
    let folder = dir.join("out").join(name);
    (Manifest::read(&folder).unwrap(), folder)
}

fn read(folder: &Path, rel: &str) -> String {
    std::fs::read_to_string(folder.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn the_manifest_lists_core_constraints_and_testbench() {
    let dir = tempfile::tempdir().unwrap();
    let yaml =
        "name: fz_sa\npe: {kind: sparq, pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}\n";
    let (m, folder) = generate(dir.path(), yaml, &["--clock-mhz", "250"]);
    m.check_files(&folder).unwrap();
    let f = m.flows.as_ref().expect("manifest lists the flow files");
    assert_eq!(f.core, "fz_sa.core");
    assert_eq!(
        f.vlnv,
        format!("sparqgen:gen:fz_sa:{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(f.clock_khz, 250_000);
    for rel in f.files() {
        assert!(folder.join(&rel).is_file(), "{rel} is written");
    }

    // SDC: 250 MHz is 4 ns; delays 20 % of it; the reset is not timed.
    let sdc = read(&folder, &f.sdc);
    assert!(
        sdc.contains("create_clock -name clk_i -period 4.000 [get_ports clk_i]"),
        "{sdc}"
    );
    assert!(
        sdc.contains(
            "set_input_delay -clock clk_i 0.800 [get_ports {valid_i clear_i act_i[*] wgt_i[*]}]"
        ),
        "{sdc}"
    );
    assert!(
        sdc.contains("set_output_delay -clock clk_i 0.800 [get_ports {res_o[*]}]"),
        "{sdc}"
    );
    assert!(
        sdc.contains("set_false_path -from [get_ports rst_ni]"),
        "{sdc}"
    );

    // Core: VLNV, the RTL in the manifest's compile order, top, parameters,
    // the four targets.
    let core = read(&folder, &f.core);
    assert!(core.starts_with("CAPI=2:\n"), "{core}");
    assert!(core.contains(&format!("\nname: {}\n", f.vlnv)), "{core}");
    let listed: Vec<&str> = core
        .lines()
        .skip_while(|l| l.trim() != "rtl:")
        .skip(3)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim_start().trim_start_matches("- "))
        .collect();
    assert_eq!(listed, m.files, "{core}");
    assert!(core.contains("toplevel: fz_sa_top\n"), "{core}");
    assert!(core.contains("parameters: [Rows, Cols, AccBits]"), "{core}");
    for t in ["lint", "sim", "synth", "pnr"] {
        assert!(core.contains(&format!("\n  {t}:\n")), "target {t}: {core}");
    }
    assert!(core.contains("--freq, \"250\""), "{core}");

    // PCF: the wrapper's three pins, every bare pin listed as a comment.
    let pcf = read(&folder, &f.pcf);
    for pin in ["set_io clk_i 35", "set_io rst_ni 10", "set_io fold_o 11"] {
        assert!(pcf.contains(pin), "{pcf}");
    }
    let bare: u32 = m.ports.iter().map(|p| p.width).sum();
    assert_eq!(pcf.matches("\n# set_io ").count() as u32, bare, "{pcf}");

    // The testbench drives the top and checks every planned value.
    let tb = read(&folder, &f.testbench);
    assert!(tb.contains("module fz_sa_tb;"), "{tb}");
    assert!(tb.contains("fz_sa_top u_dut ("), "{tb}");
    assert!(tb.matches("chk_value[").count() > 6, "{tb}");

    // The design README documents the core and the SDC.
    let readme = read(&folder, "README.md");
    for s in [
        "fz_sa.core",
        "fz_sa.sdc",
        "fz_sa_ice40.pcf",
        "250 MHz (period 4.000 ns)",
        "run --target lint",
    ] {
        assert!(readme.contains(s), "README lacks {s}");
    }
}

#[test]
fn a_bad_clock_is_a_usage_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", "name: fz_bad\n");
    for mhz in ["0", "5000", "-3", "NaN"] {
        let r = run(
            &[
                "generate",
                "d.yaml",
                "-o",
                "out",
                &format!("--clock-mhz={mhz}"),
            ],
            d,
        );
        assert_eq!(r.code(), 2, "{mhz}: {}", r.stderr());
        assert!(
            r.stderr().contains("--clock-mhz") && r.stderr().contains("allowed: 1 to 2000 MHz"),
            "{mhz}: {}",
            r.stderr()
        );
        assert!(!d.join("out/fz_bad").exists());
    }
}

#[test]
fn the_library_generates_the_default_clock() {
    let d = Design::from_yaml("name: fz_lib\narray: {kind: single}\n").unwrap();
    let g = sparqgen::flows::generate(&d).unwrap();
    let f = g.manifest.flows.as_ref().unwrap();
    assert_eq!(f.clock_khz, 100_000);
    let sdc = String::from_utf8(g.files.get(&f.sdc).unwrap().to_vec()).unwrap();
    assert!(sdc.contains("-period 10.000"), "{sdc}");
}

// ---------------------------------------------------------------------------
// Full tier: FuseSoC itself.
// ---------------------------------------------------------------------------

fn need_fusesoc() {
    let ok = Command::new("fusesoc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "this full-tier test needs fusesoc: fusesoc was not found on PATH; install it with: \
         pip install fusesoc (or run scripts/setup.sh)"
    );
}

/// `fusesoc run --target T VLNV` on a generated folder; (success, output).
fn fusesoc(folder: &Path, build: &Path, target: &str, vlnv: &str) -> (bool, String) {
    let out = Command::new("fusesoc")
        .arg("--cores-root")
        .arg(folder)
        .arg("run")
        .arg("--build-root")
        .arg(build)
        .args(["--target", target, vlnv])
        .output()
        .expect("run fusesoc");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

const DESIGNS: [&str; 6] = [
    "name: fz_pe5\npe: {kind: sparq, acc_bits: 24}\narray: {kind: single}\n",
    "name: fz_pe7\npe: {kind: sparq, window_bits: 2, placements: 7, rounding: truncate, stc: true, acc_bits: 20, pipeline: 2}\narray: {kind: single}\n",
    "name: fz_mac8\npe: {kind: mac8x8, acc_bits: 17}\narray: {kind: single}\n",
    "name: fz_dot\npe: {kind: mac4x8, acc_bits: 24, pipeline: 1}\narray: {kind: dot, lanes: 3}\n",
    "name: fz_sa\npe: {kind: sparq, window_bits: 3, placements: 6, stc: true, pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}\n",
    "name: fz_sa8\n",
];

#[test]
#[ignore = "full tier (FuseSoC, Verilator, Icarus): scripts/test.sh runs it"]
fn fusesoc_lints_and_simulates_generated_designs() {
    need(&[Tool::Verilator, Tool::Iverilog, Tool::Vvp]);
    need_fusesoc();
    let dir = tempfile::tempdir().unwrap();
    for yaml in DESIGNS {
        let (m, folder) = generate(dir.path(), yaml, &[]);
        let f = m.flows.as_ref().unwrap();
        let build = dir.path().join("build").join(m.design.name());
        let (ok, text) = fusesoc(&folder, &build, "lint", &f.vlnv);
        assert!(ok, "{}: fusesoc lint failed:\n{text}", m.design.name());
        assert!(!text.contains("%Warning"), "{}: {text}", m.design.name());
        let (ok, text) = fusesoc(&folder, &build, "sim", &f.vlnv);
        assert!(ok, "{}: fusesoc sim failed:\n{text}", m.design.name());
        assert!(
            text.contains("PASS: ") && !text.contains("MISMATCH"),
            "{}: {text}",
            m.design.name()
        );
        assert!(
            !text.to_lowercase().contains("warning"),
            "{}: {text}",
            m.design.name()
        );
        // The iCE40 wrapper of the pnr target is as lint-clean as the RTL.
        let out = Command::new("verilator")
            .args(["--lint-only", "-Wall", "--top-module", &f.ice40_top])
            .args(&m.files)
            .arg(&f.ice40_wrapper)
            .current_dir(&folder)
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{}: verilator -Wall on the wrapper:\n{}",
            m.design.name(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
#[ignore = "full tier (FuseSoC, Icarus): scripts/test.sh runs it"]
fn fusesoc_sim_fails_on_a_wrong_datapath() {
    need(&[Tool::Iverilog, Tool::Vvp]);
    need_fusesoc();
    let dir = tempfile::tempdir().unwrap();
    let (m, folder) = generate(dir.path(), DESIGNS[3], &[]);
    let f = m.flows.as_ref().unwrap();
    let file = folder.join("fz_dot_pair_mul.v");
    let text = std::fs::read_to_string(&file).unwrap();
    let (lhs, rhs) = text
        .split_once("} + {")
        .expect("the pair multiplier adds its two terms");
    std::fs::write(&file, format!("{lhs}}} - {{{rhs}")).unwrap();
    let (ok, out) = fusesoc(&folder, &dir.path().join("build"), "sim", &f.vlnv);
    assert!(
        !ok,
        "a subtracting datapath must fail the sim target:\n{out}"
    );
    assert!(
        out.contains("MISMATCH cycle") && out.contains("FAIL: "),
        "{out}"
    );
}

#[test]
#[ignore = "full tier (FuseSoC, Yosys, nextpnr, icestorm): scripts/test.sh runs it"]
fn fusesoc_synthesizes_and_places_on_ice40() {
    need(&[Tool::Yosys, Tool::NextpnrIce40]);
    need_fusesoc();
    let icepack = Command::new("icepack").arg("-h").output().is_ok();
    assert!(
        icepack,
        "this full-tier test needs icepack: icepack was not found on PATH; install it with: \
         apt-get update && apt-get install -y fpga-icestorm (or run scripts/setup.sh)"
    );
    let dir = tempfile::tempdir().unwrap();
    let (m, folder) = generate(dir.path(), DESIGNS[0], &["--clock-mhz", "12"]);
    let f = m.flows.as_ref().unwrap();
    let build = dir.path().join("build");
    let work = build.join(f.vlnv.replace(':', "_"));
    let (ok, text) = fusesoc(&folder, &build, "synth", &f.vlnv);
    assert!(ok, "fusesoc synth failed:\n{text}");
    let netlist = std::fs::read_to_string(
        work.join("synth")
            .join(format!("{}.json", f.vlnv.replace(':', "_"))),
    )
    .unwrap();
    assert!(netlist.contains("SB_LUT4"), "an iCE40 netlist");
    let (ok, text) = fusesoc(&folder, &build, "pnr", &f.vlnv);
    assert!(ok, "fusesoc pnr failed:\n{text}");
    assert!(
        work.join("pnr")
            .join(format!("{}.bin", f.vlnv.replace(':', "_")))
            .is_file(),
        "a bitstream: {text}"
    );
    let log = std::fs::read_to_string(work.join("pnr").join("next.log")).unwrap_or(text);
    assert!(log.contains("Max frequency for clock"), "{log}");
}
