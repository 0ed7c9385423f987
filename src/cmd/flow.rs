//! `sparqgen run`: the main job on one design. Grows with the project:
//! today it generates the RTL into rtl_out/ and exercises the bit-exact
//! model on a ReLU-like GEMM.

use super::bench::{relu_like, Rng};
use anyhow::Result;
use sparqgen::arith::{ErrorStats, Model, Tensor};
use sparqgen::config::Design;
use std::time::Instant;

pub fn run(design: &Design) -> Result<i32> {
    println!("design {} (hash {})", design.name, design.short_hash());
    print!("{}", indent(&design.to_yaml()));
    let generated = sparqgen::rtl::generate(design)?;
    let folder = generated.write(std::path::Path::new("rtl_out"))?;
    println!(
        "rtl: wrote {}/ (top {}, latency {} cycles)",
        folder.display(),
        generated.manifest.top,
        generated.manifest.latency_cycles
    );
    // model: a 3x3x64 convolution's GEMM at 28x28 (M=784, K=576, N=64)
    let (m, k, n) = (784, 576, 64);
    let mut rng = Rng::new(1);
    let act_max = design.pe.kind.act_max();
    let acts: Vec<u8> = relu_like(m * k, 0.5, &mut rng)
        .into_iter()
        .map(|v| if act_max < 255 { v >> 4 } else { v })
        .collect();
    let a = Tensor::new(vec![m, k], acts);
    let b = Tensor::new(
        vec![n, k],
        (0..n * k)
            .map(|_| (rng.next_u64() % 256) as u8 as i8)
            .collect(),
    );
    let t = Instant::now();
    let c = Model::new(design).gemm(&a, &b)?;
    let secs = t.elapsed().as_secs_f64();
    let exact = Model::exact().gemm(&a, &b)?;
    println!(
        "model: GEMM {m}x{k} . ({n}x{k})^T, 50% zero ReLU-like activations: {:.2} ms ({:.2} GMAC/s)",
        secs * 1e3,
        (m * k * n) as f64 / secs / 1e9
    );
    println!(
        "model: vs exact int8: {}",
        ErrorStats::compare(&exact.data, &c.data)
    );
    Ok(0)
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
