//! `sparqgen model gemm|conv`: the bit-exact model on the user's tensors.

use super::DesignArg;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use sparqgen::arith::{ErrorStats, Model};
use sparqgen::npy;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Subcommand)]
pub enum ModelCmd {
    /// C = A . B^T through the design's PE arithmetic.
    ///
    /// A is M x K activations (uint8, post-ReLU), B is N x K weights (int8),
    /// C is M x N int32: the layout of the golden gemm_cases.json. Pairs run
    /// along K as (k, k+1); with pe.stc the pair is each group of four's two
    /// non-zero weight positions. Any little-endian integer dtype is accepted
    /// if its values are in range.
    Gemm(GemmArgs),
    /// 2-D convolution lowered to GEMM with channel-innermost im2col.
    ///
    /// X is N x C x H x W activations (uint8), W is O x C x kh x kw weights
    /// (int8), Y is N x O x H_out x W_out int32. Dilation 1, groups 1.
    Conv(ConvArgs),
}

#[derive(Args)]
pub struct GemmArgs {
    /// Activations, M x K, values 0..=255 (0..=15 for a mac4x8 design).
    #[arg(long, value_name = "A.npy")]
    a: PathBuf,
    /// Weights, N x K, values -128..=127.
    #[arg(long, value_name = "B.npy")]
    b: PathBuf,
    #[command(flatten)]
    design: DesignArg,
    /// Where to write C (M x N int32).
    #[arg(long, value_name = "C.npy")]
    out: PathBuf,
    /// Also compute the exact int8 result and print MSE, SQNR and max error.
    #[arg(long)]
    stats: bool,
}

#[derive(Args)]
pub struct ConvArgs {
    /// Activations, N x C x H x W.
    #[arg(long, value_name = "X.npy")]
    x: PathBuf,
    /// Weights, O x C x kh x kw.
    #[arg(long, value_name = "W.npy")]
    w: PathBuf,
    /// Stride in both spatial dimensions.
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// Zero padding on every side.
    #[arg(long, default_value_t = 0)]
    padding: usize,
    #[command(flatten)]
    design: DesignArg,
    /// Where to write Y (N x O x H_out x W_out int32).
    #[arg(long, value_name = "Y.npy")]
    out: PathBuf,
    /// Also compute the exact int8 result and print MSE, SQNR and max error.
    #[arg(long)]
    stats: bool,
}

fn describe(design: &sparqgen::config::Design) -> String {
    format!("{} ({})", design.name(), design.pe().kind().label())
}

fn print_stats(exact: &[i32], approx: &[i32]) {
    outln!("vs exact int8: {}", ErrorStats::compare(exact, approx));
}

pub fn run(cmd: ModelCmd) -> Result<i32> {
    match cmd {
        ModelCmd::Gemm(g) => {
            let design = g.design.load()?;
            let a = npy::read::<u8>(&g.a, "A (activations, M x K)", 2)?;
            let b = npy::read::<i8>(&g.b, "B (weights, N x K)", 2)?;
            let model = Model::new(&design);
            let t = Instant::now();
            let c = model.gemm(&a, &b).context("model gemm")?;
            let secs = t.elapsed().as_secs_f64();
            npy::write(&g.out, &c)?;
            let (m, k) = a.dims2().unwrap_or_default();
            let n = c.shape[1];
            outln!(
                "gemm {m}x{k} . ({n}x{k})^T on {}: {:.3} ms, wrote {} ({m}x{n} int32)",
                describe(&design),
                secs * 1e3,
                g.out.display()
            );
            if g.stats {
                let exact = Model::exact().gemm(&a, &b)?;
                print_stats(&exact.data, &c.data);
            }
            Ok(0)
        }
        ModelCmd::Conv(cv) => {
            let design = cv.design.load()?;
            let x = npy::read::<u8>(&cv.x, "X (activations, N x C x H x W)", 4)?;
            let w = npy::read::<i8>(&cv.w, "W (weights, O x C x kh x kw)", 4)?;
            let model = Model::new(&design);
            let t = Instant::now();
            let y = model
                .conv2d(&x, &w, cv.stride, cv.padding)
                .context("model conv")?;
            let secs = t.elapsed().as_secs_f64();
            npy::write(&cv.out, &y)?;
            outln!(
                "conv {:?} * {:?} stride {} padding {} on {}: {:.3} ms, wrote {} {:?} int32",
                x.shape,
                w.shape,
                cv.stride,
                cv.padding,
                describe(&design),
                secs * 1e3,
                cv.out.display(),
                y.shape
            );
            if cv.stats {
                let exact = Model::exact().conv2d(&x, &w, cv.stride, cv.padding)?;
                print_stats(&exact.data, &y.data);
            }
            Ok(0)
        }
    }
}
