//! `sparqgen synth`'s report: one object, written as JSON and Markdown into
//! `rtl_out/<name>/reports/`, stamped with tool versions and the design hash.

use super::compare::PeCost;
use super::flow::{GenericArea, Ice40Area, LibertyArea};
use crate::config::{PeKind, PlacementSet, Rounding, SparqArith};
use crate::tools::{self, Tool};
use anyhow::Result;
use askama::Template;
use serde::Serialize;

/// Tool versions a report came from.
#[derive(Debug, Clone, Serialize)]
pub struct ToolVersions {
    pub yosys: String,
    pub nextpnr_ice40: Option<String>,
    /// OpenSTA, when the cell-library flow timed the designs.
    pub opensta: Option<String>,
}

/// The design's PE against the baselines at equal activation throughput.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The design's PE transistors per activation per cycle over mac8x8's.
    pub vs_mac8x8: f64,
    /// Over mac4x8's.
    pub vs_mac4x8: f64,
    /// `(vs_mac4x8 - 1) * 100`: the window, routing and rounding logic.
    pub overhead_over_mac4x8_pct: f64,
    pub statement: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SynthReport {
    pub sparqgen_version: String,
    pub design: String,
    pub design_hash: String,
    pub tools: ToolVersions,
    pub top: String,
    /// Activations the whole design consumes per cycle.
    pub activations_per_cycle: u32,
    /// PEs (systolic) or lanes (dot) of the whole design; 1 for a single PE.
    pub pe_count: u32,
    /// The whole design on the generic CMOS gate set (null if not run).
    pub generic: Option<GenericArea>,
    /// The whole design on iCE40 (null if not run).
    pub ice40: Option<Ice40Area>,
    pub liberty: Option<LibertyArea>,
    /// What the error figures were measured on.
    pub workload: String,
    /// The design's PE and the two baselines (single PEs, same accumulator
    /// and pipeline).
    pub pe: Option<PeCost>,
    pub baselines: Vec<PeCost>,
    pub comparison: Option<Comparison>,
    /// Arrays and dot units: the whole design against the same shape built
    /// of mac8x8 and of mac4x8 PEs (generic flow; this design first).
    pub arrays: Vec<ArrayCost>,
    /// The array comparison in words.
    pub array_comparison: Option<String>,
    /// The arrays' first row is a sample array of the design's PE
    /// ([`crate::flows::synth::SAMPLE_ARRAY`]), not the design itself.
    pub array_sampled: bool,
    /// `--sweep`: every PE variant.
    pub sweep: Vec<PeCost>,
    /// Statements the sweep supports or contradicts, in words.
    pub findings: Vec<String>,
    /// Post-synthesis check of the PE netlist, when run.
    pub netlist_check: Option<String>,
    /// `--acts DIR`: energy per MAC of the PE and the baselines per layer.
    pub layer_energy: Vec<super::ppa::LayerEnergy>,
    /// `--sweep` on the cell library: the PE and both baselines at pipeline
    /// 0, 1 and 2, area and OpenSTA Fmax.
    pub pipeline_timing: Vec<super::ppa::PipelineTiming>,
    /// `--acts DIR --net NET`: the network's energy per image on each PE.
    pub network_energy: Option<super::ppa::NetworkEnergy>,
    /// A systolic array's streaming output chain against the cycles it
    /// saves (with the generic flow).
    pub stream: Option<StreamCost>,
}

/// The flip-flops a streaming systolic array spends on its output chain
/// (verif/INTERFACE.md) and the cycles per tile that buys.
#[derive(Debug, Clone, Serialize)]
pub struct StreamCost {
    /// `rows x (cols-1) x (AccBits + 1)` (output register and hold bit per
    /// PE but the last column) plus `pipeline` clear-delay bits.
    pub chain_flip_flops: u64,
    /// Every flip-flop of the generic netlist.
    pub design_flip_flops: u64,
    /// Cycles a tile-by-tile array spends per tile beyond its operands: a
    /// flush of `(R-1)+(C-1)+pipeline+1` and `C` drain cycles.
    pub cycles_saved_per_tile: u64,
    pub statement: String,
}

/// The output chain's cost for `design`, given its generic netlist.
pub fn stream_cost(design: &crate::config::Design, g: &GenericArea) -> Option<StreamCost> {
    let crate::config::ArrayShape::Systolic { rows, cols } = design.array() else {
        return None;
    };
    let (r, c) = (u64::from(rows), u64::from(cols));
    let p = u64::from(design.pe().pipeline().stages());
    let acc = u64::from(design.pe().acc_bits());
    let chain = if c > 1 {
        r * (c - 1) * (acc + 1) + p
    } else {
        0
    };
    let ffs: u64 = g
        .cells_by_type
        .iter()
        .filter(|(k, _)| k.contains("DFF"))
        .map(|(_, v)| v)
        .sum();
    let saved = (r - 1) + (c - 1) + p + 1 + c;
    let statement = format!(
        "streaming output chain: {chain} of the design's {ffs} flip-flops ({:.1} %); tiles follow \
         back to back instead of paying {saved} flush and drain cycles each (a tile shorter \
         than the {c}-cycle drain stalls to {c} cycles)",
        100.0 * chain as f64 / ffs.max(1) as f64
    );
    Some(StreamCost {
        chain_flip_flops: chain,
        design_flip_flops: ffs,
        cycles_saved_per_tile: saved,
        statement,
    })
}

/// One whole array's generic cost at its activation throughput.
#[derive(Debug, Clone, Serialize)]
pub struct ArrayCost {
    /// The PE's label ([`crate::config::PeKind::label`]).
    pub pe: String,
    /// `4x4 systolic`, `16-lane dot`.
    pub shape: String,
    pub design_hash: String,
    /// Activations the whole array consumes per cycle.
    pub activations_per_cycle: u32,
    pub transistors: u64,
    pub transistors_per_activation: f64,
    /// Area and Fmax in a cell library, when that flow ran.
    pub liberty: Option<LibertyArea>,
    pub area_um2_per_activation: Option<f64>,
}

/// `this` array against the baselines' arrays of the same shape, in words.
pub fn compare_arrays(this: &ArrayCost, mac8: &ArrayCost, mac4: &ArrayCost) -> String {
    let cells = match (
        this.area_um2_per_activation,
        mac8.area_um2_per_activation,
        mac4.area_um2_per_activation,
    ) {
        (Some(t), Some(m8), Some(m4)) => format!(
            "; in cells {t:.0} um^2 per activation per cycle, {:.2}x mac8x8's and {:.2}x mac4x8's",
            t / m8,
            t / m4
        ),
        _ => String::new(),
    };
    let words = format!(
        "{}: {:.0} transistors per activation per cycle, {:.2}x the mac8x8 array's {:.0} \
         and {:.2}x the mac4x8 array's {:.0}",
        this.pe,
        this.transistors_per_activation,
        this.transistors_per_activation / mac8.transistors_per_activation,
        mac8.transistors_per_activation,
        this.transistors_per_activation / mac4.transistors_per_activation,
        mac4.transistors_per_activation
    );
    words + &cells
}

/// Build the comparison of `pe` against the baselines.
pub fn compare(pe: &PeCost, mac8: &PeCost, mac4: &PeCost) -> Comparison {
    let vs8 = pe.transistors_per_activation / mac8.transistors_per_activation;
    let vs4 = pe.transistors_per_activation / mac4.transistors_per_activation;
    let statement = format!(
        "{}: {:.0} transistors per activation per cycle, {:.2}x mac8x8's {:.0} ({}) and {:.2}x mac4x8's {:.0} ({:+.0}% for window, routing and rounding logic)",
        pe.label(),
        pe.transistors_per_activation,
        vs8,
        mac8.transistors_per_activation,
        if vs8 < 1.0 { "below it, as the paper claims" } else { "NOT below it: our numbers disagree with the paper's claim" },
        vs4,
        mac4.transistors_per_activation,
        (vs4 - 1.0) * 100.0
    );
    Comparison {
        vs_mac8x8: vs8,
        vs_mac4x8: vs4,
        overhead_over_mac4x8_pct: (vs4 - 1.0) * 100.0,
        statement,
    }
}

/// The sweep's findings on the paper's claims.
pub fn findings(sweep: &[PeCost]) -> Vec<String> {
    let mut out = Vec::new();
    let find = |pe: PeKind| sweep.iter().find(|c| c.pe == pe);
    for rounding in [Rounding::RoundHalfEven, Rounding::Truncate] {
        let a: Vec<Option<&PeCost>> = [PlacementSet::Opt2, PlacementSet::Opt3, PlacementSet::Opt5]
            .into_iter()
            .map(|placements| {
                find(PeKind::Sparq(SparqArith {
                    placements,
                    rounding,
                    pair_sharing: true,
                    stc: false,
                }))
            })
            .collect();
        let rounding = rounding.short();
        if let [Some(p2), Some(p3), Some(p5)] = a[..] {
            let (t2, t3, t5) = (
                p2.generic.transistors,
                p3.generic.transistors,
                p5.generic.transistors,
            );
            let holds = t2 < t3 && t3 < t5;
            out.push(format!(
                "placements ({rounding}): 2opt {t2} < 3opt {t3} < 5opt {t5} transistors: {}",
                if holds {
                    "holds (more placements cost more logic)"
                } else {
                    "does NOT hold on our RTL"
                }
            ));
        }
    }
    if let (Some(m8), Some(m4)) = (find(PeKind::Mac8x8), find(PeKind::Mac4x8)) {
        for c in sweep
            .iter()
            .filter(|c| c.sparq().is_some_and(|s| !s.stc && s.pair_sharing))
        {
            let r = c.transistors_per_activation / m8.transistors_per_activation;
            if r >= 1.0 {
                out.push(format!(
                    "{} is NOT below mac8x8 per activation per cycle ({r:.2}x)",
                    c.label()
                ));
            }
        }
        let ok: Vec<&PeCost> = sweep
            .iter()
            .filter(|c| c.sparq().is_some_and(|s| !s.stc && s.pair_sharing))
            .collect();
        if !ok.is_empty() {
            let worst = ok
                .iter()
                .map(|c| c.transistors_per_activation / m8.transistors_per_activation)
                .fold(0.0, f64::max);
            let best = ok
                .iter()
                .map(|c| c.transistors_per_activation / m8.transistors_per_activation)
                .fold(f64::INFINITY, f64::min);
            let over4: Vec<f64> = ok
                .iter()
                .map(|c| {
                    (c.transistors_per_activation / m4.transistors_per_activation - 1.0) * 100.0
                })
                .collect();
            out.push(format!(
                "dense vSPARQ PEs cost {best:.2}x..{worst:.2}x mac8x8 per activation per cycle and {:+.0}%..{:+.0}% over mac4x8",
                over4.iter().cloned().fold(f64::INFINITY, f64::min),
                over4.iter().cloned().fold(f64::NEG_INFINITY, f64::max)
            ));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "synth/report.md")]
struct Markdown<'a> {
    r: &'a SynthReport,
}

fn opt_f(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

pub fn sqnr_text(c: &PeCost) -> String {
    c.sqnr_db.map_or("exact".into(), |s| format!("{s:.2}"))
}

pub fn fmax_text(i: &Option<Ice40Area>) -> String {
    match i {
        Some(a) => match (a.fmax_mhz, &a.device) {
            (Some(f), Some(d)) => format!("{f:.1} MHz ({d})"),
            _ => a.note.clone().unwrap_or_else(|| "-".into()),
        },
        None => "-".into(),
    }
}

/// The whole design's transistors per PE (or dot lane), for a design with
/// more than one: comparable with the single PE's transistors, an array
/// shares its row decoders and adds skew registers and the drain path.
pub fn per_pe_text(r: &SynthReport, transistors: u64) -> String {
    if r.pe_count <= 1 {
        return String::new();
    }
    format!(
        "; {:.0} per PE over {} PEs",
        transistors as f64 / f64::from(r.pe_count),
        r.pe_count
    )
}

/// One row of the cell-library table: a PE's label and its PPA columns.
pub struct PpaRow {
    pub label: String,
    pub cells: String,
    pub area: String,
    pub area_per_activation: String,
    pub fmax: String,
    pub path: String,
    pub dynamic: String,
    pub flops: String,
    pub leakage: String,
    pub energy: String,
}

fn ppa_row(label: String, apc: u32, l: &LibertyArea) -> PpaRow {
    let p = l.power.as_ref();
    let f = |v: Option<f64>, digits: usize| opt_f(v, digits);
    PpaRow {
        label,
        cells: l.cells.to_string(),
        area: format!("{:.0}", l.area_um2),
        area_per_activation: format!("{:.0}", l.area_um2 / f64::from(apc.max(1))),
        fmax: f(l.fmax_mhz, 1),
        path: l.critical_path.as_ref().map_or_else(
            || l.note.clone().unwrap_or_else(|| "-".into()),
            |c| format!("{} -> {}, {:.2} ns", c.start, c.end, c.ns),
        ),
        dynamic: f(p.map(|p| p.dynamic_mw), 3),
        flops: f(p.map(|p| p.flop_internal_mw), 3),
        leakage: p.map_or("-".into(), |p| format!("{:.2e}", p.leakage_mw)),
        energy: f(p.map(|p| p.energy_pj_per_mac), 2),
    }
}

/// The PE and baselines in the cell library, when that flow ran.
pub fn ppa_rows(r: &SynthReport) -> Vec<PpaRow> {
    r.pe.iter()
        .map(|c| (format!("{} (this design)", c.label()), c))
        .chain(r.baselines.iter().map(|c| (c.label(), c)))
        .filter_map(|(label, c)| {
            c.liberty
                .as_ref()
                .map(|l| ppa_row(label, c.activations_per_cycle, l))
        })
        .collect()
}

/// The library and power conditions of the PE table, in words.
pub fn ppa_conditions(r: &SynthReport) -> String {
    let Some(l) = r.pe.as_ref().and_then(|c| c.liberty.as_ref()) else {
        return String::new();
    };
    match &l.power {
        Some(p) => format!(
            "`{}`; power at {} MHz on {} ({} cycles of a GEMM through the PE, mean {:.3} toggles per net per cycle)",
            l.library, p.clock_mhz, p.workload, p.cycles, p.activity
        ),
        None => format!("`{}`; {}", l.library, l.note.clone().unwrap_or_default()),
    }
}

pub fn lut_text(i: &Option<Ice40Area>) -> String {
    i.as_ref().map_or("-".into(), |a| a.lut4.to_string())
}

impl SynthReport {
    pub fn to_json(&self) -> String {
        // infallible: plain structs with string keys
        serde_json::to_string_pretty(self).expect("a report serializes")
    }

    pub fn to_markdown(&self) -> String {
        let _ = opt_f;
        Markdown { r: self }
            .render()
            // infallible: askama rendering fails only on a filter error; this template has none
            .expect("the report template renders")
    }
}

impl ToolVersions {
    /// Yosys (needed: its install command when missing) and nextpnr-ice40
    /// (optional: without it iCE40 results carry no Fmax).
    pub fn find() -> Result<ToolVersions> {
        let yosys = tools::find(Tool::Yosys)?;
        Ok(ToolVersions {
            yosys: yosys.version,
            nextpnr_ice40: tools::find(Tool::NextpnrIce40).ok().map(|n| n.version),
            opensta: tools::find(Tool::Sta).ok().map(|n| n.version),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Design;

    fn generic(ffs: u64) -> GenericArea {
        GenericArea {
            cells: 0,
            transistors: 0,
            cells_by_type: [("$_DFF_P_".to_string(), ffs), ("$_NAND_".to_string(), 9)]
                .into_iter()
                .collect(),
            logic_depth: None,
        }
    }

    #[test]
    fn the_output_chain_is_rows_times_cols_minus_one_registers_and_hold_bits() {
        let d = Design::from_yaml(
            "pe: {kind: sparq, acc_bits: 32, pipeline: 1}\narray: {kind: systolic, rows: 8, cols: 8}\n",
        )
        .unwrap();
        let s = stream_cost(&d, &generic(7000)).unwrap();
        assert_eq!(s.chain_flip_flops, 8 * 7 * 33 + 1);
        assert_eq!(s.design_flip_flops, 7000);
        assert_eq!(s.cycles_saved_per_tile, 7 + 7 + 1 + 1 + 8);
        assert!(
            s.statement.contains("1849 of the design's 7000"),
            "{}",
            s.statement
        );
        let one = Design::from_yaml("pe: {kind: mac8x8}\narray: {kind: single}\n").unwrap();
        assert!(stream_cost(&one, &generic(40)).is_none());
    }
}
