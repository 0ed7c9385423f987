//! OpenSTA on a mapped netlist: the critical path and Fmax under the SDC
//! `generate` writes, and power at a clock from measured switching activity
//! ([`super::toggles`]).

use super::toggles::{self, Measured};
use crate::config::Design;
use crate::rtl::{self, manifest::Manifest};
use crate::tools::{self, Tool};
use anyhow::{bail, Context, Result};
use askama::Template;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

/// The longest path OpenSTA found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriticalPath {
    pub start: String,
    pub end: String,
    /// The clock period less the path's slack.
    pub ns: f64,
}

/// Power at `clock_mhz` on measured activity, and what it costs per MAC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Power {
    pub clock_mhz: f64,
    /// Mean toggles per clock cycle over every net of the netlist.
    pub activity: f64,
    /// Switching plus internal.
    pub dynamic_mw: f64,
    /// Charging the nets' capacitance (the input nets' included).
    pub switching_mw: f64,
    /// The cells' internal power (short-circuit and internal nodes).
    pub internal_mw: f64,
    /// Internal power of the flip-flops alone (mostly their clock pins, paid
    /// whatever the data).
    pub flop_internal_mw: f64,
    pub leakage_mw: f64,
    /// (dynamic + leakage) / (clock x MACs per cycle): energy per MAC at
    /// the design's own throughput, the same clock for every design.
    pub energy_pj_per_mac: f64,
    /// Activations the design consumes per cycle.
    pub activations_per_cycle: u32,
    /// MACs it performs per cycle: its PEs x each PE's activations per
    /// cycle (a systolic array uses each activation once per column).
    #[serde(default)]
    pub macs_per_cycle: u32,
    /// Cycles simulated (every one with valid operands).
    pub cycles: u64,
    /// What the activations were.
    pub workload: String,
}

/// Clock the power is reported at: `generate`'s default SDC clock.
pub const POWER_CLOCK_KHZ: u32 = 100_000;

#[derive(Template)]
#[template(path = "synth/sta_timing.tcl")]
struct TimingScript<'a> {
    version: &'a str,
    top: &'a str,
    mhz: &'a str,
    liberty: &'a str,
    netlist: &'a str,
    sdc: &'a str,
}

/// Run `sta` on `script` (a file in `dir`); its standard output.
pub fn run_sta(dir: &Path, script: &str) -> Result<String> {
    tools::find(Tool::Sta)?;
    let mut cmd = Command::new("sta");
    cmd.args(["-no_splash", "-exit", script]).current_dir(dir);
    let out = crate::process::output_within(&mut cmd, crate::process::PNR)
        .context("cannot run OpenSTA (sta)")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(err) = text.lines().find(|l| l.starts_with("Error")) {
        bail!("OpenSTA failed on {script} in {}: {err}", dir.display());
    }
    if !out.status.success() {
        bail!(
            "OpenSTA failed on {script}: {}",
            text.lines().last().unwrap_or("")
        );
    }
    Ok(text)
}

/// The worst path of a `report_checks` report and its slack; `None` when
/// OpenSTA found no constrained path (a library without timing arcs).
pub fn parse_checks(text: &str) -> Result<Option<(String, String, f64)>> {
    if text.contains("No paths found") {
        return Ok(None);
    }
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .map(|r| r.trim().split(" (").next().unwrap_or("").to_string())
    };
    let start = field("Startpoint:").context("OpenSTA found no timed path")?;
    let end = field("Endpoint:").context("OpenSTA reported no endpoint")?;
    let slack = text
        .lines()
        .find(|l| l.contains("slack ("))
        .and_then(|l| l.split_ascii_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .context("OpenSTA reported no slack")?;
    Ok(Some((start, end, slack)))
}

/// Timing of one mapped netlist under the SDC of `design` at `khz`.
fn check_at(
    dir: &Path,
    design: &Design,
    m: &Manifest,
    netlist_file: &str,
    lib: &str,
    khz: u32,
) -> Result<Option<(String, String, f64, f64)>> {
    let sdc = rtl::constraints::sdc(design, m, khz)?;
    std::fs::write(dir.join("design.sdc"), sdc)?;
    let mhz = rtl::constraints::mhz_text(khz);
    let script = TimingScript {
        version: env!("CARGO_PKG_VERSION"),
        top: &m.top,
        mhz: &mhz,
        liberty: lib,
        netlist: netlist_file,
        sdc: "design.sdc",
    }
    .render()?;
    std::fs::write(dir.join("timing.tcl"), script)?;
    let text = run_sta(dir, "timing.tcl")?;
    let Some((start, end, slack)) = parse_checks(&text)? else {
        return Ok(None);
    };
    let period: f64 = rtl::constraints::period_ns(khz).parse()?;
    Ok(Some((start, end, slack, period)))
}

/// Fmax of a mapped netlist: the clock at which the design's SDC (input and
/// output delays a fixed share of the period) is met with zero slack,
/// found by re-timing at `period - slack` until the slack is under 5 ps.
/// `None` when OpenSTA finds no timed path.
pub fn timing(design: &Design, netlist: &str, lib: &Path) -> Result<Option<(f64, CriticalPath)>> {
    let m = rtl::generate(design)?.manifest;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("netlist.v"), netlist)?;
    let lib_text = std::fs::canonicalize(lib)?.display().to_string();
    let mut khz = POWER_CLOCK_KHZ;
    let mut last = None;
    for _ in 0..6 {
        let Some((start, end, slack, period)) =
            check_at(dir.path(), design, &m, "netlist.v", &lib_text, khz)?
        else {
            return Ok(None);
        };
        last = Some((start, end, slack, period, khz));
        if slack.abs() < 0.005 {
            break;
        }
        let next = period - slack;
        if next <= 0.0 {
            bail!("OpenSTA gave a critical path of {next} ns");
        }
        khz = (1e6 / next).round() as u32;
    }
    let (start, end, slack, period, khz) = last.context("OpenSTA was never run")?;
    Ok(Some((
        f64::from(khz) / 1000.0,
        CriticalPath {
            start,
            end,
            ns: period - slack,
        },
    )))
}

struct HarnessPort {
    name: String,
    width: u32,
    lsb: u32,
}

#[derive(Template)]
#[template(path = "synth/power_harness.v")]
struct Harness<'a> {
    version: &'a str,
    top: &'a str,
    flop: &'a str,
    in_bits: u32,
    out_bits: u32,
    out_name: &'a str,
    inputs: Vec<HarnessPort>,
}

#[derive(Template)]
#[template(path = "synth/sta_power.tcl")]
struct PowerScript<'a> {
    version: &'a str,
    top: &'a str,
    mhz: &'a str,
    period: &'a str,
    liberty: &'a str,
    netlist: &'a str,
}

/// Flip-flop cell of the OSU library the harness registers inputs with.
const HARNESS_FLOP: &str = "DFFPOSX1";

/// Per-instance power lines (`internal switching leakage total name`) in W.
fn instance_rows(text: &str) -> Vec<(String, [f64; 3])> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_ascii_whitespace().collect();
            if f.len() != 5 {
                return None;
            }
            let v: Vec<f64> = f[..4].iter().filter_map(|x| x.parse().ok()).collect();
            (v.len() == 4).then(|| (f[4].to_string(), [v[0], v[1], v[2]]))
        })
        .collect()
}

/// The activity.tcl lines: every pin of every cell of the design (and the
/// harness flip-flops' outputs, which drive the design's inputs) gets its
/// net's measured toggles per cycle and duty. Clock pins are left to
/// OpenSTA (two transitions per period), constants to its constant
/// propagation.
pub fn activity_tcl(
    netlist: &str,
    measured: &Measured,
    inputs: &[toggles::InPort],
) -> Result<String> {
    let mut tcl = String::new();
    let mut set = |pin: &str, net: &str| -> Result<()> {
        if net == "clk_i" || net.contains('\'') {
            return Ok(());
        }
        let a = measured.nets.get(net).with_context(|| {
            format!("power: net {net} of pin {pin} was not in the simulation's VCD")
        })?;
        tcl.push_str(&format!(
            "sta::set_power_pin_activity [get_pins {{{pin}}}] {:.6} {:.6}\n",
            a.toggles_per_cycle, a.duty
        ));
        Ok(())
    };
    for inst in toggles::instances(netlist) {
        for (pin, net) in &inst.pins {
            set(&format!("dut/{}/{pin}", inst.name), net)?;
        }
    }
    for p in inputs {
        for b in 0..p.width {
            let net = if p.width == 1 {
                p.name.clone()
            } else {
                format!("{}[{b}]", p.name)
            };
            set(&format!("ppa_in_{}/Q", p.lsb + b), &net)?;
        }
    }
    Ok(tcl)
}

/// What OpenSTA reported for a netlist's own cells, in W.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakdown {
    pub internal_w: f64,
    /// The cells' nets and the netlist's input nets (charged by the harness).
    pub switching_w: f64,
    pub leakage_w: f64,
    pub flop_internal_w: f64,
    /// Per instance of the netlist: internal, switching, leakage.
    pub instances: Vec<(String, [f64; 3])>,
}

/// OpenSTA's power of `netlist` (top `top`, cells of `lib`) at `khz` with
/// every pin at its net's `measured` activity, run in `dir`.
pub fn power_of(
    netlist: &str,
    top: &toggles::Top,
    measured: &Measured,
    lib: &Path,
    khz: u32,
    dir: &Path,
) -> Result<Breakdown> {
    let harness = Harness {
        version: env!("CARGO_PKG_VERSION"),
        top: top.name,
        flop: HARNESS_FLOP,
        in_bits: top.in_bits(),
        out_bits: top.out_bits,
        out_name: top.out_name,
        inputs: top
            .inputs
            .iter()
            .map(|p| HarnessPort {
                name: p.name.clone(),
                width: p.width,
                lsb: p.lsb,
            })
            .collect(),
    }
    .render()?;
    std::fs::write(dir.join("power_harness.v"), harness)?;
    std::fs::write(dir.join("netlist.v"), netlist)?;
    std::fs::write(
        dir.join("activity.tcl"),
        activity_tcl(netlist, measured, top.inputs)?,
    )?;
    let mhz = rtl::constraints::mhz_text(khz);
    let period = rtl::constraints::period_ns(khz);
    let script = PowerScript {
        version: env!("CARGO_PKG_VERSION"),
        top: top.name,
        mhz: &mhz,
        period: &period,
        liberty: &std::fs::canonicalize(lib)?.display().to_string(),
        netlist: "netlist.v",
    }
    .render()?;
    std::fs::write(dir.join("power.tcl"), script)?;
    run_sta(dir, "power.tcl")?;
    let read = |f: &str| std::fs::read_to_string(dir.join(f));
    let all = instance_rows(&read("instances.txt")?);
    let dut = instance_rows(&read("dut.txt")?);
    if dut.is_empty() {
        bail!("OpenSTA reported no power for the design's cells");
    }
    let flops: std::collections::HashSet<String> = toggles::instances(netlist)
        .into_iter()
        .filter(|i| i.pins.iter().any(|(_, n)| n == "clk_i"))
        .map(|i| format!("dut/{}", i.name))
        .collect();
    let mut b = Breakdown::default();
    for (name, [i, s, l]) in &dut {
        b.internal_w += i;
        b.switching_w += s;
        b.leakage_w += l;
        if flops.contains(name) {
            b.flop_internal_w += i;
        }
    }
    // the design's input nets are charged by the harness flip-flops: their
    // switching power is the cost of the design's input capacitance
    b.switching_w += all
        .iter()
        .filter(|(n, _)| n.starts_with("ppa_in_"))
        .map(|(_, [_, s, _])| s)
        .sum::<f64>();
    b.instances = dut;
    Ok(b)
}

/// Power of a single-PE design's OSU-mapped `netlist` at `khz` on the
/// activity measured by simulating it on `acts`.
pub fn power(
    design: &Design,
    netlist: &str,
    lib: &Path,
    acts: &toggles::Acts,
    workload: String,
    khz: u32,
) -> Result<Power> {
    let cells_v = lib.with_extension("v");
    if !cells_v.is_file() {
        bail!(
            "power needs the library's Verilog cell models next to it ({} is missing)",
            cells_v.display()
        );
    }
    let m = rtl::generate(design)?.manifest;
    let (inputs, out_name, out_bits) = toggles::ports(&m)?;
    let top = toggles::Top {
        name: &m.top,
        inputs: &inputs,
        out_name: &out_name,
        out_bits,
    };
    let (stim, cycles) = toggles::stimulus(design, &inputs, acts)?;
    let dir = tempfile::tempdir()?;
    let measured = toggles::measure(&top, netlist, &cells_v, &stim, cycles, dir.path())?;
    let b = power_of(netlist, &top, &measured, lib, khz, dir.path())?;
    let w_to_mw = 1e3;
    let dynamic = (b.internal_w + b.switching_w) * w_to_mw;
    let leak = b.leakage_w * w_to_mw;
    let apc = design.activations_per_cycle();
    let macs = design.array().pe_count() * design.pe().kind().activations_per_cycle();
    let clock_mhz = f64::from(khz) / 1000.0;
    Ok(Power {
        clock_mhz,
        activity: measured.mean_activity(),
        dynamic_mw: dynamic,
        switching_mw: b.switching_w * w_to_mw,
        internal_mw: b.internal_w * w_to_mw,
        flop_internal_mw: b.flop_internal_w * w_to_mw,
        leakage_mw: leak,
        // mW / MHz = nJ per cycle; x 1000 = pJ
        energy_pj_per_mac: (dynamic + leak) * 1e3 / (clock_mhz * f64::from(macs)),
        activations_per_cycle: apc,
        macs_per_cycle: macs,
        cycles: cycles as u64,
        workload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_parse() {
        let text = "Startpoint: act_i[6] (input port clocked by clk_i)\n\
                    Endpoint: _2169_ (rising edge-triggered flip-flop clocked by clk_i)\n\
                    Path Group: clk_i\n           -0.657   slack (VIOLATED)\n";
        let (s, e, slack) = parse_checks(text).unwrap().unwrap();
        assert_eq!(
            (s.as_str(), e.as_str(), slack),
            ("act_i[6]", "_2169_", -0.657)
        );
    }

    #[test]
    fn instance_rows_parse() {
        let rows = instance_rows(
            "     Internal    Switching      Leakage        Total\n\
             ----\n 3.2e-15 3.4e-14 2.2e-11 2.2e-11 dut/_1157_\n",
        );
        assert_eq!(
            rows,
            vec![("dut/_1157_".to_string(), [3.2e-15, 3.4e-14, 2.2e-11])]
        );
    }
}
