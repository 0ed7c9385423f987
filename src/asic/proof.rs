//! The gate netlist after layout against the model: the OSU cells become
//! Verilog modules from the liberty's own cell functions (Yosys
//! `read_liberty`; the library's `osu018_stdcells.v` uses primitives and
//! UDPs Yosys cannot read). A single PE: `prove` lowers cells plus netlist
//! to an and-inverter graph and proves it equal to the model for every
//! input. An array (its flattened netlist has no PE for the proof to take):
//! cells plus netlist are co-simulated under Verilator against the model,
//! the plan `sparqgen verify` runs on the generated RTL.

use crate::prove::{self, Target};
use crate::rtl::Manifest;
use crate::sim;
use crate::synth::yosys;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
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

/// The cell models plus the filler cell the router adds to the netlist
/// (no pins, no function, not in the liberty).
fn models_with_fill(liberty: &Path, fill: &str) -> Result<String> {
    let mut models = cell_models(liberty)?;
    if !models.contains(&format!("module {fill}(")) {
        models.push_str(&format!(
            "\n// Filler: continues the rows, no logic.\nmodule {fill}();\nendmodule\n"
        ));
    }
    Ok(models)
}

/// Prove `netlist` (the routed design's gate netlist, module `m.top`) equal
/// to the model. `fill`: the filler cell the router adds to the netlist.
pub fn prove_netlist(
    m: &Manifest,
    netlist: &str,
    liberty: &Path,
    fill: &str,
) -> Result<prove::Report> {
    let models = models_with_fill(liberty, fill)?;
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

/// Co-simulate `netlist` (module `m.top`, the routed gate netlist of the
/// design `m` describes) under Verilator against the model: `verify`'s
/// plan for the design (random valid/clear sequences and random GEMMs,
/// `vectors` random cycles), every output compared.
pub fn cosimulate_netlist(
    m: &Manifest,
    netlist: &str,
    liberty: &Path,
    fill: &str,
    vectors: u64,
) -> Result<sim::Outcome> {
    let models = models_with_fill(liberty, fill)?;
    let dut = sim::Dut::from_parts(
        m.design.clone(),
        sim::source::ports_of(m)?,
        vec![
            (PathBuf::from("osu018_cells.v"), models.into_bytes()),
            (
                PathBuf::from(format!("{}.v", m.top)),
                netlist.as_bytes().to_vec(),
            ),
        ],
        "the gate netlist qflow placed and routed (OSU 0.18 um cells, their liberty functions)"
            .into(),
    )?;
    let opts = sim::VerifyOptions {
        vectors,
        vcd: false,
        ..sim::VerifyOptions::default()
    };
    Ok(sim::verify(&[dut], &opts)?)
}
