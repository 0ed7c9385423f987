//! Post-synthesis check: the generic gate netlist of a PE, written back as
//! Verilog by Yosys, is co-simulated against the model with the same
//! vectors `verify` uses, so RTL that synthesizes differently from how it
//! simulates is caught; and the same netlist is proven equal to the model
//! for every input (`prove`).

use crate::config::Design;
use crate::rtl;
use crate::sim::{self, source::ports_of, Dut, VerifyOptions};
use crate::synth::compare::{job, pe_design};
use crate::synth::flow::{self, Scripts};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// What the check found.
pub struct NetlistCheck {
    pub passed: bool,
    pub summary: String,
}

/// Synthesize `base`'s PE as a single-PE design, and co-simulate its gate
/// netlist (every activation pair plus random sequences) against the model.
pub fn check_pe(base: &Design) -> Result<NetlistCheck> {
    let design = pe_design(base, base.pe().kind(), &format!("{}_net", base.name()))?;
    let out = flow::generic(&[job(&design, true)?], &mut Scripts::default())?.remove(0);
    let netlist = out.netlist.context("yosys wrote no netlist")?;
    let generated = rtl::generate(&design)?;
    let ports = ports_of(&generated.manifest)?;
    let dut = Dut::from_parts(
        design.clone(),
        ports,
        vec![(
            PathBuf::from(format!("{}_netlist.v", generated.manifest.top)),
            netlist.into_bytes(),
        )],
        "Yosys generic gate netlist (synth -flatten; abc -g cmos2)".into(),
    )?;
    let opts = VerifyOptions {
        vcd: false,
        ..VerifyOptions::default()
    };
    let o = sim::verify(&[dut], &opts)?;
    let summary = format!(
        "The gate netlist of the PE ({} cells) under {}: {} vectors, {} outputs checked against the model, {} mismatches (seed {}): {}.",
        out.result.cells,
        o.sim,
        o.vectors(),
        o.checks(),
        o.mismatches,
        o.seed,
        if o.passed() { "PASS" } else { "FAIL" }
    );
    // Backed by a proof over every input (`sparqgen prove --gates`).
    let proof = crate::prove::prove_gates(&crate::prove::Target::generate(&design)?)?;
    let summary = format!(
        "Proof over every input (sparqgen prove --gates): the gate netlist {} ({:.1} s). {summary}",
        if proof.passed() {
            "equals the model".to_string()
        } else {
            format!("does NOT equal the model:\n{}", proof.text())
        },
        proof.seconds
    );
    Ok(NetlistCheck {
        passed: o.passed() && proof.passed(),
        summary,
    })
}
