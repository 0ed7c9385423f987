//! `N_decode`: one cycle's `act`/`wgt` operands into the multipliers'
//! operands (SPARQ: 2:4 selection, windows, vSPARQ routing; baselines: bit
//! slices).

use super::align::{self, conns, Conn, PortDecl, PortLine};
use super::manifest::{act_meaning, wgt_meaning};
use super::plan::{Decode, PePlan, ShiftSource, SparqDecode};
use super::{render as render_t, Header, RtlError};
use crate::config::{Design, PeKind};
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/decode_sparq.v")]
struct DecodeSparqV<'a> {
    hdr: Header,
    module: String,
    d: &'a SparqDecode,
    kind: PeKind,
    ports: Vec<PortLine>,
}

impl DecodeSparqV<'_> {
    /// Activation `i`'s part select of `act_i` ([`PeKind::act_field`]).
    fn act(&self, i: u32) -> String {
        self.kind.act_field(i).select("act_i")
    }

    /// Weight `j`'s byte in `wgt_i` ([`PeKind::wgt_field`]).
    fn wgt(&self, j: u32) -> String {
        PeKind::wgt_field(j).select("wgt_i")
    }

    /// 2:4: weight `j`'s index in `wgt_i` ([`PeKind::idx_field`]).
    fn idx(&self, j: u32) -> String {
        self.kind
            .idx_field(j)
            .map_or_else(String::new, |f| f.select("wgt_i"))
    }

    /// A window instance: activation in, code and one-hot select out.
    fn window_conns(&self, a: &str, q: &str, sel: &str) -> Vec<Conn> {
        conns([("a_i", a), ("q_o", q), ("sel_o", sel)])
    }
}

/// One multiplier's one-hot shift port: `s<mult>_o`.
fn shift_port(mult: u32, sources: &[ShiftSource]) -> PortDecl {
    let amounts: Vec<String> = sources.iter().map(|x| x.amount.to_string()).collect();
    PortDecl::output(
        align::range(sources.len() as u32),
        &format!("s{mult}_o"),
        format!(
            "multiplier {mult}: product shift, one-hot over {{{}}} (bit 0 first)",
            amounts.join(", ")
        ),
    )
    .reg()
}

/// The SPARQ decode's ports: the activations (and, 2:4, the weights), then
/// per multiplier its code, shift and (2:4) weight, or (dense, pair
/// sharing) which weight each multiplier takes.
fn sparq_ports(d: &SparqDecode, plan: &PePlan) -> Vec<PortDecl> {
    let mut p = Vec::new();
    if d.stc {
        p.push(PortDecl::input(
            align::range(plan.act_bits),
            "act_i",
            "{a3, a2, a1, a0}: one group of four, unsigned",
        ));
        p.push(PortDecl::input(
            align::range(plan.wgt_bits),
            "wgt_i",
            "{idx2, idx1, b2, b1}: weights signed, idx 2 bits",
        ));
    } else {
        p.push(PortDecl::input(
            align::range(plan.act_bits),
            "act_i",
            "{a2, a1}, unsigned",
        ));
    }
    for (m, shifts) in [(1, &d.shift1), (2, &d.shift2)] {
        p.push(
            PortDecl::output(
                align::range(d.n),
                &format!("c{m}_o"),
                format!("multiplier {m}: code (unsigned)"),
            )
            .reg(),
        );
        p.push(shift_port(m, shifts));
        if d.stc {
            p.push(
                PortDecl::output(
                    "[7:0]",
                    &format!("w{m}_o"),
                    format!("multiplier {m}: weight (signed)"),
                )
                .reg(),
            );
        }
    }
    if !d.stc && d.wide.is_some() {
        p.push(
            PortDecl::output(
                "",
                "swap1_o",
                "multiplier 1 takes b2: a1 is zero, the lone activation is a2",
            )
            .reg(),
        );
        p.push(
            PortDecl::output(
                "",
                "swap2_o",
                "multiplier 2 takes b1: a2 is zero and a1 is not",
            )
            .reg(),
        );
    }
    p
}

/// A baseline operand: `name = port[lsb +: bits]`.
struct Slice {
    name: String,
    port: &'static str,
    lsb: u32,
    bits: u32,
}

#[derive(Template)]
#[template(path = "rtl/decode_mac.v")]
struct DecodeMacV<'a> {
    hdr: Header,
    module: String,
    plan: &'a PePlan,
    slices: Vec<Slice>,
    ports: Vec<PortLine>,
}

/// A baseline decode's ports: the PE's operands in, the multipliers'
/// operands out.
fn mac_ports(plan: &PePlan) -> Vec<PortDecl> {
    let one = plan.mults.len() == 1;
    let mut p = vec![
        PortDecl::input(
            align::range(plan.act_bits),
            "act_i",
            if one {
                "a, unsigned"
            } else {
                "{q2, q1}: 4-bit codes, unsigned"
            },
        ),
        PortDecl::input(
            align::range(plan.wgt_bits),
            "wgt_i",
            if one { "b, signed" } else { "{b2, b1}, signed" },
        ),
    ];
    p.extend(plan.operands.iter().map(|o| {
        PortDecl::output(
            align::range(o.bits),
            &format!("{}_o", o.name),
            o.meaning.clone(),
        )
    }));
    p
}

pub(crate) fn render(design: &Design, plan: &PePlan) -> Result<String, RtlError> {
    let module = format!("{}_decode", design.name());
    match &plan.decode {
        Decode::Sparq(d) => {
            let what = if d.stc {
                "2:4 slot selection, windows and vSPARQ routing"
            } else if d.wide.is_some() {
                "windows and vSPARQ routing"
            } else {
                "windows (bSPARQ, no pair sharing)"
            };
            render_t(
                "rtl/decode_sparq.v",
                &DecodeSparqV {
                    hdr: Header::new(
                        design,
                        format!("SPARQ operand decode: {what}, for two n x 8 multipliers."),
                    ),
                    module,
                    d,
                    kind: design.pe().kind(),
                    ports: align::ports(&sparq_ports(d, plan)),
                },
            )
        }
        Decode::Slices(slices) => {
            let slices = slices
                .iter()
                .map(|(name, port, lsb)| Slice {
                    bits: plan
                        .operands
                        .iter()
                        .find(|o| &o.name == name)
                        .map_or(0, |o| o.bits),
                    name: name.clone(),
                    port,
                    lsb: *lsb,
                })
                .collect();
            render_t(
                "rtl/decode_mac.v",
                &DecodeMacV {
                    hdr: Header::new(
                        design,
                        format!(
                            "{} operand decode: act = {}, wgt = {}.",
                            design.pe().kind().name(),
                            act_meaning(&design.pe().kind()),
                            wgt_meaning(&design.pe().kind())
                        ),
                    ),
                    module,
                    plan,
                    slices,
                    ports: align::ports(&mac_ports(plan)),
                },
            )
        }
    }
}
