//! Shapes through an imported graph, and the HCM layer table they give:
//! `sparqgen hcm MODEL.onnx` takes its convolutions, fully connected layers
//! and pools from the graph instead of a YAML table.

use super::lower::MacKind;
use super::plan::{Op, Plan};
use super::NetError;
use crate::hcm::network::Network;

fn bad(step: &str, op: &str, why: String) -> NetError {
    NetError::Unsupported {
        node: step.to_string(),
        op: op.to_string(),
        why,
    }
}

/// A node name as a layer name and file stem, one to one: letters,
/// digits, `-` and `.` (not leading) stay, `_` becomes `__` and every other
/// byte of the UTF-8 name `_XX` (two hex digits), so that `a/b` (`a_2Fb`)
/// and `a_b` (`a__b`) or two non-ASCII names never share a file.
/// Exporters write names like `/layer1/conv1/Conv`.
pub fn layer_name(node: &str) -> String {
    let mut s = String::with_capacity(node.len());
    for (i, b) in node.bytes().enumerate() {
        match b {
            b'_' => s.push_str("__"),
            b'.' if i > 0 => s.push('.'),
            b if b.is_ascii_alphanumeric() || b == b'-' => s.push(char::from(b)),
            b => s.push_str(&format!("_{b:02X}")),
        }
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// The node name back from [`layer_name`] (None if `stem` is not one).
pub fn node_name(stem: &str) -> Option<String> {
    if stem == "_" {
        return Some(String::new());
    }
    let b = stem.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'_' {
            if b.get(i + 1) == Some(&b'_') {
                out.push(b'_');
                i += 2;
            } else {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn pool_out(side: usize, k: usize, s: usize, p0: usize, p1: usize) -> usize {
    (side + p0 + p1).saturating_sub(k) / s + 1
}

/// Output shape of every step for an input of `input` (batch included).
pub fn step_shapes(plan: &Plan, input: &[usize]) -> Result<Vec<Vec<usize>>, NetError> {
    let mut slots: Vec<Option<Vec<usize>>> = vec![None; plan.slots];
    slots[plan.input_slot] = Some(input.to_vec());
    let mut out = Vec::with_capacity(plan.steps.len());
    for st in &plan.steps {
        let ins: Vec<Vec<usize>> = st
            .inputs
            .iter()
            .map(|&s| slots[s].clone().unwrap_or_default())
            .collect();
        if let Op::ConstU8(t) = &st.op {
            slots[st.output] = Some(t.shape.clone());
            out.push(t.shape.clone());
            continue;
        }
        let x = ins[0].clone();
        let err = |why: String| bad(&st.node, &st.op_type, why);
        let four = || -> Result<[usize; 4], NetError> {
            match x[..] {
                [a, b, c, d] => Ok([a, b, c, d]),
                _ => Err(err(format!("expects N x C x H x W, gets {x:?}"))),
            }
        };
        let y = match &st.op {
            Op::Mac { layer, .. } | Op::MacInteger { layer, .. } => {
                let l = &plan.layers[*layer];
                match l.kind {
                    MacKind::Conv { .. } => {
                        let [n, _, h, w] = four()?;
                        let (ho, wo) = l
                            .out_hw(h, w)
                            .ok_or_else(|| err(format!("kernel does not fit {h}x{w}")))?;
                        vec![n, l.out_channels, ho, wo]
                    }
                    MacKind::Dense => vec![x.first().copied().unwrap_or(1), l.out_channels],
                }
            }
            Op::MaxPool(p) | Op::AveragePool(p) | Op::QLinearPool { pool: Some(p), .. } => {
                let [n, c, h, w] = four()?;
                vec![
                    n,
                    c,
                    pool_out(h, p.kernel[0], p.stride[0], p.pads[0], p.pads[2]),
                    pool_out(w, p.kernel[1], p.stride[1], p.pads[1], p.pads[3]),
                ]
            }
            Op::GlobalAveragePool | Op::QLinearPool { pool: None, .. } => {
                let [n, c, _, _] = four()?;
                vec![n, c, 1, 1]
            }
            Op::Flatten { axis } => {
                let a = (if *axis < 0 {
                    axis + x.len() as i64
                } else {
                    *axis
                })
                .max(0) as usize;
                let a = a.min(x.len());
                vec![x[..a].iter().product(), x[a..].iter().product()]
            }
            Op::Reshape { shape } => {
                let total: usize = x.iter().product();
                let mut y: Vec<usize> = shape
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| match d {
                        0 => x.get(i).copied().unwrap_or(1),
                        d if d > 0 => d as usize,
                        _ => 1,
                    })
                    .collect();
                if let Some(i) = shape.iter().position(|&d| d == -1) {
                    let known: usize = y.iter().product();
                    y[i] = total / known.max(1);
                }
                y
            }
            Op::Concat { axis } | Op::QLinearConcat { axis, .. } => {
                let a = (if *axis < 0 {
                    axis + x.len() as i64
                } else {
                    *axis
                })
                .max(0) as usize;
                let mut y = x.clone();
                if a < y.len() {
                    y[a] = ins.iter().map(|s| s.get(a).copied().unwrap_or(0)).sum();
                }
                y
            }
            Op::QParam { .. } => vec![],
            Op::Mul => super::ops::broadcast_shape(&x, &ins[1]).map_err(err)?,
            Op::MulConst(c) => super::ops::broadcast_shape(&x, &c.shape).map_err(err)?,
            Op::AddConst(c) => super::ops::broadcast_shape(&x, &c.shape).map_err(err)?,
            _ => x,
        };
        slots[st.output] = Some(y.clone());
        out.push(y);
    }
    Ok(out)
}

/// The HCM layer table of an imported graph: one conv per Conv (square
/// kernel, equal strides, symmetric padding), one fc per Gemm/MatMul, one
/// pool per pooling op, each with its input shape from the graph.
pub fn hcm_network(plan: &Plan, name: &str) -> Result<Network, NetError> {
    let dims: Option<Vec<usize>> = plan.input.dims.iter().skip(1).copied().collect();
    let chw = match dims.as_deref() {
        Some([c, h, w]) => [*c, *h, *w],
        _ => {
            let got: Vec<String> = plan
                .input
                .dims
                .iter()
                .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
                .collect();
            return Err(NetError::Input(format!(
                "the graph's input {:?} needs fixed dims N x C x H x W for hcm (got [{}]; \
                 ? is a dim the graph leaves open)",
                plan.input.name,
                got.join(", ")
            )));
        }
    };
    let shapes = step_shapes(plan, &[1, chw[0], chw[1], chw[2]])?;
    let mut input_of = vec![vec![1, chw[0], chw[1], chw[2]]; plan.slots];
    for (st, s) in plan.steps.iter().zip(&shapes) {
        input_of[st.output] = s.clone();
    }
    let mut yaml = format!(
        "name: {}\ninput: [{}, {}, {}]\nlayers:\n",
        serde_json::to_string(name).unwrap_or_default(),
        chw[0],
        chw[1],
        chw[2]
    );
    let chw_of = |s: &[usize]| -> [usize; 3] {
        match s {
            [_, c, h, w] => [*c, *h, *w],
            [_, k] => [*k, 1, 1],
            _ => [s.iter().skip(1).product(), 1, 1],
        }
    };
    for st in plan.steps.iter().filter(|s| !s.inputs.is_empty()) {
        let x = &input_of[st.inputs[0]];
        let [c, h, w] = chw_of(x);
        let nm = serde_json::to_string(&layer_name(&st.node)).unwrap_or_default();
        let inp = format!("input: [{c}, {h}, {w}]");
        let err = |why: &str| bad(&st.node, &st.op_type, why.to_string());
        let line = match &st.op {
            Op::Mac { layer, .. } | Op::MacInteger { layer, .. } => {
                let l = &plan.layers[*layer];
                match &l.kind {
                    MacKind::Conv {
                        kh,
                        kw,
                        stride,
                        pads,
                        groups,
                    } => {
                        if kh != kw || stride[0] != stride[1] || pads.iter().any(|&p| p != pads[0])
                        {
                            return Err(err("hcm needs square kernels, equal strides and the same padding on every side"));
                        }
                        format!(
                            "{{name: {nm}, type: conv, {inp}, out: {}, kernel: {kh}, stride: {}, padding: {}, groups: {groups}}}",
                            l.out_channels, stride[0], pads[0]
                        )
                    }
                    MacKind::Dense => format!(
                        "{{name: {nm}, type: fc, input: [{}, 1, 1], out: {}}}",
                        l.in_channels, l.out_channels
                    ),
                }
            }
            Op::MaxPool(p) | Op::AveragePool(p) | Op::QLinearPool { pool: Some(p), .. } => {
                if p.kernel[0] != p.kernel[1]
                    || p.stride[0] != p.stride[1]
                    || p.pads.iter().any(|&v| v != p.pads[0])
                {
                    return Err(err("hcm needs square pooling windows"));
                }
                format!(
                    "{{name: {nm}, type: pool, {inp}, kernel: {}, stride: {}, padding: {}}}",
                    p.kernel[0], p.stride[0], p.pads[0]
                )
            }
            Op::GlobalAveragePool | Op::QLinearPool { pool: None, .. } => {
                format!("{{name: {nm}, type: pool, {inp}, global: true}}")
            }
            _ => continue,
        };
        yaml.push_str("  - ");
        yaml.push_str(&line);
        yaml.push('\n');
    }
    Network::from_yaml(&yaml).map_err(|e| NetError::Model {
        path: name.to_string(),
        why: format!("the graph's layer table is not valid for hcm: {e}"),
    })
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn layer_names_are_unique_and_reversible() {
        let names = [
            "a/b", "a_b", "a__b", "a_2Fb", "ä", "ö", "", ".x", "x.y", "#3", "/l1/Conv",
        ];
        let stems: Vec<String> = names.iter().map(|n| layer_name(n)).collect();
        for (i, s) in stems.iter().enumerate() {
            assert!(
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
                "{s}"
            );
            assert!(!s.starts_with('.'), "{s}");
            assert_eq!(node_name(s).as_deref(), Some(names[i]), "{s}");
            for t in &stems[..i] {
                assert_ne!(s, t);
            }
        }
        assert_eq!(layer_name("conv1"), "conv1");
        assert_eq!(layer_name("/l1/Conv"), "_2Fl1_2FConv");
    }
}
