//! `synth --target liberty` on the OSU 0.18 um library: area against a plain
//! Yosys run, Fmax against a plain OpenSTA run, power against a hand
//! computation from the library's tables and counted toggles, and sparse
//! activations costing less than dense ones.

use crate::util::{run, write};
use sparqgen::synth::{sta, toggles};
use sparqgen::tools::{Tool, OSU018_LIB};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn need_all() {
    crate::util::need(&[Tool::Yosys, Tool::Sta, Tool::Iverilog, Tool::Vvp]);
    assert!(
        Path::new(OSU018_LIB).is_file(),
        "this full-tier test needs {OSU018_LIB}: apt-get install -y qflow-tech-osu018"
    );
}

fn sta_text(dir: &Path, script: &str) -> String {
    std::fs::write(dir.join("plain.tcl"), script).unwrap();
    let out = Command::new("sta")
        .args(["-no_splash", "-exit", "plain.tcl"])
        .current_dir(dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("Error"), "{text}");
    text
}

// ---- a small reader of the liberty file, for the hand computation ----

/// The text of the `{ ... }` group that starts at the first `{` after `at`.
fn group(text: &str, at: usize) -> &str {
    let open = at + text[at..].find('{').unwrap();
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced liberty group");
}

/// Every group `head(...)` directly or deeper inside `text`, with its name.
fn groups<'a>(text: &'a str, head: &str) -> Vec<(String, &'a str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(head) {
        let at = from + i;
        let before = text[..at].chars().last().unwrap_or(' ');
        let after = text[at + head.len()..].trim_start();
        if (before.is_whitespace() || before == '{') && after.starts_with('(') {
            let name = after[1..after.find(')').unwrap()]
                .trim()
                .trim_matches('"')
                .to_string();
            let body = group(text, at);
            out.push((name, body));
            from = at + head.len() + body.len();
        } else {
            from = at + head.len();
        }
    }
    out
}

fn attr(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let l = l.trim();
        l.strip_prefix(key)
            .filter(|r| r.trim_start().starts_with(':'))
            .map(|r| {
                r.trim_start()[1..]
                    .trim()
                    .trim_end_matches(';')
                    .trim_matches('"')
                    .to_string()
            })
    })
}

fn numbers(s: &str) -> Vec<f64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e'))
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect()
}

/// A 1-D or 2-D liberty table (index_1 rows, index_2 columns).
struct Table {
    i1: Vec<f64>,
    i2: Option<Vec<f64>>,
    v: Vec<f64>,
}

fn table(body: &str) -> Table {
    let list = |key: &str| {
        body.find(key).map(|at| {
            let s = &body[at + key.len()..];
            numbers(&s[..s.find(')').unwrap()])
        })
    };
    let i1 = list("index_1").unwrap();
    let i2 = list("index_2");
    let at = body.find("values").unwrap();
    let s = &body[at + 6..];
    let v = numbers(&s[..s.find(");").unwrap()]);
    Table { i1, i2, v }
}

/// Linear interpolation on an axis, extrapolated from the end segments
/// (how OpenSTA looks tables up).
fn axis(idx: &[f64], x: f64) -> (usize, f64) {
    if idx.len() == 1 {
        return (0, 0.0);
    }
    let mut i = 0;
    while i + 2 < idx.len() && x > idx[i + 1] {
        i += 1;
    }
    (i, (x - idx[i]) / (idx[i + 1] - idx[i]))
}

impl Table {
    /// The value at (index_1 = x1, index_2 = x2).
    fn at(&self, x1: f64, x2: f64) -> f64 {
        let (i, f) = axis(&self.i1, x1);
        match &self.i2 {
            None => {
                let y0 = self.v[i];
                let y1 = *self.v.get(i + 1).unwrap_or(&y0);
                y0 + f * (y1 - y0)
            }
            Some(i2) => {
                let n = i2.len();
                let (j, g) = axis(i2, x2);
                let v = |a: usize, b: usize| self.v[a * n + b];
                let j1 = (j + 1).min(n - 1);
                let i1 = (i + 1).min(self.i1.len() - 1);
                let lo = v(i, j) + g * (v(i, j1) - v(i, j));
                let hi = v(i1, j) + g * (v(i1, j1) - v(i1, j));
                lo + f * (hi - lo)
            }
        }
    }
}

struct PowerGroup {
    related: Option<String>,
    rise: Table,
    fall: Table,
}

struct Cell {
    leakage_nw: f64,
    /// Input pins' rise capacitance (what OpenSTA sums into a net's load).
    rise_cap: HashMap<String, f64>,
    /// Output or input pin -> its internal_power groups.
    power: HashMap<String, Vec<PowerGroup>>,
}

fn cell(lib: &str, name: &str) -> Cell {
    let at = lib
        .find(&format!("cell ({name})"))
        .expect("cell in the library");
    let body = group(lib, at);
    let mut rise_cap = HashMap::new();
    let mut power = HashMap::new();
    for (pin, pbody) in groups(body, "pin") {
        if attr(pbody, "direction").as_deref() == Some("input") {
            let c = attr(pbody, "rise_capacitance").unwrap();
            rise_cap.insert(pin.clone(), c.parse().unwrap());
        }
        let gs = groups(pbody, "internal_power")
            .into_iter()
            .map(|(_, g)| PowerGroup {
                related: attr(g, "related_pin"),
                rise: table(groups(g, "rise_power")[0].1),
                fall: table(groups(g, "fall_power")[0].1),
            })
            .collect();
        power.insert(pin, gs);
    }
    Cell {
        leakage_nw: attr(body, "cell_leakage_power").unwrap().parse().unwrap(),
        rise_cap,
        power,
    }
}

/// A small netlist in the form Yosys writes: a NAND, an XOR, inverters and
/// a flip-flop.
const SMALL: &str = "module ppa_small(clk_i, rst_ni, a_i, y_o);
  input clk_i;
  input rst_ni;
  input [2:0] a_i;
  output y_o;
  wire _1_;
  wire _2_;
  wire _3_;
  wire _4_;
  NAND2X1 _5_ (
    .A(a_i[0]),
    .B(a_i[1]),
    .Y(_1_)
  );
  XOR2X1 _6_ (
    .A(_1_),
    .B(a_i[2]),
    .Y(_2_)
  );
  INVX1 _7_ (
    .A(_2_),
    .Y(_3_)
  );
  DFFPOSX1 _8_ (
    .CLK(clk_i),
    .D(_3_),
    .Q(_4_)
  );
  INVX1 _9_ (
    .A(_4_),
    .Y(y_o)
  );
endmodule
";

/// The dynamic power OpenSTA reports for a small netlist equals a hand
/// computation: every net's toggles counted here from the stimulus (and
/// compared with the simulation's count), energies looked up in the
/// library's internal_power tables at OpenSTA's slews, 1/2 C V^2 per
/// toggle for the nets, leakage from the cells' leakage values.
#[test]
#[ignore = "full tier (Icarus, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn small_netlist_power_equals_a_hand_computation() {
    need_all();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inputs = vec![toggles::InPort {
        name: "a_i".into(),
        width: 3,
        lsb: 0,
    }];
    let top = toggles::Top {
        name: "ppa_small",
        inputs: &inputs,
        out_name: "y_o",
        out_bits: 1,
    };
    // a seeded stimulus, a_i[2] slower than the others
    let mut words = Vec::new();
    let mut s = 12345u32;
    for c in 0..400 {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let w = ((s >> 16) & 3) | (u32::from(c % 7 < 3) << 2);
        words.push(w);
    }
    let stim: String = words.iter().map(|w| format!("{w:x}\n")).collect();
    let lib = Path::new(OSU018_LIB);
    let cells_v = lib.with_extension("v");
    let measured = toggles::measure(&top, SMALL, &cells_v, &stim, words.len(), d).unwrap();

    // the nets' values per cycle, evaluated here: a_i, the NAND, XOR, INV
    // and the flip-flop one cycle later (the reset and idle cycles of the
    // bench clock in a zero word: the flip-flop starts at the NOT-XOR of it)
    let bit = |w: u32, i: u32| (w >> i) & 1 == 1;
    let mut nets: HashMap<&str, Vec<bool>> = HashMap::new();
    let mut q = false;
    for &w in &words {
        let n1 = !(bit(w, 0) && bit(w, 1));
        let n2 = n1 ^ bit(w, 2);
        let n3 = !n2;
        for (k, v) in [
            ("a_i[0]", bit(w, 0)),
            ("a_i[1]", bit(w, 1)),
            ("a_i[2]", bit(w, 2)),
            ("_1_", n1),
            ("_2_", n2),
            ("_3_", n3),
            ("_4_", q),
            ("y_o", !q),
        ] {
            nets.entry(k).or_default().push(v);
        }
        q = n3;
    }
    let cycles = words.len();
    let mut act = HashMap::new();
    for (k, v) in &nets {
        let toggles = v.windows(2).filter(|p| p[0] != p[1]).count();
        let a = toggles as f64 / (cycles - 1) as f64;
        let got = measured.nets[*k].toggles_per_cycle;
        assert_eq!(got, a, "toggles of {k}");
        act.insert(k.to_string(), got);
    }

    let b = sta::power_of(SMALL, &top, &measured, lib, 100_000, d).unwrap();

    // OpenSTA's slews at every pin, from a plain run on the same files
    let mut script = format!(
        "read_liberty {OSU018_LIB}\nread_verilog netlist.v\nread_verilog power_harness.v\n\
         link_design ppa_harness\ncreate_clock -name clk_i -period 10 [get_ports clk_i]\n"
    );
    let pins = [
        "_5_/A", "_5_/B", "_6_/A", "_6_/B", "_7_/A", "_8_/CLK", "_8_/D", "_9_/A",
    ];
    for p in pins {
        script.push_str(&format!(
            "foreach v [[get_pins dut/{p}] vertices] {{ puts \"slew {p} [$v slews rise] [$v slews fall]\" }}\n"
        ));
    }
    let text = sta_text(d, &script);
    let mut slew: HashMap<String, (f64, f64)> = HashMap::new();
    for l in text.lines().filter(|l| l.starts_with("slew ")) {
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        // raw values in seconds, min and max: take the max of each
        let r: f64 = f[3].parse().unwrap();
        let fl: f64 = f[5].parse().unwrap();
        slew.insert(f[1].to_string(), (r * 1e9, fl * 1e9));
    }

    let lib_text = std::fs::read_to_string(lib).unwrap();
    let period = 10.0; // ns
    let volt = 1.8;
    // (instance, cell, pin -> net)
    let insts = toggles::instances(SMALL);
    let cells: HashMap<String, Cell> = insts
        .iter()
        .map(|i| (i.cell.clone(), cell(&lib_text, &i.cell)))
        .collect();
    // load capacitance of each net: the rise capacitance of its load pins
    let mut load: HashMap<String, f64> = HashMap::new();
    for i in &insts {
        for (p, n) in &i.pins {
            if let Some(c) = cells[&i.cell].rise_cap.get(p) {
                *load.entry(n.clone()).or_default() += c;
            }
        }
    }
    let activity = |net: &str| -> f64 {
        if net == "clk_i" {
            2.0
        } else {
            act[net]
        }
    };
    let (mut internal, mut switching, mut leakage) = (0.0, 0.0, 0.0); // mW, nW
    for i in &insts {
        let c = &cells[&i.cell];
        leakage += c.leakage_nw;
        for (p, n) in &i.pins {
            let cap = if c.rise_cap.contains_key(p) {
                0.0
            } else {
                load.get(n).copied().unwrap_or(0.0)
            };
            if !c.rise_cap.contains_key(p) {
                // 1/2 C V^2 per toggle (pF x V^2 = pJ, per ns = mW)
                switching += 0.5 * cap * volt * volt * activity(n) / period;
            }
            let groups = &c.power[p];
            if groups.is_empty() {
                continue;
            }
            // OpenSTA's model (this version): each group's rise plus fall
            // energy at the related pin's slew and this pin's load, times
            // a rate: a combinational arc A -> Y counts A's toggles while
            // the other inputs let A through, with the probability OpenSTA
            // infers from their duty (NAND: B at 1; XOR: B at 0); a
            // flip-flop's Q arc counts Q's toggles; a pin without a related
            // pin counts its own toggles at duty 0.5, a clock pin both
            // edges of every cycle
            let net_of = |pin: &str| {
                i.pins
                    .iter()
                    .find(|(q, _)| q == pin)
                    .map(|(_, n)| n.clone())
                    .unwrap()
            };
            let duty = |pin: &str| measured.nets[&net_of(pin)].duty;
            let mut sum = 0.0;
            for g in groups {
                let from = g.related.clone().unwrap_or_else(|| p.clone());
                let rate = match (i.cell.as_str(), p.as_str(), from.as_str()) {
                    ("INVX1", "Y", "A") => activity(&net_of("A")),
                    ("NAND2X1", "Y", "A") => activity(&net_of("A")) * duty("B"),
                    ("NAND2X1", "Y", "B") => activity(&net_of("B")) * duty("A"),
                    ("XOR2X1", "Y", "A") => activity(&net_of("A")) * (1.0 - duty("B")),
                    ("XOR2X1", "Y", "B") => activity(&net_of("B")) * (1.0 - duty("A")),
                    ("DFFPOSX1", "Q", "CLK") => activity(n),
                    ("DFFPOSX1", "CLK", "CLK") => 2.0,
                    ("DFFPOSX1", "D", "D") => activity(n) * 0.5,
                    other => panic!("no hand rule for {other:?}"),
                };
                let (sr, sf) = slew[&format!("{}/{from}", i.name)];
                let (er, ef) = if g.rise.i2.is_some() {
                    (g.rise.at(cap, sr), g.fall.at(cap, sf))
                } else {
                    (g.rise.at(sr, 0.0), g.fall.at(sf, 0.0))
                };
                sum += (er + ef) * rate / period;
            }
            internal += sum;
        }
    }
    // the harness flip-flops charge the input nets
    for k in 0..3 {
        let n = format!("a_i[{k}]");
        switching += 0.5 * load[&n] * volt * volt * act[&n] / period;
    }
    let got_dynamic = (b.internal_w + b.switching_w) * 1e3;
    let want_dynamic = internal + switching;
    assert!(
        (got_dynamic - want_dynamic).abs() <= 0.005 * want_dynamic,
        "dynamic power: OpenSTA {got_dynamic} mW, by hand {want_dynamic} mW \
         (internal {} vs {internal}, switching {} vs {switching})",
        b.internal_w * 1e3,
        b.switching_w * 1e3
    );
    assert!(
        (b.leakage_w * 1e9 - leakage).abs() <= 1e-3 * leakage,
        "leakage: {} nW vs {leakage} nW",
        b.leakage_w * 1e9
    );
}

/// The PE's area equals a plain Yosys `stat -liberty` on the same Verilog,
/// and its Fmax is where a plain OpenSTA run of the SDC `generate` writes
/// at that clock finds zero slack on the critical path reported.
#[test]
#[ignore = "full tier (Yosys, Icarus, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn area_and_fmax_agree_with_plain_yosys_and_opensta() {
    need_all();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "pe.yaml", "name: ppa_pe\narray: {kind: single}\n");
    let r = run(
        &[
            "synth",
            "pe.yaml",
            "--target",
            "liberty",
            "--pe-only",
            "--json",
            "-o",
            "out",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    let l = &v["pe"]["liberty"];
    let area = l["area_um2"].as_f64().unwrap();
    let fmax = l["fmax_mhz"].as_f64().unwrap();
    let crit = l["critical_path_ns"].as_f64().unwrap();
    assert!(v["tools"]["opensta"].is_string(), "{v}");
    for b in v["baselines"].as_array().unwrap() {
        assert!(b["liberty"]["area_um2"].as_f64().unwrap() > 1000.0, "{b}");
        assert!(b["liberty"]["power"]["energy_pj_per_mac"].as_f64().unwrap() > 0.0);
    }

    // the comparison's PE as a design of its own, its SDC at the Fmax
    let hash = v["pe"]["design_hash"].as_str().unwrap();
    let (plain, slack) = plain_area_and_slack(
        d,
        "ppa_pe_cmp0",
        "name: ppa_pe_cmp0\narray: {kind: single}\n",
        hash,
        fmax,
    );
    assert_eq!(area, plain, "area: sparqgen {area}, plain Yosys {plain}");
    let period = 1000.0 / fmax;
    assert!(
        slack.abs() < 0.01,
        "slack at the reported Fmax {fmax} MHz: {slack} ns"
    );
    assert!(
        (period - slack - crit).abs() < 0.01,
        "critical path: sparqgen {crit} ns, plain OpenSTA {} ns",
        period - slack
    );
}

/// The design `yaml` (named `name`, whose hash must be `hash`) generated
/// with its SDC at `fmax`, mapped by a plain Yosys script onto the OSU
/// library (ABC delay-targeted at 10,000 ps with its buffering and sizing)
/// and timed by a plain OpenSTA run: (area, slack).
fn plain_area_and_slack(d: &Path, name: &str, yaml: &str, hash: &str, fmax: f64) -> (f64, f64) {
    write(d, &format!("{name}.yaml"), yaml);
    let mhz = format!("{fmax}");
    let g = run(
        &[
            "generate",
            &format!("{name}.yaml"),
            "--clock-mhz",
            &mhz,
            "-o",
            "gen",
        ],
        d,
    );
    assert_eq!(g.code(), 0, "{}", g.stderr());
    let folder = d.join("gen").join(name);
    let manifest = std::fs::read_to_string(folder.join("manifest.yaml")).unwrap();
    assert!(manifest.contains(hash), "the same PE: {hash}");
    let files: Vec<String> = std::fs::read_to_string(folder.join(format!("{name}.f")))
        .unwrap()
        .lines()
        .filter(|l| l.ends_with(".v"))
        .map(str::to_string)
        .collect();
    // the mapping the README states: delay target 10,000 ps (generate's
    // default 100 MHz clock), ABC's buffering and sizing script (-constr)
    std::fs::write(folder.join("plain.constr"), "set_load 0.0\n").unwrap();
    let script = format!(
        "read_verilog -defer {}\nhierarchy -check -top {name}_top\n\
         synth -flatten -top {name}_top\ndfflibmap -liberty {OSU018_LIB}\n\
         abc -liberty {OSU018_LIB} -D 10000 -constr plain.constr\nopt_clean\n\
         tee -o area.txt stat -liberty {OSU018_LIB}\nwrite_verilog -noattr plain.v\n",
        files.join(" ")
    );
    std::fs::write(folder.join("plain.ys"), script).unwrap();
    let y = Command::new("yosys")
        .args(["-q", "plain.ys"])
        .current_dir(&folder)
        .output()
        .unwrap();
    assert!(y.status.success(), "{}", String::from_utf8_lossy(&y.stderr));
    let text = std::fs::read_to_string(folder.join("area.txt")).unwrap();
    let plain: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Chip area for module"))
        .and_then(|r| r.rsplit(':').next())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let text = sta_text(
        &folder,
        &format!(
            "read_liberty {OSU018_LIB}\nread_verilog plain.v\nlink_design {name}_top\n\
             read_sdc {name}.sdc\nreport_checks -path_delay max -digits 4\n"
        ),
    );
    let slack: f64 = text
        .lines()
        .find(|l| l.contains("slack ("))
        .and_then(|l| l.split_ascii_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    (plain, slack)
}

/// `synth --sweep` on the cell library times the PE and both baselines at
/// pipeline 0, 1 and 2: each depth's Fmax is where a plain OpenSTA run of
/// that PE's own SDC has zero slack, and its area what plain Yosys maps.
#[test]
#[ignore = "full tier (Yosys, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn sweep_times_every_pipeline_depth_as_plain_opensta_does() {
    need_all();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "pe.yaml", "name: ppa_sw\narray: {kind: single}\n");
    let r = run(
        &[
            "synth",
            "pe.yaml",
            "--target",
            "liberty",
            "--sweep",
            "--variants",
            "41",
            "--pe-only",
            "--no-netlist-check",
            "--json",
            "-o",
            "out",
        ],
        d,
    );
    assert_eq!(r.code(), 0, "{}", r.stderr());
    let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
    let rows = v["pipeline_timing"].as_array().unwrap();
    let got: Vec<(String, u64)> = rows
        .iter()
        .map(|t| {
            (
                t["pe"].as_str().unwrap().to_string(),
                t["pipeline"].as_u64().unwrap(),
            )
        })
        .collect();
    for p in 0..=2u64 {
        for pe in ["sparq 5opt round", "mac8x8", "mac4x8"] {
            assert!(
                got.contains(&(pe.to_string(), p)),
                "{pe} at pipeline {p}: {got:?}"
            );
        }
    }
    // SPARQ at pipeline 2 and mac4x8 at pipeline 1, each against the tools
    for (pe, p, kind) in [("sparq 5opt round", 2, "sparq"), ("mac4x8", 1, "mac4x8")] {
        let t = rows
            .iter()
            .find(|t| t["pe"] == pe && t["pipeline"] == p)
            .unwrap();
        let fmax = t["fmax_mhz"].as_f64().unwrap();
        let i = if kind == "sparq" { 0 } else { 2 };
        let name = format!("ppa_sw_p{p}_cmp{i}");
        let yaml =
            format!("name: {name}\npe: {{kind: {kind}, pipeline: {p}}}\narray: {{kind: single}}\n");
        let (area, slack) =
            plain_area_and_slack(d, &name, &yaml, t["design_hash"].as_str().unwrap(), fmax);
        assert_eq!(t["area_um2"].as_f64().unwrap(), area, "{pe} pipeline {p}");
        assert!(
            slack.abs() < 0.01,
            "{pe} pipeline {p}: slack {slack} ns at {fmax} MHz"
        );
    }
}

/// Zero activations toggle next to nothing: every SPARQ variant (5opt,
/// 3opt, 2opt) costs visibly less energy per MAC on all-zero activations
/// than on dense random ones, flip-flop clocking included.
#[test]
#[ignore = "full tier (Yosys, Icarus, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn zero_activations_cost_less_than_dense_for_every_sparq_variant() {
    use sparqgen::config::{Design, PeKind, PlacementSet, Rounding, SparqArith};
    use sparqgen::synth::{compare, flow::Scripts, ppa};
    need_all();
    let base = Design::from_yaml("name: ppa_zd\narray: {kind: single}").unwrap();
    let kinds: Vec<PeKind> = [PlacementSet::Opt5, PlacementSet::Opt3, PlacementSet::Opt2]
        .into_iter()
        .map(|placements| {
            PeKind::Sparq(SparqArith {
                placements,
                rounding: Rounding::RoundHalfEven,
                pair_sharing: true,
                stc: false,
            })
        })
        .collect();
    let designs = compare::pe_designs(&base, &kinds, 0).unwrap();
    let lib = Path::new(OSU018_LIB);
    let mut rng = sparqgen::workload::Rng::new(7);
    let dense: Vec<u8> = (0..4096).map(|_| (rng.next_u64() % 256) as u8).collect();
    let energy = |acts: Vec<u8>| -> Vec<(f64, f64)> {
        let w = compare::Workload::User(acts);
        ppa::price(&designs, lib, &w, &mut Scripts::default())
            .unwrap()
            .into_iter()
            .map(|l| {
                let p = l.power.expect("power of a single PE");
                (p.energy_pj_per_mac, p.activity)
            })
            .collect()
    };
    let zero = energy(vec![0; 64]);
    let full = energy(dense);
    for ((k, z), f) in kinds.iter().zip(&zero).zip(&full) {
        assert!(
            z.0 < 0.6 * f.0 && z.1 < f.1,
            "{}: all-zero {z:?} (pJ/MAC, activity) against dense {f:?}",
            k.label()
        );
    }
}

/// Per-layer energies of the digits CNN from `synth --acts DIR --net`: the
/// network's energy per image is each layer's MACs (as `hcm` counts them
/// from the same ONNX graph) times that layer's measured pJ/MAC; `hcm
/// --energy` reads the same JSON and charges every layer its own measured
/// pJ/MAC, the mac8x8 array the baseline's.
#[test]
#[ignore = "full tier (Yosys, Icarus, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn energy_per_image_from_measured_layers_in_synth_and_hcm() {
    need_all();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let digits = Path::new(env!("CARGO_MANIFEST_DIR")).join("networks/digits");
    let model = digits.join("digits_int8.onnx").display().to_string();
    let x = digits.join("x_test.npy").display().to_string();
    let n = run(&["net", &model, "--input", &x, "--acts", "acts"], d);
    assert_eq!(n.code(), 0, "{}", n.stderr());
    write(d, "pe.yaml", "name: ppa_en\narray: {kind: single}\n");
    let s = run(
        &[
            "synth",
            "pe.yaml",
            "--target",
            "liberty",
            "--pe-only",
            "--no-netlist-check",
            "--acts",
            "acts",
            "--net",
            &model,
            "--json",
            "-o",
            "out",
        ],
        d,
    );
    assert_eq!(s.code(), 0, "{}", s.stderr());
    write(d, "synth.json", &s.stdout());
    let sj: serde_json::Value = serde_json::from_str(&s.stdout()).unwrap();

    let h = run(
        &[
            "hcm",
            &model,
            "--design",
            "pe.yaml",
            "--energy",
            "synth.json",
            "--json",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(h.code(), 0, "{}", h.stderr());
    let hj: serde_json::Value = serde_json::from_str(&h.stdout()).unwrap();
    let hl = hj["layers"].as_array().unwrap();
    let le = sj["layer_energy"].as_array().unwrap();
    assert_eq!(le.len(), hl.len(), "one measured energy per compute layer");

    // synth: per image = sum over layers of MACs x pJ/MAC, MACs as hcm counts them
    let ne = &sj["network_energy"];
    let macs = |name: &str| {
        hl.iter().find(|l| l["name"] == name).unwrap()["macs"]
            .as_u64()
            .unwrap()
    };
    let total: u64 = hl.iter().map(|l| l["macs"].as_u64().unwrap()).sum();
    assert_eq!(ne["macs_per_image"].as_u64().unwrap(), total);
    let labels: Vec<String> = ne["pes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pe"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels.len(), 3, "{ne}");
    for (i, pe) in ne["pes"].as_array().unwrap().iter().enumerate() {
        let want: f64 = le
            .iter()
            .map(|l| {
                macs(l["layer"].as_str().unwrap()) as f64
                    * l["pes"][i]["energy_pj_per_mac"].as_f64().unwrap()
                    * 1e-6
            })
            .sum();
        let got = pe["uj_per_image"].as_f64().unwrap();
        assert!(
            (got - want).abs() < 1e-9 * want,
            "{}: {got} against {want}",
            labels[i]
        );
    }

    // hcm: every layer at its own measured pJ/MAC; busy = MACs x pJ/MAC
    let pj_of = |layer: &str, pe: &str| {
        let l = le.iter().find(|l| l["layer"] == layer).unwrap();
        l["pes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pe"] == pe)
            .unwrap()["energy_pj_per_mac"]
            .as_f64()
            .unwrap()
    };
    let mut busy = 0.0;
    for l in hl {
        let e = &l["energy"];
        let name = l["name"].as_str().unwrap();
        assert_eq!(e["source"], "layer", "{l}");
        let pj = pj_of(name, &labels[0]);
        assert_eq!(e["pj_per_mac"].as_f64().unwrap(), pj);
        let b = l["macs"].as_u64().unwrap() as f64 * pj * 1e-6;
        assert!((e["busy_uj"].as_f64().unwrap() - b).abs() < 1e-12, "{e}");
        busy += b;
    }
    let t = &hj["energy"];
    assert_eq!(t["layers_measured"].as_u64().unwrap(), hl.len() as u64);
    assert!((t["busy_uj"].as_f64().unwrap() - busy).abs() < 1e-9);
    assert!(
        t["idle_uj"].as_f64().unwrap() > 0.0,
        "digits is memory-bound: PEs wait"
    );
    assert!(t["baseline_8bit_uj_per_image"].as_f64().unwrap() > 0.0);
    // the mac8x8 design's own report takes the baseline's measured energy
    write(
        d,
        "m8.yaml",
        "name: ppa_en\npe: {kind: mac8x8}\narray: {kind: single}\n",
    );
    let m = run(
        &[
            "hcm",
            &model,
            "--design",
            "m8.yaml",
            "--energy",
            "synth.json",
            "--json",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(m.code(), 0, "{}", m.stderr());
    let mj: serde_json::Value = serde_json::from_str(&m.stdout()).unwrap();
    assert_eq!(mj["energy"]["pe"], "mac8x8");
    assert_eq!(
        mj["layers"][0]["energy"]["pj_per_mac"].as_f64().unwrap(),
        pj_of(mj["layers"][0]["name"].as_str().unwrap(), "mac8x8")
    );
    let text = run(
        &[
            "hcm",
            &model,
            "--design",
            "pe.yaml",
            "--energy",
            "synth.json",
            "--area-model",
            "none",
        ],
        d,
    )
    .stdout();
    assert!(
        text.contains("per frame") && text.contains("energy:"),
        "{text}"
    );
}

/// `hcm --energy` with a file that has no measured power: one line, exit 2.
#[test]
fn hcm_energy_without_measured_power_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "s.json",
        "{\"design\": \"x\", \"design_hash\": \"h\", \"baselines\": []}",
    );
    let r = run(
        &[
            "hcm",
            "resnet18",
            "--energy",
            "s.json",
            "--area-model",
            "none",
        ],
        d,
    );
    assert_eq!(r.code(), 2, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("--energy s.json: no PE with liberty.power"),
        "{}",
        r.stderr()
    );
    assert_eq!(r.stderr().trim().lines().count(), 1, "{}", r.stderr());
}

/// Arrays' power (`--array-power`): a 2x2 systolic SPARQ array's gate
/// netlist simulated on streamed tiles costs less per MAC on all-zero
/// activations than on dense ones, and its energy per MAC is over the
/// whole array's MACs per cycle (each activation meets every column).
#[test]
#[ignore = "full tier (Yosys, Icarus, OpenSTA, OSU 0.18 um library): scripts/test.sh runs it"]
fn array_power_sees_zero_activations() {
    use sparqgen::config::Design;
    use sparqgen::synth::{compare, flow::Scripts, ppa};
    need_all();
    let d = Design::from_yaml("name: ppa_arr\narray: {kind: systolic, rows: 2, cols: 2}").unwrap();
    let lib = Path::new(OSU018_LIB);
    let mut rng = sparqgen::workload::Rng::new(11);
    let dense: Vec<u8> = (0..4096).map(|_| (rng.next_u64() % 256) as u8).collect();
    let power = |acts: Vec<u8>| {
        let w = compare::Workload::User(acts);
        ppa::price_with(
            std::slice::from_ref(&d),
            lib,
            Some(&w),
            true,
            &mut Scripts::default(),
        )
        .unwrap()
        .remove(0)
        .power
        .expect("power of a systolic array with arrays on")
    };
    let (z, f) = (power(vec![0; 64]), power(dense));
    assert_eq!((f.activations_per_cycle, f.macs_per_cycle), (4, 8));
    // an array's flip-flops (operand pass-through, accumulators, output
    // chain) clock whatever the data: the whole saves less than a PE does,
    // the data-dependent rest (dynamic less the flops' internal power) more
    let data = |p: &sparqgen::synth::sta::Power| p.dynamic_mw - p.flop_internal_mw;
    assert!(
        z.energy_pj_per_mac < 0.9 * f.energy_pj_per_mac
            && data(&z) < 0.6 * data(&f)
            && z.activity < 0.25 * f.activity,
        "all-zero {z:?} against dense {f:?}"
    );
    // without --array-power an array gets area and timing only
    let w = compare::Workload::ReluLike;
    let l = ppa::price(std::slice::from_ref(&d), lib, &w, &mut Scripts::default()).unwrap();
    assert!(l[0].power.is_none() && l[0].note.as_deref().unwrap().contains("--array-power"));
}
