//! From what the user typed to a validated [`Network`]: strict parsing,
//! syntax errors located at the layer and field, shapes followed layer by
//! layer and every size and count held to its limit.

use super::{layer_err, Layer, LayerKind, Network, NetworkError, Shape, MAX_COUNT, MAX_DIM};
use crate::yaml::{path_text, Step, YamlError};
use serde::Deserialize;

/// Parse and validate a network description.
pub(super) fn from_yaml(text: &str) -> Result<Network, NetworkError> {
    let raw: RawNetwork = crate::yaml::from_str(text).map_err(|e| syntax_error(text, e))?;
    validate(raw)
}

// ---------------------------------------------------------------------------
// What the user typed.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    name: String,
    input: Vec<u64>,
    layers: Vec<RawLayer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayer {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    out: Option<u64>,
    kernel: Option<u64>,
    stride: Option<u64>,
    padding: Option<u64>,
    groups: Option<u64>,
    from: Option<String>,
    input: Option<Vec<u64>>,
    global: Option<bool>,
}

/// A parse or type error, with the layer's index and name when it is inside
/// one: the path `layers[3].stride` becomes layer 3, field `stride`.
fn syntax_error(text: &str, e: YamlError) -> NetworkError {
    match e.path.as_slice() {
        [Step::Key(layers), Step::Index(index), rest @ ..] if layers == "layers" => layer_err(
            *index,
            &layer_name_at(text, *index),
            &path_text(rest),
            e.message,
        ),
        [Step::Key(_), ..] => NetworkError::Top {
            field: e.path_text(),
            message: e.message,
        },
        _ => NetworkError::Syntax(e.message),
    }
}

fn layer_name_at(text: &str, index: usize) -> String {
    let v: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(_) => return "unnamed".to_string(),
    };
    v.get("layers")
        .and_then(|l| l.get(index))
        .and_then(|l| l.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("unnamed")
        .to_string()
}

fn shape_of(v: &[u64]) -> Option<Shape> {
    let ok = |d: &u64| (1..=MAX_DIM).contains(d);
    match v {
        [c, h, w] if ok(c) && ok(h) && ok(w) => Some(Shape {
            c: *c,
            h: *h,
            w: *w,
        }),
        _ => None,
    }
}

/// Output side of a sliding window, or `None` when the window does not fit.
fn out_side(side: u64, kernel: u64, stride: u64, padding: u64) -> Option<u64> {
    let padded = side + 2 * padding;
    if kernel > padded {
        None
    } else {
        Some((padded - kernel) / stride + 1)
    }
}

/// Output height and width of a window sliding over `input`, or the
/// message for the `kernel` field when it does not fit.
fn out_hw(input: &Shape, kernel: u64, stride: u64, padding: u64) -> Result<(u64, u64), String> {
    match (
        out_side(input.h, kernel, stride, padding),
        out_side(input.w, kernel, stride, padding),
    ) {
        (Some(h), Some(w)) => Ok((h, w)),
        _ => Err(format!(
            "{kernel} is larger than the padded input ({}x{} with padding {padding})",
            input.h, input.w
        )),
    }
}

fn validate(raw: RawNetwork) -> Result<Network, NetworkError> {
    let top = |field: &str, message: String| NetworkError::Top {
        field: field.to_string(),
        message,
    };
    if raw.name.trim().is_empty() {
        return Err(top("name", "must not be empty".into()));
    }
    let input = shape_of(&raw.input).ok_or_else(|| {
        top(
            "input",
            format!(
                "{:?} is not allowed (allowed: [channels, height, width], each 1..=2^20)",
                raw.input
            ),
        )
    })?;
    if raw.layers.is_empty() {
        return Err(top("layers", "the network has no layers".into()));
    }
    let mut layers: Vec<Layer> = Vec::with_capacity(raw.layers.len());
    for (index, rl) in raw.layers.into_iter().enumerate() {
        let layer = validate_layer(index, rl, input, &layers)?;
        layers.push(layer);
    }
    if layers.iter().all(|l| l.gemm().is_none()) {
        return Err(top(
            "layers",
            "the network has no conv or fc layer: BOPS, traffic and the roofline are \
             defined on compute layers (pool layers only shape the tensors)"
                .into(),
        ));
    }
    let total: u128 = layers.iter().map(|l| u128::from(l.macs())).sum();
    if total > u128::from(MAX_COUNT) {
        return Err(top(
            "layers",
            format!("the network's MACs ({total}) exceed the limit of 2^53 = {MAX_COUNT}"),
        ));
    }
    Ok(Network {
        name: raw.name,
        input,
        layers,
    })
}

fn validate_layer(
    index: usize,
    rl: RawLayer,
    net_input: Shape,
    earlier: &[Layer],
) -> Result<Layer, NetworkError> {
    let name = match &rl.name {
        Some(n) if !n.trim().is_empty() => n.clone(),
        Some(_) => return Err(layer_err(index, "unnamed", "name", "must not be empty")),
        None => {
            return Err(layer_err(
                index,
                "unnamed",
                "name",
                "is missing (every layer needs a unique name)",
            ))
        }
    };
    let err = |field: &str, message: String| layer_err(index, &name, field, message);
    if earlier.iter().any(|l| l.name == name) {
        return Err(err(
            "name",
            format!("{name:?} is used by an earlier layer (names must be unique)"),
        ));
    }
    let kind_name = rl
        .kind
        .clone()
        .ok_or_else(|| err("type", "is missing (allowed: conv, fc, pool)".into()))?;

    // Where the input comes from.
    let input = match (&rl.from, &rl.input) {
        (Some(_), Some(_)) => {
            return Err(err(
                "input",
                "cannot be given together with `from` (use one of them)".into(),
            ))
        }
        (Some(from), None) => earlier
            .iter()
            .find(|l| &l.name == from)
            .map(|l| l.output)
            .ok_or_else(|| err("from", format!("no earlier layer is named {from:?}")))?,
        (None, Some(v)) => shape_of(v).ok_or_else(|| {
            err(
                "input",
                format!("{v:?} is not allowed (allowed: [channels, height, width], each 1..=2^20)"),
            )
        })?,
        (None, None) => earlier.last().map_or(net_input, |l| l.output),
    };

    let positive =
        |field: &str, v: Option<u64>, default: Option<u64>| -> Result<u64, NetworkError> {
            match v.or(default) {
                Some(0) => Err(err(field, "0 is not allowed (must be at least 1)".into())),
                Some(x) if x > MAX_DIM => Err(err(
                    field,
                    format!("{x} is larger than allowed (at most 2^20 = {MAX_DIM})"),
                )),
                Some(x) => Ok(x),
                None => Err(err(
                    field,
                    format!("is missing (a {kind_name} layer needs it)"),
                )),
            }
        };
    let unused = |fields: &[(&str, bool)]| -> Result<(), NetworkError> {
        for (f, present) in fields {
            if *present {
                return Err(err(
                    f,
                    format!("is not used by type {kind_name} (remove it)"),
                ));
            }
        }
        Ok(())
    };

    let (kind, output) = match kind_name.as_str() {
        "conv" => {
            unused(&[("global", rl.global.is_some())])?;
            let out = positive("out", rl.out, None)?;
            let kernel = positive("kernel", rl.kernel, None)?;
            let stride = positive("stride", rl.stride, Some(1))?;
            let padding = rl.padding.unwrap_or(0);
            let groups = positive("groups", rl.groups, Some(1))?;
            if input.c % groups != 0 || out % groups != 0 {
                return Err(err(
                    "groups",
                    format!(
                        "{groups} does not divide both the {} input channels and the {out} output channels",
                        input.c
                    ),
                ));
            }
            if padding >= kernel {
                return Err(err(
                    "padding",
                    format!("{padding} is not allowed with kernel {kernel} (allowed: 0..{kernel})"),
                ));
            }
            let (h, w) = out_hw(&input, kernel, stride, padding).map_err(|m| err("kernel", m))?;
            (
                LayerKind::Conv {
                    kernel,
                    stride,
                    padding,
                    groups,
                },
                Shape { c: out, h, w },
            )
        }
        "fc" => {
            unused(&[
                ("kernel", rl.kernel.is_some()),
                ("stride", rl.stride.is_some()),
                ("padding", rl.padding.is_some()),
                ("groups", rl.groups.is_some()),
                ("global", rl.global.is_some()),
            ])?;
            let out = positive("out", rl.out, None)?;
            (LayerKind::Fc, Shape { c: out, h: 1, w: 1 })
        }
        "pool" => {
            unused(&[("out", rl.out.is_some()), ("groups", rl.groups.is_some())])?;
            if rl.global == Some(true) {
                unused(&[
                    ("kernel", rl.kernel.is_some()),
                    ("stride", rl.stride.is_some()),
                    ("padding", rl.padding.is_some()),
                ])?;
                (
                    LayerKind::Pool {
                        kernel: input.h.max(input.w),
                        stride: 1,
                        padding: 0,
                    },
                    Shape {
                        c: input.c,
                        h: 1,
                        w: 1,
                    },
                )
            } else {
                let kernel = positive("kernel", rl.kernel, None)?;
                let stride = positive("stride", rl.stride, Some(kernel))?;
                let padding = rl.padding.unwrap_or(0);
                if 2 * padding > kernel {
                    return Err(err(
                        "padding",
                        format!("{padding} is more than half the kernel {kernel}"),
                    ));
                }
                let (h, w) =
                    out_hw(&input, kernel, stride, padding).map_err(|m| err("kernel", m))?;
                (
                    LayerKind::Pool {
                        kernel,
                        stride,
                        padding,
                    },
                    Shape { c: input.c, h, w },
                )
            }
        }
        other => {
            return Err(err(
                "type",
                format!("{other:?} is not allowed (allowed: conv, fc, pool)"),
            ))
        }
    };
    let layer = Layer {
        index,
        name: name.clone(),
        kind,
        input,
        output,
    };
    // Sides and channels are at most 2^20, so shapes fit a u64; products of
    // them are checked here, once, so that every later sum is exact.
    let macs = layer.gemm().map_or(0, |g| {
        [g.groups, g.pixels, g.m, g.n, g.k, g.k]
            .iter()
            .fold(1u128, |acc, &d| acc.saturating_mul(u128::from(d)))
    });
    for (what, count) in [
        ("MACs", macs),
        ("input activations", u128::from(input.elems())),
        ("output activations", u128::from(output.elems())),
    ] {
        if count > u128::from(MAX_COUNT) {
            return Err(err(
                "type",
                format!("the layer's {what} ({count}) exceed the limit of 2^53 = {MAX_COUNT}"),
            ));
        }
    }
    Ok(layer)
}
