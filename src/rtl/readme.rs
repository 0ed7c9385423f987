//! The non-Verilog files of a generated folder: the filelist, the README
//! for the hardware engineer (with a timing diagram), the manifest.

use super::manifest::{Direction, Manifest};
use super::plan::PePlan;
use super::{render as render_t, RtlError};
use crate::arith::Accumulate;
use crate::config::{ArrayShape as Shape, Design, PeKind};
use askama::Template;

#[derive(Template)]
#[template(path = "rtl/filelist.f")]
struct FilelistF<'a> {
    m: &'a Manifest,
    hash: String,
}

pub(crate) fn filelist(design: &Design, m: &Manifest) -> Result<String, RtlError> {
    render_t(
        "rtl/filelist.f",
        &FilelistF {
            m,
            hash: design.short_hash(),
        },
    )
}

#[derive(Template)]
#[template(path = "rtl/manifest.yaml")]
struct ManifestYaml<'a> {
    m: &'a Manifest,
    hash: String,
    body: String,
}

pub(crate) fn manifest_yaml(design: &Design, m: &Manifest) -> Result<String, RtlError> {
    let body = serde_yaml::to_string(m).map_err(|e| RtlError::Manifest {
        path: super::MANIFEST_FILE.to_string(),
        message: e.to_string(),
    })?;
    render_t(
        "rtl/manifest.yaml",
        &ManifestYaml {
            m,
            hash: design.short_hash(),
            body,
        },
    )
}

/// One line of a timing diagram: a signal (or "cycle") and its value per
/// column.
pub(crate) struct TimingRow {
    label: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "rtl/README.md")]
struct ReadmeMd<'a> {
    m: &'a Manifest,
    hash: String,
    shape: Shape,
    pe_text: String,
    files: Vec<(String, String)>,
    timing: Vec<TimingRow>,
    /// A systolic array of dense SPARQ PEs: rows are decoded at the edge.
    row_decode: bool,
    /// The clock of the flow files (`m.flows`), MHz, and its period, ns.
    flows_mhz: String,
    flows_period: String,
}

pub(crate) fn readme(design: &Design, plan: &PePlan, m: &Manifest) -> Result<String, RtlError> {
    let plural = if matches!(design.array(), Shape::Single) {
        ""
    } else {
        "s"
    };
    let pe_text = match &design.pe().kind() {
        PeKind::Sparq(s) => format!(
            "SPARQ PE{plural} ({}-bit window, {} placements, {}, {}{})",
            s.placements.window_bits(),
            s.placements.name(),
            s.rounding.yaml_name().replace('_', " "),
            if s.pair_sharing {
                "vSPARQ pair sharing"
            } else {
                "no pair sharing"
            },
            if s.stc {
                ", 2:4 structured-sparse weights"
            } else {
                ""
            }
        ),
        PeKind::Mac8x8 => format!("baseline mac8x8 PE{plural} (one 8b x 8b product per cycle)"),
        PeKind::Mac4x8 => format!("baseline mac4x8 PE{plural} (two 4b x 8b products per cycle)"),
    };
    let files = m
        .modules
        .iter()
        .zip(&m.files)
        .map(|(module, file)| (file.clone(), module_role(design.name(), module)))
        .collect();
    let timing = match design.array() {
        Shape::Systolic { rows, cols } => systolic_timing(m, rows, cols),
        _ => accumulate_timing(m),
    };
    render_t(
        "rtl/README.md",
        &ReadmeMd {
            m,
            hash: design.short_hash(),
            shape: design.array(),
            pe_text,
            files,
            timing,
            row_decode: matches!(design.array(), Shape::Systolic { .. }) && plan.act_code.is_some(),
            flows_mhz: m
                .flows
                .as_ref()
                .map(|f| super::constraints::mhz_text(f.clock_khz))
                .unwrap_or_default(),
            flows_period: m
                .flows
                .as_ref()
                .map(|f| super::constraints::period_ns(f.clock_khz))
                .unwrap_or_default(),
        },
    )
}

fn module_role(name: &str, module: &str) -> String {
    let kind = module
        .strip_prefix(name)
        .unwrap_or(module)
        .trim_start_matches('_');
    match kind {
        "window" => "bSPARQ window: leading-one placement, code and rounding of one activation",
        "wide_window" => "vSPARQ wide window for an activation whose partner is zero",
        "decode" => "one cycle's activations (2:4: and weights) into multiplier operands",
        "pair_mul" => "the multipliers, shifters and their sum",
        "pe" => "processing element: decode, pipeline, multipliers, accumulator",
        "systolic_array" => "the array: skew, PEs, drain path",
        "dot_unit" => "the lanes, adder tree and accumulator",
        "top" => "the top module",
        _ => "",
    }
    .to_string()
}

fn row(label: &str, cells: Vec<String>) -> TimingRow {
    TimingRow {
        label: label.to_string(),
        cells,
    }
}

/// Single PE or dot unit: x0 (clear), x1, an idle cycle, x3, x4 (clear),
/// then idle; `acc_o` follows `latency_cycles` later.
fn accumulate_timing(m: &Manifest) -> Vec<TimingRow> {
    let lat = m.latency_cycles as usize;
    // (valid, clear) per cycle of the example
    let ops = [
        (true, true),
        (true, false),
        (false, false),
        (true, false),
        (true, true),
    ];
    let cycles = ops.len() + lat + 1;
    let mut acc = "0".to_string();
    let mut after = Vec::new(); // accumulator after op t
    for (t, &(valid, clear)) in ops.iter().enumerate() {
        // the model's rule, applied to symbols
        acc = Accumulate::of(valid, clear)
            .apply(acc, format!("p{t}"), "0".into(), |a, p| format!("{a}+{p}"));
        after.push(acc.clone());
    }
    let op = |t: usize| ops.get(t).copied().unwrap_or((false, false));
    let bit = |b: bool| if b { "1" } else { "0" }.to_string();
    let rows = vec![
        row("cycle", (0..cycles).map(|t| t.to_string()).collect()),
        row("clk_i", (0..cycles).map(|_| "_/".to_string()).collect()),
        row("valid_i", (0..cycles).map(|t| bit(op(t).0)).collect()),
        row("clear_i", (0..cycles).map(|t| bit(op(t).1)).collect()),
        row(
            "act/wgt",
            (0..cycles)
                .map(|t| {
                    if t < ops.len() && op(t).0 {
                        format!("x{t}")
                    } else {
                        "-".into()
                    }
                })
                .collect(),
        ),
        row(
            "acc_o",
            (0..cycles)
                .map(|t| {
                    if t >= lat {
                        after
                            .get(t - lat)
                            .or(after.last())
                            .cloned()
                            .unwrap_or_default()
                    } else {
                        "0".into()
                    }
                })
                .collect(),
        ),
    ];
    rows
}

/// Systolic: a stream of two tiles A and B of K steps each and the closing
/// clear, with row 0's results (row r's come r cycles later).
fn systolic_timing(m: &Manifest, rows: u32, cols: u32) -> Vec<TimingRow> {
    let fill = m.flush_cycles.unwrap_or(0);
    // cycles from a tile's clear to row 0's first result of the tile before
    let o = m.pe.pipeline + cols - 2;
    let mut out = vec![row(
        "cycle",
        vec![
            "valid_i".into(),
            "clear_i".into(),
            "operands".into(),
            "res_o (row 0)".into(),
        ],
    )];
    let mut line = |cycle: String, v: &str, c: &str, op: &str, res: String| {
        out.push(row(&cycle, vec![v.into(), c.into(), op.into(), res]))
    };
    let at = |base: &str, d: u32| {
        if d == 0 {
            base.to_string()
        } else {
            format!("{base}+{d}")
        }
    };
    let results = |t: &str| -> (String, Option<String>) {
        let first = format!("{t}[0][{}]", cols - 1);
        let rest = (cols > 1).then(|| {
            if cols > 2 {
                format!("{t}[0][{}] .. {t}[0][0]", cols - 2)
            } else {
                format!("{t}[0][0]")
            }
        });
        (first, rest)
    };
    line("0".into(), "1", "1", "A step 0", "-".into());
    line("1..K-1".into(), "1", "0", "A steps", "-".into());
    let (a0, arest) = results("A");
    if o == 0 {
        line("K".into(), "1", "1", "B step 0", a0);
    } else {
        line("K".into(), "1", "1", "B step 0", "-".into());
        line(at("K", o), "1", "0", "B steps", a0);
    }
    if let Some(r) = arest {
        let r = format!("{r} (to {})", at("K", o + cols - 1));
        line(at("K", o + 1), "1", "0", "B steps", r);
    }
    line("2K-1".into(), "1", "0", "B step K-1", "-".into());
    let (b0, brest) = results("B");
    if o == 0 {
        line("2K".into(), "0", "1", "-", b0);
    } else {
        line("2K".into(), "0", "1", "-", "-".into());
        line(at("2K", o), "0", "0", "-", b0);
    }
    if let Some(r) = brest {
        let r = format!("{r} (to {})", at("2K", o + cols - 1));
        line(at("2K", o + 1), "0", "0", "-", r);
    }
    if rows > 1 {
        line(
            at("2K", fill + cols - 2),
            "0",
            "0",
            "-",
            format!("row {}: B[{}][0]", rows - 1, rows - 1),
        );
    }
    out
}
