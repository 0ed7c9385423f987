//! The CLI's error texts for bad designs and bad tensors, and a round trip.

use crate::util::{run, write, write_npy};

#[test]
fn bad_yaml_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(d, "a.npy", "|u1", "(1, 2)", &[1, 2]);
    write_npy(d, "b.npy", "|i1", "(1, 2)", &[1, 2]);
    for (yaml, want) in [
        (
            "pe: {kind: sparq, window: 4}\n",
            "pe.window: unknown field `window`",
        ),
        (
            "pe: {window_bits: 4, placements: 4}\n",
            "pe.placements: 4 is not allowed with window_bits 4 (allowed: 5, 3, 2)",
        ),
        ("pe: {acc_bits: wide}\n", "pe.acc_bits: invalid type"),
        (
            "pe: {kind: mac8x8, stc: true}\n",
            "pe.stc: is not used by pe.kind mac8x8",
        ),
    ] {
        write(d, "d.yaml", yaml);
        let r = run(
            &[
                "model", "gemm", "--a", "a.npy", "--b", "b.npy", "--design", "d.yaml", "--out",
                "c.npy",
            ],
            d,
        );
        assert_eq!(r.code(), 2, "{yaml}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{yaml}: {}", r.stderr());
        assert!(
            r.stderr().contains("d.yaml"),
            "the error names the file: {}",
            r.stderr()
        );
        assert!(!d.join("c.npy").exists());
    }
}

#[test]
fn bad_npy_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(d, "af.npy", "<f4", "(1, 1)", &[0, 0, 0, 0]);
    write_npy(d, "a3.npy", "|u1", "(1, 1, 2)", &[1, 2]);
    write_npy(d, "a.npy", "|u1", "(1, 8)", &[1; 8]);
    write_npy(d, "b.npy", "|i1", "(1, 8)", &[1; 8]);
    write_npy(d, "b7.npy", "|i1", "(1, 7)", &[1; 7]);
    write_npy(d, "b3.npy", "|i1", "(1, 8)", &[1, 1, 1, 0, 0, 0, 0, 0]);
    write(d, "stc.yaml", "pe: {stc: true}\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--a", "af.npy", "--b", "b.npy"],
            "dtype '<f4' (float32) is not allowed for A",
        ),
        (
            vec!["--a", "a3.npy", "--b", "b.npy"],
            "must be 2-D, got shape [1, 1, 2]",
        ),
        (
            vec!["--a", "a.npy", "--b", "b7.npy"],
            "B: expected N x 8 (K must match A's 1 x 8), got shape [1, 7]",
        ),
        (
            vec!["--a", "a.npy", "--b", "b3.npy", "--design", "stc.yaml"],
            "B row 0, group k = 0..4: 3 non-zero weights at k = [0, 1, 2]",
        ),
        (vec!["--a", "missing.npy", "--b", "b.npy"], "missing.npy"),
    ];
    for (args, want) in cases {
        let mut full = vec!["model", "gemm", "--out", "c.npy"];
        full.extend(args.iter());
        let r = run(&full, d);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{args:?}: {}", r.stderr());
        assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
    }
}

#[test]
fn gemm_round_trip_with_stats() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 0x1B under 5opt round becomes 0x1C; its partner 0x01 stays 1
    write_npy(d, "a.npy", "|u1", "(1, 2)", &[0x1B, 0x01]);
    write_npy(d, "b.npy", "|i1", "(1, 2)", &[2, 3]);
    let r = run(
        &[
            "model", "gemm", "--a", "a.npy", "--b", "b.npy", "--out", "c.npy", "--stats",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("max |err| 2"), "{}", r.stdout());
    let c = sparqgen::npy::read::<i32>(&d.join("c.npy"), "C", 2).unwrap();
    assert_eq!(c.data, vec![0x1C * 2 + 3]);
}

#[test]
fn conv_cli_writes_nchw() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(
        d,
        "x.npy",
        "|u1",
        "(1, 1, 3, 3)",
        &[1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    write_npy(d, "w.npy", "|i1", "(2, 1, 1, 1)", &[1, 0xff]);
    write(d, "exact.yaml", "pe: {kind: mac8x8}\n");
    let r = run(
        &[
            "model",
            "conv",
            "--x",
            "x.npy",
            "--w",
            "w.npy",
            "--design",
            "exact.yaml",
            "--out",
            "y.npy",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let y = sparqgen::npy::read::<i32>(&d.join("y.npy"), "Y", 4).unwrap();
    assert_eq!(y.shape, vec![1, 2, 3, 3]);
    assert_eq!(&y.data[..9], &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(&y.data[9..], &[-1, -2, -3, -4, -5, -6, -7, -8, -9]);
}

/// `bench model --compare-ort`: with onnxruntime (scripts/setup.sh installs
/// it) ORT's exact GEMM must equal the exact int8 model bit for bit and a
/// ratio is printed per configuration; without it, the install command.
#[test]
fn bench_model_compare_ort_checks_ort_against_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let have_ort = std::process::Command::new("python3")
        .args(["-c", "import onnxruntime, onnx, numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let r = run(
        &[
            "bench",
            "model",
            "--compare-ort",
            "--m",
            "300",
            "--k",
            "72",
            "--n",
            "24",
            "--reps",
            "1",
            "--rounds",
            "2",
        ],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    let out = r.stdout();
    if have_ort {
        assert!(
            out.contains("equals the exact int8 model on all 7200 outputs"),
            "{out}"
        );
        assert!(out.contains("ORT MatMulInteger u8xu8"), "{out}");
        let ratios = out.lines().filter(|l| l.contains("x ORT (best)")).count();
        // 10 placement sets x roundings, exact int8, two 2:4 lines
        assert_eq!(ratios, 13, "every configuration has a ratio: {out}");
        assert!(out.contains("of peak"), "{out}");
    } else {
        assert!(out.contains("pip install onnxruntime onnx"), "{out}");
    }
}

/// `bench model --kernel` runs the named kernel, or refuses an unknown name
/// with the allowed ones and exit 2.
#[test]
fn bench_model_kernel_flag() {
    let dir = tempfile::tempdir().unwrap();
    let small = [
        "bench", "model", "--m", "40", "--k", "9", "--n", "5", "--reps", "1",
    ];
    let r = run(
        &[&small[..], &["--kernel", "portable"]].concat(),
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("portable kernel"), "{}", r.stdout());
    // every bench names the machine's cores and load first
    assert!(
        r.stdout().starts_with("machine: ") && r.stdout().contains("load average"),
        "{}",
        r.stdout()
    );
    let r = run(&[&small[..], &["--kernel", "sse9"]].concat(), dir.path());
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains(
            "sse9 is not a kernel (allowed: vnni, vnni-scalar-trim, avx-vnni, avx2, portable)"
        ),
        "{}",
        r.stderr()
    );
}

/// `bench model --shapes resnet18`: one line per ResNet-18 GEMM shape with
/// each configuration's rate, then the MAC-weighted network line; ORT is
/// compared on the bench shape only (exit 2 with the allowed value).
#[test]
fn bench_model_resnet18_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &["bench", "model", "--shapes", "resnet18", "--reps", "1"],
        dir.path(),
    );
    assert_eq!(r.code(), 0, "{}{}", r.stdout(), r.stderr());
    let out = r.stdout();
    for shape in ["12544  147   64", "   49 4608  512", "    1  512 1000"] {
        assert!(out.contains(shape), "{shape}: {out}");
    }
    let rows = out
        .lines()
        .filter(|l| l.matches(" | ").count() == 2)
        .count();
    // the header, 12 shapes, the network line
    assert_eq!(rows, 14, "{out}");
    assert!(out.contains("network (MAC-weighted)"), "{out}");
    let r = run(
        &["bench", "model", "--shapes", "resnet18", "--compare-ort"],
        dir.path(),
    );
    assert_eq!(r.code(), 2, "{}", r.stdout());
    assert!(
        r.stderr().contains("allowed with --shapes bench"),
        "{}",
        r.stderr()
    );
}
