//! `N_systolic_array`: rows x cols output-stationary PEs with internal skew
//! and a drain path.

use super::params::{top_params, ParamRange};
use super::plan::PePlan;
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/systolic_array.v")]
struct SystolicV<'a> {
    hdr: Header,
    module: String,
    pe_module: String,
    decode_module: String,
    plan: &'a PePlan,
    rows: u32,
    cols: u32,
    guards: Vec<ParamRange>,
}

pub(crate) fn render(
    design: &Design,
    plan: &PePlan,
    rows: u32,
    cols: u32,
) -> Result<String, RtlError> {
    let n = &design.name;
    render_t(
        "rtl/systolic_array.v",
        &SystolicV {
            hdr: Header::new(
                design,
                format!(
                    "Output-stationary systolic array of {} PEs (Rows x Cols, default {rows} x {cols}) with a drain path.",
                    super::kind_title(&design.pe.kind)
                ),
            ),
            module: format!("{n}_systolic_array"),
            pe_module: format!("{n}_pe"),
            decode_module: format!("{n}_decode"),
            plan,
            rows,
            cols,
            guards: top_params(design, plan),
        },
    )
}
