//! Whole int8 networks through a design's arithmetic: read an ONNX model
//! quantized by onnxruntime (QDQ form around Conv/Gemm/MatMul, or the
//! QOperator form), lower every MAC layer to GEMMs on uint8 activations and
//! int8 weights, run them through the bit-exact model (or any
//! [`MacEngine`]), and follow ONNX semantics for the rest.

pub mod exec;
mod layer;
pub mod lower;
pub mod measure;
pub mod onnx;
pub mod ops;
pub mod plan;
pub mod profile;
pub mod rtl;
pub mod rtl_report;
pub mod shapes;
pub mod synthetic;
pub mod value;

pub use lower::{Lowered, MacEngine, MacKind, MacLayer};
pub use measure::{DesignEngine, LayerStats};
pub use plan::Plan;

use crate::arith::Tensor;
use std::path::Path;

/// Why a model or its input cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {why}")]
    Model { path: String, why: String },
    #[error("{path} is a float model that was never quantized ({node} has float weights); {hint}")]
    FloatModel {
        path: String,
        node: String,
        hint: &'static str,
    },
    #[error("unsupported: node {node:?} (op {op}): {why}")]
    Unsupported {
        node: String,
        op: String,
        why: String,
    },
    #[error(
        "{node}: weight zero point {zp}; SPARQ weights are symmetric int8 (zero point 0: \
         quantize_static with weight_type=QuantType.QInt8 and symmetric weights)"
    )]
    WeightZeroPoint { node: String, zp: i64 },
    #[error("input: {0}")]
    Input(String),
}

/// Read and import an ONNX model.
pub fn load(path: &Path) -> Result<Plan, NetError> {
    let graph = onnx::read(path)?;
    plan::build(&path.display().to_string(), &graph)
}

/// Import an ONNX model held in memory; `name` names it in errors.
pub fn load_bytes(bytes: &[u8], name: &str) -> Result<Plan, NetError> {
    let graph = onnx::read_bytes(bytes, name)?;
    plan::build(name, &graph)
}

/// `x` cut into the batches `plan` runs, in order: `batch` images at a
/// time, or what the graph's own batch rules demand ([`Plan::batch_size`]).
pub fn batches<'a>(
    plan: &Plan,
    x: &'a Tensor<f32>,
    batch: usize,
) -> impl Iterator<Item = Tensor<f32>> + 'a {
    let n = x.shape[0];
    let per: usize = x.shape[1..].iter().product();
    let batch = plan.batch_size(&x.shape, batch).max(1);
    (0..n).step_by(batch).map(move |start| {
        let end = (start + batch).min(n);
        let mut shape = x.shape.clone();
        shape[0] = end - start;
        Tensor::new(shape, x.data[start * per..end * per].to_vec())
    })
}

/// Run `plan` on every image of `x` in batches through `engine`.
pub fn run_batches(
    plan: &Plan,
    x: &Tensor<f32>,
    batch: usize,
    bar: Option<&indicatif::ProgressBar>,
    engine: &mut dyn MacEngine,
) -> anyhow::Result<Tensor<f32>> {
    let n = x.shape[0];
    let mut out: Option<Tensor<f32>> = None;
    for xb in batches(plan, x, batch) {
        let images = xb.shape[0];
        let y = plan.run(&xb, engine)?;
        if images < n && y.shape.first() != Some(&images) {
            anyhow::bail!(
                "the graph's output {:?} has shape {:?} for {} images; sparqgen needs the \
                 images along its first axis",
                plan.output.name,
                y.shape,
                images
            );
        }
        match &mut out {
            None => out = Some(y),
            Some(o) => {
                o.shape[0] += y.shape[0];
                o.data.extend_from_slice(&y.data);
            }
        }
        if let Some(b) = bar {
            b.inc(images as u64);
        }
    }
    out.ok_or_else(|| anyhow::anyhow!("the input holds no image (its first axis is 0)"))
}
