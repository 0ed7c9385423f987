//! `sparqgen asic`: the default PE through qflow to a routed, DRC- and
//! LVS-clean layout, a routing failure that ends cleanly, and the errors
//! that need no flow at all.

use crate::util::{bin, run};
use sparqgen::config::Design;

/// qflow and its OSU 0.18 um files, or the test fails with the install line.
fn need_qflow() {
    if let Err(e) = sparqgen::asic::qflow::find_tools() {
        panic!("this full-tier test needs qflow: {e}");
    }
}

#[test]
#[ignore = "full tier (qflow, OpenSTA, Yosys; about 2 minutes): scripts/test.sh runs it"]
fn the_default_pe_routes_clean_and_equals_the_model() {
    need_qflow();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = run(&["asic", "-o", "out"], d);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let out = d.join("out/sparq_sa8x8/asic");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("asic.json")).unwrap()).unwrap();
    // The PE of the default design, alone.
    let base = Design::default_design();
    let pe = sparqgen::flows::asic::target(&base, false).unwrap();
    assert_eq!(v["design_hash"], pe.hash());
    assert_eq!(v["top"], format!("{}_top", pe.name()));
    assert_eq!(v["activations_per_cycle"], pe.activations_per_cycle());
    assert_eq!(v["failed_nets"], 0, "{v}");
    assert_eq!(v["drc_errors"], 0, "{v}");
    assert_eq!(v["lvs_match"], true, "{v}");
    assert_eq!(v["equivalence"]["verdict"], "proven", "{v}");
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} missing: {v}"));
    let (die, core, cells) = (
        v["die"]["area_um2"].as_f64().unwrap(),
        v["core"]["area_um2"].as_f64().unwrap(),
        f("cell_area_um2"),
    );
    assert!(die >= core && core >= cells && cells > 10_000.0, "{v}");
    let util = f("utilization");
    assert!(util > 0.3 && util <= 1.0, "{v}");
    assert!((util - cells / core).abs() < 1e-9);
    assert!(f("wire_length_um") > 1_000.0, "{v}");
    assert!(v["routed_nets"].as_u64().unwrap() > 500, "{v}");
    assert!(f("synth_cell_area_um2") > 10_000.0, "{v}");
    for t in ["timing_post_route", "timing_pre_route"] {
        let cp = v[t]["critical_path_ns"].as_f64().unwrap();
        let fmax = v[t]["fmax_mhz"].as_f64().unwrap();
        assert!(cp > 0.5 && cp < 100.0, "{t}: {v}");
        assert!((fmax - 1000.0 / cp).abs() < 1e-6);
    }
    assert!(v["timing_post_route"]["wires"]
        .as_str()
        .unwrap()
        .contains("qrouter"));
    assert!(v["tools"]["qflow"].as_str().unwrap().contains("Qflow"));
    assert!(v["tools"]["opensta"]
        .as_str()
        .unwrap()
        .starts_with("OpenSTA"));
    // The files a user takes away.
    let top = v["top"].as_str().unwrap();
    let gds = std::fs::read(out.join(format!("{top}.gds"))).unwrap();
    assert_eq!(
        &gds[..4],
        &[0x00, 0x06, 0x00, 0x02],
        "a GDSII HEADER record"
    );
    let def = std::fs::read_to_string(out.join(format!("{top}.def"))).unwrap();
    assert!(def.contains("DIEAREA") && def.contains("+ ROUTED"));
    let netlist = std::fs::read_to_string(out.join(format!("{top}.v"))).unwrap();
    assert!(
        netlist.contains("DFFSR"),
        "the routed netlist is in OSU cells"
    );
    assert!(out.join(format!("{top}.sdf")).is_file());
    assert!(out.join("logs/route.log").is_file() && out.join("logs/lvs.log").is_file());
    let png = std::fs::read(out.join("layout.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("](layout.png)"), "{md}");
    assert!(md.contains("Cell interiors are not in the GDS"), "{md}");
    assert!(md.contains(&v["design_hash"].as_str().unwrap()[..12]));
    assert!(out.join(sparqgen::output::MARKER).is_file());
}

#[test]
#[ignore = "full tier (qflow; under a minute): scripts/test.sh runs it"]
fn an_unroutable_layout_fails_with_its_nets() {
    need_qflow();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A folder --keep-work did not make is the user's: refused, untouched.
    let mine = d.join("work/sparq_sa8x8_pe");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "mine").unwrap();
    let r = run(&["asic", "--keep-work", "work"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr().contains("was not made by --keep-work"),
        "{}",
        r.stderr()
    );
    assert!(mine.join("notes.txt").exists());
    std::fs::remove_dir_all(&mine).unwrap();
    // One metal layer cannot route a PE.
    let r = run(
        &[
            "asic",
            "-o",
            "out",
            "--route-layers",
            "1",
            "--no-prove",
            "--keep-work",
            "work",
        ],
        d,
    );
    assert_eq!(r.code(), 1, "{}\n{}", r.stdout(), r.stderr());
    // --keep-work leaves the failed project to read: the router's own log.
    let kept = d.join("work/sparq_sa8x8_pe/log/route.log");
    assert!(
        std::fs::read_to_string(&kept).is_ok_and(|l| l.contains("Failed net routes")),
        "{} kept",
        kept.display()
    );
    let err = r.stderr();
    assert!(err.contains("routing failed"), "{err}");
    assert!(err.contains("could not be routed:"), "{err}");
    assert!(
        err.contains("Final: Failed net routes:"),
        "the log's verdict: {err}"
    );
    // A net of the PE by name (ports keep theirs through synthesis).
    assert!(
        err.contains("acc_o[") || err.contains("act_i[") || err.contains("wgt_i["),
        "{err}"
    );
    assert!(!d.join("out/sparq_sa8x8/asic").exists(), "nothing written");
}

#[test]
#[ignore = "full tier (qflow; 3 to 12 minutes): scripts/test.sh runs it"]
fn a_utilization_too_dense_for_three_metal_layers_fails_with_its_nets() {
    need_qflow();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Packed as densely as GrayWolf places (about 97 %), the PE does not
    // route on three metal layers (46 nets fail on this machine); at
    // utilization 0.6 the same three layers route it (README).
    let r = run(
        &[
            "asic",
            "-o",
            "out",
            "--utilization",
            "1",
            "--route-layers",
            "3",
            "--no-prove",
        ],
        d,
    );
    assert_eq!(r.code(), 1, "{}\n{}", r.stdout(), r.stderr());
    let err = r.stderr();
    assert!(err.contains("routing failed"), "{err}");
    let count: usize = err
        .split("routing failed: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {err}"));
    assert!(count > 0, "{err}");
    assert!(
        err.contains(&format!("Final: Failed net routes: {count}")),
        "the count is the router's: {err}"
    );
    let nets = err
        .split("could not be routed: ")
        .nth(1)
        .and_then(|t| t.lines().next())
        .unwrap_or_else(|| panic!("no nets: {err}"));
    assert_eq!(
        nets.split(", ").count().min(20),
        count.min(20),
        "the failed nets by name: {nets}"
    );
    assert!(err.contains("last lines of the router's log"), "{err}");
    assert!(!d.join("out/sparq_sa8x8/asic").exists(), "nothing written");
}

/// The numbers of a layout that do not depend on where it ran.
fn layout_numbers(v: &serde_json::Value) -> serde_json::Value {
    let mut v = v.clone();
    let o = v.as_object_mut().unwrap();
    for k in ["seconds", "stage_seconds", "synth_cell_area_um2"] {
        assert!(o.remove(k).is_some(), "{k} missing");
    }
    v
}

/// A folder with `m.yaml`: a single mac4x8 PE (the smallest layout).
fn single_mac4x8() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "name: m\npe: {kind: mac4x8}\narray: {kind: single}\n",
    )
    .unwrap();
    dir
}

fn read_json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
#[ignore = "full tier (qflow, OpenSTA; about 3 minutes): scripts/test.sh runs it"]
fn a_kept_routing_is_resumed_only_when_it_matches() {
    need_qflow();
    let dir = single_mac4x8();
    let d = dir.path();
    let read = |p: &str| read_json(&d.join(p));
    let stages = |v: &serde_json::Value| -> Vec<String> {
        v["stage_seconds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stage"].as_str().unwrap().to_string())
            .collect()
    };
    let args = ["asic", "m.yaml", "--no-prove", "--keep-work", "w"];
    let r = run(&[&args[..], &["-o", "a"]].concat(), d);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let first = read("a/m/asic/asic.json");
    assert!(stages(&first).contains(&"qflow route".to_string()));
    // Same Verilog, same settings: from the kept routing on.
    let r = run(&[&args[..], &["--resume", "-o", "b"]].concat(), d);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let said = format!("{}{}", r.stdout(), r.stderr());
    assert!(said.contains("going on from the routing"), "{said}");
    let resumed = read("b/m/asic/asic.json");
    assert_eq!(
        layout_numbers(&resumed)["die"],
        layout_numbers(&first)["die"]
    );
    for k in [
        "cell_area_um2",
        "wire_length_um",
        "drc_errors",
        "lvs_match",
        "timing_post_route",
    ] {
        assert_eq!(resumed[k], first[k], "{k}");
    }
    let s = stages(&resumed);
    assert!(
        !s.iter().any(|x| x.contains("place") || x.contains("route")),
        "{s:?}"
    );
    assert!(s.contains(&"qflow migrate drc".to_string()), "{s:?}");
    assert!(resumed["notes"].to_string().contains("Resumed (--resume)"));
    // A via taken off where a route leaves a pin: LVS finds the net open,
    // the net is routed again, and the layout is clean on the second pass.
    let top = first["top"].as_str().unwrap();
    let def_path = d.join(format!("w/m/layout/{top}.def"));
    let def = std::fs::read_to_string(&def_path).unwrap();
    let (at, net) = {
        let lines: Vec<&str> = def.lines().collect();
        let nets = lines.iter().position(|l| l.starts_with("NETS ")).unwrap();
        let at = (nets..lines.len())
            .find(|&i| {
                lines[i].starts_with("+ ROUTED metal1 ( ")
                    && lines[i].trim_end().ends_with(") M2_M1")
                    && lines[i].split_whitespace().count() == 8
            })
            .expect("a route that leaves a pin by a via");
        let name = (nets..at)
            .rev()
            .find_map(|i| lines[i].strip_prefix("- "))
            .unwrap()
            .trim()
            .to_string();
        (at, name)
    };
    let broken: Vec<String> = def
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == at {
                l.trim_end()
                    .trim_end_matches("M2_M1")
                    .trim_end()
                    .to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&def_path, broken.join("\n") + "\n").unwrap();
    let r = run(&[&args[..], &["--resume", "-o", "r"]].concat(), d);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let said = format!("{}{}", r.stdout(), r.stderr());
    assert!(said.contains("routing them again"), "{said}");
    let repaired = read("r/m/asic/asic.json");
    assert_eq!(repaired["rerouted_nets"], serde_json::json!([net]));
    assert_eq!(repaired["drc_errors"], 0);
    assert_eq!(repaired["lvs_match"], true);
    assert!(repaired["notes"].to_string().contains("routed them again"));
    assert!(stages(&repaired).contains(&"qrouter: nets routed again".to_string()));
    // Other settings: said, and the whole flow runs.
    let r = run(
        &[&args[..], &["--resume", "--utilization", "0.5", "-o", "c"]].concat(),
        d,
    );
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let said = format!("{}{}", r.stdout(), r.stderr());
    assert!(said.contains("other settings"), "{said}");
    let again = read("c/m/asic/asic.json");
    assert!(stages(&again).contains(&"qflow route".to_string()));
    assert!(!again["notes"].to_string().contains("Resumed"));
    // --resume without --keep-work: refused.
    let r = run(&["asic", "m.yaml", "--resume"], d);
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--keep-work"), "{}", r.stderr());
}

#[test]
#[ignore = "full tier (Slurm, qflow; a few minutes): scripts/test.sh runs it"]
fn a_layout_on_slurm_equals_the_local_one_and_is_reused() {
    need_qflow();
    let cluster = crate::slurm::Cluster::start();
    let conf = cluster.conf();
    let dir = single_mac4x8();
    let d = dir.path();
    let read = |p: &str| read_json(&d.join(p));
    let r = run(&["asic", "m.yaml", "-o", "local", "--no-prove"], d);
    assert_eq!(r.code(), 0, "{}\n{}", r.stdout(), r.stderr());
    let local = read("local/m/asic/asic.json");
    for (out, reused) in [
        ("remote", "0 finished results reused"),
        ("again", "1 finished results reused"),
    ] {
        let o = bin()
            .args([
                "asic",
                "m.yaml",
                "--no-prove",
                "--slurm",
                "--jobs-dir",
                "jobs",
                "-o",
                out,
            ])
            .env("SLURM_CONF", &conf)
            .current_dir(d)
            .output()
            .unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr),
        );
        assert_eq!(o.status.code(), Some(0), "{so}{se}");
        assert!(se.contains(reused), "{se}");
        let remote = read(&format!("{out}/m/asic/asic.json"));
        // GrayWolf's seed is fixed: the same layout, whichever machine ran it.
        assert_eq!(layout_numbers(&remote), layout_numbers(&local));
        assert_eq!(remote["failed_nets"], 0);
        assert_eq!(remote["lvs_match"], true);
        let top = remote["top"].as_str().unwrap();
        let folder = d.join(out).join("m/asic");
        for f in [
            format!("{top}.def"),
            format!("{top}.gds"),
            "layout.png".into(),
            "report.md".into(),
            "logs/route.log".into(),
        ] {
            assert!(
                folder.join(&f).is_file(),
                "{f} missing in {}",
                folder.display()
            );
        }
        assert!(std::fs::read_to_string(folder.join("report.md"))
            .unwrap()
            .contains("](layout.png)"));
        assert!(folder.join(sparqgen::output::MARKER).is_file());
    }
    // The task's own log and layout stay in the job folder.
    assert!(d.join("jobs/logs/task_0.log").is_file());
    assert!(d.join("jobs/out/m/asic/asic.json").is_file());
}

#[test]
fn without_qflow_the_error_names_the_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("bin");
    std::fs::create_dir(&empty).unwrap();
    let out = bin()
        .args(["asic", "-o", "out"])
        .current_dir(dir.path())
        .env("PATH", &empty)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("apt-get install --no-install-recommends qflow qflow-tech-osu018"),
        "{err}"
    );
}

#[test]
fn bad_arguments_name_the_option_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for (args, name) in [
        (&["asic", "--utilization", "1.5"][..], "--utilization"),
        (&["asic", "--clock-mhz", "0"][..], "--clock-mhz"),
        (&["asic", "--route-layers", "7"][..], "--route-layers"),
        (&["asic", "--place-fast", "0"][..], "--place-fast"),
        (&["asic", "--place-fast", "17"][..], "--place-fast"),
    ] {
        let r = run(args, dir.path());
        assert_eq!(r.code(), 2, "{args:?}: {}", r.stderr());
        assert!(r.stderr().contains(name), "{}", r.stderr());
        assert!(r.stderr().contains("allowed"), "{}", r.stderr());
    }
    let r = run(&["asic", "--partition", "p"], dir.path());
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("add --slurm"), "{}", r.stderr());
    let r = run(&["asic", "--slurm", "--keep-work", "w"], dir.path());
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(r.stderr().contains("--keep-work"), "{}", r.stderr());
}

/// A small array mapped onto the OSU cells by Yosys (the cells qflow's
/// netlist uses): co-simulated against the model it matches, and one gate
/// changed (an XOR that becomes an XNOR) is caught. The same check runs on
/// every routed array (`asic --whole`, `--compare`).
#[test]
#[ignore = "full tier (Yosys, Verilator; about 2 minutes): scripts/test.sh runs it"]
fn an_array_netlist_is_cosimulated_and_a_changed_gate_is_caught() {
    use sparqgen::asic::{proof, qflow};
    let design = Design::from_yaml(
        "name: tiny\npe: {kind: mac4x8, acc_bits: 16}\narray: {kind: systolic, rows: 1, cols: 2}\n",
    )
    .unwrap();
    let g = sparqgen::rtl::generate(&design).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut reads = String::new();
    for (name, text) in g.verilog().unwrap() {
        std::fs::write(dir.path().join(&name), text).unwrap();
        reads.push_str(&format!("read_verilog {name}\n"));
    }
    let top = &g.manifest.top;
    let script = format!(
        "{reads}synth -flatten -top {top}\ndfflibmap -liberty {lib}\nabc -liberty {lib}\n\
         opt_clean\nwrite_verilog -noattr mapped.v\n",
        lib = qflow::LIBERTY
    );
    let out = std::process::Command::new("yosys")
        .args(["-q", "-p", &script])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let netlist = std::fs::read_to_string(dir.path().join("mapped.v")).unwrap();
    assert!(netlist.contains("XOR2X1"), "the adders map to XOR2X1");
    let o = proof::cosimulate_netlist(
        &g.manifest,
        &netlist,
        std::path::Path::new(qflow::LIBERTY),
        qflow::FILL,
        20_000,
    )
    .unwrap();
    assert!(o.passed(), "{}", sparqgen::sim::report::summary(&o));
    assert!(o.checks() > 100, "{}", sparqgen::sim::report::summary(&o));
    let changed = netlist.replacen("XOR2X1 ", "XNOR2X1 ", 1);
    assert_ne!(changed, netlist);
    let o = proof::cosimulate_netlist(
        &g.manifest,
        &changed,
        std::path::Path::new(qflow::LIBERTY),
        qflow::FILL,
        20_000,
    )
    .unwrap();
    assert!(
        !o.passed() && o.mismatches > 0,
        "{}",
        sparqgen::sim::report::summary(&o)
    );
}
