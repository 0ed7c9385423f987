//! `N_dot_unit`: L lanes into an adder tree and one accumulator.

use super::align::{self, PortDecl, PortLine};
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
    guards: Vec<ParamRange>,
    ports: Vec<PortLine>,
}

fn ports(design: &Design, plan: &PePlan, lanes: u32) -> Vec<PortDecl> {
    let kind = &design.pe().kind();
    vec![
        PortDecl::input("", "clk_i", ""),
        PortDecl::input("", "rst_ni", "asynchronous, active low"),
        PortDecl::input("", "valid_i", "this cycle's operands are real"),
        PortDecl::input("", "clear_i", "start a new output"),
        PortDecl::input(
            align::range(lanes * plan.act_bits),
            "act_i",
            format!("{lanes} lanes x {}", act_meaning(kind)),
        ),
        PortDecl::input(
            align::range(lanes * plan.wgt_bits),
            "wgt_i",
            format!("{lanes} lanes x {}", wgt_meaning(kind)),
        ),
        PortDecl::output("[AccBits-1:0]", "acc_o", "accumulator, two's complement"),
    ]
}

pub(crate) fn render(design: &Design, plan: &PePlan, lanes: u32) -> Result<String, RtlError> {
    let n = &design.name();
    let cap = design.acc_bits_needed_per_cycle();
    render_t(
        "rtl/dot_unit.v",
        &DotV {
            hdr: Header::new(
                design,
                format!(
                    "Dot unit: {lanes} {} lanes into an adder tree and one accumulator.",
                    super::kind_title(&design.pe().kind())
                ),
            ),
            module: format!("{n}_dot_unit"),
            decode_module: format!("{n}_decode"),
            mul_module: format!("{n}_pair_mul"),
            plan,
            lanes,
            levels: adder_tree(lanes, plan.sum_bits, cap),
            tree_bits: tree_bits(lanes, plan.sum_bits, cap),
            guards: top_params(design, plan),
            ports: align::ports(&ports(design, plan, lanes)),
        },
    )
}
