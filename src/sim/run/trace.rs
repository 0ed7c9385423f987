//! The failing window's VCD: the failing segment replayed alone, from its
//! reset, in a traced build.

use super::super::bundle::Bundle;
use super::super::harness::{self, Backend, Batch};
use super::super::layout::{ctrl, flags};
use super::super::stimulus::{MemberCtx, Spec};
use super::super::{icarus, verilator, SimError};
use super::check::Failure;
use super::{cache_root, SimKind, VerifyOptions};

/// Replay the failing segment alone in a traced build and write the VCD of
/// the window before the first failing sample.
pub(super) fn trace_window(
    bundle: &Bundle,
    opts: &VerifyOptions,
    c: &MemberCtx,
    spec: &Spec,
    f: Failure,
    path: &std::path::Path,
) -> Result<String, SimError> {
    let (backend, _keep) = match opts.sim {
        SimKind::Verilator => {
            let b = verilator::build(
                &bundle.build_inputs(true, opts.profile, &opts.tuning),
                &cache_root(opts),
            )?;
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
