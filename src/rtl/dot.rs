//! `N_dot_unit`: L lanes into an adder tree and one accumulator.

use super::manifest::{act_meaning, wgt_meaning};
use super::params::{top_params, ParamRange};
use super::plan::{adder_tree, tree_bits, PePlan, TreeLevel};
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/dot_unit.v")]
struct DotV<'a> {
    hdr: Header,
    module: String,
    decode_module: String,
    mul_module: String,
    plan: &'a PePlan,
    lanes: u32,
    levels: Vec<TreeLevel>,
    tree_bits: u32,
    act_meaning: &'static str,
    wgt_meaning: &'static str,
    guards: Vec<ParamRange>,
}

pub(crate) fn render(design: &Design, plan: &PePlan, lanes: u32) -> Result<String, RtlError> {
    let n = &design.name;
    let cap = design.acc_bits_needed_per_cycle();
    render_t(
        "rtl/dot_unit.v",
        &DotV {
            hdr: Header::new(
                design,
                format!(
                    "Dot unit: {lanes} {} lanes into an adder tree and one accumulator.",
                    super::kind_title(&design.pe.kind)
                ),
            ),
            module: format!("{n}_dot_unit"),
            decode_module: format!("{n}_decode"),
            mul_module: format!("{n}_pair_mul"),
            plan,
            lanes,
            levels: adder_tree(lanes, plan.sum_bits, cap),
            tree_bits: tree_bits(lanes, plan.sum_bits, cap),
            act_meaning: act_meaning(&design.pe.kind),
            wgt_meaning: wgt_meaning(&design.pe.kind),
            guards: top_params(design, plan),
        },
    )
}
