//! One MAC layer's weights out of the graph: int8, zero point 0, one scale
//! per output channel, laid out as the per-group `N x K` matrices of the
//! lowering (K in channel-innermost im2col order for a convolution).

use super::lower::{MacKind, MacLayer};
use super::onnx::{Const, ConstData, Node};
use super::plan::{unsupported, QUANTIZE_HINT};
use super::NetError;
use crate::arith::Tensor;

/// Weights: int8, zero point 0, per-tensor or per-output-channel scale.
fn weights(
    path: &str,
    n: &Node,
    q: &Const,
    scale: &[f32],
    zp: &[i64],
    out_axis: usize,
    axis: Option<i64>,
) -> Result<(Vec<i8>, Vec<f32>), NetError> {
    let w = match &q.data {
        ConstData::I8(v) => v.clone(),
        // uint8 weights 0..=127 (zero point 0, checked below) are the same
        // int8 weights
        ConstData::U8(v) => match v.iter().max() {
            Some(&m) if m > 127 => {
                return Err(unsupported(
                    n,
                    format!(
                        "uint8 weights up to {m}; SPARQ weights are symmetric int8, so uint8 \
                         weights run only when every one is at most 127 with zero point 0 \
                         (weight_type=QuantType.QInt8)"
                    ),
                ))
            }
            _ => v.iter().map(|&x| x as i8).collect(),
        },
        ConstData::F32(_) => {
            return Err(NetError::FloatModel {
                path: path.to_string(),
                node: n.label(),
                hint: QUANTIZE_HINT,
            })
        }
        _ => {
            return Err(unsupported(
                n,
                format!(
                "weights are {}; SPARQ weights are symmetric int8 (weight_type=QuantType.QInt8)",
                q.type_name()
            ),
            ))
        }
    };
    if let Some(z) = zp.iter().find(|&&z| z != 0) {
        return Err(NetError::WeightZeroPoint {
            node: n.label(),
            zp: *z,
        });
    }
    let out = q.dims[out_axis];
    if zp.len() != scale.len() {
        return Err(unsupported(
            n,
            format!(
                "{} weight zero points for {} weight scales (the two must have one shape)",
                zp.len(),
                scale.len()
            ),
        ));
    }
    if let Some(s) = scale.iter().find(|s| !s.is_finite() || **s <= 0.0) {
        return Err(unsupported(
            n,
            format!("weight scale {s} is not allowed (a positive finite number)"),
        ));
    }
    let scales = match scale.len() {
        1 => vec![scale[0]; out],
        l => {
            let rank = q.dims.len() as i64;
            let ax = axis.map(|a| if a < 0 { a + rank } else { a });
            if let Some(a) = ax.filter(|&a| a != out_axis as i64) {
                return Err(unsupported(
                    n,
                    format!(
                        "{l} weight scales on axis {a} of the weights {:?}; per-channel scales \
                         must run along the output channels (axis {out_axis})",
                        q.dims
                    ),
                ));
            }
            if l != out {
                return Err(unsupported(
                    n,
                    format!("{l} weight scales for {out} output channels (1 or {out} allowed)"),
                ));
            }
            scale.to_vec()
        }
    };
    Ok((w, scales))
}

fn int_bias(path: &str, n: &Node, c: Option<&Const>, out: usize) -> Result<Vec<i32>, NetError> {
    match c {
        None => Ok(vec![0; out]),
        Some(Const {
            data: ConstData::I32(v),
            ..
        }) if v.len() == out => Ok(v.clone()),
        Some(Const {
            data: ConstData::F32(_),
            ..
        }) => Err(NetError::FloatModel {
            path: path.to_string(),
            node: n.label(),
            hint: QUANTIZE_HINT,
        }),
        Some(c) => Err(unsupported(
            n,
            format!(
                "bias must be int32 with {out} values, got {} {:?}",
                c.type_name(),
                c.dims
            ),
        )),
    }
}

pub(super) fn mac_layer(
    path: &str,
    n: &Node,
    q: &Const,
    scale: &[f32],
    zp: &[i64],
    bias: Option<&Const>,
    axis: Option<i64>,
) -> Result<MacLayer, NetError> {
    if q.dims.contains(&0) {
        return Err(unsupported(
            n,
            format!("the weights {:?} have a zero-size dimension", q.dims),
        ));
    }
    let is_conv = n.op.ends_with("Conv") || n.op == "ConvInteger";
    if is_conv {
        let [o, cg, kh, kw] = match q.dims[..] {
            [o, c, h, w] => [o, c, h, w],
            _ => {
                return Err(unsupported(
                    n,
                    format!(
                        "weights {:?} are not O x C x kh x kw (2-D convolution only)",
                        q.dims
                    ),
                ))
            }
        };
        if let Some(k) = n.ints("kernel_shape") {
            if k.len() != 2 || k[0] != kh as i64 || k[1] != kw as i64 {
                return Err(unsupported(
                    n,
                    format!(
                        "kernel_shape {k:?} contradicts the weights {:?} (kernel {kh} x {kw})",
                        q.dims
                    ),
                ));
            }
        }
        let (stride, pads) = super::ops::strides_pads(n)?;
        let group = n.int("group", 1);
        if group < 1 || o % group as usize != 0 {
            return Err(unsupported(
                n,
                format!(
                    "group {group} is not allowed (at least 1, dividing the {o} output channels)"
                ),
            ));
        }
        let groups = group as usize;
        let (w, w_scale) = weights(path, n, q, scale, zp, 0, axis)?;
        let og = o / groups;
        let k = kh * kw * cg;
        let mut mats = Vec::with_capacity(groups);
        for g in 0..groups {
            let mut m = vec![0i8; og * k];
            for oi in 0..og {
                for c in 0..cg {
                    for i in 0..kh {
                        for j in 0..kw {
                            m[oi * k + (i * kw + j) * cg + c] =
                                w[(((g * og + oi) * cg + c) * kh + i) * kw + j];
                        }
                    }
                }
            }
            mats.push(Tensor::new(vec![og, k], m));
        }
        return Ok(MacLayer {
            name: n.name.clone(),
            op: n.op.clone(),
            kind: MacKind::Conv {
                kh,
                kw,
                stride,
                pads,
                groups,
            },
            in_channels: cg * groups,
            out_channels: o,
            weights: mats,
            bias: int_bias(path, n, bias, o)?,
            w_scale,
        });
    }
    // dense: Gemm (transB) or MatMul (K x N)
    let [r, c] = match q.dims[..] {
        [r, c] => [r, c],
        _ => return Err(unsupported(n, format!("weights {:?} are not 2-D", q.dims))),
    };
    if n.int("transA", 0) != 0 {
        return Err(unsupported(n, "transA = 1"));
    }
    if n.float("alpha").is_some_and(|a| a != 1.0) || n.float("beta").is_some_and(|b| b != 1.0) {
        return Err(unsupported(n, "alpha/beta other than 1"));
    }
    let trans_b = n.op.ends_with("Gemm") && n.int("transB", 0) != 0;
    let (nout, k, out_axis) = if trans_b { (r, c, 0) } else { (c, r, 1) };
    let (w, w_scale) = weights(path, n, q, scale, zp, out_axis, axis)?;
    let m: Vec<i8> = if trans_b {
        w
    } else {
        (0..nout)
            .flat_map(|j| (0..k).map(move |i| (i, j)))
            .map(|(i, j)| w[i * nout + j])
            .collect()
    };
    Ok(MacLayer {
        name: n.name.clone(),
        op: n.op.clone(),
        kind: MacKind::Dense,
        in_channels: k,
        out_channels: nout,
        weights: vec![Tensor::new(vec![nout, k], m)],
        bias: int_bias(path, n, bias, nout)?,
        w_scale,
    })
}
