//! Text renderings of a [`Report`] and a [`FitReport`] (the JSON forms are
//! their serde serializations).

use crate::hcm::arch::Geometry;
use crate::hcm::fit::FitReport;
use crate::hcm::{Report, Verdict};
use std::fmt::Write;

fn si(v: f64) -> String {
    let a = v.abs();
    if a >= 1e12 {
        format!("{:.2} T", v / 1e12)
    } else if a >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.2} k", v / 1e3)
    } else {
        format!("{v:.2} ")
    }
}

/// An energy given in uJ, in mJ from 1000 uJ on.
fn joules(uj: f64) -> String {
    if uj.abs() >= 1e3 {
        format!("{:.3} mJ", uj / 1e3)
    } else {
        format!("{uj:.3} uJ")
    }
}

fn mbit(bits: u64) -> String {
    format!("{:.2}", bits as f64 / 1e6)
}

fn short(name: &str, width: usize) -> String {
    if name.chars().count() <= width {
        name.to_string()
    } else {
        let tail: String = name
            .chars()
            .rev()
            .take(width - 1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("~{tail}")
    }
}

fn verdict_letter(v: Verdict) -> &'static str {
    match v {
        Verdict::Compute => "compute",
        Verdict::Memory => "MEMORY",
    }
}

/// The report as text: a header, one line per compute layer, totals.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let a = &r.array;
    let pe = &a.pe;
    let geometry = match a.geometry {
        Geometry::Systolic { rows, cols } => format!("{rows} x {cols} output-stationary systolic"),
        Geometry::Dot { lanes } => format!("dot unit, {lanes} lanes"),
        Geometry::Single => "single PE".to_string(),
    };
    let _ = writeln!(
        s,
        "HCM report: {} ({} compute layers; {} pooling layers only shape the table) on {}",
        r.network.name, r.network.compute_layers, r.network.pooling_layers, r.hw.point.name
    );
    let _ = writeln!(
        s,
        "hardware:  {} (hash {}): {} MHz, {} Gbit/s off-chip, {} KiB on-chip buffer",
        r.hw.point.name,
        &r.hw.hash[..12],
        r.hw.point.clock_mhz,
        r.hw.point.bandwidth_gbit_s,
        r.hw.point.buffer_kib
    );
    if r.hw.point.mapping_efficiency != 1.0 {
        let _ = writeln!(
            s,
            "           mapping efficiency {}: compute times are the cycle model's over it \
             (a calibration from the hardware file)",
            r.hw.point.mapping_efficiency
        );
    }
    let _ = writeln!(
        s,
        "PE array:  {}: {} x {} ({geometry}); {} MAC/PE/cycle at {} x {} bits; data moves at \
         {}-bit activations, {}-bit weights{}, {}-bit partial sums in the buffer; peak {}MAC/s",
        a.source,
        a.pe_count,
        pe.label,
        pe.macs_per_cycle,
        pe.compute_act_bits,
        pe.compute_weight_bits,
        pe.act_bits,
        pe.weight_bits,
        if pe.weight_keep.0 != pe.weight_keep.1 {
            format!(
                " (kept {} of {}, index included)",
                pe.weight_keep.0, pe.weight_keep.1
            )
        } else {
            String::new()
        },
        pe.psum_bits,
        si(r.total.peak_macs_per_s)
    );
    if let Some(h) = &r.design_hash {
        let _ = writeln!(s, "design hash: {h}");
    }
    let _ = writeln!(s, "dataflow:  {}", r.dataflow);
    let _ = writeln!(
        s,
        "BOPS:      MACs x (b_a b_w + b_a + b_w + log2(n k^2)), n input channels per group; \
         intensity = BOPS / bits moved; verdict from the layer's compute roof (peak x \
         utilization) against its memory time"
    );
    if let Some(n) = &r.sparsity_note {
        let _ = writeln!(s, "SPARQ:     {n}");
    }
    let sparq = a.pe.sparq.is_some();
    let base = r.layers.iter().any(|l| l.baseline_8bit.is_some());
    let energy = r.energy.is_some();
    let _ = writeln!(s);
    let _ = write!(
        s,
        "{:<22} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:<18} {:>5} {:<8} {:>9}",
        "layer",
        "MACs",
        "BOPS",
        "in Mb",
        "w Mb",
        "out Mb",
        "BOPS/bit",
        "dataflow",
        "util",
        "verdict",
        "GBOPS/s"
    );
    if base {
        let _ = write!(s, " {:<8}", "at 8 bit");
    }
    if sparq {
        let _ = write!(s, " {:>6} {:>5}", "wide%", "b_eff");
    }
    if energy {
        let _ = write!(s, " {:>7} {:>9}", "pJ/MAC", "uJ");
    }
    let _ = writeln!(s);
    for l in &r.layers {
        let p = &l.perf;
        let _ = write!(
            s,
            "{:<22} {:>8}  {:>8}  {:>8} {:>8} {:>8} {:>9.1} {:<18} {:>4.0}% {:<8} {:>9.2}",
            short(&l.name, 22),
            si(p.macs as f64),
            si(p.bops),
            mbit(p.traffic.input_bits),
            mbit(p.traffic.weight_bits),
            mbit(p.traffic.output_bits),
            p.intensity,
            p.traffic.dataflow.to_string(),
            p.utilization * 100.0,
            verdict_letter(p.verdict),
            p.attainable_bops_per_s / 1e9
        );
        if base {
            let v = l
                .baseline_8bit
                .as_ref()
                .map_or("", |b| verdict_letter(b.verdict));
            let _ = write!(s, " {v:<8}");
        }
        if let Some(sp) = &l.sparsity {
            let _ = write!(
                s,
                " {:>5.1}{} {:>5.2}",
                sp.wide_path * 100.0,
                if sp.source == "measured" { "m" } else { "a" },
                sp.effective_act_bits
            );
        }
        if let Some(e) = &l.energy {
            let _ = write!(
                s,
                " {:>6.2}{} {:>9.3}",
                e.pj_per_mac,
                if e.source == "layer" { "m" } else { "w" },
                e.total_uj
            );
        }
        let _ = writeln!(s);
    }
    let t = &r.total;
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "total:     {}MACs, {}BOPS, {:.2} Mbit moved (input {}, weights {}, output {}), \
         intensity {:.1} BOPS/bit",
        si(t.macs as f64),
        si(t.bops),
        t.bits.total as f64 / 1e6,
        mbit(t.bits.input),
        mbit(t.bits.weight),
        mbit(t.bits.output),
        t.intensity
    );
    let _ = writeln!(
        s,
        "time:      {:.3} ms per frame ({:.2} frames/s): {}BOPS/s, {}MAC/s of {}MAC/s peak \
         (achieved {:.0}%, mapping utilization {:.0}%)",
        t.time_s * 1e3,
        t.frames_per_s,
        si(t.attainable_bops_per_s),
        si(t.attainable_macs_per_s),
        si(t.peak_macs_per_s),
        t.achieved_utilization * 100.0,
        t.utilization * 100.0
    );
    if let Some(e) = &r.energy {
        let _ = writeln!(
            s,
            "energy:    {} per frame ({:.2} pJ/MAC over the network; busy {}, idle {}){}; {}; {}",
            joules(e.uj_per_image),
            e.pj_per_mac,
            joules(e.busy_uj),
            joules(e.idle_uj),
            e.baseline_8bit_uj_per_image
                .map_or(String::new(), |b| format!(
                    "; the same array of mac8x8 PEs {} ({:.2}x)",
                    joules(b),
                    e.uj_per_image / b
                )),
            e.note,
            e.source
        );
    }
    let _ = writeln!(
        s,
        "roofline:  {} of {} layers memory-bound ({:.0}% of the time), {} compute-bound",
        t.memory_bound_layers,
        r.layers.len(),
        t.memory_bound_time_share * 100.0,
        t.compute_bound_layers
    );
    if let Some(b) = t.baseline_memory_bound_layers {
        let base_label = r
            .layers
            .iter()
            .find_map(|l| l.baseline_8bit.as_ref().map(|b| b.pe.clone()))
            .unwrap_or_default();
        if t.turned_memory_bound.is_empty() {
            let _ = writeln!(
                s,
                "vs 8 bits: the same array of {base_label} PEs has {b} memory-bound layers; no layer \
                 turns memory-bound under {}",
                pe.label
            );
        } else {
            let _ = writeln!(
                s,
                "vs 8 bits: {} layer(s) compute-bound with {base_label} PEs turn memory-bound under \
                 {} (8-bit traffic, {} x 8-bit multipliers): {}",
                t.turned_memory_bound.len(),
                pe.label,
                pe.compute_act_bits,
                t.turned_memory_bound.join(", ")
            );
        }
    }
    if let Some(ar) = &r.area {
        let _ = writeln!(
            s,
            "area:      {:.0} transistors per PE, {:.3} M for the array ({:.2} G MAC/s per M \
             transistors); {}; fit R^2 {:.4} with {} ({})",
            ar.pe_transistors,
            ar.array_transistors / 1e6,
            ar.macs_per_s_per_mtransistor / 1e9,
            ar.note,
            ar.r2_bops,
            ar.yosys,
            ar.source
        );
    } else {
        let _ = writeln!(s, "area:      not estimated (--area-model none)");
    }
    for n in &r.notes {
        let _ = writeln!(s, "note:      {n}");
    }
    if sparq {
        let _ = writeln!(
            s,
            "columns:   wide% = pairs taking vSPARQ's wide path (m measured, a assumed); b_eff = \
             mean bits a non-zero activation keeps at the multipliers"
        );
    }
    if energy {
        let _ = writeln!(
            s,
            "columns:   pJ/MAC = the PE's measured energy per MAC (m on this layer's activations, \
             w on the synth workload); uJ = the layer's energy per frame, busy and idle"
        );
    }
    s
}

/// The fit as text.
pub fn fit_text(f: &FitReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "HCM area fit: the 3x3 reference PE (signed b-bit activations and weights, nine products \
         rescaled to b + 1 bits, (b + 4)-bit accumulator), b = {}..{}",
        f.points.first().map_or(0, |p| p.bits),
        f.points.last().map_or(0, |p| p.bits)
    );
    let _ = writeln!(
        s,
        "synthesis: {}, {} flow, {}; area in {}",
        f.yosys, f.flow, f.gate_set, f.area_unit
    );
    let _ = writeln!(
        s,
        "\n{:>3} {:>8} {:>8} {:>12} {:>12} {:>12}",
        "b", "BOPS", "cells", "transistors", "quad fit", "BOPS fit"
    );
    for p in &f.points {
        let _ = writeln!(
            s,
            "{:>3} {:>8.1} {:>8} {:>12} {:>12.0} {:>12.0}",
            p.bits,
            p.bops,
            p.cells,
            p.transistors,
            f.quad.at(f64::from(p.bits)),
            f.line.at(p.bops)
        );
    }
    let q = &f.quad;
    let pq = &f.paper.quad;
    let _ = writeln!(
        s,
        "\narea vs b:    A = {:.3} b^2 {:+.3} b {:+.3}   R^2 = {:.7}   (paper, TSMC 28 nm um^2: A = {} b^2 {:+} b {:+}, R^2 = {})",
        q.a2, q.a1, q.a0, f.r2_bits, pq.a2, pq.a1, pq.a0, f.paper.r2_bits
    );
    let _ = writeln!(
        s,
        "area vs BOPS: A = {:.4} BOPS {:+.2}   R^2 = {:.7}   (paper: A = {} BOPS {:+}, R^2 = {})",
        f.line.slope,
        f.line.intercept,
        f.r2_bops,
        f.paper.line.slope,
        f.paper.line.intercept,
        f.paper.r2_bops
    );
    let _ = writeln!(
        s,
        "A(16) / A(8): {:.2} here, {:.2} by the paper's quadratic (units cancel)",
        f.ratio_16_8, f.paper_ratio_16_8
    );
    let _ = writeln!(
        s,
        "BOPS of the PE: 9 (b^2 + 2b + log2 9) (m = n = 1, k = 3); reference hash {}",
        &f.reference_hash[..12]
    );
    let _ = writeln!(
        s,
        "cache: {} ({})",
        f.cache_path,
        if f.cache_hit {
            format!("read; synthesized earlier in {:.1} s", f.synth_seconds)
        } else {
            format!("written; synthesized now in {:.1} s", f.synth_seconds)
        }
    );
    s
}
