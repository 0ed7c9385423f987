//! `N_pe`: decode, optional pipeline registers, multipliers, accumulator;
//! inside a systolic array of dense SPARQ PEs it takes the row's decoded
//! activations instead of raw ones (the array decodes each row once, at its
//! edge). The array's output chain lives in the array, not in the PE.

use super::align::{self, PortDecl, PortLine};
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
    /// Inside a systolic array of dense SPARQ PEs: the row's decoded
    /// activations arrive on `code_i` instead of `act_i`.
    code_in: Option<&'a ActCode>,
    ports: Vec<PortLine>,
    guards: Vec<ParamRange>,
}

/// The PE's ports: clock, reset, valid/clear, the operands (the row's code
/// inside an array of dense SPARQ PEs), the accumulator.
fn ports(design: &Design, plan: &PePlan, code_in: Option<&ActCode>) -> Vec<PortDecl> {
    let acc = "[AccBits-1:0]";
    let mut p = vec![
        PortDecl::input("", "clk_i", ""),
        PortDecl::input("", "rst_ni", "asynchronous, active low"),
        PortDecl::input("", "valid_i", "this cycle's operands are real"),
        PortDecl::input("", "clear_i", "start a new output"),
    ];
    p.push(match code_in {
        Some(code) => PortDecl::input(
            align::range(code.bits),
            "code_i",
            "the row's activations, decoded at the array's edge",
        ),
        None => PortDecl::input(
            align::range(plan.act_bits),
            "act_i",
            act_meaning(&design.pe().kind()),
        ),
    });
    p.push(PortDecl::input(
        align::range(plan.wgt_bits),
        "wgt_i",
        wgt_meaning(&design.pe().kind()),
    ));
    p.push(PortDecl::output(
        acc,
        "acc_o",
        "accumulator, two's complement",
    ));
    p
}

/// `in_array`: the PE of a systolic array (dense SPARQ: decoded row input).
pub(crate) fn render(design: &Design, plan: &PePlan, in_array: bool) -> Result<String, RtlError> {
    let n = &design.name();
    let code_in = if in_array {
        plan.act_code.as_ref()
    } else {
        None
    };
    render_t(
        "rtl/pe.v",
        &PeV {
            hdr: Header::new(
                design,
                format!(
                    "{} processing element: {} products per cycle into a {}-bit accumulator.",
                    super::kind_title(&design.pe().kind()),
                    design.pe().kind().products_per_cycle(),
                    plan.acc_bits
                ),
            ),
            module: format!("{n}_pe"),
            decode_module: format!("{n}_decode"),
            mul_module: format!("{n}_pair_mul"),
            plan,
            code_in,
            ports: align::ports(&ports(design, plan, code_in)),
            guards: pe_params(design, plan),
        },
    )
}
