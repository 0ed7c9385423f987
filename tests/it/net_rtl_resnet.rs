//! `net --rtl` beyond the digits network: a ResNet-18 layer sample (every
//! MAC layer of the ResNet-18-shaped int8 graph, seeded random output tiles
//! of each) and the digits network pruned to 2:4, on the three PE families
//! the array is built from (SPARQ, mac8x8, 2:4 SPARQ). Measured cycles must
//! equal the cycle model's to the cycle on every layer, with 0 mismatches.
//!
//! The three designs are the same 8x8 arrays in every test here, so the
//! Verilator builds (cached in the tests' shared cache) are made once.

use crate::verify::cache_dir;
use sparqgen::arith::Tensor;
use sparqgen::config::Design;
use sparqgen::net::rtl::{RtlEngine, RtlOptions};
use sparqgen::net::{run_batches, Plan};
use sparqgen::workload::{prune_2_of_4, Rng};
use std::path::Path;

fn config(name: &str) -> Design {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name);
    Design::from_path(&p).unwrap()
}

/// The 8x8 SPARQ array, the 8x8 mac8x8 array and an 8x8 array of 2:4
/// SPARQ PEs with two pipeline stages (the README's 2:4 digits run).
fn designs() -> Vec<Design> {
    vec![
        config("default.yaml"),
        config("mac8x8_sa8x8.yaml"),
        Design::from_yaml(
            "name: stc_sa8x8\npe: {kind: sparq, stc: true, pipeline: 2}\n\
             array: {kind: systolic, rows: 8, cols: 8}\n",
        )
        .unwrap(),
    ]
}

/// `plan` as `d` can run it: the weights pruned to 2:4 along im2col K (the
/// two largest of each four) for a 2:4 PE, unchanged otherwise.
fn for_design(plan: &Plan, d: &Design) -> Plan {
    let mut p = plan.clone();
    if d.sparq().is_some_and(|s| s.stc) {
        for l in &mut p.layers {
            for w in &mut l.weights {
                let k = w.shape[1];
                prune_2_of_4(&mut w.data, k);
            }
        }
    }
    p
}

/// Run `x` through `plan` on `d`'s RTL; assert 0 mismatches and measured =
/// predicted cycles on every MAC layer; return the engine.
fn run_checked(
    plan: &Plan,
    d: &Design,
    x: &Tensor<f32>,
    batch: usize,
    sample: Option<usize>,
) -> RtlEngine {
    let opts = RtlOptions {
        sample,
        seed: 3,
        k_tile: None,
        cache_dir: Some(cache_dir()),
    };
    let mut e = RtlEngine::new(d, &plan.layers, opts).unwrap();
    run_batches(plan, x, batch, None, &mut e).unwrap();
    assert_eq!(e.layers.len(), plan.layers.len());
    for l in &e.layers {
        assert_eq!(l.mismatches, 0, "{} {}: {:#?}", d.name(), l.name, l.details);
        assert!(l.checks > 0 && l.tiles_run > 0, "{} {l:?}", d.name());
        assert_eq!(
            l.cycles,
            l.predicted.total,
            "{} {}: measured {} predicted {:?}",
            d.name(),
            l.name,
            l.cycles,
            l.predicted
        );
        match sample {
            Some(s) => assert_eq!(l.tiles_run, l.tiles.min(s as u64), "{} {l:?}", d.name()),
            None => {
                assert_eq!(l.tiles_run, l.tiles, "{} {l:?}", d.name());
                assert_eq!(l.cycles, l.layer_predicted.total, "{} {l:?}", d.name());
            }
        }
    }
    e
}

/// Every MAC layer of ResNet-18 (20 convolutions and the classifier, batch
/// 1), 16 seeded random output tiles each, on SPARQ, mac8x8 and 2:4 SPARQ
/// 8x8 arrays: measured = predicted cycles, 0 mismatches. Prints one line
/// per design (`--nocapture`) for the README.
#[test]
#[ignore = "full tier (Verilator, 3 array builds): scripts/test.sh runs it"]
fn resnet18_layer_sample_measures_what_the_cycle_model_predicts() {
    crate::util::need(&[sparqgen::tools::Tool::Verilator]);
    let plan =
        sparqgen::net::load_bytes(&sparqgen::net::synthetic::resnet18_int8(1), "resnet18").unwrap();
    assert_eq!(plan.layers.len(), 21);
    let mut rng = Rng::new(7);
    let x = Tensor::new(
        vec![1, 3, 224, 224],
        (0..3 * 224 * 224)
            .map(|_| (rng.unit() * 4.0) as f32)
            .collect(),
    );
    for d in designs() {
        let p = for_design(&plan, &d);
        let t = std::time::Instant::now();
        let e = run_checked(&p, &d, &x, 1, Some(16));
        let cycles: u64 = e.layers.iter().map(|l| l.cycles).sum();
        let tiles: u64 = e.layers.iter().map(|l| l.tiles_run).sum();
        let checks: u64 = e.layers.iter().map(|l| l.checks).sum();
        eprintln!(
            "resnet18 sample on {}: {} layers, {tiles} tiles, {checks} outputs checked, \
             {cycles} cycles measured = predicted, 0 mismatches, {:.1} s",
            d.name(),
            e.layers.len(),
            t.elapsed().as_secs_f64()
        );
    }
}

/// The digits network, all 500 test images, every tile, with its weights
/// pruned to 2:4 on the 8x8 2:4 SPARQ array (pipeline 2): measured =
/// predicted cycles on each of the four layers, 0 mismatches.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn digits_pruned_to_2_of_4_on_a_2_of_4_array() {
    crate::util::need(&[sparqgen::tools::Tool::Verilator]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/digits");
    let plan = sparqgen::net::load(&dir.join("digits_int8.onnx")).unwrap();
    let x = sparqgen::npy::read_f32(&dir.join("x_test.npy"), "x").unwrap();
    let d = designs().pop().unwrap();
    assert!(d.sparq().is_some_and(|s| s.stc));
    let p = for_design(&plan, &d);
    let e = run_checked(&p, &d, &x, 64, None);
    assert_eq!(e.layers.len(), 4);
    for l in &e.layers {
        eprintln!(
            "digits 2:4 on {}: {} {} cycles = predicted",
            d.name(),
            l.name,
            l.cycles
        );
    }
}
