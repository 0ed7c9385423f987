//! Static timing with OpenSTA on the placed-and-routed netlist: after
//! routing with the wire delays qrouter extracted (its RC file, turned into
//! SDF by qflow's `rc2dly`), and before routing without them.

use super::AsicError;
use crate::process;
use askama::Template;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[derive(Template)]
#[template(path = "asic/sta.tcl")]
struct StaScript<'a> {
    version: &'a str,
    what: &'a str,
    liberty: &'a str,
    netlist: &'a str,
    top: &'a str,
    sdf: Option<&'a str>,
    period_ns: String,
}

/// The worst path OpenSTA found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timing {
    /// Worst path delay including the capturing flop's setup time (ns).
    pub critical_path_ns: f64,
    pub fmax_mhz: f64,
    /// Slack at the constraint's clock period (ns; negative: not met).
    pub slack_ns: f64,
    pub period_ns: f64,
    /// How the wires were modelled.
    pub wires: String,
}

/// Worst slack and data arrival time in a `report_checks` output.
pub fn parse_report(text: &str) -> Option<(f64, f64)> {
    let num = |suffix: &str| {
        text.lines()
            .find(|l| l.trim_end().ends_with(suffix))
            .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
    };
    let slack = text
        .lines()
        .find(|l| l.contains("slack ("))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())?;
    Some((slack, num("data arrival time")?))
}

/// Run OpenSTA on `netlist` (module `top`) with clock period `period_ns`,
/// with the SDF wire delays if given; the script and its output are
/// returned for the logs.
pub fn run(
    dir: &Path,
    netlist: &Path,
    top: &str,
    sdf: Option<&Path>,
    period_ns: f64,
    limit: Duration,
) -> Result<(Timing, String, String), AsicError> {
    let (what, wires) = if sdf.is_some() {
        (
            "After routing: wire delays from qrouter's RC extraction (rc2dly SDF).",
            "post-route: OpenSTA with wire delays extracted by qrouter (RC tree -> rc2dly SDF), ideal clock",
        )
    } else {
        (
            "Before routing: cell delays only, no wire delays.",
            "pre-route: OpenSTA, cell delays with no wire load, ideal clock",
        )
    };
    let sdf_text = sdf.map(|p| p.display().to_string());
    let script = StaScript {
        version: env!("CARGO_PKG_VERSION"),
        what,
        liberty: super::qflow::LIBERTY,
        netlist: &netlist.display().to_string(),
        top,
        sdf: sdf_text.as_deref(),
        period_ns: format!("{period_ns:.3}"),
    }
    .render()
    .map_err(|e| AsicError::Stage {
        stage: "OpenSTA script".into(),
        why: e.to_string(),
        tail: String::new(),
    })?;
    let name = if sdf.is_some() {
        "sta_post.tcl"
    } else {
        "sta_pre.tcl"
    };
    let path = dir.join(name);
    std::fs::write(&path, &script).map_err(|e| AsicError::Stage {
        stage: "OpenSTA".into(),
        why: format!("cannot write {}: {e}", path.display()),
        tail: String::new(),
    })?;
    let out = process::group_output_within(Command::new("sta").arg(name).current_dir(dir), limit)
        .map_err(|e| AsicError::Stage {
        stage: "OpenSTA (sta)".into(),
        why: e.to_string(),
        tail: String::new(),
    })?;
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let (slack, _) = parse_report(&log).ok_or_else(|| AsicError::Stage {
        stage: "OpenSTA (sta)".into(),
        why: "it reported no timed path".into(),
        tail: super::qflow::tail(&log, 20),
    })?;
    let critical = period_ns - slack;
    Ok((
        Timing {
            critical_path_ns: critical,
            fmax_mhz: 1000.0 / critical,
            slack_ns: slack,
            period_ns,
            wires: wires.into(),
        },
        script,
        log,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_slack_and_arrival() {
        let r = "   0.039    4.063 v NAND2X1_245/Y (NAND2X1)\n            4.063   data arrival time\n\
                 -----\n            9.914   data required time\n           -4.063   data arrival time\n\
                 -----\n            5.851   slack (MET)\n";
        assert_eq!(parse_report(r), Some((5.851, 4.063)));
        assert_eq!(
            parse_report("-1.5 slack (VIOLATED)\n 2.0 data arrival time"),
            Some((-1.5, 2.0))
        );
        assert_eq!(parse_report("No paths found."), None);
    }
}
