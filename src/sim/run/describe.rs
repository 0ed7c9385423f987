//! What a failing output was computed from, in words: the operands of the
//! cycles back to the last clear, or the GEMM row and column.

use super::super::layout::{ctrl, get_bits};
use super::super::stimulus::{MemberCtx, Segment, Spec, PREAMBLE};
use super::check::Failure;
use crate::arith::Accumulate;
use crate::config::ArrayShape;

/// What the failing output was computed from.
pub(super) fn describe_failure(c: &MemberCtx, spec: &Spec, seg: &Segment, f: &Failure) -> String {
    let lanes_of = |cyc: usize| -> Vec<(u32, u32)> {
        let w = seg.cycle(cyc);
        let act = &w[(c.slot.act - c.slot.ctrl) as usize..(c.slot.wgt - c.slot.ctrl) as usize];
        let wgt = &w[(c.slot.wgt - c.slot.ctrl) as usize..];
        let (aw, ww) = (c.ports.lane_act_bits, c.ports.lane_wgt_bits);
        (0..c.lanes() as u32)
            .map(|l| {
                (
                    get_bits(act, l * aw, aw) as u32,
                    get_bits(wgt, l * ww, ww) as u32,
                )
            })
            .collect()
    };
    let ctl_text = |w: u32| {
        let mut s = Vec::new();
        for (bit, name) in [
            (ctrl::VALID, "valid"),
            (ctrl::CLEAR, "clear"),
            (ctrl::DRAIN, "drain"),
            (ctrl::RESET, "reset"),
        ] {
            if w & bit != 0 {
                s.push(name);
            }
        }
        if s.is_empty() {
            "idle".to_string()
        } else {
            s.join("+")
        }
    };
    match spec {
        Spec::Sweep { .. } | Spec::Pairs { .. } | Spec::Random { .. } | Spec::AccRun { .. } => {
            let delay = c.ports.sample_delay() as usize;
            let op = (f.cycle as usize).saturating_sub(delay);
            // operand cycles back to the last clear (at most 4 shown)
            let mut first = op;
            while first > PREAMBLE && seg.cycle(first)[0] & ctrl::CLEAR == 0 && op - first < 3 {
                first -= 1;
            }
            let mut lines = Vec::new();
            if first > PREAMBLE && seg.cycle(first)[0] & ctrl::CLEAR == 0 {
                let before = seg
                    .checks
                    .iter()
                    .find(|k| k.cycle as usize == first - 1 + delay)
                    .map_or(0, |k| k.expected);
                lines.push(format!(
                    "accumulator before cycle {first} (model): {before}"
                ));
            }
            for cyc in first..=op {
                let w = seg.cycle(cyc);
                let lanes = lanes_of(cyc);
                let sum: i64 = lanes
                    .iter()
                    .map(|&(a, b)| c.enc.product(&c.model, a, b))
                    .sum();
                let ops: Vec<String> = lanes
                    .into_iter()
                    .map(|(a, b)| {
                        format!(
                            "{} -> product {}",
                            c.enc.describe(&c.model, a, b),
                            c.enc.product(&c.model, a, b)
                        )
                    })
                    .collect();
                let rule = Accumulate::of(w[0] & ctrl::VALID != 0, w[0] & ctrl::CLEAR != 0);
                let effect = match rule {
                    Accumulate::Load => format!("accumulator = {sum}"),
                    Accumulate::Add => format!("accumulator += {sum}"),
                    Accumulate::Clear => "accumulator = 0 (operands ignored)".to_string(),
                    Accumulate::Hold => "accumulator holds (operands ignored)".to_string(),
                };
                lines.push(format!(
                    "cycle {cyc} [{}]: {}; {effect}",
                    ctl_text(w[0]),
                    ops.join("; ")
                ));
            }
            if delay > 0 {
                lines.push(format!(
                    "sampled {delay} cycle(s) later at cycle {} (pipeline)",
                    f.cycle
                ));
            }
            lines.join("\n")
        }
        Spec::Gemm(_) | Spec::Operands(_) | Spec::Golden { .. } => {
            let g = match c.gemm_data(spec) {
                Ok(g) => g,
                Err(e) => return format!("(cannot regenerate the GEMM: {e})"),
            };
            let (m, k) = (g.a.shape[0], g.a.shape[1]);
            let n = g.b.shape[0];
            let item = seg
                .checks
                .iter()
                .find(|k| k.cycle == f.cycle && k.out == f.out)
                .map_or(u32::MAX, |k| k.item);
            let mut lines = vec![format!("C = A ({m}x{k}) . B ({n}x{k})^T")];
            if item == u32::MAX {
                lines.push(format!(
                    "row {} of a tile with no data there (padding; expected 0), sampled at cycle {}",
                    f.out, f.cycle
                ));
                return lines.join("\n");
            }
            let (i, j) = (item as usize / n, item as usize % n);
            lines.push(format!("output C[{i}][{j}], sampled at cycle {}", f.cycle));
            if let ArrayShape::Systolic { rows, cols } = c.design.array() {
                lines.push(format!(
                    "computed by PE ({}, {}) in tile ({}, {}) (rows {}.., cols {}..)",
                    i % rows as usize,
                    j % cols as usize,
                    i / rows as usize,
                    j / cols as usize,
                    i / rows as usize * rows as usize,
                    j / cols as usize * cols as usize
                ));
            }
            let show = |v: Vec<String>| {
                if v.len() > 24 {
                    format!("[{}, ... {} more]", v[..24].join(", "), v.len() - 24)
                } else {
                    format!("[{}]", v.join(", "))
                }
            };
            lines.push(format!(
                "A[{i}] = {}",
                show(
                    g.a.data[i * k..(i + 1) * k]
                        .iter()
                        .map(|v| v.to_string())
                        .collect()
                )
            ));
            lines.push(format!(
                "B[{j}] = {}",
                show(
                    g.b.data[j * k..(j + 1) * k]
                        .iter()
                        .map(|v| v.to_string())
                        .collect()
                )
            ));
            lines.join("\n")
        }
    }
}
