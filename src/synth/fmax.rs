//! The Fmax wrapper: the top's inputs from an on-chip LFSR, its outputs
//! folded into one register, so nextpnr times register-to-register paths
//! and the design fits an FPGA's pins.

use super::compare;
use super::flow::{self, Ice40Area, Scripts};
use crate::config::Design;
use crate::rtl::manifest::{Direction, Manifest};
use crate::rtl::Generated;
use anyhow::Result;
use askama::Template;

struct In {
    name: String,
    width: u32,
    lsb: u32,
}

struct Out {
    name: String,
    width: u32,
}

#[derive(Template)]
#[template(path = "synth/fmax_wrap.v")]
struct Wrap<'a> {
    version: &'a str,
    design: &'a str,
    hash: String,
    top: &'a str,
    in_bits: u32,
    inputs: Vec<In>,
    outputs: Vec<Out>,
}

/// A wrapper module around a generated top.
pub struct Wrapped {
    pub file: String,
    pub text: String,
    pub top: String,
}

pub fn wrap(g: &Generated) -> Result<Wrapped> {
    wrap_manifest(&g.manifest)
}

/// The wrapper of the top a manifest describes.
pub fn wrap_manifest(m: &Manifest) -> Result<Wrapped> {
    let mut lsb = 0;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for p in &m.ports {
        match p.direction {
            Direction::Input if p.name == "clk_i" || p.name == "rst_ni" => {}
            Direction::Input => {
                inputs.push(In {
                    name: p.name.clone(),
                    width: p.width,
                    lsb,
                });
                lsb += p.width;
            }
            Direction::Output => outputs.push(Out {
                name: p.name.clone(),
                width: p.width,
            }),
        }
    }
    let top = &m.top;
    let text = Wrap {
        version: env!("CARGO_PKG_VERSION"),
        design: m.design.name(),
        hash: m.design.short_hash(),
        top,
        in_bits: lsb.max(2),
        inputs,
        outputs,
    }
    .render()?;
    Ok(Wrapped {
        file: format!("{top}_fmax_wrap.v"),
        text,
        top: format!("{top}_fmax_wrap"),
    })
}

/// Wrap `design`'s top, synthesize the wrapper for iCE40 and place it on the
/// smallest device that holds it; fills `area`'s device, Fmax and note.
pub fn place_design(design: &Design, area: &mut Ice40Area) -> Result<()> {
    let generated = crate::rtl::generate(design)?;
    let wrapped = wrap(&generated)?;
    let mut job = compare::job(design, true)?;
    job.files.push((wrapped.file, wrapped.text));
    job.top = wrapped.top;
    let out = flow::ice40(std::slice::from_ref(&job), &mut Scripts::default())?.remove(0);
    let lcs = out.result.lut4.max(out.result.dff);
    match out.netlist {
        Some(json) => flow::place(&json, lcs, area),
        None => Ok(()),
    }
}
