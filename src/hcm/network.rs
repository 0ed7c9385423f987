//! CNN layer tables for the metric: a small YAML format (README, "hcm"),
//! parsed strictly and validated into layers whose shapes are all known.
//!
//! A network is a list of layers run in order at batch 1. Each layer reads
//! the previous layer's output (the network input for the first one), or
//! the output of an earlier layer named in `from:`, or an explicit
//! `input: [C, H, W]`. Convolutions carry groups, stride and padding (square
//! kernels, the same stride and padding in both dimensions); fully connected
//! layers flatten their input; pooling layers only change the shape.

use crate::yaml::{path_text, Step, YamlError};
use serde::Deserialize;
use std::path::Path;

/// Built-in networks, by the name `sparqgen hcm NAME` accepts.
pub const BUILTIN: &[(&str, &str)] = &[
    ("resnet18", include_str!("../../networks/resnet18.yaml")),
    ("vgg16", include_str!("../../networks/vgg16.yaml")),
    (
        "mobilenet_v2",
        include_str!("../../networks/mobilenet_v2.yaml"),
    ),
];

/// An error in a network description. Layer errors name the layer (index
/// from 0 and name) and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("layer {index} ({name}), field `{field}`: {message}")]
    Layer {
        index: usize,
        name: String,
        field: String,
        message: String,
    },
    #[error("field `{field}`: {message}")]
    Top { field: String, message: String },
    #[error("not a valid network description: {0}")]
    Syntax(String),
}

fn layer_err(index: usize, name: &str, field: &str, message: impl Into<String>) -> NetworkError {
    NetworkError::Layer {
        index,
        name: name.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
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

// ---------------------------------------------------------------------------
// The validated network.
// ---------------------------------------------------------------------------

/// A feature map: channels, height, width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Shape {
    pub c: u64,
    pub h: u64,
    pub w: u64,
}

impl Shape {
    pub fn elems(&self) -> u64 {
        self.c * self.h * self.w
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.c, self.h, self.w)
    }
}

/// What a layer computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// 2-D convolution, square `kernel`, `groups` dividing both channel
    /// counts.
    Conv {
        kernel: u64,
        stride: u64,
        padding: u64,
        groups: u64,
    },
    /// Fully connected on the flattened input (C*H*W features).
    Fc,
    /// Max or average pooling (no multiply-accumulates; shapes only).
    Pool {
        kernel: u64,
        stride: u64,
        padding: u64,
    },
}

/// A validated layer with its input and output shapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub index: usize,
    pub name: String,
    pub kind: LayerKind,
    pub input: Shape,
    pub output: Shape,
}

/// The reduction a layer's outputs are sums over, as a GEMM per group:
/// `groups` independent products of (pixels x k_len) by (k_len x m_per_group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gemm {
    pub groups: u64,
    /// Output pixels (Ho * Wo; 1 for a fully connected layer).
    pub pixels: u64,
    /// Output channels per group.
    pub m: u64,
    /// Input channels per group (the `n` of the BOPS formula).
    pub n: u64,
    /// Kernel side (1 for a fully connected layer).
    pub k: u64,
}

impl Gemm {
    /// Reduction length per output: n * k^2.
    pub fn k_len(&self) -> u64 {
        self.n * self.k * self.k
    }
    pub fn macs(&self) -> u64 {
        self.groups * self.pixels * self.m * self.k_len()
    }
}

impl Layer {
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            LayerKind::Conv { .. } => "conv",
            LayerKind::Fc => "fc",
            LayerKind::Pool { .. } => "pool",
        }
    }

    /// The layer as GEMMs, or `None` for a pooling layer.
    pub fn gemm(&self) -> Option<Gemm> {
        match self.kind {
            LayerKind::Conv { kernel, groups, .. } => Some(Gemm {
                groups,
                pixels: self.output.h * self.output.w,
                m: self.output.c / groups,
                n: self.input.c / groups,
                k: kernel,
            }),
            LayerKind::Fc => Some(Gemm {
                groups: 1,
                pixels: 1,
                m: self.output.c,
                n: self.input.elems(),
                k: 1,
            }),
            LayerKind::Pool { .. } => None,
        }
    }

    /// Multiply-accumulates (0 for pooling).
    pub fn macs(&self) -> u64 {
        self.gemm().map_or(0, |g| g.macs())
    }

    /// Weights (0 for pooling).
    pub fn weights(&self) -> u64 {
        self.gemm().map_or(0, |g| g.groups * g.m * g.k_len())
    }

    /// Kernel, stride and padding of the sliding window (1, 1, 0 for a
    /// fully connected layer, which sees its input as one pixel).
    pub fn window(&self) -> (u64, u64, u64) {
        match self.kind {
            LayerKind::Conv {
                kernel,
                stride,
                padding,
                ..
            }
            | LayerKind::Pool {
                kernel,
                stride,
                padding,
            } => (kernel, stride, padding),
            LayerKind::Fc => (1, 1, 0),
        }
    }
}

/// A validated network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub name: String,
    pub input: Shape,
    pub layers: Vec<Layer>,
}

impl Network {
    /// Parse and validate a network description.
    pub fn from_yaml(text: &str) -> Result<Network, NetworkError> {
        let raw: RawNetwork = crate::yaml::from_str(text).map_err(|e| syntax_error(text, e))?;
        validate(raw)
    }

    /// A built-in network by name, or a file.
    pub fn load(name_or_path: &str) -> anyhow::Result<Network> {
        use anyhow::Context;
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Ok(Network::from_yaml(text).expect("built-in networks are valid"));
        }
        let path = Path::new(name_or_path);
        let text = crate::input::read_text(path).with_context(|| {
            let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
            format!(
                "cannot read network file {} (built-in networks: {})",
                path.display(),
                names.join(", ")
            )
        })?;
        Network::from_yaml(&text).with_context(|| format!("invalid network {}", path.display()))
    }

    pub fn macs(&self) -> u64 {
        self.layers.iter().map(Layer::macs).sum()
    }
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

/// Largest value of any size field (channels, sides, kernel, stride, groups).
pub const MAX_DIM: u64 = 1 << 20;

/// Largest MAC, weight or activation count of a layer, and MAC count of a
/// network: every total stays exact in a u64 sum and an f64.
pub const MAX_COUNT: u64 = 1 << 53;

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

#[cfg(test)]
mod tests {
    use super::*;

    fn net(layers: &str) -> Result<Network, NetworkError> {
        Network::from_yaml(&format!("name: t\ninput: [8, 10, 10]\nlayers:\n{layers}"))
    }

    fn err(layers: &str) -> String {
        net(layers).unwrap_err().to_string()
    }

    #[test]
    fn published_mac_totals() {
        // published: ResNet-18 1.81 G, VGG-16 15.47 G, MobileNet-v2 0.30 G
        for (name, want) in [
            ("resnet18", 1.81e9),
            ("vgg16", 15.47e9),
            ("mobilenet_v2", 0.30e9),
        ] {
            let n = Network::load(name).unwrap();
            let got = n.macs() as f64;
            assert!(
                (got / want - 1.0).abs() < 0.03,
                "{name}: {got} MACs vs published {want}"
            );
        }
    }

    #[test]
    fn shapes_follow_the_layers() {
        let n = Network::load("resnet18").unwrap();
        let fc = n.layers.last().unwrap();
        assert_eq!(fc.input, Shape { c: 512, h: 1, w: 1 });
        let ds = n
            .layers
            .iter()
            .find(|l| l.name == "layer2.0.downsample")
            .unwrap();
        assert_eq!(
            ds.input,
            Shape {
                c: 64,
                h: 56,
                w: 56
            }
        );
        assert_eq!(
            ds.output,
            Shape {
                c: 128,
                h: 28,
                w: 28
            }
        );
        let v = Network::load("vgg16").unwrap();
        let fc6 = v.layers.iter().find(|l| l.name == "fc6").unwrap();
        assert_eq!(fc6.input.elems(), 25088);
        assert_eq!(fc6.macs(), 25088 * 4096);
    }

    #[test]
    fn errors_name_layer_and_field() {
        assert_eq!(
            err("  - {name: a, type: conv, out: 8, kernel: 3, groups: 3}\n"),
            "layer 0 (a), field `groups`: 3 does not divide both the 8 input channels and the 8 output channels"
        );
        let e = err("  - {name: a, type: conv, out: 8, kernel: 3}\n  - {name: b, type: conv, out: 8, kernal: 3}\n");
        assert!(
            e.starts_with("layer 1 (b), field `kernal`: unknown field `kernal`"),
            "{e}"
        );
        let e = err("  - {name: a, type: conv, out: 8, kernel: 3, stride: two}\n");
        assert!(
            e.starts_with("layer 0 (a), field `stride`: invalid type"),
            "{e}"
        );
        assert_eq!(
            err("  - {name: a, type: conv, out: 8}\n"),
            "layer 0 (a), field `kernel`: is missing (a conv layer needs it)"
        );
        assert_eq!(
            err("  - {name: a, type: fc, out: 8, kernel: 1}\n"),
            "layer 0 (a), field `kernel`: is not used by type fc (remove it)"
        );
        assert_eq!(
            err("  - {name: a, type: conv, out: 8, kernel: 13}\n"),
            "layer 0 (a), field `kernel`: 13 is larger than the padded input (10x10 with padding 0)"
        );
        assert_eq!(
            err("  - {name: a, type: dense, out: 8}\n"),
            "layer 0 (a), field `type`: \"dense\" is not allowed (allowed: conv, fc, pool)"
        );
        assert_eq!(
            err("  - {name: a, type: fc, out: 8, from: z}\n"),
            "layer 0 (a), field `from`: no earlier layer is named \"z\""
        );
        assert_eq!(
            err("  - {name: a, type: fc, out: 8}\n  - {name: a, type: fc, out: 8}\n"),
            "layer 1 (a), field `name`: \"a\" is used by an earlier layer (names must be unique)"
        );
        assert_eq!(
            err("  - {type: fc, out: 8}\n"),
            "layer 0 (unnamed), field `name`: is missing (every layer needs a unique name)"
        );
        assert_eq!(
            err("  - {name: a, type: conv, out: 0, kernel: 1}\n"),
            "layer 0 (a), field `out`: 0 is not allowed (must be at least 1)"
        );
        let e = Network::from_yaml("name: t\ninput: [3, 4]\nlayers: []\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("field `input`:"), "{e}");
        let e = Network::from_yaml("name: t\ninput: [3, 4, 4]\nlayer: []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `layer`"), "{e}");
    }
}
