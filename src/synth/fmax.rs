//! The Fmax wrapper: the top's inputs from an on-chip LFSR, its outputs
//! folded into one register, so nextpnr times register-to-register paths
//! and the design fits an FPGA's pins.

use crate::rtl::manifest::Direction;
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
    let mut lsb = 0;
    let mut inputs = Vec::new();
    let mut outputs = Vec::new();
    for p in &g.manifest.ports {
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
    let top = &g.manifest.top;
    let text = Wrap {
        version: env!("CARGO_PKG_VERSION"),
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
