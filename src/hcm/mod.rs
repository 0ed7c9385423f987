//! HCM, the hardware-aware complexity metric (Karbachevsky et al., arXiv
//! 2004.08906; docs/hcm.md), for a network on a PE array and a
//! memory system:
//!
//! - per layer: MACs, BOPS (UNIQ's formula), bits moved under the buffer
//!   dataflow of [`traffic`], arithmetic intensity (BOPS per bit), the
//!   roofline verdict and attainable throughput, PE-array utilization
//!   ([`roofline`]);
//! - SPARQ-aware: compute at the window width, two activations per PE per
//!   cycle, traffic at 8 bits, vSPARQ's wide path from measured or assumed
//!   activation sparsity ([`acts`]);
//! - area from our own Yosys synthesis of the paper's reference PE ([`fit`]);
//! - energy per frame from the energies per MAC `synth --target liberty`
//!   measured on real cells and activations ([`energy`]).

pub mod acts;
pub mod arch;
pub mod energy;
pub mod fit;
pub mod hw;
pub mod network;
pub mod plot;
pub mod report;
pub mod roofline;
pub mod traffic;

pub use roofline::{bops_per_mac, perf, Perf, Verdict};

use crate::hcm::acts::PairStats;
use crate::hcm::arch::ArrayModel;
use crate::hcm::fit::FitReport;
use crate::hcm::hw::HwPoint;
use crate::hcm::network::Network;
use crate::hcm::traffic::BufferTooSmall;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Activation sparsity of one layer (SPARQ PEs only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sparsity {
    /// `measured` (from `file`) or `assumed`.
    pub source: String,
    pub file: Option<String>,
    pub stats: PairStats,
    /// Share of pairs that take vSPARQ's wide path (one zero, pair sharing
    /// on); 0 with pair sharing off.
    pub wide_path: f64,
    /// Average bits a non-zero activation keeps at the multipliers.
    pub effective_act_bits: f64,
}

/// The 8-bit baseline's view of a layer (for designs below 8 bits).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub pe: String,
    pub verdict: Verdict,
    pub intensity: f64,
    pub ridge_bops_per_bit: f64,
    pub attainable_macs_per_s: f64,
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerReport {
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub input: network::Shape,
    pub output: network::Shape,
    pub kernel: u64,
    pub stride: u64,
    pub padding: u64,
    pub groups: u64,
    #[serde(flatten)]
    pub perf: Perf,
    pub sparsity: Option<Sparsity>,
    pub baseline_8bit: Option<Baseline>,
    /// With measured energies (`--energy SYNTH.json`).
    pub energy: Option<energy::LayerEnergyUse>,
}

/// Bits moved, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bits {
    pub input: u64,
    pub weight: u64,
    pub output: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Total {
    pub macs: u64,
    pub bops: f64,
    pub bits: Bits,
    pub intensity: f64,
    /// Sum over layers of max(compute time, memory time): layers run one
    /// after another, each overlapping its own compute and memory.
    pub time_s: f64,
    pub frames_per_s: f64,
    pub attainable_bops_per_s: f64,
    pub attainable_macs_per_s: f64,
    /// The array's best: every MAC slot busy every cycle.
    pub peak_macs_per_s: f64,
    /// MAC-weighted mapping utilization (compute time only).
    pub utilization: f64,
    /// Achieved MAC/s over peak MAC/s (memory stalls included).
    pub achieved_utilization: f64,
    pub memory_bound_layers: usize,
    pub compute_bound_layers: usize,
    /// Share of the time spent in memory-bound layers.
    pub memory_bound_time_share: f64,
    /// Layers the 8-bit baseline runs compute-bound that this design runs
    /// memory-bound (empty without a baseline).
    pub turned_memory_bound: Vec<String>,
    pub baseline_memory_bound_layers: Option<usize>,
}

/// The fitted area model applied to the array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Area {
    pub source: String,
    pub yosys: String,
    pub r2_bops: f64,
    /// Transistors per product slot at the PE's widths: A(BOPS of a 3x3
    /// PE at b_a x b_w) / 9 from the fitted line.
    pub slot_transistors: f64,
    pub pe_transistors: f64,
    pub array_transistors: f64,
    /// Attainable MAC/s per million transistors of datapath.
    pub macs_per_s_per_mtransistor: f64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetInfo {
    pub name: String,
    pub input: network::Shape,
    pub compute_layers: usize,
    pub pooling_layers: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HwInfo {
    #[serde(flatten)]
    pub point: HwPoint,
    pub hash: String,
    pub bandwidth_bits_per_s: f64,
    pub buffer_bits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tools {
    pub sparqgen: String,
    /// The Yosys that produced the area fit (None without an area model).
    pub yosys: Option<String>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub tools: Tools,
    pub network: NetInfo,
    pub hw: HwInfo,
    pub array: ArrayModel,
    /// The design hash (`Design::hash()`), or None when the hardware file's
    /// own PE array is used.
    pub design_hash: Option<String>,
    pub dataflow: String,
    pub sparsity_note: Option<String>,
    pub layers: Vec<LayerReport>,
    pub total: Total,
    pub area: Option<Area>,
    /// Energy per image from measured energies per MAC (`--energy`).
    pub energy: Option<energy::EnergyTotal>,
    pub notes: Vec<String>,
}

/// Options of a report.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Zero fraction assumed for layers without measured activations.
    pub zero_fraction: f64,
    /// Folder of `<layer name>.npy` input activations.
    pub acts_dir: Option<PathBuf>,
    /// Measured energies per MAC (`--energy SYNTH.json`).
    pub energy: Option<energy::Measured>,
}

/// Errors of a report.
#[derive(Debug, thiserror::Error)]
pub enum HcmError {
    #[error(transparent)]
    Buffer(#[from] BufferTooSmall),
    #[error(transparent)]
    Acts(#[from] Box<acts::ActsError>),
    #[error("--acts {0}: {1}")]
    ActsDir(String, std::io::Error),
    #[error("--energy {file}: no measured PE {pe:?} in it (it has {has}); synthesize this design's PE: `sparqgen synth D.yaml --target liberty --json`")]
    NoEnergy {
        file: String,
        pe: String,
        has: String,
    },
}

pub const DATAFLOW_TEXT: &str = "bits between off-chip memory and the on-chip buffer, batch 1: \
each layer reads its input and weights and writes its output; per layer (and group) the order \
that moves the fewest bits of weights-resident (WR blocks x filters: filters stay, the input \
streams once per block), input-resident (IR bands x rows: input rows stay, all weights stream \
once per band) and output-resident (OR: partial sums of filters x rows stay at partial-sum \
width, input channels stream; the input is read once per block, the weights once per band). \
PE-local storage is not modelled. Arrays map output-stationary: rows take output pixels, \
columns output channels of one group. Compute cycles are the generated RTL's (the cycle model \
`net --rtl` checks): the array streams its R x C tiles back to back, each taking \
max(ceil(K / K-per-step), C) cycles (a tile shorter than the C-cycle drain stalls), and a \
layer pays one fill of (R-1)+(C-1)+pipeline and C-1 drain cycles; a dot unit takes \
ceil(K / K-per-step / lanes) cycles per output.";

/// Build the report.
pub fn analyze(
    net: &Network,
    array: &ArrayModel,
    hw: &HwPoint,
    area_fit: Option<&FitReport>,
    opts: &Options,
) -> Result<Report, HcmError> {
    let baseline = array.baseline_8bit();
    let mut notes = Vec::new();
    let energy_for_net = opts.energy.as_ref().map(|m| {
        let (m, note) = m.for_network(net);
        notes.extend(note);
        m
    });
    let pe_energy = match &energy_for_net {
        None => None,
        Some(m) => Some(m.pe(&array.pe.label).ok_or_else(|| HcmError::NoEnergy {
            file: m.file.clone(),
            pe: array.pe.label.clone(),
            has: m.labels(),
        })?),
    };
    let base_energy = energy_for_net
        .as_ref()
        .zip(baseline.as_ref())
        .and_then(|(m, b)| m.pe(&b.pe.label));
    let mut base_uj = 0.0;
    let mut layers = Vec::new();
    let mut used_files = Vec::new();
    let mut pools = 0;
    for layer in &net.layers {
        let Some(g) = layer.gemm() else {
            pools += 1;
            continue;
        };
        let perf = perf(layer, array, hw)?;
        let sparsity = match &array.pe.sparq {
            None => None,
            Some(sp) => {
                let file = opts
                    .acts_dir
                    .as_ref()
                    .map(|d| d.join(format!("{}.npy", layer.name)))
                    .filter(|p| p.exists());
                let (source, stats) = match &file {
                    Some(p) => {
                        used_files.push(p.clone());
                        (
                            "measured".to_string(),
                            acts::measure(p, layer).map_err(Box::new)?,
                        )
                    }
                    None => (
                        "assumed".to_string(),
                        PairStats::assumed(opts.zero_fraction),
                    ),
                };
                Some(Sparsity {
                    source,
                    file: file.map(|p| p.display().to_string()),
                    wide_path: if sp.pair_sharing { stats.one_zero } else { 0.0 },
                    effective_act_bits: stats.effective_act_bits(
                        sp.window_bits,
                        sp.wide_bits,
                        sp.pair_sharing,
                    ),
                    stats,
                })
            }
        };
        let baseline_8bit = match &baseline {
            None => None,
            Some(b) => {
                let p = self::perf(layer, b, hw)?;
                if let Some(e) = base_energy {
                    let t = p.compute_s.max(p.memory_s);
                    let cycles = t * hw.clock_hz() * f64::from(b.pe_count);
                    base_uj +=
                        energy::layer(e, &layer.name, p.macs, b.pe.macs_per_cycle, cycles).total_uj;
                }
                Some(Baseline {
                    pe: b.pe.label.clone(),
                    verdict: p.verdict,
                    intensity: p.intensity,
                    ridge_bops_per_bit: p.ridge_bops_per_bit,
                    attainable_macs_per_s: p.attainable_macs_per_s,
                })
            }
        };
        let (kernel, stride, padding) = layer.window();
        let energy = pe_energy.map(|e| {
            let t = perf.compute_s.max(perf.memory_s);
            let cycles = t * hw.clock_hz() * f64::from(array.pe_count);
            energy::layer(e, &layer.name, perf.macs, array.pe.macs_per_cycle, cycles)
        });
        layers.push(LayerReport {
            index: layer.index,
            name: layer.name.clone(),
            kind: layer.type_name().to_string(),
            input: layer.input,
            output: layer.output,
            kernel,
            stride,
            padding,
            groups: g.groups,
            perf,
            sparsity,
            baseline_8bit,
            energy,
        });
    }
    if let Some(dir) = &opts.acts_dir {
        let mut unused = unused_npy(dir, &used_files)?;
        unused.sort();
        if !unused.is_empty() {
            notes.push(format!(
                "--acts: no compute layer is named after {} (files must be <layer name>.npy)",
                unused.join(", ")
            ));
        }
        if array.pe.sparq.is_none() {
            notes.push(
                "--acts: the PE is not SPARQ; activation sparsity does not change its accounting"
                    .into(),
            );
        }
    }
    let total = totals(&layers, array, hw);
    let area = area_fit.map(|f| area_of(f, array, &total));
    let energy = energy_for_net
        .as_ref()
        .zip(pe_energy)
        .map(|(m, e)| energy_total(m, e, &layers, base_energy.map(|_| base_uj)));
    let sparsity_note = array.pe.sparq.as_ref().map(|sp| {
        let measured = layers
            .iter()
            .filter(|l| l.sparsity.as_ref().is_some_and(|s| s.source == "measured"))
            .count();
        format!(
            "SPARQ {}-bit {}: multipliers at {} x 8 bits, {} activations per PE per cycle, \
             activations move at 8 bits; vSPARQ wide path ({} bits for a lone activation) {}; \
             zero fraction measured for {measured} of {} layers, assumed {} elsewhere",
            sp.window_bits,
            sp.placements,
            sp.window_bits,
            array.pe.macs_per_cycle,
            sp.wide_bits,
            if sp.pair_sharing {
                "on"
            } else {
                "off (bSPARQ alone)"
            },
            layers.len(),
            opts.zero_fraction
        )
    });
    Ok(Report {
        tools: Tools {
            sparqgen: env!("CARGO_PKG_VERSION").to_string(),
            yosys: area_fit.map(|f| f.yosys.clone()),
        },
        network: NetInfo {
            name: net.name.clone(),
            input: net.input,
            compute_layers: layers.len(),
            pooling_layers: pools,
        },
        hw: HwInfo {
            point: hw.clone(),
            hash: hw.hash(),
            bandwidth_bits_per_s: hw.bandwidth_bits_per_s(),
            buffer_bits: hw.buffer_bits(),
        },
        design_hash: array.design_hash.clone(),
        array: array.clone(),
        dataflow: DATAFLOW_TEXT.to_string(),
        sparsity_note,
        layers,
        total,
        area,
        energy,
        notes,
    })
}

fn energy_total(
    m: &energy::Measured,
    e: &energy::PeEnergy,
    layers: &[LayerReport],
    baseline_uj: Option<f64>,
) -> energy::EnergyTotal {
    let uses: Vec<&energy::LayerEnergyUse> =
        layers.iter().filter_map(|l| l.energy.as_ref()).collect();
    let busy: f64 = uses.iter().map(|u| u.busy_uj).sum();
    let idle: f64 = uses.iter().map(|u| u.idle_uj).sum();
    let macs: u64 = layers.iter().map(|l| l.perf.macs).sum();
    let measured = uses.iter().filter(|u| u.source == "layer").count();
    energy::EnergyTotal {
        source: m.file.clone(),
        library: m.library.clone(),
        pe: e.pe.clone(),
        busy_uj: busy,
        idle_uj: idle,
        uj_per_image: busy + idle,
        pj_per_mac: (busy + idle) * 1e6 / macs.max(1) as f64,
        layers_measured: measured,
        baseline_8bit_uj_per_image: baseline_uj,
        note: format!(
            "{} single PE measured at {} MHz on {} (pJ/MAC per layer for {measured} of {} layers); \
             busy = MACs x pJ/MAC, idle = PE-cycles not consuming activations x {:.2} pJ \
             (flip-flop internal power and leakage per cycle); PE arithmetic only: moving data \
             (buffer, off-chip) is not counted, nor an array's shared row decode",
            e.pe,
            e.clock_mhz,
            e.workload,
            layers.len(),
            e.idle_pj_per_cycle
        ),
    }
}

fn unused_npy(dir: &Path, used: &[PathBuf]) -> Result<Vec<String>, HcmError> {
    let rd = std::fs::read_dir(dir).map_err(|e| HcmError::ActsDir(dir.display().to_string(), e))?;
    Ok(rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "npy") && !used.contains(p))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect())
}

fn totals(layers: &[LayerReport], array: &ArrayModel, hw: &HwPoint) -> Total {
    let mut bits = Bits::default();
    let (mut macs, mut bops, mut time, mut mem_time, mut busy) = (0u64, 0.0, 0.0, 0.0, 0.0);
    let (mut mem, mut turned) = (0, Vec::new());
    let mut base_mem = 0;
    for l in layers {
        let p = &l.perf;
        macs += p.macs;
        bops += p.bops;
        bits.input += p.traffic.input_bits;
        bits.weight += p.traffic.weight_bits;
        bits.output += p.traffic.output_bits;
        bits.total += p.traffic.total_bits;
        let t = p.compute_s.max(p.memory_s);
        time += t;
        busy += p.compute_s;
        if p.verdict == Verdict::Memory {
            mem += 1;
            mem_time += t;
        }
        if let Some(b) = &l.baseline_8bit {
            if b.verdict == Verdict::Memory {
                base_mem += 1;
            }
            if b.verdict == Verdict::Compute && p.verdict == Verdict::Memory {
                turned.push(l.name.clone());
            }
        }
    }
    let peak = array.peak_macs_per_cycle() as f64 * hw.clock_hz();
    Total {
        macs,
        bops,
        bits,
        intensity: bops / bits.total as f64,
        time_s: time,
        frames_per_s: 1.0 / time,
        attainable_bops_per_s: bops / time,
        attainable_macs_per_s: macs as f64 / time,
        peak_macs_per_s: peak,
        utilization: macs as f64 / (busy * peak),
        achieved_utilization: macs as f64 / (time * peak),
        memory_bound_layers: mem,
        compute_bound_layers: layers.len() - mem,
        memory_bound_time_share: mem_time / time,
        turned_memory_bound: turned,
        baseline_memory_bound_layers: array.baseline_8bit().map(|_| base_mem),
    }
}

fn area_of(f: &FitReport, array: &ArrayModel, total: &Total) -> Area {
    let pe = &array.pe;
    let slot = f.slot_transistors(pe.compute_act_bits, pe.compute_weight_bits);
    let per_pe = slot * f64::from(pe.products_per_cycle);
    let all = per_pe * f64::from(array.pe_count);
    Area {
        source: format!(
            "sparqgen hcm fit: {} flow, {} points, cached at {}",
            f.flow,
            f.points.len(),
            f.cache_path
        ),
        yosys: f.yosys.clone(),
        r2_bops: f.r2_bops,
        slot_transistors: slot,
        pe_transistors: per_pe,
        array_transistors: all,
        macs_per_s_per_mtransistor: total.attainable_macs_per_s / (all / 1e6),
        note: format!(
            "datapath only: A = {:.3} * BOPS {:+.1} transistors for the 3x3 reference PE at \
             b_a x b_w, a ninth per product slot, {} slot(s) per PE; registers outside the \
             reference PE, control and SPARQ's window logic are not in it (sparqgen synth \
             measures those)",
            f.line.slope, f.line.intercept, pe.products_per_cycle
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Design;

    fn one_layer(yaml: &str, input: &str) -> Network {
        Network::from_yaml(&format!("name: t\ninput: {input}\nlayers:\n{yaml}")).unwrap()
    }

    fn hw(text: &str) -> HwPoint {
        HwPoint::from_yaml(text).unwrap()
    }

    /// A layer that is compute-bound with 8-bit MACs turns memory-bound
    /// under SPARQ 4-bit on the same hardware: SPARQ halves the multiplier
    /// width and doubles the activations per cycle, while the bits moved
    /// stay 8-bit.
    #[test]
    fn sparq_turns_a_compute_bound_layer_memory_bound() {
        let net = one_layer(
            "  - {name: conv, type: conv, out: 64, kernel: 3, padding: 1}\n",
            "[64, 28, 28]",
        );
        // 8x8 PEs at 100 MHz: 784 tiles of 576 + 15 + 8 cycles (4.7 ms) with
        // 8-bit MACs, of 288 + 15 + 8 (2.4 ms) with SPARQ; 1,097,728 bits at
        // 0.33 Gbit/s take 3.3 ms.
        let hw = hw("name: t\nclock_mhz: 100\nbuffer_kib: 1024\nbandwidth_gbit_s: 0.33\n");
        let mac8 = ArrayModel::from_design(
            &Design::from_yaml("pe: {kind: mac8x8}\narray: {kind: systolic, rows: 8, cols: 8}")
                .unwrap(),
        );
        let sparq = ArrayModel::from_design(
            &Design::from_yaml(
                "pe: {kind: sparq, window_bits: 4}\narray: {kind: systolic, rows: 8, cols: 8}",
            )
            .unwrap(),
        );
        let a = analyze(&net, &mac8, &hw, None, &Options::default()).unwrap();
        let b = analyze(&net, &sparq, &hw, None, &Options::default()).unwrap();
        let (la, lb) = (&a.layers[0].perf, &b.layers[0].perf);
        assert_eq!(
            la.traffic.total_bits, lb.traffic.total_bits,
            "same 8-bit traffic"
        );
        assert_eq!(la.verdict, Verdict::Compute, "{la:?}");
        assert_eq!(lb.verdict, Verdict::Memory, "{lb:?}");
        assert!(lb.intensity < la.intensity);
        assert_eq!(b.total.turned_memory_bound, vec!["conv".to_string()]);
        assert_eq!(
            b.layers[0].baseline_8bit.as_ref().unwrap().verdict,
            Verdict::Compute
        );
    }

    #[test]
    fn utilization_of_a_depthwise_layer_on_a_systolic_array() {
        let net = one_layer(
            "  - {name: dw, type: conv, out: 32, kernel: 3, padding: 1, groups: 32}\n",
            "[32, 16, 16]",
        );
        let hw = hw("name: t\nclock_mhz: 100\nbuffer_kib: 1024\nbandwidth_gbit_s: 100\n");
        let a = ArrayModel::from_design(
            &Design::from_yaml("pe: {kind: mac8x8}\narray: {kind: systolic, rows: 8, cols: 8}")
                .unwrap(),
        );
        let r = analyze(&net, &a, &hw, None, &Options::default()).unwrap();
        let p = &r.layers[0].perf;
        // each group is one output channel: one column of eight busy; the
        // tiles stream at 9 operand cycles each (K = 9 outlasts the 8-cycle
        // drain), then one 14-cycle fill and the last row's 7 more results
        let cycles = 32 * (256 / 8) * 9 + 14 + 7;
        assert_eq!(p.cycles, cycles);
        assert!((p.utilization - (32.0 * 256.0 * 9.0) / (cycles as f64 * 64.0)).abs() < 1e-12);
        assert!(p.utilization < 0.125);
    }
}
