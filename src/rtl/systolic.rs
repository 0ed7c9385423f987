//! `N_systolic_array`: rows x cols output-stationary PEs with internal skew
//! and a streaming output chain (results of one tile leave while the next
//! computes).

use super::align::{self, conns, Conn, PortDecl, PortLine};
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
    ports: Vec<PortLine>,
    pe_params: Vec<Conn>,
    pe_conns: Vec<Conn>,
}

fn ports(plan: &PePlan) -> Vec<PortDecl> {
    let (a, w) = (plan.act_bits, plan.wgt_bits);
    vec![
        PortDecl::input("", "clk_i", ""),
        PortDecl::input("", "rst_ni", "asynchronous, active low"),
        PortDecl::input("", "valid_i", "this cycle's operands are real"),
        PortDecl::input(
            "",
            "clear_i",
            "start a new tile; the one before moves to the output chain",
        ),
        PortDecl::input(
            format!("[Rows*{a}-1:0]"),
            "act_i",
            format!("row r: act_i[r*{a} +: {a}]"),
        ),
        PortDecl::input(
            format!("[Cols*{w}-1:0]"),
            "wgt_i",
            format!("column c: wgt_i[c*{w} +: {w}]"),
        ),
        PortDecl::output(
            "[Rows*AccBits-1:0]",
            "res_o",
            "row r: results of the tile before, column Cols-1 first",
        ),
    ]
}

/// PE (r, c) inside the generate loops.
fn pe_conns(plan: &PePlan) -> Vec<Conn> {
    let act = if plan.act_code.is_some() {
        "code_i"
    } else {
        "act_i"
    };
    conns([
        ("clk_i", "clk_i"),
        ("rst_ni", "rst_ni"),
        ("valid_i", "valid_w[r+c]"),
        ("clear_i", "clear_w[r+c]"),
        (act, "pe_act[(r*Cols+c)*RowBits +: RowBits]"),
        ("wgt_i", "pe_wgt[(r*Cols+c)*WgtBits +: WgtBits]"),
        ("acc_o", "pe_acc[(r*Cols+c)*AccBits +: AccBits]"),
    ])
}

pub(crate) fn render(
    design: &Design,
    plan: &PePlan,
    rows: u32,
    cols: u32,
) -> Result<String, RtlError> {
    let n = &design.name();
    render_t(
        "rtl/systolic_array.v",
        &SystolicV {
            hdr: Header::new(
                design,
                format!(
                    "Output-stationary systolic array of {} PEs (Rows x Cols, default {rows} x {cols}) with a streaming output chain.",
                    super::kind_title(&design.pe().kind())
                ),
            ),
            module: format!("{n}_systolic_array"),
            pe_module: format!("{n}_pe"),
            decode_module: format!("{n}_decode"),
            plan,
            rows,
            cols,
            guards: top_params(design, plan),
            ports: align::ports(&ports(plan)),
            pe_params: conns([("AccBits", "AccBits")]),
            pe_conns: pe_conns(plan),
        },
    )
}
