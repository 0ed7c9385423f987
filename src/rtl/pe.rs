//! `N_pe`: decode, optional pipeline registers, multipliers, accumulator;
//! inside a systolic array also the drain path (and, for dense SPARQ, the
//! row's decoded activations instead of raw ones: the array decodes each row
//! once, at its edge).

use super::manifest::{act_meaning, wgt_meaning};
use super::params::{pe_params, ParamRange};
use super::plan::{ActCode, PePlan};
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/pe.v")]
struct PeV<'a> {
    hdr: Header,
    module: String,
    decode_module: String,
    mul_module: String,
    plan: &'a PePlan,
    drain: bool,
    /// Inside a systolic array of dense SPARQ PEs: the row's decoded
    /// activations arrive on `code_i` instead of `act_i`.
    code_in: Option<&'a ActCode>,
    act_meaning: &'static str,
    wgt_meaning: &'static str,
    guards: Vec<ParamRange>,
}

pub(crate) fn render(design: &Design, plan: &PePlan, drain: bool) -> Result<String, RtlError> {
    let n = &design.name;
    render_t(
        "rtl/pe.v",
        &PeV {
            hdr: Header::new(
                design,
                format!(
                    "{} processing element: {} products per cycle into a {}-bit accumulator.",
                    super::kind_title(&design.pe.kind),
                    design.pe.kind.products_per_cycle(),
                    plan.acc_bits
                ),
            ),
            module: format!("{n}_pe"),
            decode_module: format!("{n}_decode"),
            mul_module: format!("{n}_pair_mul"),
            plan,
            drain,
            code_in: if drain { plan.act_code.as_ref() } else { None },
            act_meaning: act_meaning(&design.pe.kind),
            wgt_meaning: wgt_meaning(&design.pe.kind),
            guards: pe_params(design, plan),
        },
    )
}
