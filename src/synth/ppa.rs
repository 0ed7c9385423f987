//! Power, performance and area on a standard-cell library: Yosys maps each
//! design onto the library (area, `stat -liberty`), OpenSTA times the
//! mapped netlist under the design's SDC (critical path, Fmax) and, for a
//! single PE, reports power at [`sta::POWER_CLOCK_KHZ`] on the switching
//! activity measured by simulating that netlist on real activations
//! ([`super::toggles`]), hence energy per MAC.

use super::compare::{job, Workload};
use super::flow::{self, LibertyArea, Scripts};
use super::report::SynthReport;
use super::sta::{self, POWER_CLOCK_KHZ};
use super::toggles::Acts;
use crate::config::{ArrayShape, Design, Pe, PeKind, Pipeline};
use crate::tools::{self, Tool};
use anyhow::Result;
use std::path::Path;

impl Workload {
    /// The same activations for the power simulation.
    pub fn acts(&self) -> Acts<'_> {
        match self {
            Workload::ReluLike => Acts::ReluLike,
            Workload::User(v) => Acts::User(v),
        }
    }
}

/// Why `lib` cannot give power, if it cannot: no power tables, no Verilog
/// cell models next to it, or no cell for the input harness.
fn power_unavailable(lib: &Path) -> Option<String> {
    let text = std::fs::read_to_string(lib).unwrap_or_default();
    if !text.contains("internal_power") {
        return Some(format!(
            "no power: {} has no internal_power tables",
            lib.display()
        ));
    }
    if !lib.with_extension("v").is_file() {
        return Some(format!(
            "no power: no Verilog cell models ({}) to simulate the netlist with",
            lib.with_extension("v").display()
        ));
    }
    if !text.contains("cell (DFFPOSX1)") && !text.contains("cell(DFFPOSX1)") {
        return Some("no power: the input harness needs the OSU cell DFFPOSX1".into());
    }
    None
}

/// Area, timing (when OpenSTA is installed) and, for single-PE designs,
/// power on `workload` of each design in the library at `lib`. Designs
/// are mapped in Yosys processes of their own, then timed and simulated
/// on threads of their own ([`super::fanout`]).
pub fn price(
    designs: &[Design],
    lib: &Path,
    workload: &Workload,
    scripts: &mut Scripts,
) -> Result<Vec<LibertyArea>> {
    price_with(designs, lib, Some(workload), false, scripts)
}

/// [`price`] with power on `workload` (none: area and timing only), and
/// with `arrays` also for systolic arrays (their whole gate netlist
/// simulated: minutes for a 4x4 array).
pub fn price_with(
    designs: &[Design],
    lib: &Path,
    workload: Option<&Workload>,
    arrays: bool,
    scripts: &mut Scripts,
) -> Result<Vec<LibertyArea>> {
    let jobs = designs
        .iter()
        .map(|d| job(d, true))
        .collect::<Result<Vec<_>>>()?;
    let outs = flow::liberty(&jobs, lib, scripts)?;
    let sta_missing = tools::find(Tool::Sta).err().map(|e| e.to_string());
    let no_power = power_unavailable(lib);
    let items: Vec<(&Design, flow::Output<LibertyArea>)> = designs.iter().zip(outs).collect();
    super::fanout::run(&items, |(d, out)| -> Result<LibertyArea> {
        let mut area = out.result.clone();
        let netlist = out.netlist.as_deref().unwrap_or("");
        if let Some(why) = &sta_missing {
            area.note = Some(format!("no timing or power: {why}"));
            return Ok(area);
        }
        // a user's library OpenSTA cannot read or time leaves the area alone
        match sta::timing(d, netlist, lib) {
            Ok(Some((fmax, path))) => {
                area.fmax_mhz = Some(fmax);
                area.critical_path_ns = Some(path.ns);
                area.critical_path = Some(path);
            }
            Ok(None) => {
                area.note = Some("no timing or power: OpenSTA found no timed path".into());
                return Ok(area);
            }
            Err(e) => {
                let first = format!("{e:#}");
                let first = first.lines().next().unwrap_or("").to_string();
                area.note = Some(format!("no timing or power: {first}"));
                return Ok(area);
            }
        }
        let note = |area: &mut LibertyArea, why: &str| {
            area.note = Some(match area.note.take() {
                Some(n) => format!("{n}; {why}"),
                None => why.to_string(),
            })
        };
        let Some(workload) = workload else {
            return Ok(area);
        };
        let systolic = matches!(d.array(), ArrayShape::Systolic { .. });
        if d.array() != ArrayShape::Single && !(arrays && systolic) {
            note(
                &mut area,
                if systolic {
                    "power of arrays with --array-power"
                } else {
                    "power is measured on single PEs and systolic arrays"
                },
            );
        } else if let Some(why) = &no_power {
            note(&mut area, why);
        } else {
            area.power = Some(sta::power(
                d,
                netlist,
                lib,
                &workload.acts(),
                workload.describe(),
                POWER_CLOCK_KHZ,
            )?);
        }
        Ok(area)
    })
}

/// Energy per MAC of each PE on one layer's activations.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LayerEnergy {
    pub layer: String,
    pub values: usize,
    pub zero_fraction: f64,
    /// MACs of this layer per image, when the network was given (`--net`).
    #[serde(default)]
    pub macs_per_image: Option<u64>,
    /// (PE label, its power on this layer), in the order the PEs were given.
    pub pes: Vec<LayerPe>,
}

/// A network's energy per image on each PE: the sum over its layers of
/// MACs per image x that layer's measured pJ/MAC.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NetworkEnergy {
    pub network: String,
    pub macs_per_image: u64,
    pub pes: Vec<NetworkPe>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct NetworkPe {
    pub pe: String,
    pub uj_per_image: f64,
    /// `uj_per_image` over the MACs: the MAC-weighted mean pJ/MAC.
    pub pj_per_mac: f64,
}

/// Fill each layer's MACs per image (`macs[i]` for `layers[i]`) and sum
/// the network's energy per image on each PE.
pub fn network_energy(network: &str, layers: &mut [LayerEnergy], macs: &[u64]) -> NetworkEnergy {
    let total: u64 = macs.iter().sum();
    let n = layers.first().map_or(0, |l| l.pes.len());
    let mut uj = vec![0.0; n];
    for (l, &m) in layers.iter_mut().zip(macs) {
        l.macs_per_image = Some(m);
        for (i, p) in l.pes.iter().enumerate() {
            // pJ x 1e-6 = uJ
            uj[i] += m as f64 * p.energy_pj_per_mac * 1e-6;
        }
    }
    NetworkEnergy {
        network: network.to_string(),
        macs_per_image: total,
        pes: layers
            .first()
            .map(|l| &l.pes[..])
            .unwrap_or(&[])
            .iter()
            .zip(uj)
            .map(|(p, uj)| NetworkPe {
                pe: p.pe.clone(),
                uj_per_image: uj,
                pj_per_mac: uj * 1e6 / total.max(1) as f64,
            })
            .collect(),
    }
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct LayerPe {
    pub pe: String,
    pub energy_pj_per_mac: f64,
    pub dynamic_mw: f64,
    pub activity: f64,
}

/// A layer's activations in the order a PE pairs them along K: adjacent
/// channels at each position for N x C x H x W (or C x H x W) convolution
/// inputs with two or more channels, the flattened order otherwise
/// (fully connected inputs, single-channel images: adjacent pixels).
pub fn pair_order(t: &crate::arith::Tensor<u8>) -> Vec<u8> {
    let s = &t.shape;
    let (n, c, hw) = match s.len() {
        4 => (s[0], s[1], s[2] * s[3]),
        3 => (1, s[0], s[1] * s[2]),
        _ => return t.data.clone(),
    };
    if c < 2 {
        return t.data.clone();
    }
    let mut out = Vec::with_capacity(t.data.len());
    for img in 0..n {
        for p in 0..hw {
            for ch in 0..c {
                out.push(t.data[(img * c + ch) * hw + p]);
            }
        }
    }
    out
}

/// Energy per MAC of each single-PE design on each layer's activations
/// (`--acts DIR`, the folder `net --acts` writes): the designs are mapped
/// once, then each simulated and reported by OpenSTA per layer.
pub fn layer_energy(
    designs: &[Design],
    lib: &Path,
    layers: &[(String, Vec<u8>)],
    scripts: &mut Scripts,
) -> Result<Vec<LayerEnergy>> {
    if let Some(why) = power_unavailable(lib) {
        anyhow::bail!("--acts DIR: {why}");
    }
    let jobs = designs
        .iter()
        .map(|d| job(d, true))
        .collect::<Result<Vec<_>>>()?;
    let outs = flow::liberty(&jobs, lib, scripts)?;
    let work: Vec<(usize, usize)> = (0..layers.len())
        .flat_map(|l| (0..designs.len()).map(move |d| (l, d)))
        .collect();
    let powers = super::fanout::run(&work, |&(l, d)| {
        let (name, acts) = &layers[l];
        sta::power(
            &designs[d],
            outs[d].netlist.as_deref().unwrap_or(""),
            lib,
            &Acts::User(acts),
            format!("layer {name}"),
            POWER_CLOCK_KHZ,
        )
    })?;
    Ok(layers
        .iter()
        .enumerate()
        .map(|(l, (name, acts))| LayerEnergy {
            layer: name.clone(),
            values: acts.len(),
            zero_fraction: acts.iter().filter(|&&a| a == 0).count() as f64
                / acts.len().max(1) as f64,
            macs_per_image: None,
            pes: designs
                .iter()
                .enumerate()
                .map(|(d, design)| {
                    let p = &powers[l * designs.len() + d];
                    LayerPe {
                        pe: design.pe().kind().label(),
                        energy_pj_per_mac: p.energy_pj_per_mac,
                        dynamic_mw: p.dynamic_mw,
                        activity: p.activity,
                    }
                })
                .collect(),
        })
        .collect())
}

/// One PE at one pipeline depth on the cell library: area and OpenSTA
/// timing (no power).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PipelineTiming {
    pub pe: String,
    pub pipeline: u32,
    pub design_hash: String,
    pub area_um2: f64,
    pub fmax_mhz: Option<f64>,
    pub critical_path: Option<super::sta::CriticalPath>,
    pub note: Option<String>,
}

/// `base`'s PE and both baselines as single PEs (accumulator of `base`) at
/// pipeline 0, 1 and 2: mapped onto `lib` and timed by OpenSTA, what a
/// pipeline stage buys in Fmax and costs in area.
pub fn pipelines(base: &Design, lib: &Path, scripts: &mut Scripts) -> Result<Vec<PipelineTiming>> {
    let kinds = [base.pe().kind(), PeKind::Mac8x8, PeKind::Mac4x8];
    let mut designs = Vec::new();
    for p in 0..=Pipeline::MAX {
        let pe = Pe::new(base.pe().kind(), base.pe().acc_bits(), Pipeline::new(p)?)?
            .with_datapath_reset(base.pe().datapath_reset());
        let b = base
            .with_pe(pe)?
            .with_name(&format!("{}_p{p}", base.name()))?;
        designs.extend(super::compare::pe_designs(&b, &kinds, 0)?);
    }
    let libs = price_with(&designs, lib, None, false, scripts)?;
    Ok(designs
        .iter()
        .zip(libs)
        .map(|(d, l)| PipelineTiming {
            pe: d.pe().kind().label(),
            pipeline: d.pe().pipeline().stages(),
            design_hash: d.hash(),
            area_um2: l.area_um2,
            fmax_mhz: l.fmax_mhz,
            critical_path: l.critical_path,
            note: l.note,
        })
        .collect())
}

/// The main job's one line: the PE against both baselines in um^2, MHz
/// and pJ/MAC, when the report has them.
pub fn summary(r: &SynthReport) -> Option<String> {
    let pe = r.pe.as_ref()?;
    let mut parts = Vec::new();
    for c in std::iter::once(pe).chain(&r.baselines) {
        let l = c.liberty.as_ref()?;
        parts.push(format!(
            "{} {:.0} um^2, {}, {}",
            c.label(),
            l.area_um2,
            l.fmax_mhz.map_or("-".into(), |f| format!("{f:.1} MHz")),
            l.power
                .as_ref()
                .map_or("-".into(), |p| format!("{:.2} pJ/MAC", p.energy_pj_per_mac))
        ));
    }
    Some(format!(
        "PPA on {} (pre-layout, typical corner): {}",
        pe.liberty.as_ref()?.library,
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(name: &str, pj: [f64; 2]) -> LayerEnergy {
        LayerEnergy {
            layer: name.into(),
            values: 4,
            zero_fraction: 0.0,
            macs_per_image: None,
            pes: ["a", "b"]
                .iter()
                .zip(pj)
                .map(|(pe, e)| LayerPe {
                    pe: pe.to_string(),
                    energy_pj_per_mac: e,
                    dynamic_mw: 1.0,
                    activity: 0.1,
                })
                .collect(),
        }
    }

    /// Per image: each layer's MACs at that layer's pJ/MAC, summed; the
    /// mean is weighted by MACs, not by layers.
    #[test]
    fn network_energy_weights_each_layer_by_its_macs() {
        let mut layers = vec![layer("c1", [10.0, 40.0]), layer("c2", [30.0, 20.0])];
        let n = network_energy("net", &mut layers, &[1000, 3000]);
        assert_eq!(n.macs_per_image, 4000);
        assert_eq!(layers[1].macs_per_image, Some(3000));
        let a = (1000.0 * 10.0 + 3000.0 * 30.0) * 1e-6;
        let b = (1000.0 * 40.0 + 3000.0 * 20.0) * 1e-6;
        assert!((n.pes[0].uj_per_image - a).abs() < 1e-12);
        assert!((n.pes[1].uj_per_image - b).abs() < 1e-12);
        assert!((n.pes[0].pj_per_mac - 25.0).abs() < 1e-9);
        assert_eq!(n.pes[1].pe, "b");
    }
}
