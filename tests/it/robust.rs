//! Nothing lost, nothing crashes: what sparqgen may replace, atomic output
//! under kill -9 and concurrent writers, special output files, closed pipes.

use crate::util::{bin, run, write, write_npy};
use sparqgen::tools::Tool;
use std::path::Path;
use std::process::Stdio;

const SINGLE: &str = "name: src\npe: {kind: mac8x8}\narray: {kind: single}\n";

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn generate_never_replaces_what_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", SINGLE);
    // A user's source folder that happens to carry the design's name.
    std::fs::create_dir_all(d.join("proj/src")).unwrap();
    write(d, "proj/src/main.rs", "fn main() {}");
    let before = tree(&d.join("proj"));
    let r = run(&["generate", "d.yaml", "-o", "proj"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("not written by sparqgen"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("--force"), "{}", r.stderr());
    assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
    assert_eq!(tree(&d.join("proj")), before, "nothing changed");

    // A regular file where the folder would go: refused even with --force.
    write(d, "file_out", "");
    std::fs::create_dir_all(d.join("o2")).unwrap();
    write(d, "o2/src", "precious");
    let r = run(&["generate", "d.yaml", "-o", "o2", "--force"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("a regular file"), "{}", r.stderr());
    assert_eq!(
        std::fs::read_to_string(d.join("o2/src")).unwrap(),
        "precious"
    );

    // Its own folder, unchanged: replaced. Edited or added to: refused.
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    let top = d.join("gen/src/src_top.v");
    let edited = format!("{}// my fix\n", std::fs::read_to_string(&top).unwrap());
    std::fs::write(&top, &edited).unwrap();
    let r = run(&["generate", "d.yaml", "-o", "gen"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("src_top.v was edited"),
        "{}",
        r.stderr()
    );
    assert_eq!(std::fs::read_to_string(&top).unwrap(), edited);
    let r = run(&["generate", "d.yaml", "-o", "gen", "--force"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert_ne!(std::fs::read_to_string(&top).unwrap(), edited);
}

#[test]
fn regeneration_keeps_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", SINGLE);
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    // What `synth` writes there, through the same guarded writer.
    let mut set = sparqgen::output::FileSet::default();
    set.add("synth.md", "area");
    sparqgen::output::write_dir(
        &d.join("gen/src/reports"),
        &set,
        &sparqgen::output::DirOptions::default(),
    )
    .unwrap();
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    assert_eq!(
        std::fs::read_to_string(d.join("gen/src/reports/synth.md")).unwrap(),
        "area"
    );
}

#[test]
fn concurrent_and_killed_generates_leave_one_whole_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", SINGLE);
    let spawn = || {
        bin()
            .args(["generate", "d.yaml", "-o", "gen"])
            .current_dir(d)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Writers into one folder are serialized: all succeed.
    for _ in 0..10 {
        let kids: Vec<_> = (0..4).map(|_| spawn()).collect();
        for k in kids {
            let out = k.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let whole = tree(&d.join("gen/src"));
    // kill -9 at spread-out moments: the folder is always there and whole.
    for i in 0..60u64 {
        let mut k = spawn();
        std::thread::sleep(std::time::Duration::from_micros((i * 397) % 6000));
        let _ = k.kill();
        let _ = k.wait();
        let now = d.join("gen/src");
        assert!(now.is_dir(), "run {i}: the folder is missing");
        assert_eq!(tree(&now), whole, "run {i}: the folder is not whole");
    }
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    let left: Vec<_> = std::fs::read_dir(d.join("gen"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["src"], "stale temporaries are cleaned");
}

#[test]
fn output_files_devices_links_and_modes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_npy(d, "a.npy", "|u1", "(1, 2)", &[1, 2]);
    write_npy(d, "b.npy", "|i1", "(1, 2)", &[1, 2]);
    let gemm = |out: &str| {
        run(
            &[
                "model", "gemm", "--a", "a.npy", "--b", "b.npy", "--out", out,
            ],
            d,
        )
    };
    if Path::new("/dev/full").exists() {
        let r = gemm("/dev/full");
        assert_eq!(r.code(), 2, "a failed write is not a success");
        use std::os::unix::fs::FileTypeExt;
        assert!(std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }
    assert_eq!(gemm("/dev/null").code(), 0);
    std::fs::create_dir(d.join("real")).unwrap();
    std::os::unix::fs::symlink("real/c.npy", d.join("link.npy")).unwrap();
    write(d, "real/c.npy", "");
    let r = gemm("link.npy");
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(std::fs::symlink_metadata(d.join("link.npy"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read(d.join("real/c.npy"))
        .unwrap()
        .starts_with(b"\x93NUMPY"));
    assert_eq!(gemm("new.npy").code(), 0);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(d.join("new.npy"))
        .unwrap()
        .permissions()
        .mode();
    assert_ne!(mode & 0o044, 0, "new files follow the umask ({mode:o})");
    let r = gemm("real");
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("a folder"), "{}", r.stderr());
}

#[test]
fn closed_stdout_is_not_a_panic() {
    for args in [
        vec!["check"],
        vec!["hcm", "--help"],
        vec!["generate", "--help"],
    ] {
        let mut k = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(k.stdout.take());
        let out = k.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_hanging_tool_is_stopped_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fake = d.join("bin");
    std::fs::create_dir(&fake).unwrap();
    write(&fake, "verilator", "#!/bin/sh\nexec sleep 600\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        fake.join("verilator"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let t = std::time::Instant::now();
    let out = bin()
        .args(["verify", "--quick"])
        .env("PATH", path)
        .current_dir(d)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("did not finish within"), "{err}");
    assert!(t.elapsed().as_secs() < 60);
}

#[test]
fn crafted_sizes_are_refused_not_wrapped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 2^32 x 2^32 uint8 and 2^33 x 2^31 (wraps to 0 bytes in u64 arithmetic).
    for shape in ["(4294967296, 4294967296)", "(8589934592, 2147483648)"] {
        write_npy(d, "a.npy", "|u1", shape, &[0; 16]);
        write_npy(d, "b.npy", "|i1", "(1, 2)", &[1, 2]);
        let r = run(
            &[
                "model", "gemm", "--a", "a.npy", "--b", "b.npy", "--out", "c.npy",
            ],
            d,
        );
        assert_eq!(r.code(), 2, "{shape}: {}", r.stderr());
        assert!(!d.join("c.npy").exists());
    }
    // Trailing bytes after the data are not silently dropped.
    write_npy(d, "a.npy", "|u1", "(1, 2)", &[1, 2, 3]);
    let r = run(
        &[
            "model", "gemm", "--a", "a.npy", "--b", "b.npy", "--out", "c.npy",
        ],
        d,
    );
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("trailing bytes"), "{}", r.stderr());
    // Convolution sizes: padding far beyond the input, and an output too
    // large for memory, are refused with the limit in the message.
    write_npy(d, "x.npy", "|u1", "(1, 1, 2, 2)", &[1, 2, 3, 4]);
    write_npy(d, "w.npy", "|i1", "(1, 1, 1, 1)", &[1]);
    for pad in ["4000000000", "18446744073709551615"] {
        let r = run(
            &[
                "model",
                "conv",
                "--x",
                "x.npy",
                "--w",
                "w.npy",
                "--padding",
                pad,
                "--out",
                "y.npy",
            ],
            d,
        );
        assert_eq!(r.code(), 2, "{pad}: {}", r.stderr());
        assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
        assert!(r.stderr().contains("at most"), "{pad}: {}", r.stderr());
    }
    let r = run(
        &[
            "model",
            "conv",
            "--x",
            "x.npy",
            "--w",
            "w.npy",
            "--padding",
            "65536",
            "--out",
            "y.npy",
        ],
        d,
    );
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("limit"), "{}", r.stderr());
    // Networks whose counts would wrap a u64, or that have nothing to count.
    write(
        d,
        "big.yaml",
        "name: big\ninput: [1048576, 1048576, 1048576]\nlayers:\n  - {name: fc, type: fc, out: 1048576}\n",
    );
    write(
        d,
        "pool.yaml",
        "name: p\ninput: [3, 8, 8]\nlayers:\n  - {name: p, type: pool, kernel: 2, stride: 2}\n",
    );
    for (net, want) in [
        ("big.yaml", "limit of 2^53"),
        ("pool.yaml", "no conv or fc"),
    ] {
        let r = run(&["hcm", net, "--area-model", "none"], d);
        assert_eq!(r.code(), 2, "{net}: {}", r.stderr());
        assert!(r.stderr().contains(want), "{net}: {}", r.stderr());
        assert!(!r.stdout().contains("NaN"), "{net}: {}", r.stdout());
    }
    let r = run(&["bench", "model", "--zeros", "2"], d);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("0 to 1"), "{}", r.stderr());
}

#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn verilog_errors_name_the_users_file() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", SINGLE);
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    let top = d.join("gen/src/src_top.v");
    let text = std::fs::read_to_string(&top).unwrap();
    std::fs::write(&top, text.replace("endmodule", "endmodul")).unwrap();
    let r = run(&["verify", "--rtl", "gen/src", "--quick"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("gen/src/src_top.v:"), "{}", r.stderr());
    assert!(!r.stderr().contains("panicked"), "{}", r.stderr());
}

#[test]
fn endless_and_oversized_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for args in [
        vec!["generate", "/dev/zero"],
        vec!["hcm", "/dev/zero", "--area-model", "none"],
        vec!["bench", "model", "--m", "100000000"],
        vec!["bench", "model", "--n", "0"],
        vec!["verify", "--vectors", "100000000000000"],
        vec!["generate", "-o", "/dev/null"],
        vec!["net", "/dev/zero", "--input", "x.npy"],
        vec![
            "model",
            "gemm",
            "--a",
            "/dev/zero",
            "--b",
            "/dev/zero",
            "--out",
            "c.npy",
        ],
        vec!["synth", "--slurm"],
    ] {
        let t = std::time::Instant::now();
        let r = run(&args, d);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(!r.stderr().contains("panicked"), "{args:?}: {}", r.stderr());
        assert!(
            t.elapsed().as_secs() < 30,
            "{args:?} took {:?}",
            t.elapsed()
        );
    }
}

#[test]
fn fuzzer_found_onnx_graphs_are_errors() {
    // libFuzzer (scripts/fuzz.sh onnx): a node whose output list is empty
    // indexed past the end of it.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/data");
    let bytes = std::fs::read(data.join("onnx_node_without_output.onnx")).unwrap();
    let e = sparqgen::net::load_bytes(&bytes, "crash.onnx").unwrap_err();
    assert!(e.to_string().contains("no output"), "{e}");
}

#[test]
fn messages_say_what_happened_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a missing input: the cause once, not twice
    let r = run(
        &[
            "model", "gemm", "--a", "nope.npy", "--b", "nope.npy", "--out", "c.npy",
        ],
        d,
    );
    assert_eq!(r.code(), 2);
    assert_eq!(
        r.stderr().matches("os error 2").count(),
        1,
        "{}",
        r.stderr()
    );
    // a manifest edited after generation is named, not blamed on the RTL
    write(d, "d.yaml", SINGLE);
    assert_eq!(run(&["generate", "d.yaml", "-o", "gen"], d).code(), 0);
    let m = d.join("gen/src/manifest.yaml");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, text.replace("latency_cycles: 1", "latency_cycles: 2")).unwrap();
    let r = run(&["verify", "--rtl", "gen/src", "--quick"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("manifest.yaml was edited after generation"),
        "{}",
        r.stderr()
    );
    // the same without the folder's .sparqgen-sha256: the manifest's own
    // design shows the edit, for verify and for prove
    std::fs::remove_file(d.join("gen/src/.sparqgen-sha256")).unwrap();
    for (args, field) in [
        (
            vec!["verify", "--rtl", "gen/src", "--quick"],
            "latency_cycles",
        ),
        (vec!["prove", "--rtl", "gen/src"], "latency_cycles"),
    ] {
        let r = run(&args, d);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(
            r.stderr()
                .contains("manifest.yaml was edited after generation")
                && r.stderr().contains(field),
            "{args:?}: {}",
            r.stderr()
        );
    }
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(
        &m,
        text.replace("latency_cycles: 2", "latency_cycles: 1")
            .replace("pipeline: 0", "pipeline: 1"),
    )
    .unwrap();
    let r = run(&["prove", "--rtl", "gen/src"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("its `design`"), "{}", r.stderr());
}

/// Every command that prints, with its stdout on a full device: one line
/// on stderr and exit 2, never a panic (exit 101).
#[test]
fn full_stdout_is_exit_2_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["check"],
        vec!["--help"],
        vec!["hcm", "--help"],
        vec!["hcm", "resnet18"],
        vec!["model", "--help"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = bin()
            .args(&args)
            .current_dir(dir.path())
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            err.contains("cannot write to standard output"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn out_of_range_numbers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, says) in [
        (
            vec!["hcm", "resnet18", "--clock-mhz", "1e308"],
            "--clock-mhz 1e308 is not allowed",
        ),
        (vec!["verify", "--icarus-cycles", "0"], "--icarus-cycles"),
    ] {
        let r = run(&args, d);
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(says), "{args:?}: {}", r.stderr());
        assert!(!r.stdout().contains("inf") && !r.stdout().contains("NaN"));
    }
}

#[test]
fn gather_refuses_a_job_folder_without_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jobs = serde_json::json!({
        "sparqgen_version": env!("CARGO_PKG_VERSION"),
        "base": "name: x\n",
        "ice40": false,
        "acts": null,
        "tools": "yosys 0.23",
        "variants": [],
    });
    std::fs::create_dir_all(d.join("jobs")).unwrap();
    write(d, "jobs/jobs.json", &jobs.to_string());
    let r = run(&["gather", "jobs"], d);
    assert_eq!(r.code(), 2, "{}\n{}", r.stdout(), r.stderr());
    assert!(r.stderr().contains("both empty"), "{}", r.stderr());
}

/// A cached harness that dies at start (a corrupt cache, a broken
/// toolchain upgrade) is reported with the simulator's last words and exit
/// 2, not a silent exit 141 from SIGPIPE.
#[test]
#[ignore = "full tier (Verilator): scripts/test.sh runs it"]
fn a_harness_that_dies_at_start_is_reported() {
    crate::util::need(&[Tool::Verilator]);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cache = d.join("cache");
    write(d, "d.yaml", SINGLE);
    let verify = |d: &Path| {
        bin()
            .args([
                "verify",
                "d.yaml",
                "--vectors",
                "200",
                "--quick",
                "--no-vcd",
            ])
            .env("SPARQGEN_CACHE", &cache)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let first = verify(d);
    assert_eq!(
        first.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let mut harnesses = 0;
    for e in std::fs::read_dir(&cache).unwrap() {
        let exe = e.unwrap().path().join("harness");
        if exe.is_file() {
            std::fs::write(
                &exe,
                "#!/bin/sh\necho 'harness: bad cache' >&2\nkill -SEGV $$\n",
            )
            .unwrap();
            harnesses += 1;
        }
    }
    assert!(harnesses > 0, "no cached harness under {}", cache.display());
    let out = verify(d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("did not start") && err.contains("bad cache"),
        "{err}"
    );
}
