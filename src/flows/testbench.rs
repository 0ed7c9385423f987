//! `tb/<name>_tb.v`: a small self-checking Icarus testbench of the design's
//! top, the `sim` target of the FuseSoC core. Its vectors and expected
//! values come from the stimulus planner `sparqgen verify` uses, so from the
//! bit-exact model (`arith`), never from hand-written numbers: a random
//! valid/clear sequence (single PE, dot unit) and one GEMM tile, each
//! opening with a reset.

use crate::config::{ArrayShape, Design};
use crate::rtl::{render as render_t, Manifest, RtlError};
use crate::sim::layout::{ctrl, words, Layout};
use crate::sim::source::ports_of;
use crate::sim::stimulus::{ActDist, GemmSpec, MemberCtx, Segment, Spec, WgtDist};
use askama::Template;

/// Seed of the testbench's vectors (fixed: the file is byte-stable).
const SEED: u64 = 0x5ba7_9e11;

struct Cycle {
    ctl: String,
    act: String,
    wgt: String,
}

struct CheckRow {
    cycle: usize,
    out: u16,
    value: String,
}

#[derive(Template)]
#[template(path = "rtl/testbench.v")]
struct TestbenchV<'a> {
    design: &'a str,
    hash: String,
    module: String,
    top: &'a str,
    what: String,
    act_bits: u32,
    wgt_bits: u32,
    out_port: &'a str,
    out_bits: u32,
    acc_bits: u32,
    has_drain: bool,
    cycles: Vec<Cycle>,
    checks: Vec<CheckRow>,
    /// The DUT's connections: every port to the bench's signal of its name.
    dut_conns: Vec<crate::rtl::align::Conn>,
}

/// `bits` bits of little-endian `words` as Verilog hex digits.
fn hex(words: &[u32], bits: u32) -> String {
    let digits = bits.div_ceil(4) as usize;
    let masked = |i: usize, w: u32| {
        let lo = 32 * i as u32;
        match bits.saturating_sub(lo) {
            0 => 0,
            b if b >= 32 => w,
            b => w & ((1u32 << b) - 1),
        }
    };
    let mut s: String = words
        .iter()
        .enumerate()
        .rev()
        .map(|(i, &w)| format!("{:08x}", masked(i, w)))
        .collect();
    if s.len() > digits {
        s = s.split_off(s.len() - digits);
    }
    format!("{bits}'h{s}")
}

fn err(design: &Design, e: impl std::fmt::Display) -> RtlError {
    RtlError::Manifest {
        path: format!("tb/{}_tb.v", design.name()),
        message: e.to_string(),
    }
}

/// The specs the testbench runs, short enough to read.
fn specs(design: &Design) -> (Vec<Spec>, String) {
    let (m, n, k) = match design.array() {
        ArrayShape::Systolic { rows, cols } => (rows as usize, cols as usize, 7),
        ArrayShape::Dot { lanes } => (2, 2, 4 * lanes as usize + 3),
        ArrayShape::Single => (2, 2, 9),
    };
    let gemm = Spec::Gemm(GemmSpec {
        label: "testbench",
        seed: SEED,
        m,
        n,
        k,
        zeros: 30,
        acts: ActDist::Uniform,
        wgts: WgtDist::Uniform,
        bubbles: true,
    });
    match design.array() {
        ArrayShape::Systolic { .. } => (
            vec![gemm],
            format!("one {m} x {k} . ({n} x {k})^T GEMM tile: feed, flush, drain"),
        ),
        _ => (
            vec![
                Spec::Random {
                    seed: SEED,
                    cycles: 48,
                },
                gemm,
            ],
            format!(
                "48 random cycles of valid_i/clear_i and operands, then a \
                 {m} x {k} . ({n} x {k})^T GEMM"
            ),
        ),
    }
}

/// Render the testbench of `design` (whose manifest is `m`).
pub fn render(design: &Design, m: &Manifest) -> Result<String, RtlError> {
    let ports = ports_of(m).map_err(|e| err(design, e))?;
    let layout = Layout::new([&ports]);
    let slot = &layout.slots[0];
    let ctx = MemberCtx::new(design, &ports, slot, None, SEED);
    let (specs, what) = specs(design);
    let act_words = words(ports.act_bits) as usize;
    let mut cycles = Vec::new();
    let mut checks = Vec::new();
    for spec in &specs {
        let seg: Segment = ctx.segment(spec).map_err(|e| err(design, e))?;
        let base = cycles.len();
        for c in 0..seg.cycles() {
            let w = seg.cycle(c);
            cycles.push(Cycle {
                ctl: format!("4'h{:x}", w[0] & ctrl::WIRE_MASK),
                act: hex(&w[1..1 + act_words], ports.act_bits),
                wgt: hex(&w[1 + act_words..], ports.wgt_bits),
            });
        }
        for ch in &seg.checks {
            let mask = if ports.acc_bits >= 64 {
                u64::MAX
            } else {
                (1u64 << ports.acc_bits) - 1
            };
            checks.push(CheckRow {
                cycle: base + ch.cycle as usize,
                out: ch.out,
                value: format!("{}'h{:x}", ports.acc_bits, (ch.expected as u64) & mask),
            });
        }
    }
    render_t(
        "rtl/testbench.v",
        &TestbenchV {
            design: design.name(),
            hash: design.short_hash(),
            module: crate::rtl::flow_files::testbench_module(design),
            top: &m.top,
            what,
            act_bits: ports.act_bits,
            wgt_bits: ports.wgt_bits,
            out_port: &ports.out_port,
            out_bits: ports.out_bits,
            acc_bits: ports.acc_bits,
            has_drain: ports.has_drain,
            cycles,
            checks,
            dut_conns: crate::rtl::align::conns(
                m.ports.iter().map(|p| (p.name.as_str(), p.name.clone())),
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn hex_keeps_the_low_bits() {
        assert_eq!(hex(&[0x1234_5678], 16), "16'h5678");
        assert_eq!(hex(&[0x1, 0x2], 36), "36'h200000001");
        assert_eq!(hex(&[0xffff_ffff], 3), "3'h7");
        assert_eq!(hex(&[0xffff_ffff, 0xffff_ffff], 33), "33'h1ffffffff");
    }
}
