//! The RTL (or its gate netlist) as Yosys sees it, lowered to an AIG: the
//! script comes from `templates/prove/netlist.ys`, runs in a Yosys process
//! of its own with a time limit, and its JSON is read by [`Seq`].

use super::aig::Seq;
use crate::config::ArrayShape;
use crate::rtl::Manifest;
use crate::synth::yosys;
use anyhow::{Context, Result};
use askama::Template;
use std::time::Duration;

/// How long lowering one design may take.
pub const TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Template)]
#[template(path = "prove/netlist.ys")]
struct NetlistScript<'a> {
    version: &'a str,
    what: &'a str,
    files: Vec<String>,
    top: &'a str,
    chparams: Vec<(String, u32)>,
    gates: bool,
}

/// The top with one PE: a systolic array is elaborated as 1 x 1 (every PE
/// of the array is this module with these parameters); single PEs and dot
/// units as they are.
pub fn chparams(m: &Manifest) -> Vec<(String, u32)> {
    match m.design.array() {
        ArrayShape::Systolic { .. } => vec![("Rows".into(), 1), ("Cols".into(), 1)],
        _ => Vec::new(),
    }
}

/// Lower `files` (name, Verilog) with top `m.top` to a sequential AIG.
/// `gates`: first synthesize to the generic gate netlist `synth` prices.
pub fn lower(m: &Manifest, files: &[(String, String)], gates: bool) -> Result<(Seq, String)> {
    let (_keep, dir) = yosys::workdir(None)?;
    let mut names = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
        names.push(name.clone());
    }
    let what = if gates {
        "the generic gate netlist (synth -flatten; abc -g cmos2)"
    } else {
        "the RTL"
    };
    let script = NetlistScript {
        version: env!("CARGO_PKG_VERSION"),
        what,
        files: names,
        top: &m.top,
        chparams: chparams(m),
        gates,
    }
    .render()
    .context("rendering the prove netlist script")?;
    yosys::run_script_timeout(&script, &dir, TIMEOUT)?;
    let json_path = dir.join("netlist.json");
    let text = std::fs::read_to_string(&json_path)
        .with_context(|| format!("yosys wrote no {}", json_path.display()))?;
    let seq = Seq::from_yosys_json(&text, &m.top)?;
    Ok((seq, script))
}
