//! Switching activity measured, not assumed: a single PE's (or a systolic
//! array's) mapped gate
//! netlist simulated under Icarus (zero delay, the library's Verilog cell
//! models) on the activations of a GEMM, every net's toggles and time at 1
//! counted from the VCD, and each cell pin given its net's activity.

use crate::config::{ArrayShape, Design, PeKind};
use crate::rtl::manifest::{Direction, Manifest};
use crate::sim::encode::Encoding;
use crate::tools::{self, Tool};
use crate::workload::{relu_like, weights, Rng};
use anyhow::{bail, Context, Result};
use askama::Template;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// GEMM shape the power is measured on: M rows of activations against N
/// weight rows over K. Every output is one PE accumulation of K products.
pub const M: usize = 4;
pub const N: usize = 4;
pub const K: usize = 128;
/// Tiles along each side for a systolic array: an (R ARRAY_TILES) x (C
/// ARRAY_TILES) GEMM, four tiles (256 cycles of a 2-activation PE): a 4x4
/// array's gate netlist has 20x a PE's cells, so fewer cycles.
pub const ARRAY_TILES: usize = 2;

/// One input port of the top (clock and reset excluded) and where it sits
/// in a stimulus word.
pub struct InPort {
    pub name: String,
    pub width: u32,
    pub lsb: u32,
}

/// The inputs of `m`'s top, packed LSB first in manifest order; the output
/// port and its width.
pub fn ports(m: &Manifest) -> Result<(Vec<InPort>, String, u32)> {
    let mut lsb = 0;
    let mut inputs = Vec::new();
    let mut out = None;
    for p in &m.ports {
        match p.direction {
            Direction::Input if p.name == "clk_i" || p.name == "rst_ni" => {}
            Direction::Input => {
                inputs.push(InPort {
                    name: p.name.clone(),
                    width: p.width,
                    lsb,
                });
                lsb += p.width;
            }
            Direction::Output => {
                if out.is_some() {
                    bail!("power: {} has more than one output port", m.top);
                }
                out = Some((p.name.clone(), p.width));
            }
        }
    }
    let (name, width) = out.with_context(|| format!("power: {} has no output", m.top))?;
    Ok((inputs, name, width))
}

/// Activations the power is measured on (uint8, cycled to fill the GEMM).
pub enum Acts<'a> {
    /// Seeded ReLU-like (half zero, half-normal sigma 48).
    ReluLike,
    User(&'a [u8]),
}

/// Weight rows with at most two non-zeros per group of four (the two of
/// largest magnitude kept), for PEs with 2:4 weights.
fn two_of_four(w: &mut [i8]) {
    for g in w.chunks_mut(4) {
        let mut idx: Vec<usize> = (0..g.len()).collect();
        idx.sort_by_key(|&i| std::cmp::Reverse(g[i].unsigned_abs()));
        for &i in idx.iter().skip(2) {
            g[i] = 0;
        }
    }
}

/// The packed inputs of one cycle, any width, written as hex.
struct Word(Vec<u64>);

impl Word {
    fn new(bits: u32) -> Word {
        Word(vec![0; bits.div_ceil(64) as usize])
    }

    fn put(&mut self, lsb: u32, width: u32, v: u64) {
        for b in 0..width {
            if (v >> b) & 1 == 1 {
                let at = lsb + b;
                self.0[(at / 64) as usize] |= 1 << (at % 64);
            }
        }
    }

    fn hex(&self, digits: usize) -> String {
        (0..digits)
            .rev()
            .map(|d| {
                let nib = (self.0[d / 16] >> ((d % 16) * 4)) & 0xf;
                // infallible: nib < 16
                char::from_digit(nib as u32, 16).expect("a nibble")
            })
            .collect()
    }
}

/// One stimulus word per cycle for a single PE or a systolic array: every
/// output of a GEMM accumulated over K with `valid_i` high and `clear_i`
/// on each output's first step. A single PE computes an M x N GEMM one
/// output after another; an R x C array an [`ARRAY_TILES`]-fold GEMM in R x C
/// tiles streamed back to back as `verify` drives it (row r's activations
/// in lane r of `act_i`, column c's weights in lane c of `wgt_i`; a tile
/// shorter than the C-cycle drain waits with idle cycles). Returns the
/// words (hex, one per line) and cycles.
pub fn stimulus(design: &Design, inputs: &[InPort], acts: &Acts) -> Result<(String, usize)> {
    let kind = design.pe().kind();
    let (rows, cols, m, n) = match design.array() {
        ArrayShape::Single => (1, 1, M, N),
        ArrayShape::Systolic { rows, cols } => {
            let (r, c) = (rows as usize, cols as usize);
            (r, c, ARRAY_TILES * r, ARRAY_TILES * c)
        }
        ArrayShape::Dot { .. } => {
            bail!("power: measured on single PEs and systolic arrays, not dot units")
        }
    };
    let mut rng = Rng::new(0x9e37);
    let mut a: Vec<u8> = match acts {
        Acts::ReluLike => relu_like(m * K, 0.5, &mut rng),
        Acts::User([]) => bail!("--acts: no activations"),
        // a long input gives m rows of K from evenly spaced places (at even
        // offsets, so pairs stay pairs); a short one is cycled
        Acts::User(v) if v.len() > m * K => (0..m)
            .flat_map(|i| {
                let at = (i * (v.len() - K) / (m - 1)) & !1;
                v[at..at + K].iter().copied()
            })
            .collect(),
        Acts::User(v) => v.iter().copied().cycle().take(m * K).collect(),
    };
    if kind == PeKind::Mac4x8 {
        // mac4x8 takes 4-bit codes: the top four bits, as `net --rtl` feeds it
        a.iter_mut().for_each(|v| *v >>= 4);
    }
    let mut b = weights(n * K, &mut rng);
    if matches!(kind, PeKind::Sparq(s) if s.stc) {
        b.chunks_mut(K).for_each(two_of_four);
    }
    let enc = Encoding::of(design);
    let act: Vec<Vec<u32>> = a.chunks(K).map(|row| enc.act_steps(row)).collect();
    let wgt: Vec<Vec<u32>> = b
        .chunks(K)
        .enumerate()
        .map(|(j, row)| enc.wgt_steps(row, j))
        .collect::<Result<_, _>>()?;
    let field = |name: &str| {
        inputs
            .iter()
            .find(|p| p.name == name)
            .with_context(|| format!("power: the top has no input {name}"))
    };
    let (valid, clear, act_p, wgt_p) = (
        field("valid_i")?,
        field("clear_i")?,
        field("act_i")?,
        field("wgt_i")?,
    );
    if inputs.len() != 4 {
        bail!("power: measured on tops with inputs valid_i, clear_i, act_i, wgt_i only");
    }
    let (aw, ww) = (act_p.width / rows as u32, wgt_p.width / cols as u32);
    let bits: u32 = inputs.iter().map(|p| p.width).sum();
    let digits = bits.div_ceil(4) as usize;
    let mut text = String::new();
    let mut cycles = 0;
    let mut last_clear: Option<usize> = None;
    for ti in 0..m / rows {
        for tj in 0..n / cols {
            // a systolic tile waits until the previous one's drain is done
            if let Some(t) = last_clear.filter(|_| rows * cols > 1) {
                while cycles < t + cols {
                    text.push_str(&Word::new(bits).hex(digits));
                    text.push('\n');
                    cycles += 1;
                }
            }
            for st in 0..act[0].len() {
                let mut w = Word::new(bits);
                w.put(valid.lsb, 1, 1);
                if st == 0 {
                    w.put(clear.lsb, 1, 1);
                    last_clear = Some(cycles);
                }
                for r in 0..rows {
                    w.put(
                        act_p.lsb + r as u32 * aw,
                        aw,
                        u64::from(act[ti * rows + r][st]),
                    );
                }
                for c in 0..cols {
                    w.put(
                        wgt_p.lsb + c as u32 * ww,
                        ww,
                        u64::from(wgt[tj * cols + c][st]),
                    );
                }
                text.push_str(&w.hex(digits));
                text.push('\n');
                cycles += 1;
            }
        }
    }
    Ok((text, cycles))
}

#[derive(Template)]
#[template(path = "synth/power_tb.v")]
struct Bench<'a> {
    version: &'a str,
    top: &'a str,
    in_bits: u32,
    out_bits: u32,
    out_name: &'a str,
    inputs: &'a [InPort],
    cycles: usize,
}

/// Toggles per clock cycle and share of cycles at 1 of one net bit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    pub toggles_per_cycle: f64,
    pub duty: f64,
}

/// Every net bit's activity over the measured cycles, by name (`_12_`,
/// `act_i[3]`).
pub struct Measured {
    pub nets: HashMap<String, Activity>,
    pub cycles: usize,
}

impl Measured {
    /// Mean toggles per cycle over every net bit.
    pub fn mean_activity(&self) -> f64 {
        if self.nets.is_empty() {
            return 0.0;
        }
        self.nets.values().map(|a| a.toggles_per_cycle).sum::<f64>() / self.nets.len() as f64
    }
}

/// A netlist's top as the bench and the power harness see it: `clk_i`,
/// `rst_ni`, the other inputs packed in a stimulus word, one output.
pub struct Top<'a> {
    pub name: &'a str,
    pub inputs: &'a [InPort],
    pub out_name: &'a str,
    pub out_bits: u32,
}

impl Top<'_> {
    pub fn in_bits(&self) -> u32 {
        self.inputs.iter().map(|p| p.width).sum()
    }
}

/// Simulate `netlist` (cells from `cells_v`) on `stim` (one hex word of
/// the packed inputs per line, `cycles` lines) in `dir` and count every
/// net's toggles.
pub fn measure(
    top: &Top,
    netlist: &str,
    cells_v: &Path,
    stim: &str,
    cycles: usize,
    dir: &Path,
) -> Result<Measured> {
    tools::find(Tool::Iverilog)?;
    tools::find(Tool::Vvp)?;
    let bench = Bench {
        version: env!("CARGO_PKG_VERSION"),
        top: top.name,
        in_bits: top.in_bits(),
        out_bits: top.out_bits,
        out_name: top.out_name,
        inputs: top.inputs,
        cycles,
    }
    .render()?;
    std::fs::write(dir.join("power_tb.v"), bench)?;
    std::fs::write(dir.join("netlist.v"), netlist)?;
    std::fs::write(dir.join("stim.hex"), stim)?;
    let mut build = Command::new("iverilog");
    build
        .args(["-o", "power_tb.vvp", "power_tb.v", "netlist.v"])
        .arg(cells_v)
        .current_dir(dir);
    run(&mut build, "iverilog")?;
    let mut sim = Command::new("vvp");
    sim.args(["-n", "power_tb.vvp"]).current_dir(dir);
    run(&mut sim, "vvp")?;
    let vcd = std::fs::read_to_string(dir.join("toggles.vcd"))
        .context("the power bench wrote no toggles.vcd")?;
    // inputs change at 10 i + 20 ns, the rising edge that samples them at
    // 10 i + 25 ns: the state just before each edge is the cycle's
    let nets = count_toggles(&vcd, 25_000, 10_000, cycles)?;
    Ok(Measured { nets, cycles })
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = crate::process::output_within(cmd, crate::process::BUILD)
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let excerpt: Vec<&str> = err
            .lines()
            .filter(|l| !l.contains("choosing typ expression"))
            .take(10)
            .collect();
        bail!("{what} failed on the power bench:\n{}", excerpt.join("\n"));
    }
    Ok(())
}

/// Toggles and duty of every bit in a VCD, sampled at `first`, `first +
/// step`, ... (`samples` times, in the file's time unit) just before the
/// changes at that time. An x or z value counts as 0.
pub fn count_toggles(
    vcd: &str,
    first: u64,
    step: u64,
    samples: usize,
) -> Result<HashMap<String, Activity>> {
    let mut timescale_ps = 1u64;
    // code -> (name, width, lsb index, descending)
    let mut vars: Vec<(String, String, usize, i64, bool)> = Vec::new();
    let mut words = vcd.split_ascii_whitespace();
    let mut in_scale = false;
    let mut scale_text = String::new();
    while let Some(w) = words.next() {
        match w {
            "$timescale" => in_scale = true,
            "$var" => {
                let _kind = words.next();
                let width: usize = words.next().unwrap_or("1").parse().unwrap_or(1);
                let code = words.next().unwrap_or("").to_string();
                let name = words.next().unwrap_or("").to_string();
                let mut lsb = 0i64;
                let mut desc = true;
                let next = words.next().unwrap_or("$end");
                if next.starts_with('[') {
                    let r = next.trim_matches(|c| c == '[' || c == ']');
                    let mut it = r.split(':');
                    let msb: i64 = it.next().unwrap_or("0").parse().unwrap_or(0);
                    let l: i64 = it.next().map_or(msb, |v| v.parse().unwrap_or(msb));
                    lsb = l;
                    desc = msb >= l;
                    let _ = words.next(); // $end
                }
                vars.push((code, name, width, lsb, desc));
            }
            "$enddefinitions" => break,
            "$end" if in_scale => {
                in_scale = false;
                let t = scale_text.trim();
                let (num, unit) =
                    t.split_at(t.find(|c: char| c.is_alphabetic()).unwrap_or(t.len()));
                let num: u64 = num.trim().parse().unwrap_or(1);
                timescale_ps = num
                    * match unit.trim() {
                        "fs" => 0,
                        "ps" => 1,
                        "ns" => 1_000,
                        "us" => 1_000_000,
                        _ => bail!("VCD timescale {t:?} is not understood"),
                    };
            }
            _ if in_scale => scale_text.push_str(w),
            _ => {}
        }
    }
    if timescale_ps == 0 {
        bail!("VCD timescale finer than 1 ps is not supported");
    }
    // bit slots
    let mut slot_of: HashMap<String, (usize, usize)> = HashMap::new(); // code -> (first slot, width)
    let mut names = Vec::new();
    for (code, name, width, lsb, desc) in &vars {
        if slot_of.contains_key(code) {
            continue; // an alias of a net already listed
        }
        slot_of.insert(code.clone(), (names.len(), *width));
        for i in 0..*width {
            // value strings are MSB first; slot i holds bit (msb - i)
            let index = if *width == 1 {
                None
            } else if *desc {
                Some(lsb + (*width - 1 - i) as i64)
            } else {
                Some(lsb - (*width - 1 - i) as i64)
            };
            names.push(match index {
                None => name.clone(),
                Some(b) => format!("{name}[{b}]"),
            });
        }
    }
    let n = names.len();
    let mut cur = vec![false; n];
    let mut last = vec![false; n];
    let mut toggles = vec![0u64; n];
    let mut ones = vec![0u64; n];
    let mut taken = 0usize;
    let mut sample = |cur: &[bool], last: &mut [bool], taken: &mut usize| {
        for i in 0..n {
            if *taken > 0 && cur[i] != last[i] {
                toggles[i] += 1;
            }
            if cur[i] {
                ones[i] += 1;
            }
            last[i] = cur[i];
        }
        *taken += 1;
    };
    let body_start = vcd
        .find("$enddefinitions")
        .context("VCD has no $enddefinitions")?;
    let body = &vcd[body_start..];
    for line in body.lines().skip(1) {
        let line = line.trim();
        if let Some(t) = line.strip_prefix('#') {
            let t: u64 = t.parse::<u64>().context("VCD time is not a number")? * timescale_ps;
            while taken < samples && first + step * taken as u64 <= t {
                sample(&cur, &mut last, &mut taken);
            }
            continue;
        }
        let (value, code) = match line.chars().next() {
            Some('b') | Some('B') => {
                let mut it = line[1..].split_ascii_whitespace();
                (it.next().unwrap_or(""), it.next().unwrap_or(""))
            }
            Some('0') | Some('1') | Some('x') | Some('X') | Some('z') | Some('Z') => {
                (&line[..1], &line[1..])
            }
            _ => continue, // $dumpvars, $end, comments
        };
        let Some(&(at, width)) = slot_of.get(code) else {
            continue;
        };
        let v = value.as_bytes();
        for i in 0..width {
            // left-extend a short value with 0 (or its x/z)
            let pad = width - v.len().min(width);
            let c = if i < pad {
                if v.first() == Some(&b'1') {
                    b'0'
                } else {
                    *v.first().unwrap_or(&b'0')
                }
            } else {
                v[i - pad]
            };
            cur[at + i] = c == b'1';
        }
    }
    while taken < samples {
        sample(&cur, &mut last, &mut taken);
    }
    let intervals = samples.saturating_sub(1).max(1) as f64;
    Ok(names
        .into_iter()
        .enumerate()
        .map(|(i, name)| {
            (
                name,
                Activity {
                    toggles_per_cycle: toggles[i] as f64 / intervals,
                    duty: ones[i] as f64 / samples.max(1) as f64,
                },
            )
        })
        .collect())
}

/// One cell instance of a Yosys-written netlist: type, name, pin -> net.
pub struct Instance {
    pub cell: String,
    pub name: String,
    pub pins: Vec<(String, String)>,
}

/// The cell instances of a netlist written by Yosys's `write_verilog
/// -noattr -noexpr` after `splitnets` (one `.PIN(net)` per line).
pub fn instances(netlist: &str) -> Vec<Instance> {
    let mut out = Vec::new();
    let mut cur: Option<Instance> = None;
    for line in netlist.lines() {
        let t = line.trim();
        if let Some(inst) = cur.as_mut() {
            if t.starts_with(");") {
                // infallible: inside `if let Some(inst) = cur`
                out.push(cur.take().expect("an open instance"));
                continue;
            }
            if let Some(rest) = t.strip_prefix('.') {
                if let Some((pin, net)) = rest.split_once('(') {
                    let net = net.trim_end_matches(',').trim_end_matches(')');
                    inst.pins
                        .push((pin.trim().to_string(), net.trim().to_string()));
                }
            }
            continue;
        }
        let mut it = t.split_ascii_whitespace();
        if let (Some(cell), Some(name), Some("(")) = (it.next(), it.next(), it.next()) {
            if cell != "module" && !cell.ends_with(';') {
                cur = Some(Instance {
                    cell: cell.to_string(),
                    name: name.to_string(),
                    pins: Vec::new(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcd_toggles_and_duty() {
        let vcd = "$timescale 1ps $end\n$scope module dut $end\n$var wire 1 ! a $end\n\
                   $var wire 2 \" v [1:0] $end\n$upscope $end\n$enddefinitions $end\n\
                   #0\n$dumpvars\n0!\nb0 \"\n$end\n#10\n1!\nb10 \"\n#20\n0!\nb11 \"\n#30\n1!\n#40\n";
        // samples at 5, 15, 25, 35: a = 0 1 0 1, v = 00 10 11 11
        let m = count_toggles(vcd, 5, 10, 4).unwrap();
        assert_eq!(m["a"].toggles_per_cycle, 1.0);
        assert_eq!(m["a"].duty, 0.5);
        assert_eq!(m["v[1]"].toggles_per_cycle, 1.0 / 3.0);
        assert_eq!(m["v[1]"].duty, 0.75);
        assert_eq!(m["v[0]"].toggles_per_cycle, 1.0 / 3.0);
        assert_eq!(m["v[0]"].duty, 0.5);
    }

    #[test]
    fn netlist_instances() {
        let n = "module t(a, y);\n  input a;\n  INVX1 _1_ (\n    .A(a[3]),\n    .Y(_2_)\n  );\n  \
                 DFFPOSX1 _3_ (\n    .CLK(clk_i),\n    .D(_2_),\n    .Q(y)\n  );\nendmodule\n";
        let i = instances(n);
        assert_eq!(i.len(), 2);
        assert_eq!(i[0].cell, "INVX1");
        assert_eq!(
            i[0].pins,
            vec![("A".into(), "a[3]".into()), ("Y".into(), "_2_".into())]
        );
        assert_eq!(i[1].name, "_3_");
    }

    #[test]
    fn two_of_four_keeps_the_largest() {
        let mut w = [1i8, -7, 3, 0, 5, 5, -128, 2];
        two_of_four(&mut w);
        assert_eq!(w, [0, -7, 3, 0, 5, 0, -128, 0]);
    }

    #[test]
    fn wide_words_are_hex_msb_first() {
        let mut w = Word::new(130);
        w.put(0, 1, 1);
        w.put(60, 8, 0xa5);
        w.put(129, 1, 1);
        assert_eq!(w.hex(33), format!("2{:032x}", (0xa5u128 << 60) | 1));
    }
}
