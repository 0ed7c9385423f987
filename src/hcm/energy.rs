//! Energy per image from measured energies per MAC: the PEs' power that
//! `sparqgen synth --target liberty --json` measured on the OSU 0.18 um
//! cells (gate netlist simulated on real activations, OpenSTA
//! `report_power`; [`crate::synth::ppa`]), read back from that JSON so a
//! report never synthesizes.
//!
//! Per layer: busy energy = MACs x the PE's pJ/MAC (the layer's own when
//! `synth --acts DIR` measured it, else the PE's on its workload); idle
//! energy = the PE-cycles the array spends not consuming activations
//! (fill, drain, tiles shorter than the drain, waiting for memory) x the
//! PE's clocked cost per cycle (flip-flop internal power plus leakage, what
//! a PE burns with its data held). Computation is at the window width (the
//! PE simulated is the SPARQ PE itself), data moves at 8 bits; the energy
//! of moving it (buffer, off-chip memory) is not measured and not counted.

use crate::synth::compare::PeCost;
use crate::synth::ppa::LayerEnergy;
use crate::synth::sta::Power;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One PE's measured energy, as the synth report gives it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeEnergy {
    /// [`crate::config::PeKind::label`]: `sparq 5opt round`, `mac8x8`.
    pub pe: String,
    /// The single-PE design synth measured (its hash).
    pub design_hash: String,
    pub energy_pj_per_mac: f64,
    /// What a PE burns per cycle with its data held: flip-flop internal
    /// power (mostly clock pins) plus leakage, over the clock.
    pub idle_pj_per_cycle: f64,
    pub clock_mhz: f64,
    /// The activations the power was measured on.
    pub workload: String,
    /// (layer, pJ/MAC) measured on that layer's activations (`synth --acts
    /// DIR`).
    pub layers: Vec<(String, f64)>,
}

/// Every PE of a synth report that carries power.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Measured {
    pub file: String,
    pub library: String,
    /// The synth report's design and its hash.
    pub design: String,
    pub design_hash: String,
    /// The network `synth --acts DIR --net` measured the layers of.
    pub network: Option<String>,
    pub pes: Vec<PeEnergy>,
}

/// The part of a synth report read here.
#[derive(Deserialize)]
struct SynthJson {
    design: String,
    design_hash: String,
    pe: Option<PeCost>,
    #[serde(default)]
    baselines: Vec<PeCost>,
    #[serde(default)]
    layer_energy: Vec<LayerEnergy>,
    #[serde(default)]
    network_energy: Option<crate::synth::ppa::NetworkEnergy>,
}

#[derive(Debug, thiserror::Error)]
pub enum EnergyError {
    #[error("--energy {0}: {1}")]
    Read(String, String),
}

fn idle_pj_per_cycle(p: &Power) -> f64 {
    // mW / MHz = nJ per cycle
    (p.flop_internal_mw + p.leakage_mw) * 1e3 / p.clock_mhz
}

impl Measured {
    /// Read the energies of `sparqgen synth --target liberty --json`'s
    /// output (or its reports/synth.json).
    pub fn read(path: &Path) -> Result<Measured, EnergyError> {
        let file = path.display().to_string();
        let err = |why: String| EnergyError::Read(file.clone(), why);
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let j: SynthJson = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "not a synth report ({e}); write one with `sparqgen synth D.yaml --target liberty --json`"
            ))
        })?;
        let mut library = String::new();
        let mut pes = Vec::new();
        for c in j.pe.iter().chain(&j.baselines) {
            let Some(l) = &c.liberty else { continue };
            let Some(p) = &l.power else { continue };
            library = l.library.clone();
            let label = c.label();
            let layers = j
                .layer_energy
                .iter()
                .filter_map(|le| {
                    le.pes
                        .iter()
                        .find(|x| x.pe == label)
                        .map(|x| (le.layer.clone(), x.energy_pj_per_mac))
                })
                .collect();
            pes.push(PeEnergy {
                pe: label,
                design_hash: c.design_hash.clone(),
                energy_pj_per_mac: p.energy_pj_per_mac,
                idle_pj_per_cycle: idle_pj_per_cycle(p),
                clock_mhz: p.clock_mhz,
                workload: p.workload.clone(),
                layers,
            });
        }
        if pes.is_empty() {
            return Err(err(
                "no PE with liberty.power in it: run `sparqgen synth D.yaml --target liberty --json` \
                 with OpenSTA and the OSU 0.18 um library (qflow-tech-osu018) installed"
                    .into(),
            ));
        }
        Ok(Measured {
            file,
            library,
            design: j.design,
            design_hash: j.design_hash,
            network: j.network_energy.map(|n| n.network),
            pes,
        })
    }

    /// These energies for a report on `net`: the per-layer ones only when
    /// they were measured on it (`synth --net` named it; without `--net`,
    /// when every measured layer is a compute layer of `net`), else
    /// dropped with a note: layer names such as `conv1` recur across
    /// networks.
    pub fn for_network(&self, net: &crate::hcm::network::Network) -> (Measured, Option<String>) {
        let measured: Vec<&str> = self
            .pes
            .iter()
            .flat_map(|p| p.layers.iter().map(|(l, _)| l.as_str()))
            .collect();
        if measured.is_empty() {
            return (self.clone(), None);
        }
        let why = match &self.network {
            Some(n) if *n != net.name => Some(format!("measured on network {n}, not {}", net.name)),
            Some(_) => None,
            None => measured
                .iter()
                .find(|l| {
                    !net.layers
                        .iter()
                        .any(|x| x.gemm().is_some() && x.name == **l)
                })
                .map(|l| format!("layer {l} is not a compute layer of {}", net.name)),
        };
        let Some(why) = why else {
            return (self.clone(), None);
        };
        let mut m = self.clone();
        m.pes.iter_mut().for_each(|p| p.layers.clear());
        let note = format!(
            "--energy {}: per-layer energies not used ({why}); every layer at the PE's energy on the synth workload",
            self.file
        );
        (m, Some(note))
    }

    /// The PE labelled `label`, if synth measured it.
    pub fn pe(&self, label: &str) -> Option<&PeEnergy> {
        self.pes.iter().find(|p| p.pe == label)
    }

    pub fn labels(&self) -> String {
        self.pes
            .iter()
            .map(|p| p.pe.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl PeEnergy {
    /// pJ/MAC for `layer` and where it came from (`layer` when measured on
    /// its activations, `workload` otherwise).
    pub fn for_layer(&self, layer: &str) -> (f64, &'static str) {
        match self.layers.iter().find(|(l, _)| l == layer) {
            Some((_, e)) => (*e, "layer"),
            None => (self.energy_pj_per_mac, "workload"),
        }
    }
}

/// One layer's energy on the array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerEnergyUse {
    pub pj_per_mac: f64,
    /// `layer` (measured on this layer's activations) or `workload`.
    pub source: String,
    /// MACs x pJ/MAC.
    pub busy_uj: f64,
    /// PE-cycles not consuming activations x the idle cost per cycle.
    pub idle_uj: f64,
    pub total_uj: f64,
}

/// One layer on `pe`: `macs` dense MACs, the array's `pe_cycles` (layer
/// time x clock x PEs) of which `macs / macs_per_cycle` are busy.
pub fn layer(
    pe: &PeEnergy,
    name: &str,
    macs: u64,
    macs_per_cycle: u32,
    pe_cycles: f64,
) -> LayerEnergyUse {
    let (pj, source) = pe.for_layer(name);
    let busy_cycles = macs as f64 / f64::from(macs_per_cycle.max(1));
    let busy = macs as f64 * pj * 1e-6;
    let idle = (pe_cycles - busy_cycles).max(0.0) * pe.idle_pj_per_cycle * 1e-6;
    LayerEnergyUse {
        pj_per_mac: pj,
        source: source.into(),
        busy_uj: busy,
        idle_uj: idle,
        total_uj: busy + idle,
    }
}

/// The network's energy per image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnergyTotal {
    pub source: String,
    pub library: String,
    pub pe: String,
    pub busy_uj: f64,
    pub idle_uj: f64,
    pub uj_per_image: f64,
    /// Total MACs x energy / MACs.
    pub pj_per_mac: f64,
    /// Layers with an energy measured on their own activations.
    pub layers_measured: usize,
    /// The same network on the 8-bit baseline array (mac8x8 PEs), when the
    /// synth report measured mac8x8.
    pub baseline_8bit_uj_per_image: Option<f64>,
    pub note: String,
}

/// A note when the PE `m` measured for `design`'s PE kind is not that
/// design's PE (another accumulator width or pipeline): synth names its
/// single PEs `<design>_cmp<i>` ([`crate::synth::compare::pe_designs`]),
/// so the same PE re-derived under that name has the hash synth reported.
pub fn mismatch(design: &crate::config::Design, m: &Measured) -> anyhow::Result<Option<String>> {
    let kind = design.pe().kind();
    let Some(e) = m.pe(&kind.label()) else {
        return Ok(None);
    };
    let renamed = design.with_name(&m.design)?;
    for i in 0..3 {
        let d = crate::synth::compare::pe_designs(&renamed, &[kind], i)?;
        if d[0].hash() == e.design_hash {
            return Ok(None);
        }
    }
    Ok(Some(format!(
        "--energy: the {} PE measured in {} (design {}) differs from this design's PE \
         (accumulator width, pipeline or options): its energy stands in for it",
        e.pe, m.file, m.design
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Design, PeKind};
    use crate::hcm::{analyze, arch::ArrayModel, hw::HwPoint, network::Network, Options};
    use crate::synth::flow::{GenericArea, LibertyArea};

    fn cost(d: &Design, i: usize, kind: PeKind, pj: f64, flop_mw: f64) -> PeCost {
        let pe = crate::synth::compare::pe_designs(d, &[kind], i)
            .unwrap()
            .remove(0);
        let power = Power {
            clock_mhz: 100.0,
            activity: 0.2,
            dynamic_mw: 5.0,
            switching_mw: 2.0,
            internal_mw: 3.0,
            flop_internal_mw: flop_mw,
            leakage_mw: 1e-4,
            energy_pj_per_mac: pj,
            activations_per_cycle: kind.activations_per_cycle(),
            macs_per_cycle: kind.activations_per_cycle(),
            cycles: 1024,
            workload: "w".into(),
        };
        PeCost {
            pe: kind,
            design_hash: pe.hash(),
            activations_per_cycle: kind.activations_per_cycle(),
            generic: GenericArea {
                cells: 1,
                transistors: 2,
                cells_by_type: Default::default(),
                logic_depth: None,
            },
            ice40: None,
            liberty: Some(LibertyArea {
                library: "osu018.lib".into(),
                cells: 1,
                area: 1.0,
                area_um2: 1.0,
                cells_by_type: Default::default(),
                fmax_mhz: None,
                critical_path_ns: None,
                critical_path: None,
                power: Some(power),
                note: None,
            }),
            transistors_per_activation: 1.0,
            sqnr_db: None,
        }
    }

    /// A synth report of `d` (PE 30 pJ/MAC, mac8x8 50) with conv measured
    /// at 20 pJ/MAC for the PE, written to a file and read back.
    fn measured(d: &Design, dir: &Path) -> Measured {
        let pe = cost(d, 0, d.pe().kind(), 30.0, 1.0);
        let m8 = cost(d, 1, PeKind::Mac8x8, 50.0, 2.0);
        let layer = serde_json::json!({"layer": "conv", "values": 10, "zero_fraction": 0.5,
            "pes": [{"pe": d.pe().kind().label(), "energy_pj_per_mac": 20.0,
                     "dynamic_mw": 4.0, "activity": 0.1}]});
        let j = serde_json::json!({"design": d.name(), "design_hash": d.hash(),
            "pe": pe, "baselines": [m8], "layer_energy": [layer]});
        let p = dir.join("synth.json");
        std::fs::write(&p, j.to_string()).unwrap();
        Measured::read(&p).unwrap()
    }

    #[test]
    fn a_layer_costs_its_macs_and_its_idle_pe_cycles() {
        let dir = tempfile::tempdir().unwrap();
        let d = Design::from_yaml(
            "name: e\npe: {kind: sparq}\narray: {kind: systolic, rows: 4, cols: 4}",
        )
        .unwrap();
        let m = measured(&d, dir.path());
        assert_eq!(
            hcm_mismatch(&d, &m),
            None,
            "the PE synth measured is this design's"
        );
        let other =
            Design::from_yaml("name: e\npe: {kind: sparq, acc_bits: 24}\narray: {kind: single}")
                .unwrap();
        assert!(hcm_mismatch(&other, &m).is_some());
        let net = Network::from_yaml(
            "name: t\ninput: [16, 8, 8]\nlayers:\n  - {name: conv, type: conv, out: 16, kernel: 3, padding: 1}\n  - {name: fc, type: fc, out: 10}\n",
        )
        .unwrap();
        let hw = HwPoint::from_yaml(
            "name: t\nclock_mhz: 100\nbuffer_kib: 1024\nbandwidth_gbit_s: 1000\n",
        )
        .unwrap();
        let array = ArrayModel::from_design(&d);
        let opts = Options {
            energy: Some(m.clone()),
            ..Default::default()
        };
        let r = analyze(&net, &array, &hw, None, &opts).unwrap();
        let idle_pj = (1.0 + 1e-4) * 1e3 / 100.0;
        let mut sum = 0.0;
        for (l, pj) in r.layers.iter().zip([20.0, 30.0]) {
            let e = l.energy.as_ref().unwrap();
            let p = &l.perf;
            assert_eq!(p.verdict, crate::hcm::Verdict::Compute, "{}", l.name);
            // compute-bound: the layer lasts its cycles, on every PE
            let busy_cycles = p.macs as f64 / 2.0;
            let idle = (p.cycles as f64 * 16.0 - busy_cycles) * idle_pj * 1e-6;
            assert_eq!(e.pj_per_mac, pj, "{}", l.name);
            assert!((e.busy_uj - p.macs as f64 * pj * 1e-6).abs() < 1e-12);
            assert!(
                idle > 0.0 && (e.idle_uj - idle).abs() < 1e-9 * idle,
                "{e:?} {idle}"
            );
            sum += e.total_uj;
        }
        assert_eq!(r.layers[0].energy.as_ref().unwrap().source, "layer");
        assert_eq!(r.layers[1].energy.as_ref().unwrap().source, "workload");
        let t = r.energy.as_ref().unwrap();
        assert!((t.uj_per_image - sum).abs() < 1e-12);
        assert_eq!(t.layers_measured, 1);
        // the mac8x8 array: one MAC per PE per cycle at 50 pJ, its own cycles
        let b = t.baseline_8bit_uj_per_image.unwrap();
        let busy8: f64 = r
            .layers
            .iter()
            .map(|l| l.perf.macs as f64 * 50.0 * 1e-6)
            .sum();
        assert!(b > busy8, "{b} {busy8}");
        let text = crate::hcm::report::text(&r);
        assert!(
            text.contains(&format!("{:.3} uJ per frame", t.uj_per_image)),
            "{text}"
        );
        assert!(t.uj_per_image < 1e3, "the check above reads uJ");
    }

    /// Layer names recur across networks: energies measured on another
    /// network's `conv` are not charged to this one's.
    #[test]
    fn per_layer_energies_apply_only_to_their_network() {
        let dir = tempfile::tempdir().unwrap();
        let d = Design::default_design();
        let m = measured(&d, dir.path());
        let mine = Network::from_yaml(
            "name: mine\ninput: [16, 8, 8]\nlayers:\n  - {name: conv, type: conv, out: 16, kernel: 3}\n",
        )
        .unwrap();
        let (kept, note) = m.for_network(&mine);
        assert_eq!((kept.pes[0].layers.len(), note), (1, None));
        let other = Network::load("resnet18").unwrap();
        let (dropped, note) = m.for_network(&other);
        assert!(dropped.pes.iter().all(|p| p.layers.is_empty()));
        assert!(note
            .unwrap()
            .contains("layer conv is not a compute layer of"));
        // named by synth --net: only that network
        let named = Measured {
            network: Some("theirs".into()),
            ..m.clone()
        };
        let (dropped, note) = named.for_network(&mine);
        assert!(dropped.pes[0].layers.is_empty());
        assert!(note
            .unwrap()
            .contains("measured on network theirs, not mine"));
    }

    fn hcm_mismatch(d: &Design, m: &Measured) -> Option<String> {
        mismatch(d, m).unwrap()
    }

    #[test]
    fn a_pe_synth_did_not_measure_is_an_error_naming_what_it_has() {
        let dir = tempfile::tempdir().unwrap();
        let d = Design::default_design();
        let m = measured(&d, dir.path());
        let net = Network::load("resnet18").unwrap();
        let hw = HwPoint::load("eyeriss").unwrap();
        let array = ArrayModel::from_hw(&hw.name, hw.pe_array.as_ref().unwrap());
        let opts = Options {
            energy: Some(m),
            ..Default::default()
        };
        let e = analyze(&net, &array, &hw, None, &opts)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no measured PE") && e.contains("mac8x8"), "{e}");
        let p = dir.path().join("bad.json");
        std::fs::write(
            &p,
            "{\"design\": \"x\", \"design_hash\": \"h\", \"baselines\": []}",
        )
        .unwrap();
        let e = Measured::read(&p).unwrap_err().to_string();
        assert!(e.contains("no PE with liberty.power"), "{e}");
    }
}
