//! `sparqgen hcm`: the published MAC totals, the SPARQ roofline flip, bad
//! network files, measured activations, the SVG roofline and the Yosys fit.

use crate::util::{bin, run, write, write_npy, Run};
use serde_json::Value;
use sparqgen::tools::Tool;
use std::path::Path;

fn json(r: &Run) -> Value {
    assert_eq!(r.code(), 0, "stderr: {}", r.stderr());
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("{e}: {}", r.stdout()))
}

#[test]
fn published_mac_totals_within_three_percent() {
    let dir = tempfile::tempdir().unwrap();
    for (net, published) in [
        ("resnet18", 1.81e9),
        ("vgg16", 15.47e9),
        ("mobilenet_v2", 0.30e9),
    ] {
        let v = json(&run(
            &["hcm", net, "--json", "--area-model", "none"],
            dir.path(),
        ));
        let macs = v["total"]["macs"].as_f64().unwrap();
        assert!(
            (macs / published - 1.0).abs() < 0.03,
            "{net}: {macs} vs {published}"
        );
        assert!(v["total"]["bops"].as_f64().unwrap() > macs);
        let layers = v["layers"].as_array().unwrap();
        let sum: f64 = layers.iter().map(|l| l["macs"].as_f64().unwrap()).sum();
        assert_eq!(sum, macs);
        for l in layers {
            assert!(l["verdict"] == "compute" || l["verdict"] == "memory", "{l}");
            assert!(l["intensity"].as_f64().unwrap() > 0.0);
        }
        // the Eyeriss-like preset's own 16-bit array: no design hash
        assert!(v["design_hash"].is_null());
        assert_eq!(v["array"]["pe_count"], 168);
    }
    // the network file on disk gives the same numbers as the built-in name
    let v = json(&run(
        &[
            "hcm",
            concat!(env!("CARGO_MANIFEST_DIR"), "/networks/vgg16.yaml"),
            "--json",
            "--area-model",
            "none",
        ],
        dir.path(),
    ));
    assert_eq!(v["total"]["macs"].as_u64(), Some(15_470_264_320));
}

/// The HCM paper's point, on one layer: compute-bound with 8-bit MACs,
/// memory-bound under SPARQ 4-bit on the same hardware (same PE count,
/// clock, bandwidth and buffer), because SPARQ doubles the activations per
/// PE per cycle while the activations still move at 8 bits.
#[test]
fn sparq_4bit_turns_a_compute_bound_layer_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "net.yaml",
        "name: one\ninput: [64, 28, 28]\nlayers:\n  - {name: conv3x3, type: conv, out: 64, kernel: 3, padding: 1}\n",
    );
    write(
        d,
        "hw.yaml",
        "name: slow_dram\nclock_mhz: 100\nbuffer_kib: 1024\nbandwidth_gbit_s: 0.33\n",
    );
    write(
        d,
        "mac8.yaml",
        "name: m8\npe: {kind: mac8x8}\narray: {kind: systolic, rows: 8, cols: 8}\n",
    );
    write(
        d,
        "sparq.yaml",
        "name: s4\npe: {kind: sparq, window_bits: 4}\narray: {kind: systolic, rows: 8, cols: 8}\n",
    );
    let base = ["hcm", "net.yaml", "--hw", "hw.yaml", "--area-model", "none"];
    let with = |design: &str, extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend(["--design", design]);
        a.extend(extra);
        run(&a, d)
    };
    let m8 = json(&with("mac8.yaml", &["--json"]));
    let s4 = json(&with("sparq.yaml", &["--json"]));
    let (l8, l4) = (&m8["layers"][0], &s4["layers"][0]);
    assert_eq!(l8["verdict"], "compute", "{l8}");
    assert_eq!(l4["verdict"], "memory", "{l4}");
    assert_eq!(l8["traffic"]["total_bits"], l4["traffic"]["total_bits"]);
    assert!(l4["intensity"].as_f64() < l8["intensity"].as_f64());
    assert!(l4["ridge_bops_per_bit"].as_f64() > l8["ridge_bops_per_bit"].as_f64());
    // the SPARQ report carries its own 8-bit baseline and says the layer flipped
    assert_eq!(l4["baseline_8bit"]["verdict"], "compute");
    assert_eq!(s4["total"]["turned_memory_bound"][0], "conv3x3");
    assert_eq!(s4["array"]["pe"]["compute_act_bits"], 4);
    assert_eq!(s4["array"]["pe"]["act_bits"], 8);
    let design_hash = s4["design_hash"].as_str().unwrap();
    assert_eq!(design_hash.len(), 64);
    let text = with("sparq.yaml", &[]).stdout();
    assert!(
        text.contains(
            "1 layer(s) compute-bound with mac8x8 PEs turn memory-bound under sparq 5opt round"
        ),
        "{text}"
    );
    assert!(text.contains(design_hash), "{text}");
    let text8 = with("mac8.yaml", &[]).stdout();
    assert!(text8.contains("0 of 1 layers memory-bound"), "{text8}");
}

#[test]
fn bad_network_files_name_the_layer_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let head = "name: bad\ninput: [16, 8, 8]\nlayers:\n  - {name: first, type: conv, out: 16, kernel: 3, padding: 1}\n";
    for (layer, want) in [
        (
            "  - {name: second, type: conv, out: 16, kernal: 3}\n",
            "layer 1 (second), field `kernal`: unknown field `kernal`",
        ),
        (
            "  - {name: second, type: conv, out: 16, kernel: 3, groups: 5}\n",
            "layer 1 (second), field `groups`: 5 does not divide",
        ),
        (
            "  - {name: second, type: conv, out: 16, kernel: 3, stride: fast}\n",
            "layer 1 (second), field `stride`: invalid type",
        ),
        (
            "  - {name: second, type: conv, out: 16}\n",
            "layer 1 (second), field `kernel`: is missing",
        ),
        (
            "  - {name: second, type: conv, out: 16, kernel: 11}\n",
            "layer 1 (second), field `kernel`: 11 is larger than the padded input (8x8",
        ),
        (
            "  - {name: second, type: fc, out: 10, padding: 1}\n",
            "layer 1 (second), field `padding`: is not used by type fc",
        ),
        (
            "  - {name: second, type: conv, from: nowhere, out: 16, kernel: 1}\n",
            "layer 1 (second), field `from`: no earlier layer is named \"nowhere\"",
        ),
        (
            "  - {name: first, type: fc, out: 10}\n",
            "layer 1 (first), field `name`: \"first\" is used by an earlier layer",
        ),
        (
            "  - {name: second, type: deconv, out: 10}\n",
            "layer 1 (second), field `type`: \"deconv\" is not allowed (allowed: conv, fc, pool)",
        ),
    ] {
        write(d, "bad.yaml", &format!("{head}{layer}"));
        let r = run(&["hcm", "bad.yaml", "--area-model", "none"], d);
        assert_eq!(r.code(), 2, "{layer}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{layer}: {}", r.stderr());
        assert!(
            r.stderr().contains("bad.yaml"),
            "names the file: {}",
            r.stderr()
        );
    }
    let r = run(&["hcm", "no_such_net", "--area-model", "none"], d);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("built-in networks: resnet18, vgg16, mobilenet_v2"),
        "{}",
        r.stderr()
    );
    write(
        d,
        "hw.yaml",
        "name: x\nclock_mhz: 100\nbuffer_kib: 64\nbandwith_gbit_s: 1\n",
    );
    let r = run(
        &["hcm", "resnet18", "--hw", "hw.yaml", "--area-model", "none"],
        d,
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("bandwith_gbit_s: unknown field `bandwith_gbit_s`")
            && r.stderr().contains("hw.yaml"),
        "{}",
        r.stderr()
    );
    let r = run(
        &[
            "hcm",
            "resnet18",
            "--zero-fraction",
            "1.5",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("'--zero-fraction <ZERO_FRACTION>': 1.5 is not allowed"),
        "{}",
        r.stderr()
    );
}

/// Pair counts computed here the plain way: adjacent channels at each
/// pixel, an odd last channel paired with a zero.
fn expected_wide_share(data: &[u8], c: usize, hw: usize) -> (f64, f64) {
    let (mut one, mut pairs) = (0, 0);
    for p in 0..hw {
        let mut ch = 0;
        while ch < c {
            let a = data[ch * hw + p];
            let b = if ch + 1 < c {
                data[(ch + 1) * hw + p]
            } else {
                0
            };
            if (a == 0) != (b == 0) {
                one += 1;
            }
            pairs += 1;
            ch += 2;
        }
    }
    let zeros = data.iter().filter(|&&v| v == 0).count();
    (one as f64 / pairs as f64, zeros as f64 / data.len() as f64)
}

#[test]
fn measured_activations_set_the_wide_path_share() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "net.yaml",
        "name: two\ninput: [4, 4, 4]\nlayers:\n  - {name: a, type: conv, out: 6, kernel: 3, padding: 1}\n  - {name: b, type: conv, out: 8, kernel: 1}\n",
    );
    std::fs::create_dir(d.join("acts")).unwrap();
    // layer b's input: 1 x 6 x 4 x 4, a pattern with every kind of pair
    let data: Vec<u8> = (0..96u32)
        .map(|i| {
            if i % 3 == 0 || i % 7 == 0 {
                0
            } else {
                (i * 37 % 251) as u8
            }
        })
        .collect();
    write_npy(&d.join("acts"), "b.npy", "|u1", "(1, 6, 4, 4)", &data);
    write_npy(&d.join("acts"), "stray.npy", "|u1", "(1, 2)", &[0, 1]);
    let v = json(&run(
        &[
            "hcm",
            "net.yaml",
            "--design",
            concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.yaml"),
            "--acts",
            "acts",
            "--zero-fraction",
            "0.25",
            "--json",
            "--area-model",
            "none",
        ],
        d,
    ));
    let (la, lb) = (&v["layers"][0]["sparsity"], &v["layers"][1]["sparsity"]);
    assert_eq!(la["source"], "assumed");
    assert!((la["wide_path"].as_f64().unwrap() - 2.0 * 0.25 * 0.75).abs() < 1e-12);
    assert_eq!(lb["source"], "measured");
    let (want_wide, want_zero) = expected_wide_share(&data, 6, 16);
    assert!(
        (lb["wide_path"].as_f64().unwrap() - want_wide).abs() < 1e-12,
        "{lb} vs {want_wide}"
    );
    assert!((lb["stats"]["zero_fraction"].as_f64().unwrap() - want_zero).abs() < 1e-12);
    assert_eq!(lb["stats"]["pairs"], 48);
    let notes = v["notes"].to_string();
    assert!(notes.contains("stray.npy"), "{notes}");
    // a tensor of the wrong shape is refused with both shapes named
    write_npy(&d.join("acts"), "b.npy", "|u1", "(1, 5, 4, 4)", &[1; 80]);
    let r = run(
        &[
            "hcm",
            "net.yaml",
            "--design",
            concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.yaml"),
            "--acts",
            "acts",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr()
            .contains("shape [1, 5, 4, 4] does not match layer b's input 6x4x4"),
        "{}",
        r.stderr()
    );
}

#[test]
fn roofline_svg_has_both_roofs_and_a_point_per_layer() {
    for (net, a_layer) in [("mobilenet_v2", "features.1.depthwise"), ("vgg16", "fc6")] {
        roofline_svg(net, a_layer);
    }
}

/// Network and layer names with XML's specials (and `--`, which a comment
/// may not hold) still give a well-formed roofline that reads them back.
#[test]
fn roofline_svg_escapes_names() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = "name: \"a<&>'b'--c\"\ninput: [16, 8, 8]\nlayers:\n  - {name: \"x<y>&z\", type: conv, out: 16, kernel: 3, padding: 1}\n  - {name: fc--\"1\", type: fc, out: 10}\n";
    std::fs::write(d.join("net.yaml"), net).unwrap();
    let r = run(
        &[
            "hcm",
            "net.yaml",
            "--plot",
            "roof.svg",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let svg = std::fs::read_to_string(d.join("roof.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
    let text: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    assert!(
        text.iter().any(|t| t.starts_with("a<&>'b'--c on ")),
        "{text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("x<y>&z: ")), "{text:?}");
    assert!(
        text.iter().any(|t| t.starts_with("fc--\"1\": ")),
        "{text:?}"
    );
}

fn roofline_svg(net: &str, a_layer: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = run(
        &[
            "hcm",
            net,
            "--plot",
            "roof.svg",
            "--area-model",
            "none",
            "--json",
        ],
        d,
    );
    let v = json(&r);
    let svg = std::fs::read_to_string(d.join("roof.svg")).unwrap();
    assert!(svg.starts_with("<?xml") && svg.trim_end().ends_with("</svg>"));
    let layers = v["layers"].as_array().unwrap();
    let mem = layers.iter().filter(|l| l["verdict"] == "memory").count();
    // points carry a <title>; the legend's two circles do not
    assert_eq!(svg.matches("<title>").count(), layers.len());
    assert_eq!(svg.matches("<circle class=\"memory\"").count(), mem + 1);
    assert_eq!(
        svg.matches("<circle class=\"compute\"").count(),
        layers.len() - mem + 1
    );
    // the roof: bandwidth slope up to the ridge, then the flat compute roof
    let roof = svg.split("class=\"roof\" points=\"").nth(1).unwrap();
    let pts: Vec<(f64, f64)> = roof
        .split('"')
        .next()
        .unwrap()
        .split(' ')
        .map(|p| {
            let (x, y) = p.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    assert_eq!(pts.len(), 3);
    assert!(pts[1].1 < pts[0].1, "the bandwidth roof rises");
    assert_eq!(pts[1].1, pts[2].1, "the compute roof is flat");
    // a memory-bound layer runs at intensity x bandwidth: on the sloped roof
    let slope = (pts[1].1 - pts[0].1) / (pts[1].0 - pts[0].0);
    let mut on_roof = 0;
    for c in svg.split("<circle class=\"memory\" cx=\"").skip(1) {
        if !c.contains("<title>") {
            continue; // the legend
        }
        let x: f64 = c.split('"').next().unwrap().parse().unwrap();
        let y: f64 = c
            .split("cy=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let roof_y = pts[0].1 + slope * (x - pts[0].0);
        assert!(
            (y - roof_y).abs() < 0.6,
            "point ({x}, {y}) vs roof {roof_y}"
        );
        on_roof += 1;
    }
    assert_eq!(on_roof, mem);
    assert!(svg.contains(a_layer), "{net}");
}

fn lint(dir: &Path) {
    for bits in ["2", "9", "16"] {
        let out = std::process::Command::new("verilator")
            .args([
                "--lint-only",
                "-Wall",
                &format!("-GBits={bits}"),
                "--top-module",
                "hcm_pe3x3",
                "hcm_pe3x3.v",
                "hcm_pe3x3_tap.v",
            ])
            .current_dir(dir)
            .output()
            .expect("verilator is installed (scripts/setup.sh)");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "Bits={bits}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = std::process::Command::new("iverilog")
        .args([
            "-g2005",
            "-o",
            "/dev/null",
            "hcm_pe3x3.v",
            "hcm_pe3x3_tap.v",
        ])
        .current_dir(dir)
        .output()
        .expect("iverilog is installed (scripts/setup.sh)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One Yosys process synthesizes b = 2..16; the fits must follow the
/// paper's shapes (R^2 >= 0.99), the report names the Yosys version, the
/// second call reads the cache, and reports then use the cached model.
#[test]
#[ignore = "full tier (Yosys, Verilator, Icarus): scripts/test.sh runs it"]
fn yosys_fit_and_reports_that_use_it() {
    crate::util::need(&[Tool::Yosys, Tool::Verilator, Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    let hcm = |args: &[&str]| {
        let out = bin()
            .args(args)
            .current_dir(d)
            .env("SPARQGEN_CACHE", &cache)
            .output()
            .expect("run sparqgen");
        Run { out }
    };
    let f = json(&hcm(&["hcm", "fit", "--json", "--out", "fit"]));
    assert!(
        f["yosys"].as_str().unwrap().starts_with("Yosys 0."),
        "{}",
        f["yosys"]
    );
    assert_eq!(f["cache_hit"], false);
    let r2_bits = f["r2_bits"].as_f64().unwrap();
    let r2_bops = f["r2_bops"].as_f64().unwrap();
    assert!((0.99..=1.0).contains(&r2_bits), "{r2_bits}");
    assert!((0.99..=1.0).contains(&r2_bops), "{r2_bops}");
    let pts = f["points"].as_array().unwrap();
    assert_eq!(pts.len(), 15);
    let area: Vec<u64> = pts
        .iter()
        .map(|p| p["transistors"].as_u64().unwrap())
        .collect();
    assert!(
        area.windows(2).all(|w| w[0] < w[1]),
        "area grows with b: {area:?}"
    );
    assert!(f["line"]["slope"].as_f64().unwrap() > 0.0);
    assert!(
        f["quad"]["a2"].as_f64().unwrap() > 0.0,
        "area is convex in b"
    );
    // the artefacts: Verilog that lints clean, the script, one stat per width
    let out = d.join("fit");
    for b in 2..=16 {
        assert!(out.join(format!("stat_b{b}.json")).exists());
    }
    let ys = std::fs::read_to_string(out.join("fit.ys")).unwrap();
    assert!(ys.contains("stat -json -tech cmos"));
    lint(&out);

    // second call: from the cache, same numbers
    let t = std::time::Instant::now();
    let g = json(&hcm(&["hcm", "fit", "--json"]));
    assert_eq!(g["cache_hit"], true);
    assert_eq!(g["points"], f["points"]);
    assert!(t.elapsed().as_secs_f64() < 5.0);
    // one cache variable: the fit sits in the hcm-fit folder of $SPARQGEN_CACHE
    let cached = Path::new(g["cache_path"].as_str().unwrap());
    assert_eq!(cached.parent(), Some(cache.join("hcm-fit").as_path()));
    assert!(cached.is_file());
    // the old variable alone still finds it, and says it is deprecated
    let old = bin()
        .args(["hcm", "fit", "--json"])
        .current_dir(d)
        .env_remove("SPARQGEN_CACHE")
        .env("SPARQGEN_CACHE_DIR", &cache)
        .output()
        .expect("run sparqgen");
    let old = Run { out: old };
    assert_eq!(json(&old)["cache_path"], g["cache_path"]);
    let warning = old.stderr();
    assert!(
        warning.contains("SPARQGEN_CACHE_DIR is deprecated") && warning.lines().count() == 1,
        "{warning}"
    );
    let text = hcm(&["hcm", "fit"]).stdout();
    assert!(
        text.contains("Yosys 0.")
            && text.contains("R^2 = 0.9999877")
            && text.contains("R^2 = 0.998"),
        "{text}"
    );

    // a report uses the cached model and names the Yosys version
    let v = json(&hcm(&[
        "hcm",
        "resnet18",
        "--design",
        concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.yaml"),
        "--json",
    ]));
    assert_eq!(v["tools"]["yosys"], f["yosys"]);
    let area = &v["area"];
    assert_eq!(area["r2_bops"], f["r2_bops"]);
    // SPARQ 4-bit: two 4 x 8 product slots per PE, 64 PEs
    let slope = f["line"]["slope"].as_f64().unwrap();
    let icpt = f["line"]["intercept"].as_f64().unwrap();
    let slot = (slope * 9.0 * (32.0 + 4.0 + 8.0 + 9f64.log2()) + icpt) / 9.0;
    assert!((area["array_transistors"].as_f64().unwrap() - 64.0 * 2.0 * slot).abs() < 1e-6);
}

/// `mapping_efficiency` in a hardware file scales the compute rate the
/// report assumes: half the efficiency, half the mapping utilization.
#[test]
fn mapping_efficiency_calibrates_the_compute_rate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hw = "name: cal\nclock_mhz: 200\nbuffer_kib: 108\nbandwidth_gbit_s: 1000\npe_array: {rows: 12, cols: 14, bits: 16}\n";
    crate::util::write(d, "a.yaml", hw);
    crate::util::write(d, "b.yaml", &format!("{hw}mapping_efficiency: 0.5\n"));
    let util = |file: &str| -> f64 {
        let r = crate::util::run(&["hcm", "vgg16", "--hw", file], d);
        assert_eq!(r.code(), 0, "{}", r.stderr());
        let out = r.stdout();
        let tail = out
            .split("mapping utilization ")
            .nth(1)
            .unwrap_or_else(|| panic!("{out}"));
        tail.split('%').next().unwrap().trim().parse().unwrap()
    };
    let (full, half) = (util("a.yaml"), util("b.yaml"));
    assert!((half * 2.0 - full).abs() <= 1.0, "{full} % vs {half} %");
    let r = crate::util::run(&["hcm", "vgg16", "--hw", "b.yaml"], d);
    assert!(
        r.stdout().contains("mapping efficiency 0.5"),
        "{}",
        r.stdout()
    );
}
