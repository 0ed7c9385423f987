//! The gate netlist after layout against the model: the OSU cells become
//! Verilog modules from the liberty's own cell functions (Yosys
//! `read_liberty`; the library's `osu018_stdcells.v` uses primitives and
//! UDPs Yosys cannot read), and `prove` lowers cells plus netlist to an
//! and-inverter graph and proves it equal to the model for every input.

use crate::prove::{self, Target};
use crate::rtl::Manifest;
use crate::synth::yosys;
use anyhow::{Context, Result};
use std::path::Path;
use std::time::Duration;

/// The liberty's cells as Verilog modules (their `function`s, flops as
/// `always` blocks).
pub fn cell_models(liberty: &Path) -> Result<String> {
    let (_keep, dir) = yosys::workdir(None)?;
    let script = format!(
        "# The OSU cells' logic from their liberty functions (sparqgen asic).\n\
         read_liberty -ignore_miss_func {}\nwrite_verilog -noattr cells.v\n",
        liberty.display()
    );
    yosys::run_script_timeout(&script, &dir, Duration::from_secs(120))?;
    std::fs::read_to_string(dir.join("cells.v")).context("yosys wrote no cell models")
}

/// Prove `netlist` (the routed design's gate netlist, module `m.top`) equal
/// to the model. `fill`: the filler cell the router adds to the netlist
/// (no pins, no function, not in the liberty).
pub fn prove_netlist(
    m: &Manifest,
    netlist: &str,
    liberty: &Path,
    fill: &str,
) -> Result<prove::Report> {
    let mut models = cell_models(liberty)?;
    if !models.contains(&format!("module {fill}(")) {
        models.push_str(&format!(
            "\n// Filler: continues the rows, no logic.\nmodule {fill}();\nendmodule\n"
        ));
    }
    let t = Target {
        manifest: m.clone(),
        files: vec![
            ("osu018_cells.v".into(), models),
            (format!("{}.v", m.top), netlist.to_string()),
        ],
        origin:
            "the gate netlist qflow placed and routed (OSU 0.18 um cells, their liberty functions)"
                .into(),
    };
    prove::prove(&t, prove::Options::default())
}
