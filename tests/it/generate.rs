//! `sparqgen generate`: the whole hardware matrix is lint-clean in
//! Verilator, compiles in Icarus and synthesizes in Yosys without latches or
//! warnings; the generated datapath matches the model (`arith`) under Icarus
//! (every activation pair for every dense configuration); output is
//! byte-stable and the manifest reads back; bad designs and unwritable
//! folders are clear errors.

use crate::util::{run, write};
use sparqgen::arith::{stc_pairs, wrap_signed, Model, Tensor};
use sparqgen::config::{ArrayShape, Design, PeKind};
use sparqgen::rtl::{self, Direction, Manifest};
use std::path::{Path, PathBuf};
use std::process::Command;

const TB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/data/replay_tb.v");

fn design(yaml: &str) -> Design {
    Design::from_yaml(yaml).unwrap_or_else(|e| panic!("{yaml}: {e}"))
}

/// Every SPARQ PE the schema allows (placement set x rounding x sharing x
/// stc), then both baselines; each at pipeline 0, 1, 2; `array` appended.
fn pe_variants(array: &str) -> Vec<Design> {
    let mut v = Vec::new();
    let mut i = 0;
    let mut push = |pe: String| {
        for p in 0..=2 {
            i += 1;
            v.push(design(&format!(
                "name: v{i}\npe: {{{pe}, pipeline: {p}}}\narray: {array}"
            )));
        }
    };
    for (n, pl) in [(4, 5), (4, 3), (4, 2), (3, 6), (2, 7)] {
        for r in ["truncate", "round_half_even"] {
            for sharing in [true, false] {
                for stc in [false, true] {
                    push(format!(
                        "kind: sparq, window_bits: {n}, placements: {pl}, rounding: {r}, \
                         pair_sharing: {sharing}, stc: {stc}"
                    ));
                }
            }
        }
    }
    push("kind: mac8x8".into());
    push("kind: mac4x8".into());
    v
}

/// Arrays and dot units over a spread of PEs.
fn array_variants() -> Vec<Design> {
    let pes = [
        "kind: sparq",
        "kind: sparq, stc: true, pipeline: 2",
        "kind: mac8x8, pipeline: 1",
        "kind: mac4x8",
        "kind: sparq, window_bits: 3, placements: 6, rounding: truncate, pipeline: 1",
        "kind: sparq, window_bits: 2, placements: 7, pair_sharing: false",
    ];
    let mut v = Vec::new();
    for (r, c, n) in [(1, 1, 6), (2, 3, 6), (8, 8, 2), (16, 16, 1)] {
        for (j, pe) in pes.iter().take(n).enumerate() {
            v.push(design(&format!(
                "name: sa{r}x{c}_{j}\npe: {{{pe}}}\narray: {{kind: systolic, rows: {r}, cols: {c}}}"
            )));
        }
    }
    for lanes in [1, 4, 16] {
        for (j, pe) in pes.iter().enumerate() {
            v.push(design(&format!(
                "name: dot{lanes}_{j}\npe: {{{pe}}}\narray: {{kind: dot, lanes: {lanes}}}"
            )));
        }
    }
    // the adder tree capped at the narrowest accumulator the schema allows
    v.push(design(NARROW_DOT));
    v
}

/// 17 mac4x8 lanes sum to at most 65280: 17 signed bits, one less than a
/// tree that grows a bit per level would have.
const NARROW_DOT: &str =
    "name: dot17n\npe: {kind: mac4x8, acc_bits: 17}\narray: {kind: dot, lanes: 17}";

fn generate_into(dir: &Path, d: &Design) -> (Manifest, PathBuf) {
    let g = rtl::generate(d).unwrap_or_else(|e| panic!("{}: {e}", d.name()));
    let folder = g.write(dir, false).unwrap();
    (g.manifest, folder)
}

fn output_of(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Verilator `--lint-only -Wall` and `iverilog -g2005` on one generated
/// folder: both must print nothing.
fn lint(m: &Manifest, folder: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    let (ok, text) = output_of(
        Command::new("verilator")
            .args(["--lint-only", "-Wall", "-f"])
            .arg(&m.filelist)
            .args(["--top-module", &m.top])
            .current_dir(folder),
    );
    if !ok || !text.is_empty() {
        errors.push(format!("{}: verilator --lint-only -Wall:\n{text}", m.top));
    }
    let (ok, text) = output_of(
        Command::new("iverilog")
            .args(["-g2005", "-o", "/dev/null", "-s", &m.top, "-c"])
            .arg(&m.filelist)
            .current_dir(folder),
    );
    if !ok || !text.is_empty() {
        errors.push(format!("{}: iverilog -g2005:\n{text}", m.top));
    }
    errors
}

/// Yosys `synth` on one generated folder: no warning, no latch, and the
/// top's ports are the manifest's.
fn synth(m: &Manifest, folder: &Path) -> Vec<String> {
    let script = format!(
        "read_verilog {files}\nhierarchy -check -top {top}\nsynth -top {top}\n\
         select -assert-none t:$dlatch t:$adlatch t:$dlatchsr t:$sr t:$_DLATCH_* t:$_DLATCHSR_* t:$_SR_*\n\
         write_json synth.json\n",
        files = m.files.join(" "),
        top = m.top
    );
    std::fs::write(folder.join("synth.ys"), script).unwrap();
    let (ok, text) = output_of(
        Command::new("yosys")
            .args(["-q", "-l", "synth.log", "-s", "synth.ys"])
            .current_dir(folder),
    );
    let log = std::fs::read_to_string(folder.join("synth.log")).unwrap_or_default();
    let mut errors = Vec::new();
    if !ok || !text.is_empty() {
        errors.push(format!("{}: yosys synth:\n{text}", m.top));
    }
    for line in log.lines() {
        if line.contains("Warning") || line.starts_with("Latch inferred") {
            errors.push(format!("{}: yosys: {line}", m.top));
        }
    }
    if ok {
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("synth.json")).unwrap()).unwrap();
        let ports = &json["modules"][&m.top]["ports"];
        let mut got: Vec<(String, String, usize)> = ports
            .as_object()
            .unwrap_or_else(|| panic!("{}: no ports in synth.json", m.top))
            .iter()
            .map(|(name, p)| {
                (
                    name.clone(),
                    p["direction"].as_str().unwrap().to_string(),
                    p["bits"].as_array().unwrap().len(),
                )
            })
            .collect();
        let mut want: Vec<(String, String, usize)> = m
            .ports
            .iter()
            .map(|p| {
                let dir = match p.direction {
                    Direction::Input => "input",
                    Direction::Output => "output",
                };
                (p.name.clone(), dir.to_string(), p.width as usize)
            })
            .collect();
        got.sort();
        want.sort();
        if got != want {
            errors.push(format!(
                "{}: ports in Verilog {got:?} != manifest {want:?}",
                m.top
            ));
        }
    }
    errors
}

/// The matrix: every PE variant x pipeline 0/1/2 (both baselines
/// included) as a single PE, systolic arrays 1x1, 2x3, 8x8, 16x16 and dot
/// units of 1, 4, 16 lanes. Each is lint-clean (Verilator -Wall prints
/// nothing), compiles in Icarus, and synthesizes in Yosys 0.23 with no latch
/// and no warning.
#[test]
#[ignore = "full tier (Verilator, Icarus, Yosys): scripts/test.sh runs it"]
fn whole_matrix_is_lint_clean_and_synthesizes() {
    crate::util::need(&[
        sparqgen::tools::Tool::Verilator,
        sparqgen::tools::Tool::Iverilog,
        sparqgen::tools::Tool::Yosys,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut designs = pe_variants("{kind: single}");
    assert_eq!(designs.len(), 126);
    designs.extend(array_variants());
    let generated: Vec<(Manifest, PathBuf)> = designs
        .iter()
        .map(|d| generate_into(dir.path(), d))
        .collect();
    let errors: Vec<String> = crate::util::flat_map(&generated, |(m, folder)| {
        let mut e = lint(m, folder);
        e.extend(synth(m, folder));
        e
    });
    assert!(
        errors.is_empty(),
        "{} problems in {} designs:\n{}",
        errors.len(),
        designs.len(),
        errors.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The datapath against the model, under Icarus.
// ---------------------------------------------------------------------------

/// Little-endian bit packer for wide port words.
#[derive(Default, Clone)]
struct Bits {
    words: Vec<u64>,
    len: u32,
}

impl Bits {
    fn push(&mut self, value: u64, bits: u32) {
        for i in 0..bits {
            let bit = (value >> i) & 1;
            let (w, o) = ((self.len / 64) as usize, self.len % 64);
            if w == self.words.len() {
                self.words.push(0);
            }
            self.words[w] |= bit << o;
            self.len += 1;
        }
    }

    fn append(&mut self, other: &Bits) {
        for i in 0..other.len {
            let bit = (other.words[(i / 64) as usize] >> (i % 64)) & 1;
            self.push(bit, 1);
        }
    }

    /// Hex, most significant digit first, exactly `ceil(width / 4)` digits.
    fn hex(&self, width: u32) -> String {
        let digits = width.div_ceil(4);
        (0..digits)
            .rev()
            .map(|d| {
                let mut v = 0;
                for b in 0..4 {
                    let i = d * 4 + b;
                    if i < self.len && (self.words[(i / 64) as usize] >> (i % 64)) & 1 == 1 {
                        v |= 1 << b;
                    }
                }
                char::from_digit(v, 16).unwrap()
            })
            .collect()
    }
}

/// Deterministic generator for test data.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// An activation: zero a quarter of the time, else anything.
    fn act(&mut self, max: u8) -> u8 {
        if self.below(4) == 0 {
            0
        } else {
            (self.below(u64::from(max) + 1)) as u8
        }
    }
    fn weight(&mut self) -> i8 {
        match self.below(8) {
            0 => -128,
            1 => 127,
            2 => 0,
            _ => self.next() as u8 as i8,
        }
    }
}

/// A seed per design, so that every design sees different data.
fn seed_of(d: &Design) -> u64 {
    u64::from_str_radix(&d.hash()[..15], 16).unwrap()
}

/// One PE cycle's operands as K-slices of A and B (`activations_per_cycle`
/// long), packed per verif/INTERFACE.md.
fn encode(kind: &PeKind, a: &[u8], b: &[i8]) -> (Bits, Bits) {
    let (mut act, mut wgt) = (Bits::default(), Bits::default());
    match kind {
        PeKind::Sparq(s) if s.stc => {
            for &x in a {
                act.push(u64::from(x), 8);
            }
            let [(p1, b1), (p2, b2)] = stc_pairs(b, 0).unwrap()[0];
            let idx = |p: usize| if p < 4 { p as u64 } else { 0 };
            wgt.push(u64::from(b1 as u8), 8);
            wgt.push(u64::from(b2 as u8), 8);
            wgt.push(idx(p1), 2);
            wgt.push(idx(p2), 2);
        }
        PeKind::Mac4x8 => {
            for &x in a {
                act.push(u64::from(x), 4);
            }
            for &x in b {
                wgt.push(u64::from(x as u8), 8);
            }
        }
        _ => {
            for &x in a {
                act.push(u64::from(x), 8);
            }
            for &x in b {
                wgt.push(u64::from(x as u8), 8);
            }
        }
    }
    (act, wgt)
}

/// A 2:4 weight group: at most two non-zero weights at random positions.
fn stc_group(rng: &mut Rng) -> Vec<i8> {
    let mut g = vec![0i8; 4];
    for _ in 0..rng.below(3) {
        g[rng.below(4) as usize] = rng.weight();
    }
    g
}

/// Operands (A and B slices) of `count` PE cycles for one lane; dense SPARQ
/// and mac8x8 start with every activation pair (a1, a2) (every (a, b) for
/// mac8x8) when `exhaustive`.
fn lane_operands(
    d: &Design,
    count: usize,
    exhaustive: bool,
    rng: &mut Rng,
) -> Vec<(Vec<u8>, Vec<i8>)> {
    let kind = &d.pe().kind();
    let apc = kind.activations_per_cycle() as usize;
    let max = kind.act_max();
    let stc = matches!(kind, PeKind::Sparq(s) if s.stc);
    let mut v = Vec::with_capacity(count);
    if exhaustive {
        for i in 0..65536u32 {
            let (hi, lo) = ((i >> 8) as u8, i as u8);
            v.push(match kind {
                PeKind::Mac8x8 => (vec![hi], vec![lo as i8]),
                _ => (vec![hi, lo], vec![rng.weight(), rng.weight()]),
            });
        }
    }
    while v.len() < count {
        let a: Vec<u8> = (0..apc).map(|_| rng.act(max)).collect();
        let b: Vec<i8> = if stc {
            stc_group(rng)
        } else {
            (0..apc).map(|_| rng.weight()).collect()
        };
        v.push((a, b));
    }
    v
}

/// The model of `d`'s arithmetic with a 32-bit accumulator: per-cycle sums
/// never wrap; the test wraps the running accumulator itself, per the
/// contract.
fn cycle_model(d: &Design) -> Model {
    let wide = d.with_acc_bits(d.pe().acc_bits().max(32)).unwrap();
    Model::new(&wide)
}

/// What the model says one cycle of `lanes` lanes adds: the GEMM of the
/// cycle's K-slice (1 x K times (1 x K)^T).
fn cycle_sum(model: &Model, lanes: &[(Vec<u8>, Vec<i8>)]) -> i64 {
    let a: Vec<u8> = lanes.iter().flat_map(|(a, _)| a.clone()).collect();
    let b: Vec<i8> = lanes.iter().flat_map(|(_, b)| b.clone()).collect();
    let k = a.len();
    let c = model
        .gemm(&Tensor::new(vec![1, k], a), &Tensor::new(vec![1, k], b))
        .unwrap();
    i64::from(c.data[0])
}

/// A replay: per-cycle inputs and expected outputs.
struct Replay {
    act_bits: u32,
    wgt_bits: u32,
    out_bits: u32,
    stim: Vec<String>,
    expect: Vec<String>,
    checks: usize,
}

impl Replay {
    fn new(act_bits: u32, wgt_bits: u32, out_bits: u32) -> Replay {
        Replay {
            act_bits,
            wgt_bits,
            out_bits,
            stim: Vec::new(),
            expect: Vec::new(),
            checks: 0,
        }
    }

    fn cycle(&mut self, drain: bool, clear: bool, valid: bool, act: &Bits, wgt: &Bits) {
        let mut w = Bits::default();
        let mut act = act.clone();
        let mut wgt = wgt.clone();
        act.push(0, self.act_bits - act.len);
        wgt.push(0, self.wgt_bits - wgt.len);
        w.append(&act);
        w.append(&wgt);
        w.push(u64::from(valid), 1);
        w.push(u64::from(clear), 1);
        w.push(u64::from(drain), 1);
        self.stim.push(w.hex(self.act_bits + self.wgt_bits + 3));
        self.expect.push(Bits::default().hex(self.out_bits + 1));
    }

    /// Expect `out` after the rising edge of cycle `t`.
    fn expect(&mut self, t: usize, out: &Bits) {
        let mut w = out.clone();
        w.push(1, 1);
        self.expect[t] = w.hex(self.out_bits + 1);
        self.checks += 1;
    }

    /// Compile with Icarus and run; panic with the first mismatches.
    fn run(&self, m: &Manifest, folder: &Path, systolic: bool) {
        let dir = folder.join("replay");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stim.hex"), self.stim.join("\n") + "\n").unwrap();
        std::fs::write(dir.join("expect.hex"), self.expect.join("\n") + "\n").unwrap();
        let mut cmd = Command::new("iverilog");
        cmd.args(["-g2005", "-o", "tb.vvp", "-s", "replay_tb"])
            .arg(format!("-DTOP={}", m.top))
            .arg(format!("-Preplay_tb.ActBits={}", self.act_bits))
            .arg(format!("-Preplay_tb.WgtBits={}", self.wgt_bits))
            .arg(format!("-Preplay_tb.OutBits={}", self.out_bits))
            .arg(format!("-Preplay_tb.Cycles={}", self.stim.len()));
        if systolic {
            cmd.arg("-DSYSTOLIC");
        }
        cmd.arg(TB);
        for f in &m.files {
            cmd.arg(folder.join(f));
        }
        let (ok, text) = output_of(cmd.current_dir(&dir));
        assert!(ok && text.is_empty(), "{}: iverilog: {text}", m.top);
        let (ok, text) = output_of(Command::new("vvp").args(["-n", "tb.vvp"]).current_dir(&dir));
        let want = format!(
            "DONE cycles {} checked {} errors 0",
            self.stim.len(),
            self.checks
        );
        assert!(
            ok && text.contains(&want),
            "{} ({}): RTL differs from the model:\n{text}",
            m.top,
            m.design.to_yaml().replace('\n', "; ")
        );
    }
}

/// Single PE or dot unit: random valid/clear; the expected accumulator
/// follows the contract (latency pipeline + 1, wrap modulo 2^acc_bits).
fn check_accumulating(dir: &Path, d: &Design, count: usize, exhaustive: bool, clear_every: u64) {
    let (m, folder) = generate_into(dir, d);
    let model = cycle_model(d);
    let lanes = match d.array() {
        ArrayShape::Dot { lanes } => lanes as usize,
        _ => 1,
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed_of(d) ^ count as u64);
    let per_lane: Vec<Vec<(Vec<u8>, Vec<i8>)>> = (0..lanes)
        .map(|_| lane_operands(d, count, exhaustive, &mut rng))
        .collect();
    let acc_bits = d.pe().acc_bits();
    let latency = m.latency_cycles as usize - 1;
    let mut replay = Replay::new(
        m.pe.act_bits * lanes as u32,
        m.pe.wgt_bits * lanes as u32,
        acc_bits,
    );
    let mut acc = 0i64;
    let mut accs = Vec::new();
    for t in 0..count + latency {
        if t < count {
            let ops: Vec<(Vec<u8>, Vec<i8>)> = per_lane.iter().map(|l| l[t].clone()).collect();
            let (mut act, mut wgt) = (Bits::default(), Bits::default());
            for (a, b) in &ops {
                let (x, y) = encode(&d.pe().kind(), a, b);
                act.append(&x);
                wgt.append(&y);
            }
            let valid = rng.below(8) != 0;
            let clear = rng.below(clear_every) == 0;
            let sum = cycle_sum(&model, &ops);
            acc = match (valid, clear) {
                (true, true) => sum,
                (true, false) => acc + sum,
                (false, true) => 0,
                (false, false) => acc,
            };
            acc = wrap_signed(acc, acc_bits);
            accs.push(acc);
            replay.cycle(false, clear, valid, &act, &wgt);
        } else {
            replay.cycle(false, false, false, &Bits::default(), &Bits::default());
        }
        let seen = if t >= latency { accs[t - latency] } else { 0 };
        let mut out = Bits::default();
        out.push(seen as u64, acc_bits);
        replay.expect(t, &out);
    }
    replay.run(&m, &folder, false);
}

/// Systolic array: tiles of random GEMMs (M = rows, N = cols, K = steps x
/// activations per cycle), each run, flushed and drained per the contract;
/// every drained column is compared with the model's GEMM.
fn check_systolic(dir: &Path, d: &Design, tiles: &[usize]) {
    let (m, folder) = generate_into(dir, d);
    let (rows, cols) = match d.array() {
        ArrayShape::Systolic { rows, cols } => (rows as usize, cols as usize),
        _ => unreachable!(),
    };
    let model = Model::new(d);
    let kind = &d.pe().kind();
    let apc = kind.activations_per_cycle() as usize;
    let stc = matches!(kind, PeKind::Sparq(s) if s.stc);
    let acc_bits = d.pe().acc_bits();
    let flush = m.flush_cycles.unwrap() as usize;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ seed_of(d));
    let mut replay = Replay::new(
        m.pe.act_bits * rows as u32,
        m.pe.wgt_bits * cols as u32,
        acc_bits * rows as u32,
    );
    let zero = Bits::default();
    for (tile, &steps) in tiles.iter().enumerate() {
        let k = steps * apc;
        let a: Vec<u8> = (0..rows * k).map(|_| rng.act(kind.act_max())).collect();
        let b: Vec<i8> = if stc {
            (0..cols * steps)
                .flat_map(|_| stc_group(&mut rng))
                .collect()
        } else {
            (0..cols * k).map(|_| rng.weight()).collect()
        };
        let c = model
            .gemm(
                &Tensor::new(vec![rows, k], a.clone()),
                &Tensor::new(vec![cols, k], b.clone()),
            )
            .unwrap();
        for s in 0..steps {
            let (mut act, mut wgt) = (Bits::default(), Bits::default());
            for r in 0..rows {
                let ks = r * k + s * apc;
                let (x, _) = encode(kind, &a[ks..ks + apc], &b[s * apc..s * apc + apc]);
                act.append(&x);
            }
            for col in 0..cols {
                let ks = col * k + s * apc;
                let (_, y) = encode(kind, &a[s * apc..s * apc + apc], &b[ks..ks + apc]);
                wgt.append(&y);
            }
            // the first tile starts with clear; later ones rely on the drain
            // having left zeros
            replay.cycle(false, s == 0 && tile % 2 == 0, true, &act, &wgt);
        }
        for _ in 0..flush {
            replay.cycle(false, false, false, &zero, &zero);
        }
        let column = |j: usize| {
            let mut out = Bits::default();
            for r in 0..rows {
                let v = if j < cols {
                    wrap_signed(i64::from(c.data[r * cols + (cols - 1 - j)]), acc_bits)
                } else {
                    0
                };
                out.push(v as u64, acc_bits);
            }
            out
        };
        let t = replay.stim.len() - 1;
        replay.expect(t, &column(0));
        for j in 1..=cols {
            replay.cycle(true, false, false, &zero, &zero);
            let t = replay.stim.len() - 1;
            replay.expect(t, &column(j));
        }
    }
    replay.run(&m, &folder, true);
}

/// Every activation pair (a1, a2) of every dense SPARQ configuration (and
/// every (a, b) of mac8x8) through a single PE at pipeline 0; 2:4 and
/// mac4x8 on random operands.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn pe_datapath_matches_model_for_every_pair() {
    crate::util::need(&[sparqgen::tools::Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let designs: Vec<Design> = pe_variants("{kind: single}")
        .into_iter()
        .filter(|d| d.pe().pipeline().stages() == 0)
        .collect();
    crate::util::each(&designs, |d| {
        let exhaustive = match &d.pe().kind() {
            PeKind::Sparq(s) => !s.stc,
            PeKind::Mac8x8 => true,
            PeKind::Mac4x8 => false,
        };
        check_accumulating(
            dir.path(),
            d,
            if exhaustive { 65536 } else { 8192 },
            exhaustive,
            8,
        );
    });
}

/// Pipelines 1 and 2 keep valid/clear with their operands; narrow
/// accumulators wrap modulo 2^acc_bits.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn pipelined_pes_and_narrow_accumulators_match_model() {
    crate::util::need(&[sparqgen::tools::Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let designs: Vec<Design> = pe_variants("{kind: single}")
        .into_iter()
        .filter(|d| d.pe().pipeline().stages() > 0)
        .collect();
    let wraps = [
        "name: w1\npe: {acc_bits: 17, pipeline: 1}\narray: {kind: single}",
        "name: w2\npe: {kind: mac8x8, acc_bits: 16}\narray: {kind: single}",
        "name: w3\npe: {kind: mac4x8, acc_bits: 13, pipeline: 2}\narray: {kind: single}",
        "name: w4\npe: {stc: true, acc_bits: 17}\narray: {kind: single}",
    ];
    crate::util::each(&designs, |d| {
        check_accumulating(dir.path(), d, 1024, false, 8)
    });
    crate::util::each(&wraps, |y| {
        check_accumulating(dir.path(), &design(y), 4096, false, 4096)
    });
}

/// Dot units (1, 3, 4 lanes) against the model's GEMM of each cycle.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn dot_units_match_model() {
    crate::util::need(&[sparqgen::tools::Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let mut designs = Vec::new();
    for lanes in [1, 3, 4] {
        for (j, pe) in [
            "kind: sparq",
            "kind: sparq, stc: true, pipeline: 2",
            "kind: mac8x8, pipeline: 1",
            "kind: mac4x8, pipeline: 2",
            "kind: sparq, window_bits: 2, placements: 7, rounding: truncate, pipeline: 1",
            "kind: sparq, window_bits: 3, placements: 6, acc_bits: 19",
        ]
        .iter()
        .enumerate()
        {
            if lanes != 3 && pe.contains("acc_bits: 19") {
                continue;
            }
            designs.push(design(&format!(
                "name: dot{lanes}_{j}\npe: {{{pe}}}\narray: {{kind: dot, lanes: {lanes}}}"
            )));
        }
    }
    designs.push(design(NARROW_DOT));
    crate::util::each(&designs, |d| {
        check_accumulating(dir.path(), d, 2048, false, 8)
    });
}

/// Systolic arrays: skew, flush and drain per the contract, tiles back to
/// back, against the model's GEMM.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn systolic_arrays_match_model() {
    crate::util::need(&[sparqgen::tools::Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let mut designs = Vec::new();
    for (r, c) in [(1, 1), (2, 3), (3, 2), (4, 4)] {
        for (j, pe) in [
            "kind: sparq",
            "kind: sparq, stc: true, pipeline: 2",
            "kind: mac8x8, pipeline: 1",
            "kind: mac4x8",
            "kind: sparq, window_bits: 3, placements: 6, rounding: truncate, pipeline: 2",
        ]
        .iter()
        .enumerate()
        {
            designs.push(design(&format!(
                "name: sa{r}x{c}_{j}\npe: {{{pe}}}\narray: {{kind: systolic, rows: {r}, cols: {c}}}"
            )));
        }
    }
    crate::util::each(&designs, |d| check_systolic(dir.path(), d, &[1, 7, 3, 16]));
}

// ---------------------------------------------------------------------------
// Stable output, manifest, CLI.
// ---------------------------------------------------------------------------

/// Two runs give the same bytes; the content hash covers every file and
/// changes exactly when some file does.
#[test]
fn output_is_byte_stable_and_hash_tracks_content() {
    let a = design("name: x\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 3}");
    let g1 = rtl::generate(&a).unwrap();
    let g2 = rtl::generate(&a).unwrap();
    assert_eq!(g1.files.files, g2.files.files);
    // a different design changes content and hash; same content, same hash
    let b = design("name: x\npe: {pipeline: 2}\narray: {kind: systolic, rows: 2, cols: 3}");
    let g3 = rtl::generate(&b).unwrap();
    assert_ne!(g1.manifest.content_hash, g3.manifest.content_hash);
    // the hash is over exactly the listed files
    let hashed: Vec<(String, Vec<u8>)> = g1
        .manifest
        .hashed_files()
        .into_iter()
        .map(|f| (f.clone(), g1.files.get(&f).unwrap().to_vec()))
        .collect();
    assert_eq!(
        rtl::content_hash(hashed.iter().map(|(p, c)| (p.as_str(), c.as_slice()))),
        g1.manifest.content_hash
    );
    assert_eq!(
        g1.files.files.len(),
        g1.manifest.hashed_files().len() + 1,
        "every file but the manifest is hashed"
    );
    // no timestamps or absolute paths: the folder written twice is identical
    let dir = tempfile::tempdir().unwrap();
    let f1 = g1.write(&dir.path().join("one"), false).unwrap();
    let f2 = g2.write(&dir.path().join("two"), false).unwrap();
    for (p, _) in &g1.files.files {
        assert_eq!(
            std::fs::read(f1.join(p)).unwrap(),
            std::fs::read(f2.join(p)).unwrap()
        );
    }
}

/// `manifest.yaml` reads back into the same typed manifest; editing a file
/// is detected.
#[test]
fn manifest_reads_back_and_detects_edits() {
    let dir = tempfile::tempdir().unwrap();
    for yaml in [
        "name: m1\npe: {stc: true, pipeline: 2}\narray: {kind: systolic, rows: 3, cols: 5}",
        "name: m2\npe: {kind: mac4x8}\narray: {kind: dot, lanes: 7}",
        "name: m3\npe: {window_bits: 2, placements: 7}\narray: {kind: single}",
    ] {
        let d = design(yaml);
        let (m, folder) = generate_into(dir.path(), &d);
        let back = Manifest::read(&folder).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.design, d);
        back.check_files(&folder).unwrap();
        assert_eq!(back.top, format!("{}_top", d.name()));
        assert_eq!(back.files.last().unwrap(), &format!("{}_top.v", d.name()));
        assert_eq!(back.latency_cycles, d.pe().pipeline().stages() + 1);
        for f in &back.files {
            let text = std::fs::read_to_string(folder.join(f)).unwrap();
            assert!(
                text.lines().nth(1).unwrap().contains(&d.short_hash()),
                "{f} opens with its design hash"
            );
            assert!(
                text.ends_with("endmodule\n\n`default_nettype wire\n"),
                "{f}"
            );
        }
        let top = folder.join(&back.files[back.files.len() - 1]);
        let mut text = std::fs::read_to_string(&top).unwrap();
        text.push_str("// edited\n");
        std::fs::write(&top, text).unwrap();
        let e = back.check_files(&folder).unwrap_err().to_string();
        assert!(e.contains("content_hash") && e.contains("edited"), "{e}");
    }
    let m = Manifest::read(&dir.path().join("m1")).unwrap();
    assert_eq!(m.flush_cycles, Some(2 + 4 + 2 + 1));
    assert_eq!(m.drain_cycles, Some(5));
    assert_eq!((m.pe.act_bits, m.pe.wgt_bits, m.pe.acc_bits), (32, 20, 32));
    assert_eq!(m.port("res_o").unwrap().width, 3 * 32);
    assert_eq!(m.port("wgt_i").unwrap().width, 5 * 20);
    let e = Manifest::read(&dir.path().join("nothing"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("manifest.yaml") && e.contains("sparqgen generate"),
        "{e}"
    );
}

/// Every example design in configs/ is valid and generates.
#[test]
fn example_configs_generate() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/configs");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let d = Design::from_path(&path).unwrap();
            rtl::generate(&d).unwrap();
            n += 1;
        }
    }
    assert!(n >= 5, "{n} example designs");
}

/// Module names carry the design name: two designs compile together.
#[test]
#[ignore = "full tier (Icarus): scripts/test.sh runs it"]
fn two_designs_share_one_project() {
    crate::util::need(&[sparqgen::tools::Tool::Iverilog]);
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("iverilog");
    cmd.args(["-g2005", "-o", "/dev/null"]);
    for yaml in [
        "name: left\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 2}",
        "name: right\npe: {pipeline: 1}\narray: {kind: systolic, rows: 2, cols: 2}",
    ] {
        let (m, folder) = generate_into(dir.path(), &design(yaml));
        cmd.args(["-s", &m.top]);
        for f in &m.files {
            cmd.arg(folder.join(f));
        }
    }
    let (ok, text) = output_of(&mut cmd);
    assert!(ok && text.is_empty(), "{text}");
}

#[test]
fn cli_generate_writes_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "d.yaml", "name: clitest\narray: {kind: dot, lanes: 2}\n");
    let r = run(&["generate", "d.yaml"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(r.stdout().contains("rtl_out/clitest"), "{}", r.stdout());
    let m = Manifest::read(&d.join("rtl_out/clitest")).unwrap();
    assert_eq!(m.top, "clitest_top");
    assert!(d.join("rtl_out/clitest/clitest.f").exists());
    assert!(d.join("rtl_out/clitest/README.md").exists());
    // -o, and the embedded default design
    let r = run(&["generate", "-o", "elsewhere"], d);
    assert_eq!(r.code(), 0, "{}", r.stderr());
    assert!(d.join("elsewhere/sparq_sa8x8/sparq_sa8x8_top.v").exists());
}

#[test]
fn cli_generate_rejects_bad_designs_and_leaves_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (yaml, want) in [
        (
            "name: bad\npe: {window_bits: 4, placements: 6}\n",
            "pe.placements: 6 is not allowed with window_bits 4",
        ),
        (
            "name: bad\npe: {pipeline: 3}\n",
            "pe.pipeline: 3 is not allowed",
        ),
        (
            "name: bad\narray: {kind: dot, rows: 2}\n",
            "array.rows: is not used",
        ),
        ("name: Bad\n", "name:"),
    ] {
        write(d, "bad.yaml", yaml);
        let r = run(&["generate", "bad.yaml", "-o", "out"], d);
        assert_eq!(r.code(), 2, "{yaml}");
        assert!(r.stderr().contains(want), "{yaml}: {}", r.stderr());
        assert!(r.stderr().contains("bad.yaml"), "{}", r.stderr());
        assert!(!d.join("out").exists(), "{yaml}: no output folder");
    }
}

#[test]
fn cli_generate_reports_an_unwritable_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // a file where the output folder should be: unwritable for anyone,
    // root included
    write(d, "blocker", "not a folder");
    let r = run(&["generate", "-o", "blocker/sub"], d);
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr().contains("output folder") && r.stderr().contains("blocker"),
        "{}",
        r.stderr()
    );
    let r = run(&["generate", "-o", "blocker"], d);
    assert_eq!(r.code(), 2);
    assert!(r.stderr().contains("blocker"), "{}", r.stderr());
    assert_eq!(
        std::fs::read_to_string(d.join("blocker")).unwrap(),
        "not a folder"
    );
}

/// A systolic array of dense SPARQ PEs trims each row once at its edge: the
/// array instantiates the decode in its row loop, its PE takes the row's
/// code and has no decode of its own. 2:4 PEs keep theirs (the weights'
/// indices pick the activations); the single PE has the same decode inside.
#[test]
fn dense_sparq_arrays_decode_each_row_once() {
    let text = |d: &Design, module: &str| -> String {
        let g = rtl::generate(d).unwrap();
        String::from_utf8(g.files.get(&format!("{module}.v")).unwrap().to_vec()).unwrap()
    };
    for pe in [
        "{}",
        "{pair_sharing: false}",
        "{window_bits: 3, placements: 6}",
    ] {
        let d = design(&format!(
            "name: r\npe: {pe}\narray: {{kind: systolic, rows: 4, cols: 4}}"
        ));
        let array = text(&d, "r_systolic_array");
        let pe_v = text(&d, "r_pe");
        let row_loop = &array[array.find("begin : gen_act_row").unwrap()..];
        let row_loop = &row_loop[..row_loop.find("endgenerate").unwrap()];
        assert_eq!(row_loop.matches("r_decode u_decode").count(), 1, "{pe}");
        assert!(!pe_v.contains("r_decode"), "{pe}: the PE decodes again");
        assert!(pe_v.contains("code_i"), "{pe}");
        let single = design(&format!("name: r\npe: {pe}\narray: {{kind: single}}"));
        assert!(text(&single, "r_pe").contains("r_decode u_decode"), "{pe}");
    }
    let stc = design("name: r\npe: {stc: true}\narray: {kind: systolic, rows: 4, cols: 4}");
    assert!(!text(&stc, "r_systolic_array").contains("r_decode"));
    assert!(text(&stc, "r_pe").contains("r_decode u_decode"));
}
