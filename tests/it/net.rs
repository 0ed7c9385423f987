//! `sparqgen net`: the mac8x8 path against ONNX Runtime's stored outputs
//! (made by scripts/make_digits_net.py; ORT is not needed here), SPARQ
//! statistics against `arith` on a real layer, and the error cases.

use crate::util::{run, write, write_npy};
use onnx_protobuf::{Message, ModelProto};
use sparqgen::arith::{ErrorStats, Model, Tensor};
use sparqgen::config::Design;
use sparqgen::net::onnx::{self, ConstData};
use sparqgen::npy;
use std::path::{Path, PathBuf};

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/digits")
}

fn scalar(model: &Path, name: &str) -> f32 {
    let g = onnx::read(model).unwrap();
    g.consts[name].as_f32()[0]
}

/// Run `net` with a mac8x8 design and compare its output with ORT's.
/// `step`: the output's quantization step (None: a float output).
fn against_ort(model: &str, x: &str, ort: &str, step: Option<f32>) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "exact.yaml",
        "name: exact\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    let m = digits().join(model);
    let out = d.join("y.npy");
    let r = run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            digits().join(x).to_str().unwrap(),
            "--design",
            "exact.yaml",
            "--out",
            out.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let ours = npy::read_f32(&out, "ours").unwrap();
    let theirs = npy::read_f32(&digits().join(ort), "ORT").unwrap();
    assert_eq!(ours.shape, theirs.shape);
    let mut same = 0;
    for (a, b) in ours.data.iter().zip(&theirs.data) {
        match step {
            Some(s) => {
                let steps = ((a - b) / s).abs();
                assert!(steps < 1.5, "{model}: {a} vs ORT {b}: {steps} steps");
                same += usize::from(steps < 0.5);
            }
            None => {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1e-3),
                    "{model}: {a} vs {b}"
                );
                same += 1;
            }
        }
    }
    let share = same as f64 / ours.data.len() as f64;
    assert!(
        share >= 0.99,
        "{model}: only {:.2} % identical to ORT",
        share * 100.0
    );
}

#[test]
fn mac8x8_reproduces_onnx_runtime_qdq() {
    let s = scalar(&digits().join("digits_int8.onnx"), "logits_scale");
    against_ort("digits_int8.onnx", "x_test.npy", "ort_out.npy", Some(s));
}

#[test]
fn mac8x8_reproduces_onnx_runtime_qoperator() {
    let s = scalar(&digits().join("digits_qop.onnx"), "logits_scale");
    against_ort("digits_qop.onnx", "x_test.npy", "ort_out_qop.npy", Some(s));
}

#[test]
fn mac8x8_reproduces_onnx_runtime_on_grouped_depthwise_concat_softmax() {
    against_ort("ops_int8.onnx", "ops_x.npy", "ops_ort_out.npy", None);
}

fn json_run(args: &[&str], dir: &Path) -> serde_json::Value {
    let r = run(args, dir);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    serde_json::from_str(&r.stdout()).expect("one JSON object")
}

#[test]
fn sparq_layer_statistics_match_arith_on_the_first_conv() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let yaml =
        "name: s\npe: {kind: sparq, placements: 3, rounding: truncate}\narray: {kind: single}\n";
    write(d, "s.yaml", yaml);
    let m = digits().join("digits_int8.onnx");
    let x = digits().join("x_test.npy");
    let j = json_run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            x.to_str().unwrap(),
            "--design",
            "s.yaml",
            "--json",
        ],
        d,
    );
    let layer = &j["designs"][0]["layers"][0];
    assert_eq!(layer["name"], "conv1");

    // the same layer, independently: quantize the images, convolve with
    // the int8 weights through arith (exact and the design)
    let g = onnx::read(&m).unwrap();
    let (s, zp) = (
        g.consts["input_scale"].as_f32()[0],
        &g.consts["input_zero_point"],
    );
    assert_eq!(zp.data, ConstData::U8(vec![0]), "the input zero point is 0");
    let xf = npy::read_f32(&x, "x").unwrap();
    let xq: Vec<u8> = xf
        .data
        .iter()
        .map(|v| (v / s).round_ties_even().clamp(0.0, 255.0) as u8)
        .collect();
    let xq = Tensor::new(xf.shape.clone(), xq);
    let w = &g.consts["conv1.w_quantized"];
    let ConstData::I8(wd) = &w.data else {
        panic!("int8 weights")
    };
    let w = Tensor::new(w.dims.clone(), wd.clone());
    let exact = Model::exact().conv2d(&xq, &w, 1, 1).unwrap();
    let design = Design::from_yaml(yaml).unwrap();
    let ours = Model::new(&design).conv2d(&xq, &w, 1, 1).unwrap();
    let stats = ErrorStats::compare(&exact.data, &ours.data);
    assert!(stats.mismatches > 0, "3opt truncate trims something");
    let got = layer["sqnr_db"].as_f64().unwrap();
    assert!(
        (got - stats.sqnr_db).abs() < 1e-6,
        "{got} vs arith {}",
        stats.sqnr_db
    );
    let n = xf.shape[0];
    assert_eq!(layer["macs"].as_u64().unwrap(), (64 * 9 * 16) as u64);
    assert_eq!(j["designs"][0]["images"].as_u64().unwrap(), n as u64);

    // wide-pair share: one input channel, so K = 9 taps (i, j) row-major,
    // pairs (0,1) (2,3) (4,5) (6,7) (8,pad); padding reads 0
    let (mut pairs, mut wide) = (0u64, 0u64);
    for b in 0..n {
        for oh in 0..8isize {
            for ow in 0..8isize {
                let tap = |t: usize| -> u8 {
                    if t >= 9 {
                        return 0;
                    }
                    let (y, xx) = (oh + (t / 3) as isize - 1, ow + (t % 3) as isize - 1);
                    if !(0..8).contains(&y) || !(0..8).contains(&xx) {
                        0
                    } else {
                        xq.data[b * 64 + (y * 8 + xx) as usize]
                    }
                };
                for p in 0..5 {
                    pairs += 1;
                    wide += u64::from((tap(2 * p) == 0) != (tap(2 * p + 1) == 0));
                }
            }
        }
    }
    let share = layer["wide_pair_share"].as_f64().unwrap();
    assert!(
        (share - wide as f64 / pairs as f64).abs() < 1e-12,
        "{share}"
    );
}

#[test]
fn default_designs_compare_exact_sparq_and_mac4x8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = digits().join("digits_int8.onnx");
    let j = json_run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            digits().join("x_test.npy").to_str().unwrap(),
            "--labels",
            digits().join("y_test.npy").to_str().unwrap(),
            "--json",
        ],
        d,
    );
    let ds = j["designs"].as_array().unwrap();
    let pes: Vec<&str> = ds.iter().map(|d| d["pe"].as_str().unwrap()).collect();
    assert_eq!(pes, ["mac8x8", "sparq 5opt round", "mac4x8"]);
    assert_eq!(ds[0]["agreement"].as_f64(), Some(1.0));
    assert!(ds[0]["top1"].as_f64().unwrap() > 0.95);
    for l in ds[0]["layers"].as_array().unwrap() {
        assert!(l["sqnr_db"].is_null(), "exact is exact");
    }
    for l in ds[1]["layers"].as_array().unwrap() {
        let sq = l["sqnr_db"].as_f64().unwrap();
        assert!(sq > 20.0 && sq < 80.0, "SPARQ trims: {sq}");
        let w = l["wide_pair_share"].as_f64().unwrap();
        assert!(w > 0.0 && w < 1.0);
    }
    assert_eq!(j["layer_stats"], true);
    assert!(j.get("layer_stats_note").is_none());

    // without layer statistics: the same outputs (top-1, agreement with
    // exact int8), the statistics null and said why
    let off = json_run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            digits().join("x_test.npy").to_str().unwrap(),
            "--labels",
            digits().join("y_test.npy").to_str().unwrap(),
            "--layer-stats",
            "off",
            "--json",
        ],
        d,
    );
    assert_eq!(off["layer_stats"], false);
    let note = off["layer_stats_note"].as_str().unwrap();
    assert!(note.contains("--layer-stats off"), "{note}");
    let dso = off["designs"].as_array().unwrap();
    assert_eq!(dso.len(), ds.len());
    for (a, b) in ds.iter().zip(dso) {
        assert_eq!(a["top1"], b["top1"]);
        assert_eq!(a["agreement"], b["agreement"]);
        for (la, lb) in a["layers"]
            .as_array()
            .unwrap()
            .iter()
            .zip(b["layers"].as_array().unwrap())
        {
            assert_eq!(la["macs"], lb["macs"]);
            assert!(lb["sqnr_db"].is_null() && lb["wide_pair_share"].is_null());
        }
    }
    let bad = run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            "x.npy",
            "--layer-stats",
            "maybe",
        ],
        d,
    );
    assert_eq!(bad.code(), 2);
    assert!(
        bad.stderr().contains("on") && bad.stderr().contains("off"),
        "{}",
        bad.stderr()
    );
}

/// Rewrite the digits model with `edit` and run `net` on it.
fn edited(edit: impl Fn(&mut ModelProto), x: Option<&Path>) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bytes = std::fs::read(digits().join("digits_int8.onnx")).unwrap();
    let mut m = ModelProto::parse_from_bytes(&bytes).unwrap();
    edit(&mut m);
    std::fs::write(d.join("m.onnx"), m.write_to_bytes().unwrap()).unwrap();
    let xp = x.map_or(digits().join("x_test.npy"), Path::to_path_buf);
    run(&["net", "m.onnx", "--input", xp.to_str().unwrap()], d)
}

#[test]
fn a_float_model_is_refused_with_the_quantize_command() {
    // the float graph: conv1 reads its float weights directly
    let r = edited(
        |m| {
            let g = m.graph.as_mut().unwrap();
            for n in g.node.iter_mut().filter(|n| n.name == "conv1") {
                n.input[1] = "conv1.w_scale".into();
            }
        },
        None,
    );
    assert_eq!(r.code(), 2);
    let e = r.stderr();
    assert!(e.contains("float model that was never quantized"), "{e}");
    assert!(e.contains("conv1"), "{e}");
    assert!(e.contains("quantize_static"), "{e}");
}

#[test]
fn an_unsupported_op_names_node_and_op() {
    let r = edited(
        |m| {
            let g = m.graph.as_mut().unwrap();
            for n in g.node.iter_mut().filter(|n| n.name == "maxpool") {
                n.op_type = "LpPool".into();
            }
        },
        None,
    );
    assert_eq!(r.code(), 2);
    let e = r.stderr();
    assert!(e.contains("\"maxpool\"") && e.contains("LpPool"), "{e}");
}

#[test]
fn a_weight_zero_point_other_than_zero_is_refused() {
    let r = edited(
        |m| {
            let g = m.graph.as_mut().unwrap();
            for t in g
                .initializer
                .iter_mut()
                .filter(|t| t.name == "conv2.w_zero_point")
            {
                if t.raw_data.is_empty() {
                    t.int32_data[3] = 5;
                } else {
                    t.raw_data[3] = 5;
                }
            }
        },
        None,
    );
    assert_eq!(r.code(), 2);
    let e = r.stderr();
    assert!(
        e.contains("conv2") && e.contains("weight zero point 5"),
        "{e}"
    );
}

#[test]
fn input_shape_and_dtype_mismatches_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let body: Vec<u8> = vec![0; 2 * 81 * 4];
    let x = write_npy(d, "x9.npy", "<f4", "(2, 1, 9, 9)", &body);
    let r = edited(|_| {}, Some(&x));
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("input shape [2, 1, 9, 9] does not match"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("[?, 1, 8, 8]"), "{}", r.stderr());
    let xi = write_npy(d, "xi.npy", "|u1", "(1, 1, 8, 8)", &[0; 64]);
    let r = edited(|_| {}, Some(&xi));
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("dtype '|u1' (uint8) is not allowed"),
        "{}",
        r.stderr()
    );
}

fn hcm_totals(net: &str, dir: &Path) -> serde_json::Value {
    let j = json_run(&["hcm", net, "--json", "--area-model", "none"], dir);
    assert_eq!(j["layers"].as_array().unwrap().len(), 21, "{net}");
    j["total"].clone()
}

#[test]
fn hcm_takes_resnet18_shapes_from_an_onnx_graph() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = d.join("resnet18_int8.onnx");
    std::fs::write(&m, sparqgen::net::synthetic::resnet18_int8(3)).unwrap();
    let ours = hcm_totals(m.to_str().unwrap(), d);
    let table = hcm_totals("resnet18", d);
    assert_eq!(ours["macs"], table["macs"]);
    assert_eq!(ours["macs"].as_u64(), Some(1_814_073_344));
    assert_eq!(ours["bops"], table["bops"]);
    assert_eq!(ours["bits"], table["bits"]);
    assert_eq!(ours["time_s"], table["time_s"]);
}

#[test]
fn acts_written_by_net_are_read_by_hcm_on_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let m = digits().join("digits_int8.onnx");
    let r = run(
        &[
            "net",
            m.to_str().unwrap(),
            "--input",
            digits().join("x_test.npy").to_str().unwrap(),
            "--design",
            digits()
                .join("../../configs/net/mac8x8.yaml")
                .to_str()
                .unwrap(),
            "--acts",
            "acts",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let conv2 = npy::read::<u8>(&d.join("acts/conv2.npy"), "acts", 4).unwrap();
    assert_eq!(conv2.shape, [500, 16, 8, 8]);
    let fc = npy::read::<u8>(&d.join("acts/fc.npy"), "acts", 2).unwrap();
    assert_eq!(fc.shape, [500, 128]);
    let r = run(
        &[
            "hcm",
            m.to_str().unwrap(),
            "--acts",
            "acts",
            "--design",
            digits()
                .join("../../configs/default.yaml")
                .to_str()
                .unwrap(),
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stdout()
            .contains("zero fraction measured for 4 of 4 layers"),
        "{}",
        r.stdout()
    );
}

#[test]
fn a_constant_bias_added_after_the_classifier_broadcasts() {
    // Gemm -> Add(bias row of 3 output steps) -> QuantizeLinear: every logit
    // moves up by three steps (saturation aside)
    let s = scalar(&digits().join("digits_int8.onnx"), "logits_scale");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bytes = std::fs::read(digits().join("digits_int8.onnx")).unwrap();
    let mut m = ModelProto::parse_from_bytes(&bytes).unwrap();
    let g = m.graph.as_mut().unwrap();
    let fc = g.node.iter_mut().find(|n| n.name == "fc").unwrap();
    let q_in = fc.output[0].clone();
    fc.output[0] = "fc_raw".into();
    let mut add = onnx_protobuf::NodeProto::new();
    add.op_type = "Add".into();
    add.name = "extra_bias".into();
    add.input = vec!["fc_raw".into(), "extra".into()];
    add.output = vec![q_in];
    let at = g.node.iter().position(|n| n.name == "fc").unwrap();
    g.node.insert(at + 1, add);
    let mut t = onnx_protobuf::TensorProto::new();
    t.name = "extra".into();
    t.dims = vec![10];
    t.data_type = 1;
    t.float_data = vec![3.0 * s; 10];
    g.initializer.push(t);
    std::fs::write(d.join("m.onnx"), m.write_to_bytes().unwrap()).unwrap();
    write(
        d,
        "e.yaml",
        "name: e\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    let x = digits().join("x_test.npy");
    for (model, out) in [
        ("m.onnx", "y.npy"),
        (
            digits().join("digits_int8.onnx").to_str().unwrap(),
            "y0.npy",
        ),
    ] {
        let r = run(
            &[
                "net",
                model,
                "--input",
                x.to_str().unwrap(),
                "--design",
                "e.yaml",
                "--out",
                out,
            ],
            d,
        );
        assert_eq!(r.code(), 0, "{}", r.stderr());
    }
    let y = npy::read_f32(&d.join("y.npy"), "y").unwrap();
    let y0 = npy::read_f32(&d.join("y0.npy"), "y0").unwrap();
    let zp = scalar(&digits().join("digits_int8.onnx"), "logits_zero_point");
    let mut exact = 0;
    for (a, b) in y.data.iter().zip(&y0.data) {
        let top = (255.0 - zp) * s;
        let want = (b + 3.0 * s).min(top);
        let steps = ((a - want) / s).abs();
        assert!(steps < 1.5, "{a} vs {want}");
        exact += usize::from(steps < 0.5);
    }
    assert!(
        exact * 100 >= 99 * y.data.len(),
        "{exact} of {}",
        y.data.len()
    );
}

#[test]
fn a_resnet18_shaped_graph_runs_and_sparq_differs_from_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("r18.onnx"),
        sparqgen::net::synthetic::resnet18_int8(5),
    )
    .unwrap();
    let mut v = 1u32;
    let body: Vec<u8> = (0..3 * 224 * 224)
        .flat_map(|_| {
            v = v.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (f32::from((v >> 16) as u16) / 16384.0).to_le_bytes()
        })
        .collect();
    write_npy(d, "x.npy", "<f4", "(1, 3, 224, 224)", &body);
    write(
        d,
        "e.yaml",
        "name: e\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    write(
        d,
        "s.yaml",
        "name: s\npe: {kind: sparq}\narray: {kind: single}\n",
    );
    let mut outs = vec![];
    for design in ["e.yaml", "s.yaml"] {
        let out = format!("{design}.npy");
        let j = json_run(
            &[
                "net", "r18.onnx", "--input", "x.npy", "--design", design, "--out", &out, "--json",
            ],
            d,
        );
        let layers = j["designs"][0]["layers"].as_array().unwrap().clone();
        assert_eq!(layers.len(), 21);
        let macs: u64 = layers.iter().map(|l| l["macs"].as_u64().unwrap()).sum();
        assert_eq!(macs, 1_814_073_344);
        outs.push((npy::read_f32(&d.join(&out), "y").unwrap(), layers));
    }
    assert_eq!(outs[0].0.shape, [1, 1000]);
    assert!(
        outs[0].0.data.iter().any(|&v| v != 0.0),
        "logits are not all zero"
    );
    let differ = outs[0]
        .0
        .data
        .iter()
        .zip(&outs[1].0.data)
        .filter(|(a, b)| a != b)
        .count();
    assert!(differ > 0, "SPARQ trims somewhere");
    for l in &outs[1].1 {
        assert!(l["sqnr_db"].as_f64().unwrap() > 20.0, "{l}");
    }
}

/// `bench net MODEL --input X --compare-ort` on the digits CNN: ORT's
/// output must equal exact int8's bit for bit and each design gets its
/// ratio; without python3 (an empty PATH) it stops with exit 2 and the
/// install command instead of timing half the comparison.
#[test]
fn bench_net_compare_ort_on_the_digits_cnn() {
    let dir = tempfile::tempdir().unwrap();
    let m = digits().join("digits_int8.onnx");
    let x = digits().join("x_test.npy");
    let args = [
        "bench",
        "net",
        m.to_str().unwrap(),
        "--input",
        x.to_str().unwrap(),
        "--compare-ort",
        "--rounds",
        "2",
    ];
    let have_ort = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, onnx, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if have_ort {
        let r = run(&args, dir.path());
        assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
        let out = r.stdout();
        assert!(
            out.contains("ORT's output equals exact int8's bit for bit on all 5000 values"),
            "{out}"
        );
        // 8 batches of 64 on more than one thread run side by side, and
        // ORT is timed both ways (one way on a one-core machine)
        assert!(
            out.contains("ONNX Runtime (one batch at a time): 500 images"),
            "{out}"
        );
        if out.contains("batches side by side, one thread each") {
            assert!(
                out.contains("ONNX Runtime (batches side by side): 500 images"),
                "{out}"
            );
        }
        let ratios = out.lines().filter(|l| l.contains("x ORT (best)")).count();
        assert_eq!(
            ratios, 3,
            "mac8x8 and the default SPARQ design with and without layer statistics: {out}"
        );
        for label in ["layer stats on", "layer stats off"] {
            assert_eq!(
                out.lines()
                    .filter(|l| l.contains("sparq 5opt round") && l.contains(label))
                    .count(),
                1,
                "{label}: {out}"
            );
        }
    }
    let r = crate::util::bin()
        .args(args)
        .env("PATH", "")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert!(err.contains("pip install onnxruntime onnx"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// One engine kept across two imports whose layer 1 has other weights
/// (conv2's negated): the second plan's GEMMs use its own weights (the
/// engine trusts weights it checked only within one plan), so the outputs
/// equal a fresh engine's, and differ from the first plan's.
#[test]
fn an_engine_kept_across_plans_packs_each_plans_weights() {
    let bytes = std::fs::read(digits().join("digits_int8.onnx")).unwrap();
    let mut m = ModelProto::parse_from_bytes(&bytes).unwrap();
    let g = m.graph.as_mut().unwrap();
    let w = g
        .initializer
        .iter_mut()
        .find(|t| t.name == "conv2.w_quantized")
        .unwrap();
    assert!(!w.raw_data.is_empty(), "int8 weights stored raw");
    for b in w.raw_data.iter_mut() {
        *b = (*b as i8).saturating_neg() as u8;
    }
    let a = sparqgen::net::load_bytes(&bytes, "a").unwrap();
    let b = sparqgen::net::load_bytes(&m.write_to_bytes().unwrap(), "b").unwrap();
    assert_ne!(a.id(), b.id());
    let x = npy::read_f32(&digits().join("x_test.npy"), "x").unwrap();
    let x = Tensor::new(vec![64, 1, 8, 8], x.data[..64 * 64].to_vec());
    let design = Design::default_design();
    let mut kept = sparqgen::net::DesignEngine::new(&design, &a.layers);
    let ya = a.run(&x, &mut kept).unwrap();
    let ya2 = a.run(&x, &mut kept).unwrap();
    assert_eq!(ya, ya2, "the same plan twice");
    let yb = b.run(&x, &mut kept).unwrap();
    let mut fresh = sparqgen::net::DesignEngine::new(&design, &b.layers);
    assert_eq!(yb, b.run(&x, &mut fresh).unwrap());
    assert_ne!(ya, yb, "conv2's weights matter");
    // and back: the first plan's weights again
    assert_eq!(a.run(&x, &mut kept).unwrap(), ya);
}

/// Batches run side by side (one thread each, forked engines) give the
/// outputs and the per-layer statistics of batches run one after another,
/// bit for bit, on an uneven share (3 threads, 8 batches of which the last
/// is short), for every PE kind, with and without statistics; a failing
/// run reports the error the sequential run does (a 2:4 design on dense
/// weights).
#[test]
fn batches_side_by_side_equal_batches_in_turn() {
    let plan = sparqgen::net::load(&digits().join("digits_int8.onnx")).unwrap();
    let x = npy::read_f32(&digits().join("x_test.npy"), "x").unwrap();
    let x = Tensor::new(vec![120, 1, 8, 8], x.data[..120 * 64].to_vec());
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let baseline = |kind: &str| {
        Design::from_yaml(&format!(
            "name: {kind}\npe: {{kind: {kind}}}\narray: {{kind: single}}\n"
        ))
        .unwrap()
    };
    let cases = [
        (baseline("mac8x8"), true),
        (baseline("mac4x8"), true),
        (Design::default_design(), true),
        (Design::default_design(), false),
        (
            Design::from_path(Path::new("configs/sparq_3b_dot16.yaml")).unwrap(),
            true,
        ),
    ];
    for (design, stats) in &cases {
        let engine = || {
            let mut e = sparqgen::net::DesignEngine::new(design, &plan.layers);
            e.set_layer_stats(*stats);
            e
        };
        let mut turn = engine();
        let y_turn = sparqgen::net::run_batches(&plan, &x, 16, None, &mut turn).unwrap();
        let mut side = engine();
        // twice: the second run reuses the packed weights and adds to the
        // statistics
        for _ in 0..2 {
            let y = pool
                .install(|| sparqgen::net::run_design_batches(&plan, &x, 16, None, &mut side))
                .unwrap();
            assert_eq!(y, y_turn, "{} (stats {stats})", design.name());
        }
        sparqgen::net::run_batches(&plan, &x, 16, None, &mut turn).unwrap();
        let key = |e: &sparqgen::net::DesignEngine| {
            e.layers
                .iter()
                .map(|l| (l.macs, l.signal, l.noise, l.pairs, l.wide_pairs))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&side), key(&turn), "{} (stats {stats})", design.name());
        assert!(side.layers.iter().all(|l| l.macs > 0));
        if *stats && design.name() != "mac8x8" {
            assert!(
                side.layers.iter().any(|l| l.noise > 0.0),
                "{}",
                design.name()
            );
        }
    }
    let stc = Design::from_path(Path::new("configs/sparq_stc_sa16x16.yaml")).unwrap();
    let mut turn = sparqgen::net::DesignEngine::new(&stc, &plan.layers);
    let e_turn = sparqgen::net::run_batches(&plan, &x, 16, None, &mut turn).unwrap_err();
    let mut side = sparqgen::net::DesignEngine::new(&stc, &plan.layers);
    let e_side = pool
        .install(|| sparqgen::net::run_design_batches(&plan, &x, 16, None, &mut side))
        .unwrap_err();
    assert_eq!(format!("{e_side:#}"), format!("{e_turn:#}"));
}
