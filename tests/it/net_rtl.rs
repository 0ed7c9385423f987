//! `net --rtl`: network layers tiled on the generated RTL under Verilator,
//! every output compared with the model, cycles against the cycle model.
//!
//! The tiling edge cases drive [`RtlEngine`] directly with synthetic layers
//! (random weights and activations) on the default 8x8 SPARQ array and a
//! 16-lane dot unit, the two harnesses the digits runs below also use.

use crate::util::run;
use crate::verify::cache_dir;
use sparqgen::arith::Tensor;
use sparqgen::config::Design;
use sparqgen::net::rtl::{RtlEngine, RtlOptions};
use sparqgen::net::{MacKind, MacLayer};
use sparqgen::sim::Dut;
use sparqgen::tools::Tool;
use sparqgen::workload::Rng;
use std::path::{Path, PathBuf};

fn config(name: &str) -> Design {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name);
    Design::from_path(&p).unwrap()
}

fn sa8() -> Design {
    config("default.yaml")
}

fn dot16() -> Design {
    config("sparq_3b_dot16.yaml")
}

/// A conv layer `c -> o` channels with random weights (`kind` Dense: `c`
/// inputs).
fn layer(kind: MacKind, c: usize, o: usize, seed: u64) -> MacLayer {
    let (groups, k) = match kind {
        MacKind::Conv { kh, kw, groups, .. } => (groups, kh * kw * c / groups),
        MacKind::Dense => (1, c),
    };
    let mut rng = Rng::new(seed);
    let og = o / groups;
    let weights = (0..groups)
        .map(|_| {
            Tensor::new(
                vec![og, k],
                (0..og * k).map(|_| rng.next_u64() as i8).collect(),
            )
        })
        .collect();
    MacLayer {
        name: "t".into(),
        op: "Conv".into(),
        kind,
        in_channels: c,
        out_channels: o,
        weights,
        bias: vec![0; o],
        w_scale: vec![1.0; o],
    }
}

fn conv(k: usize, stride: usize, pad: usize, groups: usize) -> MacKind {
    MacKind::Conv {
        kh: k,
        kw: k,
        stride: [stride; 2],
        pads: [pad; 4],
        groups,
    }
}

fn input(shape: &[usize], seed: u64) -> Tensor<u8> {
    let mut rng = Rng::new(seed);
    let n: usize = shape.iter().product();
    // post-ReLU-like: a third zeros, so vSPARQ's wide path is exercised
    let data = (0..n)
        .map(|_| {
            let v = rng.next_u64();
            if v.is_multiple_of(3) {
                0
            } else {
                (v >> 8) as u8
            }
        })
        .collect();
    Tensor::new(shape.to_vec(), data)
}

fn opts(sample: Option<usize>, k_tile: Option<usize>) -> RtlOptions {
    RtlOptions {
        sample,
        seed: 5,
        k_tile,
        cache_dir: Some(cache_dir()),
    }
}

/// Run `l` on `x` on the design's RTL; every output must match, every
/// layer output must equal the model's, cycles within 5 % of predicted.
/// Returns the engine for further checks.
fn on_rtl(design: &Design, l: &MacLayer, x: &Tensor<u8>, o: RtlOptions) -> RtlEngine {
    let dut = Dut::generate(design).unwrap();
    let mut e = RtlEngine::with_dut(dut, std::slice::from_ref(l), o);
    let y = l.run(0, x, 3, &mut e).unwrap();
    let mut model = sparqgen::net::DesignEngine::new(design, std::slice::from_ref(l));
    let want = l.run(0, x, 3, &mut model).unwrap();
    assert_eq!(y, want);
    let r = &e.layers[0];
    assert_eq!(r.mismatches, 0, "{}: {:#?}", design.name(), r.details);
    assert!(r.checks > 0 && r.tiles_run > 0, "{r:?}");
    assert!(
        r.prediction_error().abs() <= 0.05,
        "{}: measured {} predicted {}",
        design.name(),
        r.cycles,
        r.predicted.total
    );
    e
}

fn both(l: &MacLayer, x: &Tensor<u8>) {
    for d in [sa8(), dot16()] {
        on_rtl(&d, l, x, opts(None, None));
    }
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn k_not_a_multiple_of_the_pair_size() {
    crate::util::need(&[Tool::Verilator]);
    // 1x1 conv over 3 channels: K = 3, the last activation pairs with a zero
    let l = layer(conv(1, 1, 0, 1), 3, 5, 1);
    both(&l, &input(&[1, 3, 5, 4], 2));
    // dense K = 7
    let l = layer(MacKind::Dense, 7, 9, 3);
    both(&l, &input(&[11, 7], 4));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn channels_fewer_than_the_array_rows_and_a_1x1_conv() {
    crate::util::need(&[Tool::Verilator]);
    let l = layer(conv(1, 1, 0, 1), 2, 3, 5);
    let x = input(&[2, 2, 3, 3], 6);
    let e = on_rtl(&sa8(), &l, &x, opts(None, None));
    // 18 pixels x 3 channels: 3 row tiles of one column tile, each checking
    // all 8 x 8 results once as they leave the output chain (zeros past the
    // layer's edge)
    let r = &e.layers[0];
    assert_eq!(r.tiles_run, 3);
    assert_eq!(r.checks, 3 * 64);
    assert!(r.predicted.edge > 0, "{:?}", r.predicted);
    on_rtl(&dot16(), &l, &x, opts(None, None));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn depthwise_conv_runs_every_group() {
    crate::util::need(&[Tool::Verilator]);
    let l = layer(conv(3, 1, 1, 6), 6, 6, 7);
    let x = input(&[1, 6, 5, 5], 8);
    let e = on_rtl(&sa8(), &l, &x, opts(None, None));
    // six groups of 25 pixels x 1 channel: 4 row tiles each
    assert_eq!(e.layers[0].tiles_run, 6 * 4);
    on_rtl(&dot16(), &l, &x, opts(None, None));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn a_layer_smaller_than_one_tile() {
    crate::util::need(&[Tool::Verilator]);
    let l = layer(MacKind::Dense, 10, 3, 9);
    let x = input(&[2, 10], 10);
    let e = on_rtl(&sa8(), &l, &x, opts(None, None));
    assert_eq!(e.layers[0].tiles_run, 1);
    // one tile: 5 pair steps, stalled to the 8-cycle drain, then the
    // 14-cycle fill and the last row's 7 more results
    assert_eq!(e.layers[0].cycles, 8 + 14 + 7);
    on_rtl(&dot16(), &l, &x, opts(None, None));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn stride_two_with_padding() {
    crate::util::need(&[Tool::Verilator]);
    let l = layer(conv(3, 2, 1, 1), 4, 10, 11);
    both(&l, &input(&[2, 4, 7, 6], 12));
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn partial_sums_across_k_tiles_add_up_to_the_model() {
    crate::util::need(&[Tool::Verilator]);
    // K = 3*3*5 = 45 cut into chunks of 8: six chunks of 8 and one of 5
    let l = layer(conv(3, 1, 0, 1), 5, 9, 13);
    let x = input(&[1, 5, 6, 6], 14);
    for d in [sa8(), dot16()] {
        let e = on_rtl(&d, &l, &x, opts(None, Some(8)));
        let one = on_rtl(&d, &l, &x, opts(None, None));
        // every K chunk is a tile of its own: more cycles than one pass
        assert!(e.layers[0].cycles > one.layers[0].cycles);
    }
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn sampled_tiles_are_seeded_and_counted() {
    crate::util::need(&[Tool::Verilator]);
    let l = layer(conv(3, 1, 1, 1), 8, 16, 15);
    let x = input(&[2, 8, 9, 9], 16);
    let e = on_rtl(&sa8(), &l, &x, opts(Some(3), None));
    let r = &e.layers[0];
    // 162 pixels x 16 channels: 21 x 2 tiles, 3 of them run
    assert_eq!((r.tiles, r.tiles_run), (42, 3));
    assert_eq!(r.checks, 3 * 64);
    let again = on_rtl(&sa8(), &l, &x, opts(Some(3), None));
    assert_eq!(again.layers[0].cycles, r.cycles);
}

/// The harness must catch an RTL that computes the wrong thing: an
/// accumulator that subtracts fails with the layer and tile named.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn a_broken_accumulator_is_caught_with_layer_and_tile() {
    crate::util::need(&[Tool::Verilator]);
    let design = sa8();
    let mut dut = Dut::generate(&design).unwrap();
    let from = "acc_d = clear_i ? sum_ext : acc_q + sum_ext;";
    let mut hit = false;
    for (_, text) in dut.sources.iter_mut() {
        let s = String::from_utf8(text.clone()).unwrap();
        if s.contains(from) {
            *text = s
                .replace(from, "acc_d = clear_i ? sum_ext : acc_q - sum_ext;")
                .into_bytes();
            hit = true;
        }
    }
    assert!(hit, "the accumulator line is in the generated PE");
    let l = layer(conv(3, 2, 1, 1), 4, 10, 17);
    let x = input(&[1, 4, 7, 6], 18);
    let mut e = RtlEngine::with_dut(dut, std::slice::from_ref(&l), opts(None, None));
    l.run(0, &x, 3, &mut e).unwrap();
    let r = &e.layers[0];
    assert!(r.mismatches > 0);
    let first = &r.details[0];
    assert!(first.contains("layer t group 0 tile"), "{first}");
    assert!(first.contains("RTL") && first.contains("model"), "{first}");
}

/// The stream's spacing is the fewest cycles the RTL allows: tiles of a
/// K shorter than the drain start `drain_cycles` (C) apart; one cycle
/// closer overruns the output chain (results of two tiles collide).
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn tiles_shorter_than_the_drain_stall_exactly_enough() {
    crate::util::need(&[Tool::Verilator]);
    let design = sa8();
    // K = 6 is 3 pair steps against an 8-cycle drain
    let l = layer(MacKind::Dense, 6, 24, 19);
    let x = input(&[19, 6], 5);
    let mismatches = |less: u32| {
        let mut dut = Dut::generate(&design).unwrap();
        dut.ports.drain_cycles -= less;
        let mut e = RtlEngine::with_dut(dut, std::slice::from_ref(&l), opts(None, None));
        l.run(0, &x, 0, &mut e).unwrap();
        e.layers[0].mismatches
    };
    assert_eq!(mismatches(0), 0);
    assert!(mismatches(1) > 0, "tiles one cycle closer must fail");
}

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/digits")
}

fn net_rtl(design: &str, extra: &[&str], dir: &Path) -> serde_json::Value {
    let model = digits().join("digits_int8.onnx");
    let x = digits().join("x_test.npy");
    let d = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(design);
    let mut args = vec![
        "net",
        model.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--design",
        d.to_str().unwrap(),
        "--rtl",
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = crate::util::bin()
        .args(&args)
        .current_dir(dir)
        .env("SPARQGEN_CACHE", cache_dir())
        .output()
        .unwrap();
    let r = crate::util::Run { out };
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    serde_json::from_str(&r.stdout()).unwrap()
}

fn check_layers(v: &serde_json::Value, full: bool) {
    let layers = v["designs"][0]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    for l in layers {
        let r = &l["rtl"];
        assert_eq!(r["mismatches"], 0, "{l}");
        assert!(r["checks"].as_u64().unwrap() > 0, "{l}");
        let (c, p) = (
            r["cycles"].as_f64().unwrap(),
            r["predicted_cycles"].as_f64().unwrap(),
        );
        assert!((c / p - 1.0).abs() <= 0.05, "{l}");
        let u = r["utilization"].as_f64().unwrap();
        assert!(u > 0.0 && u <= 1.0, "{l}");
        if full {
            assert_eq!(r["tiles"], r["tiles_run"], "{l}");
            assert_eq!(r["cycles"], r["layer_predicted_cycles"], "{l}");
        }
    }
}

/// The digits network, all 500 test images, every tile: on the 8x8 SPARQ
/// array and on the 16-lane dot unit.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn digits_end_to_end_on_an_8x8_array_and_a_16_lane_dot_unit() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    for d in ["default.yaml", "sparq_3b_dot16.yaml"] {
        let v = net_rtl(d, &[], dir.path());
        check_layers(&v, d == "default.yaml");
    }
}

/// The baselines' encodings (mac8x8 one activation per cycle, mac4x8 4-bit
/// codes) on sampled tiles.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn digits_sampled_on_the_baseline_arrays() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    for d in ["mac8x8_sa8x8.yaml", "mac4x8_sa8x8.yaml"] {
        let v = net_rtl(d, &["--rtl-sample", "6", "--rtl-seed", "9"], dir.path());
        check_layers(&v, false);
        assert_eq!(v["designs"][0]["rtl"]["seed"], 9);
        for l in v["designs"][0]["layers"].as_array().unwrap() {
            assert_eq!(l["rtl"]["tiles_run"], 6, "{l}");
        }
    }
}

#[test]
fn rtl_sample_needs_rtl() {
    let dir = tempfile::tempdir().unwrap();
    let model = digits().join("digits_int8.onnx");
    let x = digits().join("x_test.npy");
    let r = run(
        &[
            "net",
            model.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--rtl-sample",
            "3",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--rtl"), "{}", r.stderr());
    let r = run(
        &[
            "net",
            model.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--rtl",
            "--rtl-sample",
            "0",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--rtl-sample 0"), "{}", r.stderr());
}

/// The cycle model's flush and latency are the generator's (manifest)
/// numbers for every array shape and pipeline depth.
#[test]
fn the_cycle_model_times_arrays_as_the_manifest_does() {
    use sparqgen::cycles::{Dataflow, Timing};
    for (array, pipe) in [
        ("{kind: systolic, rows: 8, cols: 8}", 0),
        ("{kind: systolic, rows: 3, cols: 5}", 1),
        ("{kind: systolic, rows: 16, cols: 4}", 2),
        ("{kind: dot, lanes: 16}", 1),
        ("{kind: dot, lanes: 4}", 2),
        ("{kind: single}", 0),
    ] {
        let d = Design::from_yaml(&format!(
            "name: t\npe: {{kind: sparq, pipeline: {pipe}}}\narray: {array}\n"
        ))
        .unwrap();
        let dut = Dut::generate(&d).unwrap();
        match Timing::of(&d).dataflow {
            Dataflow::Systolic { flush, .. } => {
                assert_eq!(flush, u64::from(dut.ports.flush_cycles), "{array} {pipe}")
            }
            Dataflow::Dot { latency, .. } => {
                assert_eq!(
                    latency,
                    u64::from(dut.ports.latency_cycles),
                    "{array} {pipe}"
                )
            }
        }
    }
}

/// `hcm`'s compute cycles for a network (batch 1) are the cycles the RTL
/// took for it under `net --rtl`, layer by layer; its compute time follows
/// the clock a user or a synthesis report gives.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn hcm_cycles_are_the_cycles_the_rtl_takes() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let x = sparqgen::npy::read_f32(&digits().join("x_test.npy"), "x").unwrap();
    let per: usize = x.shape[1..].iter().product();
    let one = Tensor::new(
        [&[1usize][..], &x.shape[1..]].concat(),
        x.data[..per].to_vec(),
    );
    let x1 = dir.path().join("x1.npy");
    sparqgen::npy::write_f32(&x1, &one).unwrap();
    let model = digits().join("digits_int8.onnx");
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.yaml");
    let (m, d) = (model.to_str().unwrap(), design.to_str().unwrap());
    let out = crate::util::bin()
        .args(["net", m, "--input", x1.to_str().unwrap(), "--design", d])
        .args(["--rtl", "--json"])
        .env("SPARQGEN_CACHE", cache_dir())
        .output()
        .unwrap();
    let r = crate::util::Run { out };
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let net: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    let hcm_json = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["hcm", m, "--design", d, "--area-model", "none", "--json"];
        args.extend_from_slice(extra);
        let r = run(&args, dir.path());
        assert_eq!(r.code(), 0, "{}", r.stderr());
        serde_json::from_str(&r.stdout()).unwrap()
    };
    let h = hcm_json(&[]);
    let (nl, hl) = (
        net["designs"][0]["layers"].as_array().unwrap(),
        h["layers"].as_array().unwrap(),
    );
    assert_eq!(nl.len(), hl.len());
    for (a, b) in nl.iter().zip(hl) {
        assert_eq!(a["rtl"]["cycles"], b["cycles"], "{a}\n{b}");
        assert_eq!(a["rtl"]["mismatches"], 0);
    }
    // a clock from a synthesis report: compute time = cycles / Fmax
    std::fs::write(
        dir.path().join("s.json"),
        r#"{"ice40": {"fmax_mhz": 50.0}}"#,
    )
    .unwrap();
    let h = hcm_json(&["--synth-json", "s.json"]);
    let l = &h["layers"][0];
    let t = l["cycles"].as_f64().unwrap() / 50e6;
    assert!((l["compute_s"].as_f64().unwrap() - t).abs() < 1e-12, "{l}");
    let h = hcm_json(&["--clock-mhz", "400"]);
    assert_eq!(h["hw"]["clock_mhz"], 400.0);
    std::fs::write(
        dir.path().join("n.json"),
        r#"{"ice40": {"fmax_mhz": null}}"#,
    )
    .unwrap();
    let r = run(
        &[
            "hcm",
            m,
            "--design",
            d,
            "--area-model",
            "none",
            "--synth-json",
            "n.json",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("ice40.fmax_mhz"), "{}", r.stderr());
}

/// 2:4 weights on a pipelined 4x4 array of 2:4 SPARQ PEs: groups of four
/// along K (K = 27 leaves a group of three), K chunks at multiples of four.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn two_of_four_weights_on_a_pipelined_stc_array() {
    crate::util::need(&[Tool::Verilator]);
    let d = Design::from_yaml(
        "name: stc_sa4x4\npe: {kind: sparq, stc: true, pipeline: 1}\n\
         array: {kind: systolic, rows: 4, cols: 4}\n",
    )
    .unwrap();
    let mut l = layer(conv(3, 2, 1, 1), 3, 6, 21);
    let mut rng = Rng::new(22);
    for w in &mut l.weights {
        let k = w.shape[1];
        for row in w.data.chunks_mut(k) {
            for g in row.chunks_mut(4) {
                // keep at most two of each four, at random places
                let keep = [rng.next_u64() as usize % 4, rng.next_u64() as usize % 4];
                for (i, v) in g.iter_mut().enumerate() {
                    if !keep.contains(&i) {
                        *v = 0;
                    }
                }
            }
        }
    }
    let x = input(&[2, 3, 6, 5], 23);
    on_rtl(&d, &l, &x, opts(None, None));
    on_rtl(&d, &l, &x, opts(None, Some(8)));
    on_rtl(&d, &l, &x, opts(Some(4), Some(12)));
}

/// `net --rtl --rtl-folder` runs an edited folder: an accumulator that
/// subtracts makes `net` exit 1 naming the layer, the tile and the first
/// failing outputs; the unedited folder passes.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn an_edited_folder_fails_net_rtl_with_exit_1() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let design = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/default.yaml");
    let g = run(
        &["generate", design.to_str().unwrap(), "-o", "out"],
        dir.path(),
    );
    assert_eq!(g.code(), 0, "{}", g.stderr());
    let model = digits().join("digits_int8.onnx");
    let x = digits().join("x_test.npy");
    let net = |dir: &Path| {
        let out = crate::util::bin()
            .args([
                "net",
                model.to_str().unwrap(),
                "--input",
                x.to_str().unwrap(),
            ])
            .args([
                "--rtl",
                "--rtl-folder",
                "out/sparq_sa8x8",
                "--rtl-sample",
                "2",
            ])
            .current_dir(dir)
            .env("SPARQGEN_CACHE", cache_dir())
            .output()
            .unwrap();
        crate::util::Run { out }
    };
    let r = net(dir.path());
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let pe = dir.path().join("out/sparq_sa8x8/sparq_sa8x8_pe.v");
    let text = std::fs::read_to_string(&pe).unwrap();
    let from = "acc_d = clear_i ? sum_ext : acc_q + sum_ext;";
    assert!(text.contains(from));
    std::fs::write(
        &pe,
        text.replace(from, "acc_d = clear_i ? sum_ext : acc_q - sum_ext;"),
    )
    .unwrap();
    let r = net(dir.path());
    assert_eq!(r.code(), 1, "{}", r.stderr());
    let err = r.stderr();
    assert!(err.contains("layer conv1 (Conv):"), "{err}");
    assert!(err.contains("layer conv1 group 0 tile ("), "{err}");
    assert!(err.contains("RTL") && err.contains("!= model"), "{err}");
    assert!(
        err.contains("outputs of the RTL differ from the model"),
        "{err}"
    );
}
