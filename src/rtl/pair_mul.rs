//! `N_pair_mul`: the multipliers and their sum (combinational).

use super::align::{self, PortDecl, PortLine};
use super::plan::PePlan;
use super::{render as render_t, Header, RtlError};
use crate::config::{Design, PeKind};
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/pair_mul.v")]
struct PairMulV<'a> {
    hdr: Header,
    module: String,
    plan: &'a PePlan,
    ports: Vec<PortLine>,
}

/// The multipliers' operands in, their sum out.
fn ports(plan: &PePlan) -> Vec<PortDecl> {
    let mut p: Vec<PortDecl> = plan
        .operands
        .iter()
        .map(|o| {
            PortDecl::input(
                align::range(o.bits),
                &format!("{}_i", o.name),
                o.meaning.clone(),
            )
        })
        .collect();
    let what = if plan.mults.len() == 1 {
        "c1 * w1, signed"
    } else {
        "sum of both products, signed"
    };
    p.push(PortDecl::output(align::range(plan.sum_bits), "sum_o", what).reg());
    p
}

pub(crate) fn render(design: &Design, plan: &PePlan) -> Result<String, RtlError> {
    let purpose = match &design.pe().kind() {
        PeKind::Sparq(s) => format!(
            "SPARQ multipliers: two {n}b x 8b products shifted by their window positions, summed.",
            n = s.placements.window_bits()
        ),
        PeKind::Mac8x8 => "mac8x8 multiplier: one 8b x 8b product.".to_string(),
        PeKind::Mac4x8 => "mac4x8 multipliers: two 4b x 8b products, summed.".to_string(),
    };
    render_t(
        "rtl/pair_mul.v",
        &PairMulV {
            hdr: Header::new(design, purpose),
            module: format!("{}_pair_mul", design.name()),
            plan,
            ports: align::ports(&ports(plan)),
        },
    )
}
