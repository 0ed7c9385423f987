//! `N_top`: the design's top module, the ports of verif/INTERFACE.md.

use super::manifest::{act_meaning, wgt_meaning};
use super::params::{top_params, ParamRange};
use super::plan::PePlan;
use super::{render as render_t, Header, RtlError};
use crate::config::{ArrayShape as Shape, Design};
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/top.v")]
struct TopV<'a> {
    hdr: Header,
    module: String,
    inner_module: String,
    plan: &'a PePlan,
    shape: Shape,
    act_meaning: &'static str,
    wgt_meaning: &'static str,
    guards: Vec<ParamRange>,
}

pub(crate) fn render(design: &Design, plan: &PePlan) -> Result<String, RtlError> {
    let n = &design.name;
    let (inner, what) = match design.array {
        Shape::Systolic { rows, cols } => {
            ("systolic_array", format!("{rows} x {cols} systolic array"))
        }
        Shape::Dot { lanes } => ("dot_unit", format!("{lanes}-lane dot unit")),
        Shape::Single => ("pe", "single PE".to_string()),
    };
    render_t(
        "rtl/top.v",
        &TopV {
            hdr: Header::new(
                design,
                format!(
                    "Top of design {n}: {what} of {} PEs.",
                    super::kind_title(&design.pe.kind)
                ),
            ),
            module: format!("{n}_top"),
            inner_module: format!("{n}_{inner}"),
            plan,
            shape: design.array,
            act_meaning: act_meaning(&design.pe.kind),
            wgt_meaning: wgt_meaning(&design.pe.kind),
            guards: top_params(design, plan),
        },
    )
}
