//! A verification run: build the harness, stream every member's plan
//! through it in lockstep, compare every sampled output with the model,
//! and on a mismatch describe the failing vectors and replay the failing
//! window with tracing for a VCD.

use super::bundle::Bundle;
use super::harness::{self, Backend, Batch, Done};
use super::layout::{ctrl, flags, get_bits, sign_extend, Layout};
use super::stimulus::{MemberCtx, PlanOptions, Segment, Spec, PREAMBLE};
use super::{icarus, verilator, Dut, SimError};
use crate::config::ArrayShape;
use crate::golden::GemmCase;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Which simulator runs the vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimKind {
    Verilator,
    /// Icarus, on a subset of the plan (`icarus_cycles`).
    Icarus,
}

impl SimKind {
    pub fn name(self) -> &'static str {
        match self {
            SimKind::Verilator => "verilator",
            SimKind::Icarus => "icarus",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub seed: u64,
    /// Random cycles per design (random sequences and random GEMMs).
    pub vectors: u64,
    /// The exhaustive pair sweep of single PEs and dot units.
    pub exhaustive: bool,
    pub sim: SimKind,
    /// Golden GEMM cases: when set, only the cases matching each design are
    /// run, and compared with the file's C.
    pub golden: Option<Arc<Vec<GemmCase>>>,
    /// Draw a progress bar on a terminal for runs longer than a second.
    pub progress: bool,
    /// On a mismatch, write a VCD of the failing window (needs a second,
    /// traced build).
    pub vcd: bool,
    /// Where the mismatch report and VCD go (created only on a mismatch).
    pub report_dir: Option<PathBuf>,
    /// Stop feeding new vectors after this many mismatches.
    pub max_mismatches: u64,
    /// Mismatches described in full.
    pub max_details: usize,
    /// Cycle budget per design under Icarus (a subset of the plan).
    pub icarus_cycles: u64,
    /// Cycles of the VCD window before the first failing sample.
    pub vcd_window: u32,
    /// Run these specs (one list per design) instead of the default plans
    /// (benchmarks, focused tests).
    pub plans: Option<Vec<Vec<Spec>>>,
    /// The build cache (default: [`super::cache::root`]).
    pub cache_dir: Option<PathBuf>,
    /// Optimize the Verilator build for build time or simulation speed.
    pub profile: verilator::Profile,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            seed: 1,
            vectors: 100_000,
            exhaustive: true,
            sim: SimKind::Verilator,
            golden: None,
            progress: false,
            vcd: true,
            report_dir: None,
            max_mismatches: 1000,
            max_details: 8,
            icarus_cycles: 40_000,
            vcd_window: 256,
            plans: None,
            cache_dir: None,
            profile: verilator::Profile::Build,
        }
    }
}

/// Per design totals.
#[derive(Debug, Clone, Default)]
pub struct MemberResult {
    pub name: String,
    pub what: String,
    pub specs: usize,
    pub cycles: u64,
    pub vectors: u64,
    pub macs: u64,
    pub checks: u64,
    pub mismatches: u64,
    /// Cycles the design was driven, without each segment's idle + reset
    /// preamble: operand, flush, drain and pipeline-tail cycles.
    pub array_cycles: u64,
}

/// How the harness was built.
#[derive(Debug, Clone, Default)]
pub struct BuildSummary {
    pub sim: &'static str,
    pub cached: bool,
    pub verilate_secs: f64,
    pub compile_secs: f64,
    pub total_secs: f64,
    pub warnings: Vec<String>,
}

/// One failing output, described.
#[derive(Debug, Clone)]
pub struct MismatchDetail {
    pub design: String,
    pub spec: String,
    /// Cycle inside the segment (cycles 0 and 1 are its idle and reset).
    pub cycle: u32,
    pub out: u16,
    pub expected: i64,
    pub actual: i64,
    /// The inputs that produced it.
    pub inputs: String,
}

/// The verdict with everything a report needs.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub seed: u64,
    pub sim: &'static str,
    pub members: Vec<MemberResult>,
    pub build: BuildSummary,
    /// Simulated cycles and the seconds the stream took.
    pub cycles: u64,
    pub run_secs: f64,
    pub mismatches: u64,
    pub stopped_early: bool,
    pub details: Vec<MismatchDetail>,
    pub vcd: Option<PathBuf>,
    /// What the VCD shows, when there is one.
    pub vcd_note: String,
    pub report: Option<PathBuf>,
    /// Seconds the Rust side spent generating vectors (writer thread) and
    /// checking outputs (calling thread), inside `run_secs`.
    pub feed_secs: f64,
    pub check_secs: f64,
    /// CPU seconds the simulator process used (Verilator).
    pub sim_cpu_secs: Option<f64>,
    /// Where the expected values came from: the model, or a golden file.
    pub expected_from: &'static str,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.mismatches == 0
    }
    pub fn vectors(&self) -> u64 {
        self.members.iter().map(|m| m.vectors).sum()
    }
    pub fn macs(&self) -> u64 {
        self.members.iter().map(|m| m.macs).sum()
    }
    pub fn checks(&self) -> u64 {
        self.members.iter().map(|m| m.checks).sum()
    }
}

/// A check in flight: which sample of its batch holds the output.
#[derive(Debug, Clone, Copy)]
struct Pending {
    sample: u32,
    member: u16,
    out: u16,
    expected: i64,
    spec: u32,
    cycle: u32,
}

/// What the writer tells the checker about a batch.
struct Meta {
    checks: Vec<Pending>,
    /// (member, vectors, macs, cycles past the preamble) of segments
    /// started in this batch.
    counted: Vec<(usize, u64, u64, u64)>,
}

/// A failing check as first seen.
#[derive(Debug, Clone, Copy)]
struct Failure {
    member: usize,
    spec: usize,
    cycle: u32,
    out: u16,
    expected: i64,
    actual: i64,
}

/// Verify `duts` (one harness for all of them).
pub fn verify(duts: &[Dut], opts: &VerifyOptions) -> Result<Outcome, SimError> {
    check_names(duts)?;
    for d in duts {
        d.check_contract()?;
    }
    let bundle = Bundle::new(duts);
    let mut outcome = Outcome {
        seed: opts.seed,
        sim: opts.sim.name(),
        expected_from: if opts.golden.is_some() {
            "the golden file's C"
        } else {
            "model"
        },
        ..Outcome::default()
    };

    // 1. the harness
    let (backend, _icarus_dir) = match opts.sim {
        SimKind::Verilator => {
            let b = verilator::build(&bundle.build_inputs(false, opts.profile), &cache_root(opts))?;
            outcome.build = BuildSummary {
                sim: "verilator",
                cached: b.cached,
                verilate_secs: b.verilate_secs,
                compile_secs: b.compile_secs,
                total_secs: b.total_secs,
                warnings: b.warnings.clone(),
            };
            (Backend::Verilator { exe: b.exe }, None)
        }
        SimKind::Icarus => {
            let b = icarus::build(&bundle)?;
            outcome.build = BuildSummary {
                sim: "icarus",
                cached: false,
                verilate_secs: 0.0,
                compile_secs: b.secs,
                total_secs: b.secs,
                warnings: Vec::new(),
            };
            (Backend::Icarus { vvp: b.vvp.clone() }, Some(b))
        }
    };

    // 2. the plans
    let ctxs: Vec<MemberCtx> = duts
        .iter()
        .zip(&bundle.layout.slots)
        .map(|(d, slot)| {
            MemberCtx::new(
                &d.design,
                &d.ports,
                slot,
                opts.golden.clone(),
                super::stimulus::seed_of(opts.seed, 0xd5, hash_name(d.design.name())),
            )
        })
        .collect();
    let plans: Vec<Vec<Spec>> = match &opts.plans {
        Some(p) if p.len() == ctxs.len() => p.clone(),
        Some(p) => {
            return Err(SimError::Source(format!(
                "{} plans given for {} designs",
                p.len(),
                ctxs.len()
            )))
        }
        None => ctxs.iter().map(|c| plan_for(c, opts)).collect(),
    };
    if opts.golden.is_some() {
        for (c, p) in ctxs.iter().zip(&plans) {
            if p.is_empty() {
                return Err(SimError::Source(format!(
                    "no case of the golden file matches design {} ({}); its cases are SPARQ \
                     configurations with pair sharing",
                    c.design.name(),
                    super::describe(&c.design)
                )));
            }
        }
    }
    outcome.members = ctxs
        .iter()
        .zip(&plans)
        .map(|(c, p)| MemberResult {
            name: c.design.name().to_string(),
            what: super::describe(&c.design),
            specs: p.len(),
            ..MemberResult::default()
        })
        .collect();

    // 3. the stream
    let total_cycles: u64 = ctxs
        .iter()
        .zip(&plans)
        .map(|(c, p)| p.iter().map(|s| s.cycles_estimate(c) + 1).sum::<u64>())
        .max()
        .unwrap_or(0);
    let progress = Progress::new(opts.progress, total_cycles);
    let stop = AtomicBool::new(false);
    let feed_error: Mutex<Option<SimError>> = Mutex::new(None);
    let fed = AtomicU64::new(0);
    let feed_nanos = AtomicU64::new(0);
    let feeder = Feeder {
        ctxs: &ctxs,
        plans: &plans,
        layout: &bundle.layout,
        cursors: plans.iter().map(|_| Cursor::default()).collect(),
        stop: &stop,
        error: &feed_error,
        fed: &fed,
        busy: &feed_nanos,
        batch_records: batch_records(&bundle.layout),
        carry: Vec::new(),
    };
    let mut failures: Vec<Failure> = Vec::new();
    let mut check_secs = 0.0;
    let t = Instant::now();
    let layout = &bundle.layout;
    let stats = harness::stream(
        &backend,
        layout.in_words,
        layout.out_words,
        None,
        feeder,
        |batch: Done<Meta>, outputs: &[u32]| {
            let tc = Instant::now();
            let ow = layout.out_words as usize;
            for &(m, v, macs, cycles) in &batch.meta.counted {
                outcome.members[m].vectors += v;
                outcome.members[m].macs += macs;
                outcome.members[m].array_cycles += cycles;
            }
            for p in &batch.meta.checks {
                let m = p.member as usize;
                let slot = &layout.slots[m];
                let acc = ctxs[m].ports.acc_bits;
                let base = p.sample as usize * ow + slot.out as usize;
                let words = &outputs[base..base + slot.out_words() as usize];
                let actual = sign_extend(get_bits(words, u32::from(p.out) * acc, acc), acc);
                let r = &mut outcome.members[m];
                r.checks += 1;
                if actual != p.expected {
                    r.mismatches += 1;
                    outcome.mismatches += 1;
                    if failures.len() < opts.max_details {
                        failures.push(Failure {
                            member: m,
                            spec: p.spec as usize,
                            cycle: p.cycle,
                            out: p.out,
                            expected: p.expected,
                            actual,
                        });
                    }
                    if outcome.mismatches >= opts.max_mismatches {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
            progress.set(fed.load(Ordering::Relaxed));
            check_secs += tc.elapsed().as_secs_f64();
        },
    );
    progress.finish();
    if let Some(e) = feed_error.lock().expect("feeder error lock").take() {
        return Err(e);
    }
    let stats = stats?;
    outcome.run_secs = t.elapsed().as_secs_f64();
    outcome.cycles = stats.cycles;
    outcome.sim_cpu_secs = stats.sim_cpu_secs;
    outcome.stopped_early = stop.load(Ordering::Relaxed);
    outcome.check_secs = check_secs;
    outcome.feed_secs = feed_nanos.load(Ordering::Relaxed) as f64 * 1e-9;
    for (r, c) in outcome.members.iter_mut().zip(&ctxs) {
        let _ = c;
        r.cycles = stats.cycles;
    }

    // 4. on a mismatch: describe, trace, write the report
    if let Some(first) = failures.first().copied() {
        for f in &failures {
            let c = &ctxs[f.member];
            let spec = &plans[f.member][f.spec];
            let seg = c.segment(spec)?;
            outcome.details.push(MismatchDetail {
                design: c.design.name().to_string(),
                spec: spec.label(),
                cycle: f.cycle,
                out: f.out,
                expected: f.expected,
                actual: f.actual,
                inputs: describe_failure(c, spec, &seg, f),
            });
        }
        // A report folder that cannot be made costs the VCD, never the
        // failure summary.
        let dir = opts
            .report_dir
            .as_ref()
            .filter(|dir| match std::fs::create_dir_all(dir) {
                Ok(()) => true,
                Err(e) => {
                    outcome.vcd_note = format!(
                        "no VCD: cannot create the report folder {} ({e})",
                        dir.display()
                    );
                    false
                }
            });
        if let Some(dir) = dir {
            if opts.vcd {
                let c = &ctxs[first.member];
                let name = format!("{}_seed{}.vcd", c.design.name(), opts.seed);
                let path = dir.join(name);
                match trace_window(
                    &bundle,
                    opts,
                    c,
                    &plans[first.member][first.spec],
                    first,
                    &path,
                ) {
                    Ok(note) => {
                        outcome.vcd = Some(path);
                        outcome.vcd_note = note;
                    }
                    Err(e) => outcome.vcd_note = format!("no VCD: {e}"),
                }
            }
        }
    }
    Ok(outcome)
}

fn cache_root(opts: &VerifyOptions) -> PathBuf {
    opts.cache_dir.clone().unwrap_or_else(super::cache::root)
}

fn plan_for(c: &MemberCtx, opts: &VerifyOptions) -> Vec<Spec> {
    if opts.golden.is_some() {
        return c
            .golden
            .iter()
            .flat_map(|cases| cases.iter())
            .filter(|case| super::stimulus::golden_matches(&c.design, case))
            .map(|case| Spec::Golden { index: case.index })
            .collect();
    }
    let full = c.plan(&PlanOptions {
        vectors: opts.vectors,
        exhaustive: opts.exhaustive,
    });
    match opts.sim {
        SimKind::Verilator => full,
        SimKind::Icarus => subset(c, full, opts.icarus_cycles),
    }
}

/// A subset for a slow simulator: a share of every kind of spec, each cut
/// to fit the budget, in plan order.
fn subset(c: &MemberCtx, full: Vec<Spec>, budget: u64) -> Vec<Spec> {
    let kinds = 5u64;
    let share = (budget / kinds).max(1);
    let mut used = [0u64; 5];
    let mut out = Vec::new();
    for s in full {
        let k = match s {
            Spec::Sweep { .. } => 0,
            Spec::Random { .. } => 1,
            Spec::AccRun { .. } => 2,
            Spec::Gemm(_) | Spec::Operands(_) => 3,
            Spec::Golden { .. } => 4,
        };
        if used[k] >= share {
            continue;
        }
        let room = share - used[k];
        let s = match s {
            Spec::Sweep { first, count } => Spec::Sweep {
                first: first * 7 % c.sweep_size(),
                count: count.min(room as u32),
            },
            Spec::Random { seed, cycles } => Spec::Random {
                seed,
                cycles: cycles.min(room as u32),
            },
            Spec::AccRun { negative, cycles } => Spec::AccRun {
                negative,
                cycles: cycles.min(room as u32 / 2),
            },
            other => {
                if other.cycles_estimate(c) > room.max(share / 4) {
                    continue;
                }
                other
            }
        };
        used[k] += s.cycles_estimate(c);
        out.push(s);
    }
    out
}

fn check_names(duts: &[Dut]) -> Result<(), SimError> {
    for (i, a) in duts.iter().enumerate() {
        if duts[..i].iter().any(|b| b.design.name() == a.design.name()) {
            return Err(SimError::Source(format!(
                "two designs under test are named {:?}: module names would clash in one \
                 harness; give each design its own name",
                a.design.name()
            )));
        }
    }
    Ok(())
}

fn hash_name(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Records per batch: about 256 KiB of input, at least 256 records.
fn batch_records(layout: &Layout) -> u32 {
    let bytes = 4 * (1 + layout.in_words as usize);
    ((256 << 10) / bytes).clamp(256, 32_768) as u32
}

#[derive(Default)]
struct Cursor {
    next_spec: usize,
    spec: usize,
    seg: Option<Segment>,
    pos: usize,
    check: usize,
}

/// Generates batches: every member's segments, in lockstep, one record per
/// cycle.
struct Feeder<'a> {
    ctxs: &'a [MemberCtx],
    plans: &'a [Vec<Spec>],
    layout: &'a Layout,
    cursors: Vec<Cursor>,
    stop: &'a AtomicBool,
    error: &'a Mutex<Option<SimError>>,
    fed: &'a AtomicU64,
    busy: &'a AtomicU64,
    batch_records: u32,
    /// Checks of the last record, sampled after the next one's edge.
    carry: Vec<Pending>,
}

impl Feeder<'_> {
    /// Make sure member `m` has a segment with cycles left; false when its
    /// plan is done.
    fn ready(&mut self, m: usize, counted: &mut Vec<(usize, u64, u64, u64)>) -> bool {
        loop {
            let cur = &mut self.cursors[m];
            if let Some(seg) = &cur.seg {
                if cur.pos < seg.cycles() {
                    return true;
                }
                cur.seg = None;
            }
            if self.stop.load(Ordering::Relaxed) || cur.next_spec >= self.plans[m].len() {
                return false;
            }
            let idx = cur.next_spec;
            cur.next_spec += 1;
            match self.ctxs[m].segment(&self.plans[m][idx]) {
                Ok(seg) => {
                    let cycles = seg.cycles().saturating_sub(PREAMBLE) as u64;
                    counted.push((m, seg.vectors, seg.macs, cycles));
                    let cur = &mut self.cursors[m];
                    cur.spec = idx;
                    cur.seg = Some(seg);
                    cur.pos = 0;
                    cur.check = 0;
                }
                Err(e) => {
                    *self.error.lock().expect("feeder error lock") = Some(e.into());
                    self.stop.store(true, Ordering::Relaxed);
                    return false;
                }
            }
        }
    }
}

impl Iterator for Feeder<'_> {
    type Item = Batch<Meta>;

    /// The harness top registers its inputs, so the outputs of the cycle
    /// carried by record `k` are sampled after the edge of record `k + 1`:
    /// checks ride on the next record (`carry`), and one idle record closes
    /// the stream when the last cycle has checks.
    fn next(&mut self) -> Option<Batch<Meta>> {
        let t = Instant::now();
        let rec = 1 + self.layout.in_words as usize;
        let mut words = Vec::with_capacity(self.batch_records as usize * rec);
        let mut meta = Meta {
            checks: Vec::new(),
            counted: Vec::new(),
        };
        let mut records = 0u32;
        let mut samples = 0u32;
        let members = self.ctxs.len();
        let mut live = vec![false; members];
        let mut carry = std::mem::take(&mut self.carry);
        while records < self.batch_records {
            let mut any = false;
            for (m, l) in live.iter_mut().enumerate() {
                *l = self.ready(m, &mut meta.counted);
                any |= *l;
            }
            if !any && carry.is_empty() {
                break;
            }
            let base = words.len();
            words.resize(base + rec, 0);
            if !carry.is_empty() {
                words[base] = flags::SAMPLE;
                for mut p in carry.drain(..) {
                    p.sample = samples;
                    meta.checks.push(p);
                }
                samples += 1;
            }
            for (m, &l) in live.iter().enumerate() {
                if !l {
                    continue;
                }
                let slot = &self.layout.slots[m];
                let cur = &mut self.cursors[m];
                let seg = cur.seg.as_ref().expect("ready");
                let src = seg.cycle(cur.pos);
                let dst = &mut words[base + 1 + slot.ctrl as usize..][..src.len()];
                dst.copy_from_slice(src);
                dst[0] &= ctrl::WIRE_MASK;
                while let Some(c) = seg.checks.get(cur.check) {
                    if c.cycle as usize != cur.pos {
                        break;
                    }
                    carry.push(Pending {
                        sample: 0,
                        member: m as u16,
                        out: c.out,
                        expected: c.expected,
                        spec: cur.spec as u32,
                        cycle: c.cycle,
                    });
                    cur.check += 1;
                }
                cur.pos += 1;
            }
            records += 1;
        }
        self.carry = carry;
        if records == 0 {
            return None;
        }
        self.fed.fetch_add(u64::from(records), Ordering::Relaxed);
        self.busy
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Some(Batch {
            words,
            records,
            samples,
            meta,
        })
    }
}

/// What the failing output was computed from.
fn describe_failure(c: &MemberCtx, spec: &Spec, seg: &Segment, f: &Failure) -> String {
    let lanes_of = |cyc: usize| -> Vec<(u32, u32)> {
        let w = seg.cycle(cyc);
        let act = &w[(c.slot.act - c.slot.ctrl) as usize..(c.slot.wgt - c.slot.ctrl) as usize];
        let wgt = &w[(c.slot.wgt - c.slot.ctrl) as usize..];
        let (aw, ww) = (c.ports.lane_act_bits, c.ports.lane_wgt_bits);
        (0..c.lanes() as u32)
            .map(|l| {
                (
                    get_bits(act, l * aw, aw) as u32,
                    get_bits(wgt, l * ww, ww) as u32,
                )
            })
            .collect()
    };
    let ctl_text = |w: u32| {
        let mut s = Vec::new();
        for (bit, name) in [
            (ctrl::VALID, "valid"),
            (ctrl::CLEAR, "clear"),
            (ctrl::DRAIN, "drain"),
            (ctrl::RESET, "reset"),
        ] {
            if w & bit != 0 {
                s.push(name);
            }
        }
        if s.is_empty() {
            "idle".to_string()
        } else {
            s.join("+")
        }
    };
    match spec {
        Spec::Sweep { .. } | Spec::Random { .. } | Spec::AccRun { .. } => {
            let delay = c.ports.sample_delay() as usize;
            let op = (f.cycle as usize).saturating_sub(delay);
            // operand cycles back to the last clear (at most 4 shown)
            let mut first = op;
            while first > PREAMBLE && seg.cycle(first)[0] & ctrl::CLEAR == 0 && op - first < 3 {
                first -= 1;
            }
            let mut lines = Vec::new();
            if first > PREAMBLE && seg.cycle(first)[0] & ctrl::CLEAR == 0 {
                let before = seg
                    .checks
                    .iter()
                    .find(|k| k.cycle as usize == first - 1 + delay)
                    .map_or(0, |k| k.expected);
                lines.push(format!(
                    "accumulator before cycle {first} (model): {before}"
                ));
            }
            for cyc in first..=op {
                let w = seg.cycle(cyc);
                let lanes = lanes_of(cyc);
                let sum: i64 = lanes
                    .iter()
                    .map(|&(a, b)| c.enc.product(&c.model, a, b))
                    .sum();
                let ops: Vec<String> = lanes
                    .into_iter()
                    .map(|(a, b)| {
                        format!(
                            "{} -> product {}",
                            c.enc.describe(&c.model, a, b),
                            c.enc.product(&c.model, a, b)
                        )
                    })
                    .collect();
                let effect = match (w[0] & ctrl::VALID != 0, w[0] & ctrl::CLEAR != 0) {
                    (true, true) => format!("accumulator = {sum}"),
                    (true, false) => format!("accumulator += {sum}"),
                    (false, true) => "accumulator = 0 (operands ignored)".to_string(),
                    (false, false) => "accumulator holds (operands ignored)".to_string(),
                };
                lines.push(format!(
                    "cycle {cyc} [{}]: {}; {effect}",
                    ctl_text(w[0]),
                    ops.join("; ")
                ));
            }
            if delay > 0 {
                lines.push(format!(
                    "sampled {delay} cycle(s) later at cycle {} (pipeline)",
                    f.cycle
                ));
            }
            lines.join("\n")
        }
        Spec::Gemm(_) | Spec::Operands(_) | Spec::Golden { .. } => {
            let g = match c.gemm_data(spec) {
                Ok(g) => g,
                Err(e) => return format!("(cannot regenerate the GEMM: {e})"),
            };
            let (m, k) = (g.a.shape[0], g.a.shape[1]);
            let n = g.b.shape[0];
            let item = seg
                .checks
                .iter()
                .find(|k| k.cycle == f.cycle && k.out == f.out)
                .map_or(u32::MAX, |k| k.item);
            let mut lines = vec![format!("C = A ({m}x{k}) . B ({n}x{k})^T")];
            if item == u32::MAX {
                lines.push(format!(
                    "row {} of a tile with no data there (padding; expected 0), sampled at cycle {}",
                    f.out, f.cycle
                ));
                return lines.join("\n");
            }
            let (i, j) = (item as usize / n, item as usize % n);
            lines.push(format!("output C[{i}][{j}], sampled at cycle {}", f.cycle));
            if let ArrayShape::Systolic { rows, cols } = c.design.array() {
                lines.push(format!(
                    "computed by PE ({}, {}) in tile ({}, {}) (rows {}.., cols {}..)",
                    i % rows as usize,
                    j % cols as usize,
                    i / rows as usize,
                    j / cols as usize,
                    i / rows as usize * rows as usize,
                    j / cols as usize * cols as usize
                ));
            }
            let show = |v: Vec<String>| {
                if v.len() > 24 {
                    format!("[{}, ... {} more]", v[..24].join(", "), v.len() - 24)
                } else {
                    format!("[{}]", v.join(", "))
                }
            };
            lines.push(format!(
                "A[{i}] = {}",
                show(
                    g.a.data[i * k..(i + 1) * k]
                        .iter()
                        .map(|v| v.to_string())
                        .collect()
                )
            ));
            lines.push(format!(
                "B[{j}] = {}",
                show(
                    g.b.data[j * k..(j + 1) * k]
                        .iter()
                        .map(|v| v.to_string())
                        .collect()
                )
            ));
            lines.join("\n")
        }
    }
}

/// Replay the failing segment alone in a traced build and write the VCD of
/// the window before the first failing sample.
fn trace_window(
    bundle: &Bundle,
    opts: &VerifyOptions,
    c: &MemberCtx,
    spec: &Spec,
    f: Failure,
    path: &std::path::Path,
) -> Result<String, SimError> {
    let (backend, _keep) = match opts.sim {
        SimKind::Verilator => {
            let b = verilator::build(&bundle.build_inputs(true, opts.profile), &cache_root(opts))?;
            (Backend::Verilator { exe: b.exe }, None)
        }
        SimKind::Icarus => {
            let b = icarus::build(bundle)?;
            (Backend::Icarus { vvp: b.vvp.clone() }, Some(b))
        }
    };
    let seg = c.segment(spec)?;
    let end = f.cycle as usize;
    let start = end.saturating_sub(opts.vcd_window as usize);
    let rec = 1 + bundle.layout.in_words as usize;
    // one record more than the segment's cycles: the harness registers its
    // inputs, so cycle `end` reaches the member at the edge of record end + 1
    let last = end + 1;
    let mut words = vec![0u32; (last + 1) * rec];
    for cyc in 0..=last {
        let r = &mut words[cyc * rec..(cyc + 1) * rec];
        if cyc == start {
            r[0] |= flags::TRACE_ON;
        }
        if cyc == last {
            r[0] |= flags::TRACE_OFF;
        }
        if cyc < seg.cycles() {
            let src = seg.cycle(cyc);
            let dst = &mut r[1 + c.slot.ctrl as usize..][..src.len()];
            dst.copy_from_slice(src);
            dst[0] &= ctrl::WIRE_MASK;
        }
    }
    let batch = Batch {
        words,
        records: (last + 1) as u32,
        samples: 0,
        meta: (),
    };
    harness::stream(
        &backend,
        bundle.layout.in_words,
        bundle.layout.out_words,
        Some(path),
        std::iter::once(batch),
        |_, _| {},
    )?;
    let member = bundle
        .layout
        .slots
        .iter()
        .position(|s| s == &c.slot)
        .unwrap_or(0);
    Ok(format!(
        "cycles {start}..={end} of the failing segment ({}), replayed alone from its reset. \
         The harness registers its inputs: segment cycle t is applied to SimBundle.in_i at time \
         10*t and reaches u_m{member}'s ports at 10*t+5; u_m{member} clocks it in at 10*(t+1)+5. \
         The failing value is on u_m{member}.{} after the edge at {}.",
        spec.label(),
        c.ports.out_port,
        (end + 1) * 10 + 5
    ))
}

/// A progress bar on stderr, shown only on a terminal and only once a run
/// has taken a second.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    fn new(enabled: bool, total: u64) -> Progress {
        let bar = enabled.then(|| {
            let b = indicatif::ProgressBar::with_draw_target(
                Some(total),
                indicatif::ProgressDrawTarget::hidden(),
            );
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cycles ({per_sec}, eta {eta})",
                )
                .expect("a valid progress template"),
            );
            b
        });
        Progress {
            bar,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    fn set(&self, pos: u64) {
        if let Some(b) = &self.bar {
            if !self.shown.load(Ordering::Relaxed) && self.start.elapsed().as_secs_f64() > 1.0 {
                self.shown.store(true, Ordering::Relaxed);
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_position(pos);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
