//! `N_pe`: decode, optional pipeline registers, multipliers, accumulator;
//! inside a systolic array also the drain path (and, for dense SPARQ, the
//! row's decoded activations instead of raw ones: the array decodes each row
//! once, at its edge).

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
    drain: bool,
    /// Inside a systolic array of dense SPARQ PEs: the row's decoded
    /// activations arrive on `code_i` instead of `act_i`.
    code_in: Option<&'a ActCode>,
    ports: Vec<PortLine>,
    guards: Vec<ParamRange>,
}

/// The PE's ports: clock, reset, valid/clear, the drain path inside a
/// systolic array, the operands (the row's code inside an array of dense
/// SPARQ PEs), the accumulator.
fn ports(design: &Design, plan: &PePlan, drain: bool, code_in: Option<&ActCode>) -> Vec<PortDecl> {
    let acc = "[AccBits-1:0]";
    let mut p = vec![
        PortDecl::input("", "clk_i", ""),
        PortDecl::input("", "rst_ni", "asynchronous, active low"),
        PortDecl::input("", "valid_i", "this cycle's operands are real"),
        PortDecl::input("", "clear_i", "start a new output"),
    ];
    if drain {
        p.push(PortDecl::input("", "drain_i", "shift: load drain_acc_i"));
        p.push(PortDecl::input(
            acc,
            "drain_acc_i",
            "left neighbour's accumulator",
        ));
    }
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

pub(crate) fn render(design: &Design, plan: &PePlan, drain: bool) -> Result<String, RtlError> {
    let n = &design.name();
    let code_in = if drain { plan.act_code.as_ref() } else { None };
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
            drain,
            code_in,
            ports: align::ports(&ports(design, plan, drain, code_in)),
            guards: pe_params(design, plan),
        },
    )
}
