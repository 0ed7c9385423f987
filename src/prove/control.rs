//! Accumulate, clear, valid and latency, by induction over cycles.
//!
//! With `P` pipeline stages and `S(a, w)` the product function the
//! datapath proof established, the contract (verif/INTERFACE.md) is: after
//! reset the accumulator reads 0 for the first `P + 1` edges, and from
//! then on
//!
//! ```text
//! acc(t+P+1) = valid(t) ? (clear(t) ? S(t) : acc(t+P) + S(t))
//!                       : (clear(t) ? 0    : acc(t+P))          mod 2^AccBits
//! ```
//!
//! Two facts prove it for every cycle: the **base** (from any state, a
//! reset edge, then any `P` cycles of any inputs: the accumulator is 0
//! after each edge) and the **step** (from any state, any inputs for `P + 1`
//! cycles, with the accumulator before the last edge replaced by a free
//! value `X`: after it, the accumulator is the right-hand side with `X`).
//! Both are one miter (an AIG whose output is 1 on a violation), proven
//! unsatisfiable by Yosys's SAT solver. The product logic appears on both
//! sides over the same operands, so structural hashing makes it one copy;
//! it is then cut out (its outputs replaced by free variables, which only
//! strengthens the claim), leaving adders and multiplexers for the solver.

use super::aig::{self, Builder, Lit, Node, Seq, FALSE, TRUE};
use super::datapath::{compact, cone, cut_to_inputs, WGT};
use super::spec::Spec;
use super::Drive;
use crate::rtl::Manifest;
use crate::synth::yosys;
use anyhow::{bail, Context};
use askama::Template;
use std::collections::HashMap;
use std::fmt::Write as _;

pub enum Result {
    Proven,
    /// What the solver found, for people.
    Refuted(String),
}

#[derive(Template)]
#[template(path = "prove/control.ys")]
struct ControlScript<'a> {
    version: &'a str,
}

// Variable layout: frame f's operands at FRAME * (f + 1) (every lane of a
// dot unit, SLOT_VARS apart), its valid and clear at the frame's end;
// flip-flop states and free values above every frame.
const FRAME: u32 = 1_000_000;
const VALID: u32 = FRAME - 2;
const STATE: u32 = 400_000_000;
const FREE: u32 = 500_000_000;

/// Variables of frame `f`: operands from `FRAME*(f+1)`, then valid, clear.
fn frame_inputs(d: &Drive, b: &mut Builder, f: u32, rst: Lit) -> anyhow::Result<Vec<Lit>> {
    let base = FRAME * (f + 1);
    let v = b.var(base + VALID);
    let c = b.var(base + VALID + 1);
    d.inputs(b, None, [rst, v, c], base)
}

fn is_data(v: u32) -> bool {
    (FRAME..STATE).contains(&v) && (v % FRAME) < VALID
}

/// Build the miter and ask Yosys.
pub fn check(seq: &Seq, m: &Manifest, spec: &Spec) -> anyhow::Result<Result> {
    let (first, bits) = super::acc_port(seq, m)?;
    let p = m.latency_cycles - 1;
    let d = Drive {
        seq,
        spec,
        slot: 0,
        all: true,
    };
    let mut b = Builder::new();
    let fresh_state = |b: &mut Builder, base: u32| -> Vec<Lit> {
        (0..seq.n_latches())
            .map(|i| b.var(base + i as u32))
            .collect()
    };
    // Which flip-flops hold the accumulator (out of reset: async2sync
    // gates the flip-flops' outputs with the reset).
    let mut probe = Builder::new();
    let fixed: Vec<(usize, Lit)> = seq
        .inputs
        .iter()
        .filter_map(|p| match p.name.as_str() {
            "rst_ni" => Some((p.first, TRUE)),
            "drain_i" | "clk_i" => Some((p.first, FALSE)),
            _ => None,
        })
        .collect();
    let lits: Vec<Lit> = (0..(seq.n_inputs + seq.n_latches()) as u32)
        .map(|v| match fixed.iter().find(|f| f.0 == v as usize) {
            Some(&(_, l)) => l,
            None => probe.var(v),
        })
        .collect();
    let map = probe.copy_from(&seq.graph, &mut |v| lits[v as usize]);
    let acc_latch: Vec<usize> = seq.out_lits[first..first + bits]
        .iter()
        .map(|&l| {
            let l = aig::remap(&map, l);
            match probe.nodes[aig::node_of(l)] {
                Node::Var(v) if l & 1 == 0 && v as usize >= seq.n_inputs => {
                    Ok(v as usize - seq.n_inputs)
                }
                _ => bail!("the accumulator output is not driven straight from flip-flops"),
            }
        })
        .collect::<anyhow::Result<_>>()?;
    let acc_of = |b: &mut Builder, state: &[Lit], f: u32| -> anyhow::Result<Vec<Lit>> {
        let ins = frame_inputs(&d, b, f, TRUE)?;
        Ok(seq.step(b, &ins, state).0[first..first + bits].to_vec())
    };

    // Base: a reset edge, then P edges; the accumulator stays 0.
    let mut bad = FALSE;
    let mut real: Vec<Lit> = Vec::new();
    let mut s = fresh_state(&mut b, STATE);
    let ins = frame_inputs(&d, &mut b, 0, FALSE)?;
    s = seq.step(&mut b, &ins, &s).1;
    for f in 1..=p + 1 {
        let acc = acc_of(&mut b, &s, 50 + f)?;
        for l in acc {
            real.push(l);
            bad = b.or(bad, l);
        }
        if f <= p {
            let ins = frame_inputs(&d, &mut b, f, TRUE)?;
            s = seq.step(&mut b, &ins, &s).1;
        }
    }

    let base_bad = bad;
    let base_real = real.clone();
    let mut bad = FALSE;
    let mut real: Vec<Lit> = Vec::new();

    // Step: P + 1 edges from any state, the accumulator free before the last.
    let mut s = fresh_state(&mut b, STATE + 1_000_000);
    for f in 0..p {
        let ins = frame_inputs(&d, &mut b, 100 + f, TRUE)?;
        s = seq.step(&mut b, &ins, &s).1;
    }
    let x: Vec<Lit> = (0..bits).map(|k| b.var(FREE + k as u32)).collect();
    for (k, &j) in acc_latch.iter().enumerate() {
        s[j] = x[k];
    }
    // The operands of the first of these cycles (frame 100) reach the
    // accumulator at this last edge.
    let f0 = 100;
    let ins = frame_inputs(&d, &mut b, 100 + p, TRUE)?;
    s = seq.step(&mut b, &ins, &s).1;
    let after = acc_of(&mut b, &s, 300)?;
    real.extend_from_slice(&after);
    // S(t) for the operands of frame f0, as the datapath proof built it.
    let sum = {
        let mut st = fresh_state(&mut b, STATE + 2_000_000);
        let base = FRAME * (f0 + 1);
        let reset = d.inputs(&mut b, None, [FALSE, TRUE, TRUE], base)?;
        st = seq.step(&mut b, &reset, &st).1;
        let run = d.inputs(&mut b, None, [TRUE, TRUE, TRUE], base)?;
        for _ in 0..m.latency_cycles {
            st = seq.step(&mut b, &run, &st).1;
        }
        seq.step(&mut b, &run, &st).0[first..first + bits].to_vec()
    };
    let base = FRAME * (f0 + 1);
    let (v, c) = (b.var(base + VALID), b.var(base + VALID + 1));
    let added = b.add(&x, &sum);
    for k in 0..bits {
        let on_valid = b.mux(c, sum[k], added[k]);
        let on_idle = b.mux(c, FALSE, x[k]);
        let want = b.mux(v, on_valid, on_idle);
        let diff = b.xor(want, after[k]);
        bad = b.or(bad, diff);
    }

    // Names for a counterexample: the first cycle's operands and controls,
    // the accumulator before the last edge.
    let mut names = HashMap::new();
    for k in 0..spec.act_bits as u32 {
        names.insert(base + k, format!("a{k}"));
    }
    for k in 0..spec.wgt_bits as u32 {
        names.insert(base + WGT + k, format!("w{k}"));
    }
    names.insert(base + VALID, "valid".to_string());
    names.insert(base + VALID + 1, "clear".to_string());
    for k in 0..bits as u32 {
        names.insert(FREE + k, format!("x{k}"));
    }

    if solve(&b, base_bad, &base_real, &HashMap::new())?.is_some() {
        return Ok(Result::Refuted(format!(
            "after a reset edge the accumulator must read 0 for {} edge(s) (pipeline {p} + 1); \
             SAT found inputs for which it does not",
            p + 1
        )));
    }
    Ok(match solve(&b, bad, &real, &names)? {
        None => Result::Proven,
        Some(v) => {
            let get = |prefix: &str, n: usize| -> u64 {
                (0..n)
                    .filter(|k| v.get(&format!("{prefix}{k}")).is_some_and(|&b| b != 0))
                    .map(|k| 1u64 << k)
                    .sum()
            };
            let x = super::datapath::signed(get("x", bits), bits);
            Result::Refuted(format!(
                "the accumulator does not follow acc <= valid ? (clear ? product : acc + \
                 product) : (clear ? 0 : acc) {} edge(s) after the operands: SAT found \
                 act_i = 0x{:x}, wgt_i = 0x{:x}, valid_i = {}, clear_i = {} with the \
                 accumulator at {x} before that edge",
                p + 1,
                get("a", spec.act_bits),
                get("w", spec.wgt_bits),
                v.get("valid").copied().unwrap_or(0),
                v.get("clear").copied().unwrap_or(0),
            ))
        }
    })
}

/// With the product cut out first (fast); a failure there may be an
/// artefact of the cut, so it is decided again on the whole circuit.
/// None when proven, else the named inputs' values.
fn solve(
    b: &Builder,
    bad: Lit,
    real: &[Lit],
    names: &HashMap<u32, String>,
) -> anyhow::Result<Option<HashMap<String, u64>>> {
    let (g, outs) = cut_data(b, bad, real, true);
    if sat(&g, outs, names)?.is_none() {
        return Ok(None);
    }
    let (g, outs) = cut_data(b, bad, real, false);
    sat(&g, outs, names)
}

/// Ask Yosys's SAT solver whether `bad` can be 1: None when it cannot,
/// else the values it found for the inputs named in `names` (variables).
pub(super) fn sat(
    g: &Builder,
    bad: Lit,
    names: &HashMap<u32, String>,
) -> anyhow::Result<Option<HashMap<String, u64>>> {
    let aag = write_aiger(g, bad, names);
    let (_keep, dir) = yosys::workdir(None)?;
    std::fs::write(dir.join("miter.aag"), aag).context("writing the control miter")?;
    let script = ControlScript {
        version: env!("CARGO_PKG_VERSION"),
    }
    .render()
    .context("rendering the control script")?;
    let log = yosys::run_script_timeout(&script, &dir, super::netlist::TIMEOUT)?;
    if crate::settings::get().prove_debug {
        crate::errln!("{log}");
    }
    if log.contains("SAT proof finished - no model found: SUCCESS!") {
        return Ok(None);
    }
    if log.contains("model found: FAIL!") {
        // `  \name   dec   hex   bin` rows of -show-inputs.
        let values = log
            .lines()
            .filter_map(|l| {
                let mut it = l.split_whitespace();
                let name = it.next()?.strip_prefix('\\')?;
                let dec = it.next()?.parse().ok()?;
                Some((name.to_string(), dec))
            })
            .collect();
        return Ok(Some(values));
    }
    bail!("Yosys's SAT solver gave no verdict on a miter")
}

/// Replace the product logic by free variables: the nodes of operand bits
/// only that feed anything else on the circuit's own path to the
/// accumulator (`real`). The specification side keeps whatever logic it
/// builds above those nodes (in a gate netlist, ABC may have merged the
/// product's adders with the accumulator's, leaving no node that is the
/// product).
fn cut_data(b: &Builder, bad: Lit, real: &[Lit], with_cut: bool) -> (Builder, Lit) {
    let mut roots = vec![bad];
    roots.extend_from_slice(real);
    let (g, outs) = compact(b, &roots);
    let in_real = cone(&g, &outs[1..]);
    let mut data = vec![false; g.nodes.len()];
    let mut other = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        match *n {
            Node::Const => {}
            Node::Var(v) => {
                data[i] = is_data(v);
                other[i] = !data[i];
            }
            Node::And(a, c) => {
                let (a, c) = (aig::node_of(a), aig::node_of(c));
                data[i] = data[a] || data[c];
                other[i] = other[a] || other[c];
            }
        }
    }
    let pure = |i: usize| data[i] && !other[i];
    let mut cut = vec![false; g.nodes.len()];
    for (i, n) in g.nodes.iter().enumerate() {
        if let Node::And(a, c) = *n {
            if in_real[i] && !pure(i) {
                for f in [aig::node_of(a), aig::node_of(c)] {
                    cut[f] |= pure(f);
                }
            }
        }
    }
    for &l in &outs[1..] {
        let f = aig::node_of(l);
        cut[f] |= pure(f);
    }
    if !with_cut {
        cut.iter_mut().for_each(|c| *c = false);
    }
    cut_to_inputs(&g, outs[0], &cut, FREE + 100_000_000)
}

/// ASCII AIGER with one output, `bad`.
fn write_aiger(g: &Builder, out: Lit, names: &HashMap<u32, String>) -> String {
    let mut idx = vec![0u32; g.nodes.len()];
    let mut n = 0u32;
    let mut inputs = Vec::new();
    let mut symbols = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if let Node::Var(v) = node {
            n += 1;
            idx[i] = n;
            inputs.push(n);
            if let Some(name) = names.get(v) {
                symbols.push(format!("i{} {name}", inputs.len() - 1));
            }
        }
    }
    let mut ands = Vec::new();
    for (i, node) in g.nodes.iter().enumerate() {
        if let Node::And(a, c) = *node {
            n += 1;
            idx[i] = n;
            let l = |x: Lit| 2 * idx[aig::node_of(x)] + (x & 1);
            ands.push((2 * n, l(a), l(c)));
        }
    }
    let lit = |x: Lit| 2 * idx[aig::node_of(x)] + (x & 1);
    let mut s = String::new();
    let _ = writeln!(s, "aag {n} {} 0 1 {}", inputs.len(), ands.len());
    for i in &inputs {
        let _ = writeln!(s, "{}", 2 * i);
    }
    let _ = writeln!(s, "{}", lit(out));
    for (y, a, c) in ands {
        let (a, c) = if a >= c { (a, c) } else { (c, a) };
        let _ = writeln!(s, "{y} {a} {c}");
    }
    for sym in symbols {
        let _ = writeln!(s, "{sym}");
    }
    s.push_str("o0 bad\n");
    s
}
