//! One compute layer on one PE array and memory system: BOPS, bits moved,
//! cycles from the cycle model, and where the layer sits on the roofline.

use crate::hcm::arch::ArrayModel;
use crate::hcm::hw::HwPoint;
use crate::hcm::network::Layer;
use crate::hcm::traffic::{self, BufferTooSmall, Traffic, Widths};
use serde::Serialize;

/// BOPS of one multiply-accumulate (UNIQ, arXiv 1804.10969): multiply cost
/// `ba * bw` plus the accumulator width `ba + bw + log2(k_len)`, `k_len` =
/// n * k^2 the reduction length. A layer's BOPS are its MACs times this.
pub fn bops_per_mac(ba: u32, bw: u32, k_len: u64) -> f64 {
    f64::from(ba * bw + ba + bw) + (k_len as f64).log2()
}

/// What limits a layer on the roofline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Compute,
    Memory,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Compute => "compute-bound",
            Verdict::Memory => "memory-bound",
        }
    }
}

/// One layer on one array and memory system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Perf {
    pub macs: u64,
    /// MACs the multipliers perform (half the dense MACs under 2:4).
    pub macs_executed: u64,
    pub bops: f64,
    pub traffic: Traffic,
    /// BOPS per bit moved.
    pub intensity: f64,
    pub cycles: u64,
    /// Dense MACs / (cycles * PEs * MACs per PE per cycle).
    pub utilization: f64,
    /// The array's peak in this layer's BOPS (every MAC slot busy).
    pub peak_bops_per_s: f64,
    /// The compute roof this layer sees: peak * utilization.
    pub compute_roof_bops_per_s: f64,
    /// compute roof / bandwidth: intensities below it are memory-bound.
    pub ridge_bops_per_bit: f64,
    pub compute_s: f64,
    pub memory_s: f64,
    pub verdict: Verdict,
    /// BOPS / max(compute time, memory time).
    pub attainable_bops_per_s: f64,
    pub attainable_macs_per_s: f64,
}

/// Model one compute layer.
pub fn perf(layer: &Layer, array: &ArrayModel, hw: &HwPoint) -> Result<Perf, BufferTooSmall> {
    // infallible: callers model compute layers only
    let g = layer.gemm().expect("a compute layer");
    let pe = &array.pe;
    let traffic = traffic::plan(
        layer,
        Widths {
            act_bits: pe.act_bits,
            weight_bits: pe.weight_bits,
            weight_keep: pe.weight_keep,
            psum_bits: pe.psum_bits,
        },
        hw.buffer_bits(),
    )?;
    let macs = g.macs();
    let (keep, of) = (u64::from(pe.weight_keep.0), u64::from(pe.weight_keep.1));
    let macs_executed = macs * keep / of;
    let k_len = g.k_len();
    let bops =
        macs_executed as f64 * bops_per_mac(pe.compute_act_bits, pe.compute_weight_bits, k_len);
    // the cycle model `net --rtl` holds to the generated RTL
    let cycles = crate::cycles::gemm(
        &array.timing(),
        crate::cycles::Shape {
            groups: g.groups,
            m: g.pixels,
            n: g.m,
            k: k_len,
        },
    )
    .total;
    let slots = array.peak_macs_per_cycle();
    // the chip's own losses beyond the cycle model (hardware file's
    // mapping_efficiency, 1 unless a user calibrates)
    let cycles_real = cycles as f64 / hw.mapping_efficiency;
    let utilization = macs as f64 / (cycles_real * slots as f64);
    let f = hw.clock_hz();
    let bw = hw.bandwidth_bits_per_s();
    let peak = slots as f64 * f * bops / macs as f64;
    let roof = peak * utilization;
    let compute_s = cycles_real / f;
    let memory_s = traffic.total_bits as f64 / bw;
    let t = compute_s.max(memory_s);
    Ok(Perf {
        macs,
        macs_executed,
        bops,
        intensity: bops / traffic.total_bits as f64,
        traffic,
        cycles,
        utilization,
        peak_bops_per_s: peak,
        compute_roof_bops_per_s: roof,
        ridge_bops_per_bit: roof / bw,
        compute_s,
        memory_s,
        verdict: if memory_s > compute_s {
            Verdict::Memory
        } else {
            Verdict::Compute
        },
        attainable_bops_per_s: bops / t,
        attainable_macs_per_s: macs as f64 / t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bops_formula() {
        // 8x8 bits, 3x3x64 reduction: 64 + 16 + log2(576)
        assert!((bops_per_mac(8, 8, 576) - (80.0 + 576f64.log2())).abs() < 1e-12);
    }
}
