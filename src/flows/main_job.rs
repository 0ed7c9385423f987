//! The main job's pieces that are not a command of their own: the model
//! exercised on a ReLU-like GEMM (time and error against exact int8).
//! `sparqgen run` strings these together with `generate`, `verify` and
//! `synth` ([`super::generate`], `sim::verify`, [`super::synth`]).

use crate::arith::{ArithError, ErrorStats, Model, Tensor};
use crate::config::Design;
use crate::workload::{relu_like, weights, Rng};
use std::time::Instant;

/// The GEMM of a 3x3x64 convolution at 28x28: M = 784, K = 576, N = 64.
pub const SAMPLE_GEMM: (usize, usize, usize) = (784, 576, 64);

/// The model on the sample GEMM: how long it took and how far it is from
/// exact int8.
pub struct ModelSample {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub secs: f64,
    pub stats: ErrorStats,
}

impl ModelSample {
    pub fn gmacs(&self) -> f64 {
        (self.m * self.k * self.n) as f64 / self.secs / 1e9
    }
}

/// Run `design`'s model on the sample GEMM with 50 % zero ReLU-like
/// activations (4-bit for a mac4x8 PE) and seeded weights.
pub fn model_sample(design: &Design) -> Result<ModelSample, ArithError> {
    let (m, k, n) = SAMPLE_GEMM;
    let mut rng = Rng::new(1);
    let act_max = design.pe().kind().act_max();
    let acts: Vec<u8> = relu_like(m * k, 0.5, &mut rng)
        .into_iter()
        .map(|v| if act_max < 255 { v >> 4 } else { v })
        .collect();
    let a = Tensor::new(vec![m, k], acts);
    let b = Tensor::new(vec![n, k], weights(n * k, &mut rng));
    let t = Instant::now();
    let c = Model::new(design).gemm(&a, &b)?;
    let secs = t.elapsed().as_secs_f64();
    let exact = Model::exact().gemm(&a, &b)?;
    Ok(ModelSample {
        m,
        k,
        n,
        secs,
        stats: ErrorStats::compare(&exact.data, &c.data),
    })
}
