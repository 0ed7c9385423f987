//! The text a person reads after a run: a summary, and on a mismatch the
//! design, the seed that reproduces it, the first failing vectors and the
//! VCD of the failing window.

use super::run::Outcome;
use std::fmt::Write;

/// `1234567` -> `1,234,567`.
pub fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `12_345_678.0` -> `12.3 M`.
pub fn si(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1} k", v / 1e3)
    } else {
        format!("{v:.0} ")
    }
}

/// The summary: per design, totals, build and run time, throughput.
pub fn summary(o: &Outcome) -> String {
    let mut s = String::new();
    let b = &o.build;
    let build = if b.cached {
        "cached build".to_string()
    } else if b.sim == "verilator" {
        format!(
            "built in {:.1} s (verilator {:.1} s, C++ {:.1} s)",
            b.total_secs, b.verilate_secs, b.compile_secs
        )
    } else {
        format!("compiled in {:.1} s", b.total_secs)
    };
    let _ = writeln!(
        s,
        "verify: {} design(s) under {}, {build}, seed {}",
        o.members.len(),
        o.sim,
        o.seed
    );
    if !b.warnings.is_empty() {
        let _ = writeln!(
            s,
            "  note: Verilator printed {} warning(s) on this RTL (first: {})",
            b.warnings.len(),
            b.warnings[0]
        );
    }
    let width = o.members.iter().map(|m| m.name.len()).max().unwrap_or(4);
    for m in &o.members {
        let _ = writeln!(
            s,
            "  {:<width$}  {}: {} vectors, {} MACs, {} outputs checked, {} mismatches{}",
            m.name,
            m.what,
            thousands(m.vectors),
            thousands(m.macs),
            thousands(m.checks),
            thousands(m.mismatches),
            if m.mismatches > 0 { "  <-- FAIL" } else { "" }
        );
    }
    let secs = o.run_secs.max(1e-9);
    let _ = writeln!(
        s,
        "total: {} vectors, {} MACs, {} outputs checked, {} mismatches{}",
        thousands(o.vectors()),
        thousands(o.macs()),
        thousands(o.checks()),
        thousands(o.mismatches),
        if o.stopped_early {
            " (stopped feeding vectors after the limit)"
        } else {
            ""
        }
    );
    let mut run = format!(
        "run: {} cycles in {:.2} s: {}cycles/s, {}MAC/s",
        thousands(o.cycles),
        o.run_secs,
        si(o.cycles as f64 / secs),
        si(o.macs() as f64 / secs)
    );
    if let Some(cpu) = o.sim_cpu_secs.filter(|&c| c > 0.0) {
        let _ = write!(
            run,
            " (simulator process: {:.2} CPU s, {}cycles/s per core)",
            cpu,
            si(o.cycles as f64 / cpu)
        );
    }
    let _ = writeln!(s, "{run}");
    s
}

/// The failure report: what failed, how to reproduce it, the inputs.
pub fn failure(o: &Outcome, reproduce: &str) -> String {
    let mut s = String::new();
    let broken = o.build.broken_rtl();
    if !broken.is_empty() {
        let _ = writeln!(
            s,
            "FAIL: the RTL is broken: Verilator found {} net(s) with two drivers, none, or a latch \
             (whatever the outputs show, this is not the hardware the model describes):",
            broken.len()
        );
        for w in broken.iter().take(10) {
            let _ = writeln!(s, "  {w}");
        }
        if o.mismatches == 0 {
            let _ = writeln!(s, "reproduce: {reproduce}");
            return s;
        }
    }
    let _ = writeln!(
        s,
        "FAIL: {} mismatch(es) between the RTL and the model",
        thousands(o.mismatches)
    );
    for m in o.members.iter().filter(|m| m.mismatches > 0) {
        let _ = writeln!(
            s,
            "  design {} ({}): {} mismatches",
            m.name, m.what, m.mismatches
        );
    }
    let _ = writeln!(s, "reproduce: {reproduce}");
    let _ = writeln!(
        s,
        "first failing outputs (expected = {}, actual = RTL; cycles 0 and 1 of a segment are idle and reset):",
        o.expected_from
    );
    for (i, d) in o.details.iter().enumerate() {
        let _ = writeln!(
            s,
            "{:>3}. {}: {}, cycle {}, output {}: expected {}, actual {} (diff {})",
            i + 1,
            d.design,
            d.spec,
            d.cycle,
            d.out,
            d.expected,
            d.actual,
            d.actual.wrapping_sub(d.expected)
        );
        for line in d.inputs.lines() {
            let _ = writeln!(s, "       {line}");
        }
    }
    match &o.vcd {
        Some(p) => {
            let _ = writeln!(s, "VCD of the failing window: {}", p.display());
            let _ = writeln!(s, "  {}", o.vcd_note);
        }
        None if !o.vcd_note.is_empty() => {
            let _ = writeln!(s, "{}", o.vcd_note);
        }
        None => {}
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn numbers() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(si(12_345_678.0), "12.35 M");
    }
}
