//! `N_top`: the design's top module, the ports of verif/INTERFACE.md.

use super::align::{self, conns, Conn, PortDecl, PortLine};
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
    guards: Vec<ParamRange>,
    ports: Vec<PortLine>,
    instance: &'static str,
    inner_params: Vec<Conn>,
    inner_conns: Vec<Conn>,
}

/// The top's ports (the contract of verif/INTERFACE.md; the manifest's
/// `ports` list says the same with default widths).
fn ports(design: &Design, plan: &PePlan) -> Vec<PortDecl> {
    let kind = &design.pe().kind();
    let (a, w) = (plan.act_bits, plan.wgt_bits);
    let (am, wm) = (act_meaning(kind), wgt_meaning(kind));
    let mut p = vec![
        PortDecl::input("", "clk_i", ""),
        PortDecl::input("", "rst_ni", "asynchronous, active low"),
        PortDecl::input("", "valid_i", "this cycle's operands are real"),
        PortDecl::input("", "clear_i", "start a new output"),
    ];
    let acc = "accumulator, two's complement";
    match design.array() {
        Shape::Systolic { .. } => p.extend([
            PortDecl::input(
                format!("[Rows*{a}-1:0]"),
                "act_i",
                format!("row r: act_i[r*{a} +: {a}] = {am}"),
            ),
            PortDecl::input(
                format!("[Cols*{w}-1:0]"),
                "wgt_i",
                format!("column c: wgt_i[c*{w} +: {w}] = {wm}"),
            ),
            PortDecl::output(
                "[Rows*AccBits-1:0]",
                "res_o",
                "row r: results of the tile before, column Cols-1 first",
            ),
        ]),
        Shape::Dot { lanes } => p.extend([
            PortDecl::input(
                align::range(lanes * a),
                "act_i",
                format!("lane l: act_i[l*{a} +: {a}] = {am}"),
            ),
            PortDecl::input(
                align::range(lanes * w),
                "wgt_i",
                format!("lane l: wgt_i[l*{w} +: {w}] = {wm}"),
            ),
            PortDecl::output("[AccBits-1:0]", "acc_o", acc),
        ]),
        Shape::Single => p.extend([
            PortDecl::input(align::range(a), "act_i", am),
            PortDecl::input(align::range(w), "wgt_i", wm),
            PortDecl::output("[AccBits-1:0]", "acc_o", acc),
        ]),
    }
    p
}

pub(crate) fn render(design: &Design, plan: &PePlan) -> Result<String, RtlError> {
    let n = &design.name();
    let (inner, instance, what) = match design.array() {
        Shape::Systolic { rows, cols } => (
            "systolic_array",
            "u_array",
            format!("{rows} x {cols} systolic array"),
        ),
        Shape::Dot { lanes } => ("dot_unit", "u_dot", format!("{lanes}-lane dot unit")),
        Shape::Single => ("pe", "u_pe", "single PE".to_string()),
    };
    let params = top_params(design, plan);
    let ports = ports(design, plan);
    render_t(
        "rtl/top.v",
        &TopV {
            hdr: Header::new(
                design,
                format!(
                    "Top of design {n}: {what} of {} PEs.",
                    super::kind_title(&design.pe().kind())
                ),
            ),
            module: super::top_module(design),
            inner_module: format!("{n}_{inner}"),
            plan,
            shape: design.array(),
            guards: top_params(design, plan),
            instance,
            inner_params: conns(params.iter().map(|p| (p.name, p.name))),
            inner_conns: conns(ports.iter().map(|p| (p.name.as_str(), p.name.as_str()))),
            ports: align::ports(&ports),
        },
    )
}
