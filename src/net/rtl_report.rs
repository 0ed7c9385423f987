//! `net --rtl` reports: per MAC layer the RTL's verdict, the measured and
//! predicted cycles, the utilization and where the array wastes cycles, as
//! JSON and as the text tables `sparqgen net` prints.

use super::rtl::LayerRtl;
use crate::config::Design;
use crate::cycles::{Dataflow, Timing};
use serde::Serialize;
use std::fmt::Write;

#[derive(Serialize)]
pub struct Waste {
    pub why: &'static str,
    /// Share of the MAC slots (PEs x K per step x cycles).
    pub share: f64,
    /// What in the layer's shape causes it.
    pub because: String,
}

/// Why the array wastes `why` on this layer, from its shape.
fn because(why: &str, l: &LayerRtl, t: &Timing) -> String {
    let steps = l.k.div_ceil(t.k_per_step as usize).max(1);
    match (t.dataflow, why.split(':').next().unwrap_or("")) {
        (Dataflow::Systolic { flush, cols, .. }, "fill/flush, drain and stalls") => format!(
            "K = {} is {steps} operand cycles per tile against a {cols}-cycle drain (a shorter \
             tile stalls), and {flush} fill + {} drain per stream",
            l.k,
            (flush + cols - 1).max(1) - flush
        ),
        (Dataflow::Dot { latency, .. }, "fill/flush, drain and stalls") => {
            format!("a pipeline tail of {} cycle(s) per segment", latency - 1)
        }
        (Dataflow::Systolic { rows, cols, .. }, "tiles that do not fill the array") => {
            let mut parts = Vec::new();
            if !l.n.is_multiple_of(cols as usize) {
                parts.push(format!(
                    "{} output channels per group on {cols} columns",
                    l.n
                ));
            }
            if !l.m.is_multiple_of(rows as usize) {
                parts.push(format!(
                    "{} output rows (images x pixels) on {rows} rows",
                    l.m
                ));
            }
            parts.join(", ")
        }
        (Dataflow::Dot { lanes, .. }, "K padding") => format!(
            "K = {} is {steps} step(s) of {} on {lanes} lanes: {} cycle(s) per output",
            l.k,
            t.k_per_step,
            steps.div_ceil(lanes as usize)
        ),
        (Dataflow::Systolic { .. }, "K padding") => format!(
            "K = {} is not a multiple of {}: the last step pads a zero",
            l.k, t.k_per_step
        ),
        _ => String::new(),
    }
}

#[derive(Serialize)]
pub struct RtlReport {
    /// Cycles the RTL took for the tiles run.
    pub cycles: u64,
    /// The cycle model's count for the same tiles.
    pub predicted_cycles: u64,
    /// `cycles / predicted_cycles - 1`.
    pub prediction_error: f64,
    pub mismatches: u64,
    /// Outputs compared (every output of every tile run; systolic tiles
    /// also check the zeros of rows and columns past the layer's edge).
    pub checks: u64,
    /// MACs / (PEs x K per step x cycles), measured.
    pub utilization: f64,
    pub tiles: u64,
    pub tiles_run: u64,
    /// The cycle model for the whole layer (every tile of every batch).
    pub layer_predicted_cycles: u64,
    /// Where the MAC slots go that do no useful MAC (cycle model, tiles run).
    pub waste: Vec<Waste>,
    pub sim_s: f64,
}

impl RtlReport {
    pub fn of(l: &LayerRtl, t: &Timing) -> RtlReport {
        RtlReport {
            cycles: l.cycles,
            predicted_cycles: l.predicted.total,
            prediction_error: l.prediction_error(),
            mismatches: l.mismatches,
            checks: l.checks,
            utilization: l.utilization(t),
            tiles: l.tiles,
            tiles_run: l.tiles_run,
            layer_predicted_cycles: l.layer_predicted.total,
            waste: l
                .predicted
                .waste()
                .into_iter()
                .map(|(why, share)| Waste {
                    why,
                    share,
                    because: because(why, l, t),
                })
                .collect(),
            sim_s: l.sim_secs,
        }
    }
}

#[derive(Serialize)]
pub struct RtlSummary {
    pub timing: Timing,
    pub pes: u64,
    /// With --rtl-sample: tiles per layer and the seed that chose them.
    pub sample: Option<usize>,
    pub seed: Option<u64>,
    pub array: String,
}

impl RtlSummary {
    pub fn of(d: &Design, t: &Timing, sample: Option<usize>, seed: u64) -> RtlSummary {
        RtlSummary {
            timing: *t,
            pes: t.pes(),
            sample,
            seed: sample.map(|_| seed),
            array: crate::sim::describe(d),
        }
    }
}

fn dataflow_text(t: &Timing) -> String {
    match t.dataflow {
        Dataflow::Systolic { rows, cols, flush } => format!(
            "{rows}x{cols} output-stationary, streaming: per tile max(K/{}, {cols}) cycles, per \
             stream {flush} fill + {} drain",
            t.k_per_step,
            (flush + cols - 1).max(1) - flush
        ),
        Dataflow::Dot { lanes, latency } => format!(
            "{lanes} lanes: per output ceil(K/{}/{lanes}) cycles, latency {latency}",
            t.k_per_step
        ),
    }
}

/// The per-layer table of `net --rtl`.
pub fn table(s: &RtlSummary, rows: &[(&str, &RtlReport)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  on the RTL ({}; {}){}:",
        s.array,
        dataflow_text(&s.timing),
        match (s.sample, s.seed) {
            (Some(n), Some(seed)) => format!(", {n} random tiles per layer, seed {seed}"),
            _ => ", every tile".to_string(),
        }
    );
    let _ = writeln!(
        out,
        "  {:<16} {:>12} {:>10} {:>12} {:>12} {:>7} {:>7}  wasted slots",
        "layer", "tiles run", "mismatch", "cycles", "predicted", "error", "util"
    );
    for (name, r) in rows {
        let waste: Vec<String> = r
            .waste
            .iter()
            .map(|w| {
                let why = w.why.split(':').next().unwrap_or(w.why);
                if w.because.is_empty() {
                    format!("{:.0} % {why}", w.share * 100.0)
                } else {
                    format!("{:.0} % {why} ({})", w.share * 100.0, w.because)
                }
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<16} {:>12} {:>10} {:>12} {:>12} {:>6.1}% {:>6.1}%  {}",
            name,
            format!("{}/{}", r.tiles_run, r.tiles),
            r.mismatches,
            r.cycles,
            r.predicted_cycles,
            r.prediction_error * 100.0,
            r.utilization * 100.0,
            if waste.is_empty() {
                "-".to_string()
            } else {
                waste.join(", ")
            }
        );
    }
    out
}

/// The first failing outputs of every layer (for stderr).
pub fn mismatches(d: &Design, layers: &[LayerRtl]) -> String {
    let mut out = String::new();
    for l in layers.iter().filter(|l| l.mismatches > 0) {
        let _ = writeln!(
            out,
            "design {}: layer {} ({}): {} of {} outputs of the RTL differ from the model",
            d.name(),
            l.name,
            l.op,
            l.mismatches,
            l.checks
        );
        for det in &l.details {
            let _ = writeln!(out, "  {}", det.replace('\n', "\n    "));
        }
    }
    out
}
