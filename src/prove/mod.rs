//! `sparqgen prove`: every PE a design emits computes exactly the model's
//! arithmetic, for every input, proven rather than sampled.
//!
//! - [`netlist`]: Yosys lowers the RTL (or its synthesized gate netlist) to
//!   an and-inverter graph ([`aig`]); a systolic array is elaborated 1 x 1,
//!   since every PE of the array is the same module.
//! - [`datapath`]: one cycle's product, decomposed at cut points found in
//!   the graph, checked exhaustively against the model's pair table
//!   ([`spec`]) case by case.
//! - [`control`]: accumulate, clear, valid and the pipeline latency, by an
//!   inductive argument whose one step is a SAT proof in Yosys.

pub mod aig;
pub mod control;
pub mod datapath;
pub mod lanes;
pub mod netlist;
pub mod report;
pub mod spec;
mod weights;

use crate::config::{ArrayShape, Design};
use crate::rtl::{self, Manifest};
use crate::sim::Dut;
use aig::{Builder, Lit, Seq, FALSE, TRUE};
use anyhow::{bail, Context, Result};
use datapath::{Cex, Verdict, WGT};
pub use report::{Outcome, Report};
use spec::{Case, Spec};
use std::path::Path;
use std::time::Instant;

/// A design's RTL to prove.
pub struct Target {
    pub manifest: Manifest,
    /// (file name, Verilog), filelist order.
    pub files: Vec<(String, String)>,
    pub origin: String,
}

impl Target {
    pub fn generate(design: &Design) -> Result<Target> {
        let g = rtl::generate(design)?;
        let files = g
            .verilog()?
            .into_iter()
            .map(|(f, t)| (f.to_string(), String::from_utf8_lossy(&t).into_owned()))
            .collect();
        Ok(Target {
            origin: format!(
                "generated from design {} (hash {})",
                design.name(),
                design.short_hash()
            ),
            manifest: g.manifest,
            files,
        })
    }

    pub fn from_folder(folder: &Path) -> Result<Target> {
        let manifest = Manifest::read(folder)?;
        let dut = Dut::from_folder(folder)?;
        let files = dut
            .sources
            .iter()
            .map(|(p, t)| {
                (
                    p.display().to_string(),
                    String::from_utf8_lossy(t).into_owned(),
                )
            })
            .collect();
        Ok(Target {
            manifest,
            files,
            origin: dut.origin,
        })
    }
}

/// What to prove.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Prove the synthesized gate netlist as well as the RTL.
    pub gates: bool,
}

/// PE positions that enter the top separately: the lanes of a dot unit.
fn slots(m: &Manifest) -> usize {
    match m.design.array() {
        ArrayShape::Dot { lanes } => lanes as usize,
        _ => 1,
    }
}

/// The top's inputs for one cycle of slot `slot` in `case`, with `rst`.
struct Drive<'a> {
    seq: &'a Seq,
    spec: &'a Spec,
    slot: usize,
    /// Every slot's operands free, slot `s` at `var_base + s * SLOT_VARS`.
    all: bool,
}

/// Variable stride between slots when all are free.
const SLOT_VARS: u32 = 3 * WGT;

impl Drive<'_> {
    fn stride(&self, slot: usize) -> u32 {
        if self.all {
            slot as u32 * SLOT_VARS
        } else {
            0
        }
    }

    /// Literal of every input bit; `data`: the slot's operands are free
    /// (variables) or fixed by `case`; `ctl`: (rst_ni, valid_i, clear_i).
    fn inputs(
        &self,
        b: &mut Builder,
        case: Option<&Case>,
        ctl: [Lit; 3],
        var_base: u32,
    ) -> Result<Vec<Lit>> {
        let (aw, ww) = (self.spec.act_bits, self.spec.wgt_bits);
        let mut v = vec![FALSE; self.seq.n_inputs];
        for p in &self.seq.inputs {
            for i in 0..p.width {
                v[p.first + i] = match p.name.as_str() {
                    "clk_i" | "drain_i" => FALSE,
                    "rst_ni" => ctl[0],
                    "valid_i" => ctl[1],
                    "clear_i" => ctl[2],
                    "act_i" if self.all || i / aw == self.slot => {
                        b.var(var_base + self.stride(i / aw) + (i % aw) as u32)
                    }
                    "wgt_i" if self.all || i / ww == self.slot => {
                        let k = i % ww;
                        match case.and_then(|c| c.wgt_fixed.iter().find(|f| f.0 == k)) {
                            Some(&(_, val)) => aig::konst(val),
                            None => b.var(var_base + self.stride(i / ww) + WGT + k as u32),
                        }
                    }
                    "act_i" | "wgt_i" => FALSE,
                    other => bail!(
                        "the top has an input `{other}` that the port contract \
                         (verif/INTERFACE.md) does not name"
                    ),
                };
            }
        }
        Ok(v)
    }
}

/// The output bits the proof reads: the accumulator of the one PE.
fn acc_port(seq: &Seq, m: &Manifest) -> Result<(usize, usize)> {
    let p = seq
        .outputs
        .iter()
        .find(|p| p.name == "acc_o" || p.name == "res_o")
        .context("the top has no acc_o or res_o output")?;
    let bits = m.pe.acc_bits as usize;
    if p.width != bits {
        bail!(
            "output {} is {} bits, the manifest's accumulator {bits}",
            p.name,
            p.width
        );
    }
    Ok((p.first, bits))
}

/// One cycle's function: from any state, one reset cycle, then the same
/// operands with valid and clear held for `latency` edges; the accumulator.
fn datapath_problem<'a>(
    seq: &Seq,
    m: &Manifest,
    spec: &'a Spec,
    slot: usize,
    case: &'a Case,
) -> Result<datapath::Problem<'a>> {
    let (first, bits) = acc_port(seq, m)?;
    let d = Drive {
        seq,
        spec,
        slot,
        all: false,
    };
    let mut b = Builder::new();
    let mut state: Vec<Lit> = (0..seq.n_latches())
        .map(|i| b.var(2 * WGT + i as u32))
        .collect();
    let reset = d.inputs(&mut b, Some(case), [FALSE, TRUE, TRUE], 0)?;
    state = seq.step(&mut b, &reset, &state).1;
    let run = d.inputs(&mut b, Some(case), [TRUE, TRUE, TRUE], 0)?;
    for _ in 0..m.latency_cycles {
        state = seq.step(&mut b, &run, &state).1;
    }
    let outs = seq.step(&mut b, &run, &state).0[first..first + bits].to_vec();
    let wgt_fixed = case
        .wgt_fixed
        .iter()
        .filter(|f| f.1)
        .map(|f| 1u64 << f.0)
        .sum();
    Ok(datapath::Problem {
        graph: b,
        outs,
        case,
        spec,
        wgt_fixed,
    })
}

/// Prove one target (the RTL, and with `opts.gates` its gate netlist).
pub fn prove(t: &Target, opts: Options) -> Result<Report> {
    let start = Instant::now();
    let m = &t.manifest;
    let spec = Spec::new(&m.design);
    let mut report = Report::new(t);
    report.outcome = lower_and_prove(t, false, &spec, &mut report)?;
    if opts.gates && report.outcome.is_proven() {
        let mut g = Report::new(t);
        let o = lower_and_prove(t, true, &spec, &mut g)?;
        report.gates = Some(Box::new(o));
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Prove only the synthesized gate netlist of `t` (for `synth`, whose own
/// check re-simulates it).
pub fn prove_gates(t: &Target) -> Result<Report> {
    let start = Instant::now();
    let m = &t.manifest;
    let spec = Spec::new(&m.design);
    let mut report = Report::new(t);
    report.outcome = lower_and_prove(t, true, &spec, &mut report)?;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Lower `t` (with `gates`, its generic gate netlist) and prove it. A bit
/// the design observes that is `x` is a refutation naming that bit: the RTL
/// leaves open what the model defines.
fn lower_and_prove(t: &Target, gates: bool, spec: &Spec, r: &mut Report) -> Result<Outcome> {
    let m = &t.manifest;
    match netlist::lower(m, &t.files, gates) {
        Ok((seq, _)) => prove_seq(&seq, m, spec, r),
        Err(e) => match e.downcast_ref::<aig::NetlistError>() {
            Some(aig::NetlistError::Undefined(why)) => Ok(Outcome::Undefined(why.clone())),
            _ => Err(e),
        },
    }
}

fn prove_seq(seq: &Seq, m: &Manifest, spec: &Spec, r: &mut Report) -> Result<Outcome> {
    let cases = spec.cases();
    r.cases = cases.len();
    r.slots = slots(m);
    for slot in 0..r.slots {
        for case in &cases {
            let p = datapath_problem(seq, m, spec, slot, case)?;
            let verdict = match datapath::check(p) {
                // A register without reset feeding the product: a finding
                // about the RTL, not a limit of the method.
                Err(datapath::CutError::StrayVar(what)) if what.contains("before reset") => {
                    return Ok(Outcome::Control(format!(
                        "lane {slot}, case {}: the product depends on {what} (a register \
                         without reset on the product's path)",
                        case.label
                    )))
                }
                other => other.with_context(|| format!("slot {slot}, case {}", case.label))?,
            };
            match verdict {
                Verdict::Proven { classes } => r.classes += classes,
                Verdict::Refuted(cex) => {
                    return Ok(Outcome::refuted(spec, slot, case, cex, "product"))
                }
            }
        }
    }
    if !lanes::check(seq, m, spec, r.slots)? {
        return Ok(Outcome::Control(
            "the lanes do not add up: with several lanes non-zero the accumulator differs \
             from the sum of what each lane alone gives"
                .into(),
        ));
    }
    match control::check(seq, m, spec)? {
        control::Result::Proven => Ok(Outcome::Proven),
        control::Result::Refuted(text) => Ok(Outcome::Control(text)),
    }
}

/// A refuted cycle, for [`Outcome`].
pub fn describe(spec: &Spec, cex: &Cex) -> spec::Operands {
    spec.operands(cex.act, cex.wgt)
}

/// The PE variants CI proves: every SPARQ combination the description
/// allows and both baselines, each as a single PE at pipeline 0.
pub fn variants() -> Result<Vec<Design>> {
    let base = Design::default_design().with_array(ArrayShape::Single)?;
    crate::synth::compare::all_kinds()
        .into_iter()
        .enumerate()
        .map(|(i, kind)| crate::synth::compare::pe_design(&base, kind, &format!("prove_v{i:02}")))
        .collect()
}

/// The accumulator after a reset edge (from any state) and `latency`
/// edges with the operands held, valid and clear high.
fn held_output(
    seq: &Seq,
    m: &Manifest,
    d: &Drive,
    b: &mut Builder,
    var_base: u32,
    state_base: u32,
) -> Result<Vec<Lit>> {
    let (first, bits) = acc_port(seq, m)?;
    let mut state: Vec<Lit> = (0..seq.n_latches())
        .map(|i| b.var(state_base + i as u32))
        .collect();
    let reset = d.inputs(b, None, [FALSE, TRUE, TRUE], var_base)?;
    state = seq.step(b, &reset, &state).1;
    let run = d.inputs(b, None, [TRUE, TRUE, TRUE], var_base)?;
    for _ in 0..m.latency_cycles {
        state = seq.step(b, &run, &state).1;
    }
    Ok(seq.step(b, &run, &state).0[first..first + bits].to_vec())
}
