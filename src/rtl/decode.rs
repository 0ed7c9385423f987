//! `N_decode`: one cycle's `act`/`wgt` operands into the multipliers'
//! operands (SPARQ: 2:4 selection, windows, vSPARQ routing; baselines: bit
//! slices).

use super::manifest::{act_meaning, wgt_meaning};
use super::plan::{Decode, PePlan, SparqDecode};
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/decode_sparq.v")]
struct DecodeSparqV<'a> {
    hdr: Header,
    module: String,
    d: &'a SparqDecode,
}

/// A baseline operand: `name = port[lsb +: bits]`.
struct Slice {
    name: String,
    port: &'static str,
    lsb: u32,
    bits: u32,
}

#[derive(Template)]
#[template(path = "rtl/decode_mac.v")]
struct DecodeMacV<'a> {
    hdr: Header,
    module: String,
    plan: &'a PePlan,
    slices: Vec<Slice>,
}

pub(crate) fn render(design: &Design, plan: &PePlan) -> Result<String, RtlError> {
    let module = format!("{}_decode", design.name());
    match &plan.decode {
        Decode::Sparq(d) => {
            let what = if d.stc {
                "2:4 slot selection, windows and vSPARQ routing"
            } else if d.wide.is_some() {
                "windows and vSPARQ routing"
            } else {
                "windows (bSPARQ, no pair sharing)"
            };
            render_t(
                "rtl/decode_sparq.v",
                &DecodeSparqV {
                    hdr: Header::new(
                        design,
                        format!("SPARQ operand decode: {what}, for two n x 8 multipliers."),
                    ),
                    module,
                    d,
                },
            )
        }
        Decode::Slices(slices) => {
            let slices = slices
                .iter()
                .map(|(name, port, lsb)| Slice {
                    bits: plan
                        .operands
                        .iter()
                        .find(|o| &o.name == name)
                        .map_or(0, |o| o.bits),
                    name: name.clone(),
                    port,
                    lsb: *lsb,
                })
                .collect();
            render_t(
                "rtl/decode_mac.v",
                &DecodeMacV {
                    hdr: Header::new(
                        design,
                        format!(
                            "{} operand decode: act = {}, wgt = {}.",
                            design.pe().kind().name(),
                            act_meaning(&design.pe().kind()),
                            wgt_meaning(&design.pe().kind())
                        ),
                    ),
                    module,
                    plan,
                    slices,
                },
            )
        }
    }
}
