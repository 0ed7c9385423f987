//! CNN layer tables for the metric: a small YAML format (README, "hcm"),
//! parsed strictly and validated into layers whose shapes are all known.
//!
//! A network is a list of layers run in order at batch 1. Each layer reads
//! the previous layer's output (the network input for the first one), or
//! the output of an earlier layer named in `from:`, or an explicit
//! `input: [C, H, W]`. Convolutions carry groups, stride and padding (square
//! kernels, the same stride and padding in both dimensions); fully connected
//! layers flatten their input; pooling layers only change the shape.
//!
//! This file holds the validated network and its layers; `network/parse.rs`
//! turns what the user typed into them.

mod parse;

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

pub(super) fn layer_err(
    index: usize,
    name: &str,
    field: &str,
    message: impl Into<String>,
) -> NetworkError {
    NetworkError::Layer {
        index,
        name: name.to_string(),
        field: field.to_string(),
        message: message.into(),
    }
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
        parse::from_yaml(text)
    }

    /// A built-in network by name, or a file.
    pub fn load(name_or_path: &str) -> anyhow::Result<Network> {
        use anyhow::Context;
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            // infallible: a unit test loads every built-in network
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

/// Largest value of any size field (channels, sides, kernel, stride, groups).
pub const MAX_DIM: u64 = 1 << 20;

/// Largest MAC, weight or activation count of a layer, and MAC count of a
/// network: every total stays exact in a u64 sum and an f64.
pub const MAX_COUNT: u64 = 1 << 53;

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
    fn every_builtin_network_loads() {
        for (name, _) in BUILTIN {
            assert!(Network::load(name).is_ok(), "{name}");
        }
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
