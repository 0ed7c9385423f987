//! What SPARQ costs: the design's PE against the `mac8x8` and `mac4x8`
//! baselines at equal activation throughput, and the quantization error each
//! buys (SQNR from the bit-exact model).

use super::flow::{self, GenericArea, Ice40Area, Job, LibertyArea, Scripts};
use crate::arith::{trim, ErrorStats, Model, Tensor};
use crate::config::{ArrayShape, Design, PeKind, PlacementSet, Rounding, SparqArith, Window};
use crate::rtl;
use crate::workload::{relu_like, weights, Rng};
use anyhow::{bail, Context, Result};
use serde::Serialize;

/// Activations for the SQNR column from a .npy file (any shape, uint8).
pub fn read_acts(p: &std::path::Path) -> Result<Vec<u8>> {
    for ndim in 1..=4 {
        if let Ok(t) = crate::npy::read::<u8>(p, "--acts", ndim) {
            if t.data.is_empty() {
                bail!("{}: no activations", p.display());
            }
            return Ok(t.data);
        }
    }
    // the 2-D read reports the real error (dtype, range, ...)
    Ok(crate::npy::read::<u8>(p, "--acts (activations)", 2)?.data)
}

/// One PE's cost and error. The PE is held typed; the JSON form (see
/// [`PeCostJson`]) spells it out as `label`, `kind`, `placements`, ... for
/// readers of the report.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(into = "PeCostJson", try_from = "PeCostJson")]
pub struct PeCost {
    pub pe: PeKind,
    pub design_hash: String,
    pub activations_per_cycle: u32,
    pub generic: GenericArea,
    pub ice40: Option<Ice40Area>,
    /// Area, timing and power in a cell library ([`super::ppa`]).
    pub liberty: Option<LibertyArea>,
    /// Transistors per activation consumed per cycle.
    pub transistors_per_activation: f64,
    /// SQNR of a GEMM on the workload against the exact int8 result; `None`
    /// when exact (mac8x8).
    pub sqnr_db: Option<f64>,
}

impl PeCost {
    /// `sparq 5opt round` / `mac8x8` / ... ([`PeKind::label`]).
    pub fn label(&self) -> String {
        self.pe.label()
    }

    /// The SPARQ arithmetic, for a SPARQ PE.
    pub fn sparq(&self) -> Option<&SparqArith> {
        match &self.pe {
            PeKind::Sparq(s) => Some(s),
            _ => None,
        }
    }
}

/// [`PeCost`] as written to and read from JSON.
#[derive(Serialize, serde::Deserialize)]
struct PeCostJson {
    label: String,
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    placements: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    rounding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pair_sharing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    stc: Option<bool>,
    design_hash: String,
    activations_per_cycle: u32,
    generic: GenericArea,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    ice40: Option<Ice40Area>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    liberty: Option<LibertyArea>,
    transistors_per_activation: f64,
    sqnr_db: Option<f64>,
}

impl From<PeCost> for PeCostJson {
    fn from(c: PeCost) -> PeCostJson {
        let sparq = c.sparq().copied();
        PeCostJson {
            label: c.label(),
            kind: c.pe.name().to_string(),
            placements: sparq.map(|s| s.placements.name().to_string()),
            rounding: sparq.map(|s| s.rounding.yaml_name().to_string()),
            pair_sharing: sparq.map(|s| s.pair_sharing),
            stc: sparq.map(|s| s.stc),
            design_hash: c.design_hash,
            activations_per_cycle: c.activations_per_cycle,
            generic: c.generic,
            ice40: c.ice40,
            liberty: c.liberty,
            transistors_per_activation: c.transistors_per_activation,
            sqnr_db: c.sqnr_db,
        }
    }
}

impl TryFrom<PeCostJson> for PeCost {
    type Error = String;

    fn try_from(j: PeCostJson) -> Result<PeCost, String> {
        let pe = match j.kind.as_str() {
            "mac8x8" => PeKind::Mac8x8,
            "mac4x8" => PeKind::Mac4x8,
            "sparq" => {
                let placements = j.placements.as_deref().unwrap_or("(missing)");
                let placements = PlacementSet::ALL
                    .into_iter()
                    .find(|p| p.name() == placements)
                    .ok_or_else(|| {
                        format!(
                            "placements: {placements:?} is not one of 2opt, 3opt, 5opt, 6opt, 7opt"
                        )
                    })?;
                let rounding = j.rounding.as_deref().unwrap_or("(missing)");
                let rounding = Rounding::ALL
                    .into_iter()
                    .find(|r| r.yaml_name() == rounding)
                    .ok_or_else(|| {
                        format!("rounding: {rounding:?} is not one of truncate, round_half_even")
                    })?;
                PeKind::Sparq(SparqArith {
                    placements,
                    rounding,
                    pair_sharing: j
                        .pair_sharing
                        .ok_or("pair_sharing: missing for a sparq PE")?,
                    stc: j.stc.ok_or("stc: missing for a sparq PE")?,
                })
            }
            other => {
                return Err(format!(
                    "kind: {other:?} is not one of sparq, mac8x8, mac4x8"
                ))
            }
        };
        if pe.label() != j.label {
            return Err(format!(
                "label: {:?} does not match the PE it describes ({:?})",
                j.label,
                pe.label()
            ));
        }
        Ok(PeCost {
            pe,
            design_hash: j.design_hash,
            activations_per_cycle: j.activations_per_cycle,
            generic: j.generic,
            ice40: j.ice40,
            liberty: j.liberty,
            transistors_per_activation: j.transistors_per_activation,
            sqnr_db: j.sqnr_db,
        })
    }
}

/// The activations the error is measured on.
pub enum Workload {
    /// Seeded ReLU-like activations (half zero, the rest half-normal).
    ReluLike,
    /// The user's activations (any shape, flattened), cycled to fill K.
    User(Vec<u8>),
}

impl Workload {
    pub fn describe(&self) -> String {
        match self {
            Workload::ReluLike => {
                "seeded ReLU-like activations (50% zero, half-normal sigma 48)".into()
            }
            Workload::User(v) => {
                let zeros = v.iter().filter(|&&a| a == 0).count();
                format!(
                    "user activations ({} values, {:.1}% zero)",
                    v.len(),
                    100.0 * zeros as f64 / v.len().max(1) as f64
                )
            }
        }
    }
}

/// A single-PE design with `kind`, the accumulator and pipeline of `base`.
pub fn pe_design(base: &Design, kind: PeKind, name: &str) -> Result<Design> {
    Design::new(name, base.pe().with_kind(kind), ArrayShape::Single)
        .with_context(|| format!("derived design {name}"))
}

/// The whole of `base` (its generic area `this`) and the same shape built
/// of mac8x8 and of mac4x8 PEs with its accumulator and pipeline, each
/// priced per activation per cycle ([`Design::activations_per_cycle`]):
/// what a user builds, where a systolic array shares the SPARQ decode per
/// row. With `lib`, also their area and Fmax in that cell library, and
/// with `power` their power on that workload (the arrays' gate netlists
/// simulated).
pub fn cost_arrays(
    base: &Design,
    this: Option<&GenericArea>,
    lib: Option<&std::path::Path>,
    power: Option<&Workload>,
    scripts: &mut Scripts,
) -> Result<Vec<super::report::ArrayCost>> {
    let cost = |d: &Design, transistors: u64| {
        let acts = d.activations_per_cycle();
        super::report::ArrayCost {
            pe: d.pe().kind().label(),
            shape: d.array().describe(),
            design_hash: d.hash(),
            activations_per_cycle: acts,
            transistors,
            transistors_per_activation: transistors as f64 / f64::from(acts),
            liberty: None,
            area_um2_per_activation: None,
        }
    };
    let mut designs = vec![base.clone()];
    for (i, k) in [PeKind::Mac8x8, PeKind::Mac4x8].into_iter().enumerate() {
        designs.push(
            base.with_kind(k)
                .and_then(|d| d.with_name(&format!("{}_arr{i}", base.name())))
                .with_context(|| format!("the {} baseline array", k.label()))?,
        );
    }
    // the design itself is synthesized here only when its area is not given
    let known: Vec<u64> = this.map(|g| g.transistors).into_iter().collect();
    let jobs: Vec<Job> = designs[known.len()..]
        .iter()
        .map(|d| job(d, false))
        .collect::<Result<_>>()?;
    let areas = flow::generic(&jobs, scripts)?
        .into_iter()
        .map(|a| a.result.transistors);
    let areas: Vec<u64> = known.into_iter().chain(areas).collect();
    let mut costs: Vec<_> = designs.iter().zip(areas).map(|(d, t)| cost(d, t)).collect();
    if let Some(lib) = lib {
        let libs = super::ppa::price_with(&designs, lib, power, true, scripts)?;
        for (c, l) in costs.iter_mut().zip(libs) {
            c.area_um2_per_activation = Some(l.area_um2 / f64::from(c.activations_per_cycle));
            c.liberty = Some(l);
        }
    }
    Ok(costs)
}

/// The synthesis job for a design's top.
pub fn job(design: &Design, netlist: bool) -> Result<Job> {
    let g = rtl::generate(design)?;
    let files = g
        .verilog()?
        .into_iter()
        .map(|(f, text)| (f, String::from_utf8_lossy(&text).into_owned()))
        .collect();
    Ok(Job {
        files,
        top: g.manifest.top.clone(),
        netlist,
    })
}

const M: usize = 256;
const K: usize = 576;
const N: usize = 32;

/// SQNR (dB) of a PE kind on the workload; `None` for exact arithmetic.
pub fn sqnr(kind: &PeKind, workload: &Workload) -> Result<Option<f64>> {
    let mut rng = Rng::new(0x5A3C);
    let acts = match workload {
        Workload::ReluLike => relu_like(M * K, 0.5, &mut rng),
        Workload::User(v) => v.iter().copied().cycle().take(M * K).collect(),
    };
    let a = Tensor::new(vec![M, K], acts);
    let b = Tensor::new(vec![N, K], weights(N * K, &mut rng));
    let exact = Model::exact().gemm(&a, &b)?;
    let approx = match kind {
        PeKind::Mac8x8 => return Ok(None),
        PeKind::Mac4x8 => {
            // uniform 4-bit activations: a fixed window at shift 4, rounded
            let w = Window {
                bits: 4,
                shifts: &[4],
            };
            let q = Tensor::new(
                vec![M, K],
                a.data
                    .iter()
                    .map(|&v| trim(v, w, Rounding::RoundHalfEven).value())
                    .collect(),
            );
            Model::exact().gemm(&q, &b)?
        }
        PeKind::Sparq(s) => {
            // dense pairing for the error: 2:4 changes which activations pair,
            // not what a pair does
            let dense = SparqArith { stc: false, ..*s };
            let d = pe_design(&Design::default_design(), PeKind::Sparq(dense), "sqnr")?;
            Model::new(&d).gemm(&a, &b)?
        }
    };
    Ok(Some(ErrorStats::compare(&exact.data, &approx.data).sqnr_db))
}

/// Every SPARQ PE variant the description allows, then the two baselines.
pub fn all_kinds() -> Vec<PeKind> {
    let mut v = Vec::new();
    for stc in [false, true] {
        for pair_sharing in [true, false] {
            for placements in PlacementSet::ALL {
                for rounding in [Rounding::RoundHalfEven, Rounding::Truncate] {
                    v.push(PeKind::Sparq(SparqArith {
                        placements,
                        rounding,
                        pair_sharing,
                        stc,
                    }));
                }
            }
        }
    }
    v.push(PeKind::Mac8x8);
    v.push(PeKind::Mac4x8);
    v
}

/// Synthesize single-PE designs of `kinds` (accumulator and pipeline of
/// `base`), each in a Yosys process of its own per target, and price each;
/// with `place`, also place each on an iCE40 for Fmax.
pub fn cost_pes(
    base: &Design,
    kinds: &[PeKind],
    workload: &Workload,
    with_ice40: bool,
    place: bool,
    scripts: &mut Scripts,
) -> Result<Vec<PeCost>> {
    cost_pes_at(base, kinds, 0, workload, with_ice40, place, scripts)
}

/// The single-PE designs of `kinds` at positions `first..` of a list,
/// named `<base>_cmp<i>` (the names, hence the hashes, every PE comparison
/// reports).
pub fn pe_designs(base: &Design, kinds: &[PeKind], first: usize) -> Result<Vec<Design>> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, k)| pe_design(base, *k, &format!("{}_cmp{}", base.name(), first + i)))
        .collect()
}

/// [`cost_pes`] for `kinds` standing at positions `first..` of a longer
/// list: the designs are named as in that list (`<base>_cmp<i>`), so a
/// sweep priced piecewise (one Slurm task per variant) reports the same
/// design hashes as one priced at once.
pub fn cost_pes_at(
    base: &Design,
    kinds: &[PeKind],
    first: usize,
    workload: &Workload,
    with_ice40: bool,
    place: bool,
    scripts: &mut Scripts,
) -> Result<Vec<PeCost>> {
    let designs = pe_designs(base, kinds, first)?;
    let jobs: Vec<Job> = designs
        .iter()
        .map(|d| job(d, false))
        .collect::<Result<_>>()?;
    let generic = flow::generic(&jobs, scripts)?;
    let mut ice40 = if with_ice40 {
        Some(flow::ice40(&jobs, scripts)?)
    } else {
        None
    };
    if let (Some(areas), true) = (ice40.as_mut(), place) {
        for (d, out) in designs.iter().zip(areas.iter_mut()) {
            super::fmax::place_design(d, &mut out.result)?;
        }
    }
    designs
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(i, (d, kind))| {
            let g = generic[i].result.clone();
            let acts = kind.activations_per_cycle();
            Ok(PeCost {
                pe: *kind,
                design_hash: d.hash(),
                activations_per_cycle: acts,
                transistors_per_activation: g.transistors as f64 / f64::from(acts),
                generic: g,
                ice40: ice40.as_ref().map(|v| v[i].result.clone()),
                liberty: None,
                sqnr_db: sqnr(kind, workload)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(pe: PeKind) -> PeCost {
        PeCost {
            pe,
            design_hash: "h".into(),
            activations_per_cycle: pe.activations_per_cycle(),
            generic: GenericArea {
                cells: 1,
                transistors: 2,
                cells_by_type: Default::default(),
                logic_depth: None,
            },
            ice40: None,
            liberty: None,
            transistors_per_activation: 1.0,
            sqnr_db: None,
        }
    }

    /// The JSON keeps the spelled-out fields and reads back to the same PE.
    #[test]
    fn pe_cost_json_round_trips_every_kind() {
        for pe in all_kinds() {
            let j = serde_json::to_value(cost(pe)).unwrap();
            assert_eq!(j["label"], pe.label());
            assert_eq!(j["kind"], pe.name());
            if let PeKind::Sparq(s) = pe {
                assert_eq!(j["placements"], s.placements.name());
                assert_eq!(j["rounding"], s.rounding.yaml_name());
                assert_eq!(j["pair_sharing"], s.pair_sharing);
                assert_eq!(j["stc"], s.stc);
            } else {
                assert!(j.get("placements").is_none());
            }
            let back: PeCost = serde_json::from_value(j).unwrap();
            assert_eq!(back.pe, pe);
        }
    }

    #[test]
    fn pe_cost_json_with_a_wrong_label_is_refused() {
        let mut j = serde_json::to_value(cost(PeKind::Mac4x8)).unwrap();
        j["label"] = "mac8x8".into();
        let e = serde_json::from_value::<PeCost>(j).unwrap_err().to_string();
        assert!(e.contains("label"), "{e}");
    }
}
