//! `N_window` / `N_wide_window`: one activation trimmed to a window.

use super::align::{self, PortDecl, PortLine};
use super::plan::WindowPlan;
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/window.v")]
struct WindowV<'a> {
    hdr: Header,
    w: &'a WindowPlan,
    ports: Vec<PortLine>,
}

fn ports(w: &WindowPlan) -> Vec<PortDecl> {
    vec![
        PortDecl::input("[7:0]", "a_i", "activation, unsigned"),
        PortDecl::output(align::range(w.bits), "q_o", "window code: a_i ~= q_o << s").reg(),
        PortDecl::output(
            align::range(w.count()),
            "sel_o",
            "placement, one-hot (see above)",
        )
        .reg(),
    ]
}

pub(crate) fn render(design: &Design, w: &WindowPlan, wide: bool) -> Result<String, RtlError> {
    let purpose = if wide {
        format!(
            "vSPARQ wide window ({}): a lone activation trimmed to the pair's whole budget.",
            w.set_name
        )
    } else {
        format!(
            "bSPARQ window ({}): one 8-bit activation trimmed to a {}-bit code and its shift.",
            w.set_name, w.bits
        )
    };
    render_t(
        "rtl/window.v",
        &WindowV {
            hdr: Header::new(design, purpose),
            w,
            ports: align::ports(&ports(w)),
        },
    )
}
