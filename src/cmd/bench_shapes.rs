//! `bench model --shapes resnet18`: the GEMMs of a batch-1 ResNet-18, each
//! timed as the network path runs it (weights packed once per layer, the
//! activations fresh per call), as a share of the instruction peak.

use super::bench::{best_peak, print_peak, ModelBench};
use anyhow::Result;
use sparqgen::arith::peak::Peak;
use sparqgen::arith::{Kernel, Model, PackedWeights, Tensor};
use sparqgen::config::Design;
use sparqgen::workload::{prune_2_of_4, relu_like, weights, Rng};
use std::time::Instant;

/// ResNet-18 at 224 x 224, batch 1, lowered to GEMMs `C = A . B^T` with A
/// `M x K` (im2col rows: output pixels) and B `N x K` (weights): (name, M,
/// K, N, how many layers of the network have this shape).
pub const RESNET18: [(&str, usize, usize, usize, usize); 12] = [
    ("conv1 7x7/2", 12544, 147, 64, 1),
    ("layer1 3x3", 3136, 576, 64, 4),
    ("layer2.0 3x3/2", 784, 576, 128, 1),
    ("layer2 3x3", 784, 1152, 128, 3),
    ("layer2 down 1x1", 784, 64, 128, 1),
    ("layer3.0 3x3/2", 196, 1152, 256, 1),
    ("layer3 3x3", 196, 2304, 256, 3),
    ("layer3 down 1x1", 196, 128, 256, 1),
    ("layer4.0 3x3/2", 49, 2304, 512, 1),
    ("layer4 3x3", 49, 4608, 512, 3),
    ("layer4 down 1x1", 49, 256, 512, 1),
    ("fc", 1, 512, 1000, 1),
];

/// One shape's operands: A, B and B pruned to 2:4, each B packed once.
struct Layer {
    a: Tensor<u8>,
    w: Tensor<i8>,
    w24: Tensor<i8>,
    packed: PackedWeights,
    packed24: PackedWeights,
}

pub fn resnet18(b: &ModelBench) -> Result<i32> {
    let kernel = b.kernel.unwrap_or_else(Kernel::best);
    let mut rng = Rng::new(2021);
    let layers: Vec<Layer> = RESNET18
        .iter()
        .map(|&(_, m, k, n, _)| {
            let a = Tensor::new(vec![m, k], relu_like(m * k, b.zeros, &mut rng));
            let w = Tensor::new(vec![n, k], weights(n * k, &mut rng));
            let mut w24 = w.clone();
            prune_2_of_4(&mut w24.data, k);
            let packed = Model::pack_for(kernel, &w.view());
            let packed24 = Model::pack_for(kernel, &w24.view());
            Layer {
                a,
                w,
                w24,
                packed,
                packed24,
            }
        })
        .collect();
    let sparq = Design::from_yaml("pe: {kind: sparq}")?;
    let stc = Design::from_yaml("pe: {stc: true}")?;
    let label = |d: &Design| {
        d.sparq()
            .map(|s| format!("{} {}", s.placements.name(), s.rounding.short()))
            .unwrap_or_default()
    };
    // (label, model, 2:4 weights)
    let configs = [
        ("exact int8".to_string(), Model::exact(), false),
        (label(&sparq), Model::new(&sparq), false),
        (format!("2:4 {}", label(&stc)), Model::new(&stc), true),
    ];
    let threads = rayon::current_num_threads();
    let total_macs: f64 = RESNET18
        .iter()
        .map(|&(_, m, k, n, count)| (m * k * n * count) as f64)
        .sum();
    outln!(
        "bench model --shapes resnet18: {} GEMM shapes of a batch-1 ResNet-18 ({:.2} GMAC per \
         image), weights packed once, {:.0}% zero activations, {threads} threads, {} kernel, \
         best of {} per round",
        RESNET18.len(),
        total_macs / 1e9,
        b.zeros * 100.0,
        kernel.name(),
        b.reps
    );
    let rounds = b.rounds.unwrap_or(1) as usize;
    let reps = b.reps.max(1);
    // best[shape][config]
    let mut best = vec![[f64::INFINITY; 3]; layers.len()];
    let mut peak: Option<Peak> = None;
    for _ in 0..rounds {
        peak = best_peak(peak, kernel);
        for (l, times) in layers.iter().zip(best.iter_mut()) {
            for ((_, model, is_stc), t_best) in configs.iter().zip(times.iter_mut()) {
                let (w, packed) = match is_stc {
                    true => (&l.w24, &l.packed24),
                    false => (&l.w, &l.packed),
                };
                for _ in 0..reps {
                    let t = Instant::now();
                    let c = model.gemm_packed_with(kernel, &l.a.view(), &w.view(), packed)?;
                    *t_best = t_best.min(t.elapsed().as_secs_f64());
                    std::hint::black_box(c);
                }
            }
        }
    }
    print_peak(&peak, kernel);
    let share = |rate: f64| match &peak {
        Some(p) => format!(" {:5.1}%", 100.0 * rate / p.all),
        None => String::new(),
    };
    outln!(
        "{:<16} {:>5} {:>4} {:>4} {:>2}  GMAC/s{} per configuration: {}",
        "layer",
        "M",
        "K",
        "N",
        "x",
        if peak.is_some() { " and % of peak" } else { "" },
        configs
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    for (&(name, m, k, n, count), times) in RESNET18.iter().zip(&best) {
        let macs = (m * k * n) as f64;
        let cells: Vec<String> = times
            .iter()
            .map(|t| format!("{:7.1}{}", macs / t / 1e9, share(macs / t)))
            .collect();
        outln!(
            "{name:<16} {m:>5} {k:>4} {n:>4} {count:>2}  {}",
            cells.join(" | ")
        );
    }
    // MAC-weighted: the network's MACs over the time its GEMMs take
    let cells: Vec<String> = (0..configs.len())
        .map(|c| {
            let secs: f64 = RESNET18
                .iter()
                .zip(&best)
                .map(|(&(_, _, _, _, count), t)| count as f64 * t[c])
                .sum();
            let rate = total_macs / secs;
            format!(
                "{:7.1}{}  ({:.2} ms per image)",
                rate / 1e9,
                share(rate),
                secs * 1e3
            )
        })
        .collect();
    outln!("{:<34}  {}", "network (MAC-weighted)", cells.join(" | "));
    Ok(0)
}
