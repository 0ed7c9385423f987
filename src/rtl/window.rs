//! `N_window` / `N_wide_window`: one activation trimmed to a window.

use super::plan::WindowPlan;
use super::{render as render_t, Header, RtlError};
use crate::config::Design;
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/window.v")]
struct WindowV<'a> {
    hdr: Header,
    w: &'a WindowPlan,
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
        },
    )
}
