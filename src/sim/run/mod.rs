//! A verification run: build the harness, stream every member's plan
//! through it in lockstep, compare every sampled output with the model,
//! and on a mismatch describe the failing vectors and replay the failing
//! window with tracing for a VCD.
//!
//! | module | holds |
//! |--------|-------|
//! | [`options`] | what a run is asked to do |
//! | [`outcome`] | what it found |
//! | `feeder` | plans to batches of records (writer thread) |
//! | `check` | outputs against expected values (calling thread) |
//! | `describe` | a failing output's inputs, in words |
//! | `trace` | the failing window's VCD |
//! | `progress` | the progress bar |

mod check;
mod describe;
mod feeder;
pub mod options;
pub mod outcome;
mod progress;
mod trace;

pub use options::{SimKind, VerifyOptions};
pub use outcome::{BuildSummary, MemberResult, MismatchDetail, Outcome};

use super::bundle::Bundle;
use super::harness::{self, Backend};
use super::icarus::IcarusBuild;
use super::stimulus::{MemberCtx, PlanOptions, Spec};
use super::{icarus, verilator, Dut, SimError};
use check::{Checker, Failure};
use feeder::{Feeder, Shared};
use progress::Progress;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Instant;

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
    // 1. the harness (an Icarus build's folder lives until the run ends)
    let (backend, build, _icarus) = build_harness(&bundle, opts)?;
    outcome.build = build;
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
    let plans = plans(&ctxs, opts)?;
    // 3. the stream
    let (members, failures) = stream(&backend, &bundle, &ctxs, &plans, opts, &mut outcome)?;
    outcome.members = members;
    // 4. on a mismatch: describe, trace, write the report
    if !failures.is_empty() {
        report_failures(&bundle, &ctxs, &plans, &failures, opts, &mut outcome)?;
    }
    Ok(outcome)
}

/// Build (or find in the cache) the harness for the chosen simulator.
fn build_harness(
    bundle: &Bundle,
    opts: &VerifyOptions,
) -> Result<(Backend, BuildSummary, Option<IcarusBuild>), SimError> {
    Ok(match opts.sim {
        SimKind::Verilator => {
            let b = verilator::build(
                &bundle.build_inputs(false, opts.profile, &opts.tuning),
                &cache_root(opts),
            )?;
            let summary = BuildSummary {
                sim: "verilator",
                cached: b.cached,
                verilate_secs: b.verilate_secs,
                compile_secs: b.compile_secs,
                total_secs: b.total_secs,
                warnings: b.warnings.clone(),
            };
            (Backend::Verilator { exe: b.exe }, summary, None)
        }
        SimKind::Icarus => {
            let b = icarus::build(bundle)?;
            let summary = BuildSummary {
                sim: "icarus",
                cached: false,
                verilate_secs: 0.0,
                compile_secs: b.secs,
                total_secs: b.secs,
                warnings: Vec::new(),
            };
            (Backend::Icarus { vvp: b.vvp.clone() }, summary, Some(b))
        }
    })
}

/// Each member's plan: given, the golden cases, or the default.
fn plans(ctxs: &[MemberCtx], opts: &VerifyOptions) -> Result<Vec<Vec<Spec>>, SimError> {
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
    Ok(plans)
}

/// Stream every plan through the simulator and check every sample; the
/// per-member totals and the first failures.
fn stream(
    backend: &Backend,
    bundle: &Bundle,
    ctxs: &[MemberCtx],
    plans: &[Vec<Spec>],
    opts: &VerifyOptions,
    outcome: &mut Outcome,
) -> Result<(Vec<MemberResult>, Vec<Failure>), SimError> {
    let total_cycles: u64 = ctxs
        .iter()
        .zip(plans)
        .map(|(c, p)| p.iter().map(|s| s.cycles_estimate(c) + 1).sum::<u64>())
        .max()
        .unwrap_or(0);
    let progress = Progress::new(opts.progress, total_cycles);
    let shared = Shared::default();
    let layout = &bundle.layout;
    let feeder = Feeder::new(ctxs, plans, layout, &shared);
    let mut checker = Checker {
        layout,
        acc_bits: ctxs.iter().map(|c| c.ports.acc_bits).collect(),
        members: ctxs
            .iter()
            .zip(plans)
            .map(|(c, p)| MemberResult {
                name: c.design.name().to_string(),
                what: super::describe(&c.design),
                specs: p.len(),
                ..MemberResult::default()
            })
            .collect(),
        mismatches: 0,
        failures: Vec::new(),
        max_details: opts.max_details,
        max_mismatches: opts.max_mismatches,
        shared: &shared,
        secs: 0.0,
    };
    let t = Instant::now();
    let stats = harness::stream(
        backend,
        layout.in_words,
        layout.out_words,
        None,
        feeder,
        |batch, outputs: &[u32]| {
            checker.batch(batch, outputs);
            progress.set(shared.fed.load(Ordering::Relaxed));
        },
    );
    progress.finish();
    // infallible: the lock is poisoned only if a holder panicked
    if let Some(e) = shared.error.lock().expect("feeder error lock").take() {
        return Err(e);
    }
    let stats = stats?;
    outcome.run_secs = t.elapsed().as_secs_f64();
    outcome.cycles = stats.cycles;
    outcome.sim_cpu_secs = stats.sim_cpu_secs;
    outcome.stopped_early = shared.stop.load(Ordering::Relaxed);
    outcome.check_secs = checker.secs;
    outcome.feed_secs = shared.busy.load(Ordering::Relaxed) as f64 * 1e-9;
    outcome.mismatches = checker.mismatches;
    for r in &mut checker.members {
        r.cycles = stats.cycles;
    }
    Ok((checker.members, checker.failures))
}

/// Describe each failure, and write the first one's window as a VCD.
fn report_failures(
    bundle: &Bundle,
    ctxs: &[MemberCtx],
    plans: &[Vec<Spec>],
    failures: &[Failure],
    opts: &VerifyOptions,
    outcome: &mut Outcome,
) -> Result<(), SimError> {
    for f in failures {
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
            inputs: describe::describe_failure(c, spec, &seg, f),
        });
    }
    // A report folder that cannot be made costs the VCD, never the failure
    // summary.
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
    if let (Some(dir), true) = (dir, opts.vcd) {
        let first = failures[0];
        let c = &ctxs[first.member];
        let path = dir.join(format!("{}_seed{}.vcd", c.design.name(), opts.seed));
        let spec = &plans[first.member][first.spec];
        match trace::trace_window(bundle, opts, c, spec, first, &path) {
            Ok(note) => {
                outcome.vcd = Some(path);
                outcome.vcd_note = note;
            }
            Err(e) => outcome.vcd_note = format!("no VCD: {e}"),
        }
    }
    Ok(())
}

fn cache_root(opts: &VerifyOptions) -> PathBuf {
    opts.cache_dir.clone().unwrap_or_else(crate::cache::root)
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
        SimKind::Icarus => c.subset(full, opts.icarus_cycles),
    }
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
