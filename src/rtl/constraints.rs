//! Constraints for downstream flows: `<name>.sdc` (the clock on `clk_i` at
//! the frequency asked for, input and output delays, `rst_ni` as a false
//! path) and `<name>_ice40.pcf` (pins of the iCE40 wrapper the FuseSoC `pnr`
//! target places, and a commented list of every pin of the bare top).

use super::manifest::{Direction, Manifest};
use super::{render as render_t, RtlError};
use crate::config::Design;
use askama::Template;

/// Share of the clock period the logic outside the top is assumed to take
/// before an input and after an output (the SDC's input/output delays).
pub const IO_DELAY_PERCENT: u32 = 20;

/// iCE40 device, package and board pins of the `pnr` target: an iCE40 UP5K
/// in the SG48 package, pins as on the iCEBreaker board (12 MHz oscillator,
/// user button, red LED).
pub const ICE40_DEVICE: (&str, &str) = ("up5k", "sg48");
pub const ICE40_PINS: [(&str, &str, &str); 3] = [
    ("clk_i", "35", "12 MHz oscillator"),
    ("rst_ni", "10", "user button (low when pressed)"),
    ("fold_o", "11", "red LED"),
];

/// A clock frequency as text: `100`, `62.5`, `133.333`.
pub fn mhz_text(khz: u32) -> String {
    let s = format!("{}.{:03}", khz / 1000, khz % 1000);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The clock period of `khz` in ns, three decimals.
pub fn period_ns(khz: u32) -> String {
    ns(period_ps(khz))
}

/// The clock period of `khz` in ps, rounded to the nearest ps.
pub fn period_ps(khz: u32) -> u64 {
    (1_000_000_000u64 + u64::from(khz) / 2) / u64::from(khz)
}

/// Nanoseconds with three decimals.
fn ns(ps: u64) -> String {
    format!("{}.{:03}", ps / 1000, ps % 1000)
}

#[derive(Template)]
#[template(path = "rtl/constraints.sdc")]
struct SdcT<'a> {
    m: &'a Manifest,
    hash: String,
    mhz: String,
    period: String,
    io_delay: String,
    io_percent: u32,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

/// Port pattern for `get_ports`: a bus matches all its bits.
fn pattern(name: &str, width: u32) -> String {
    if width == 1 {
        name.to_string()
    } else {
        format!("{name}[*]")
    }
}

/// The SDC of a generated top, `clk_i` at `clock_khz`.
pub fn sdc(design: &Design, m: &Manifest, clock_khz: u32) -> Result<String, RtlError> {
    let period_ps = period_ps(clock_khz);
    let io_ps = period_ps * u64::from(IO_DELAY_PERCENT) / 100;
    let ports = |dir: Direction| {
        m.ports
            .iter()
            .filter(|p| p.direction == dir && p.name != "clk_i" && p.name != "rst_ni")
            .map(|p| pattern(&p.name, p.width))
            .collect::<Vec<_>>()
    };
    render_t(
        "rtl/constraints.sdc",
        &SdcT {
            m,
            hash: design.short_hash(),
            mhz: mhz_text(clock_khz),
            period: ns(period_ps),
            io_delay: ns(io_ps),
            io_percent: IO_DELAY_PERCENT,
            inputs: ports(Direction::Input),
            outputs: ports(Direction::Output),
        },
    )
}

struct Pin {
    name: &'static str,
    pin: &'static str,
    what: &'static str,
}

#[derive(Template)]
#[template(path = "rtl/ice40.pcf")]
struct PcfT<'a> {
    m: &'a Manifest,
    hash: String,
    wrapper: &'a str,
    device: &'static str,
    package: &'static str,
    pins: Vec<Pin>,
    bare_pins: Vec<String>,
}

/// The iCE40 PCF template: the wrapper's three pins, then every bit of the
/// bare top commented out.
pub fn pcf(design: &Design, m: &Manifest, wrapper_top: &str) -> Result<String, RtlError> {
    let mut bare_pins = Vec::new();
    for p in &m.ports {
        if p.width == 1 {
            bare_pins.push(p.name.clone());
        } else {
            bare_pins.extend((0..p.width).map(|i| format!("{}[{i}]", p.name)));
        }
    }
    render_t(
        "rtl/ice40.pcf",
        &PcfT {
            m,
            hash: design.short_hash(),
            wrapper: wrapper_top,
            device: ICE40_DEVICE.0,
            package: ICE40_DEVICE.1,
            pins: ICE40_PINS
                .iter()
                .map(|&(name, pin, what)| Pin { name, pin, what })
                .collect(),
            bare_pins,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_read_back() {
        assert_eq!(mhz_text(100_000), "100");
        assert_eq!(mhz_text(62_500), "62.5");
        assert_eq!(mhz_text(133_333), "133.333");
        assert_eq!(ns(10_000), "10.000");
        assert_eq!(ns(7_519), "7.519");
    }
}
