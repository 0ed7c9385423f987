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

/// [`run_batches`] for the bit-exact model: with more than one batch and
/// more than one thread, whole batches run side by side, each on one
/// thread (a fork of `engine` per thread, [`DesignEngine::fork`], merged
/// back afterwards). A batch-1 network's late layers (M = 49 rows) gain
/// nothing from splitting across threads and every layer pays for the
/// fork and join; one image per thread keeps each thread's lowering,
/// GEMM and requantization in its own core's cache and runs the ops
/// between the GEMMs (adds, pools, quantization) in parallel too. Outputs
/// come back in batch order and the statistics are exact integer sums,
/// so results equal [`run_batches`]'s bit for bit; an engine that records
/// inputs (in order) runs the batches one after another.
pub fn run_design_batches(
    plan: &Plan,
    x: &Tensor<f32>,
    batch: usize,
    bar: Option<&indicatif::ProgressBar>,
    engine: &mut DesignEngine,
) -> anyhow::Result<Tensor<f32>> {
    let n = x.shape.first().copied().unwrap_or(0);
    let per_batch = plan.batch_size(&x.shape, batch).max(1);
    let count = n.div_ceil(per_batch);
    let workers = side_by_side(plan, &x.shape, batch);
    if workers < 2 || engine.records_inputs() {
        return run_batches(plan, x, batch, bar, engine);
    }
    let pools = single_thread_pools(workers)?;
    engine.prepare(plan);
    let per: usize = x.shape[1..].iter().product();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::atomic::AtomicBool::new(false);
    type Done = (DesignEngine, Vec<(usize, anyhow::Result<Tensor<f32>>)>);
    let work = |pool: &rayon::ThreadPool, mut e: DesignEngine| -> Done {
        use std::sync::atomic::Ordering;
        let mut outs = Vec::new();
        pool.install(|| {
            while !failed.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let (start, end) = (i * per_batch, ((i + 1) * per_batch).min(n));
                let mut shape = x.shape.clone();
                shape[0] = end - start;
                let xb = Tensor::new(shape, x.data[start * per..end * per].to_vec());
                let y = plan.run(&xb, &mut e).and_then(|y| {
                    if end - start < n && y.shape.first() != Some(&(end - start)) {
                        anyhow::bail!(
                            "the graph's output {:?} has shape {:?} for {} images; sparqgen \
                             needs the images along its first axis",
                            plan.output.name,
                            y.shape,
                            end - start
                        );
                    }
                    Ok(y)
                });
                if y.is_err() {
                    failed.store(true, Ordering::Relaxed);
                }
                outs.push((i, y));
                if let Some(b) = bar {
                    b.inc((end - start) as u64);
                }
            }
        });
        (e, outs)
    };
    let forks: Vec<DesignEngine> = (0..workers).map(|_| engine.fork()).collect();
    let done: Vec<Done> = std::thread::scope(|s| {
        let handles: Vec<_> = forks
            .into_iter()
            .zip(&pools)
            .map(|(e, pool)| {
                let work = &work;
                s.spawn(move || work(pool, e))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut ys: Vec<(usize, anyhow::Result<Tensor<f32>>)> = Vec::with_capacity(count);
    for (e, outs) in done {
        engine.merge(e);
        ys.extend(outs);
    }
    ys.sort_by_key(|(i, _)| *i);
    let mut out: Option<Tensor<f32>> = None;
    for (_, y) in ys {
        // the first failed batch's error, as a run one batch after another
        // would have stopped at
        let y = y?;
        match &mut out {
            None => out = Some(y),
            Some(o) => {
                o.shape[0] += y.shape[0];
                o.data.extend_from_slice(&y.data);
            }
        }
    }
    out.ok_or_else(|| anyhow::anyhow!("the input holds no image (its first axis is 0)"))
}

/// How many batches [`run_design_batches`] runs side by side on an input
/// of `shape` (1: one after another, each split across the threads).
pub fn side_by_side(plan: &Plan, shape: &[usize], batch: usize) -> usize {
    let n = shape.first().copied().unwrap_or(0);
    let count = n.div_ceil(plan.batch_size(shape, batch).max(1));
    rayon::current_num_threads().min(count).max(1)
}

/// Run `f` on one thread of [`run_design_batches`]'s pools: every
/// parallel loop inside it runs on that one thread.
pub fn on_one_thread<T: Send>(f: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
    Ok(single_thread_pools(1)?[0].install(f))
}

/// `count` rayon pools of one thread each, made once per process and
/// kept (their threads keep their scratch buffers between runs): inside
/// one, every parallel loop of a run (the GEMM's split, the blocks of a
/// layer) runs on that one thread.
fn single_thread_pools(count: usize) -> anyhow::Result<Vec<std::sync::Arc<rayon::ThreadPool>>> {
    use std::sync::{Arc, Mutex};
    static POOLS: Mutex<Vec<Arc<rayon::ThreadPool>>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    while pools.len() < count {
        let i = pools.len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| format!("sparqgen-batch-{i}"))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start a thread for batch runs: {e}"))?;
        pools.push(Arc::new(pool));
    }
    Ok(pools[..count].to_vec())
}
