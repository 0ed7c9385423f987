//! `synth` as a library call: the whole design's area, its PE against the
//! baselines, the post-synthesis netlist check, and a sweep's costs folded
//! into the report. The command line (`sparqgen synth`) only parses
//! arguments into [`SynthOptions`], prints progress and writes the files
//! [`Synthesis::files`] returns.

use super::gates as netcheck;
use crate::config::{ArrayShape, Design, PeKind};
use crate::output::FileSet;
use crate::synth::compare::{self, PeCost, Workload};
use crate::synth::flow::{self, Scripts};
use crate::synth::report::{self, SynthReport, ToolVersions};
use crate::synth::{fmax, plot, ppa};
use anyhow::Result;
use std::path::PathBuf;

/// Which flows to run.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// Generic CMOS gates (also the PE comparison's transistor counts and
    /// the netlist check's netlist).
    pub generic: bool,
    /// iCE40 LUTs, with Fmax where nextpnr-ice40 places the design.
    pub ice40: bool,
    /// A cell library (.lib): area, and with OpenSTA timing and power
    /// ([`super::ppa`]).
    pub liberty: Option<PathBuf>,
}

/// What one `synth` run does.
pub struct SynthOptions {
    pub tools: ToolVersions,
    pub targets: Targets,
    /// The activations the SQNR column is measured on.
    pub workload: Workload,
    /// Synthesize the whole design (large arrays take minutes), not only
    /// the PE comparison.
    pub whole_design: bool,
    /// Co-simulate (and prove) the PE's gate netlist against the model;
    /// needs the generic target.
    pub netlist_check: bool,
    /// When the whole design is not an array synthesized here (a single
    /// PE, or `whole_design` off), price a 4x4 systolic array of the
    /// design's PE against baseline 4x4 arrays instead (the main job).
    pub array_sample: bool,
    /// Also measure the arrays' power on the cell library (their whole
    /// gate netlists simulated on the workload: minutes per 4x4 array).
    pub array_power: bool,
    /// `--acts DIR`: each layer's activations (in pairing order), for
    /// energy per MAC per layer on the cell library.
    pub layers: Vec<(String, Vec<u8>)>,
    /// `--net`: the network's name and each of `layers`' MACs per image,
    /// for energy per image.
    pub network: Option<(String, Vec<u64>)>,
}

/// The array the main job prices when it does not synthesize the design's
/// own: small enough for a minute, large enough to share the row decode.
pub const SAMPLE_ARRAY: ArrayShape = ArrayShape::Systolic { rows: 4, cols: 4 };

/// A finished run: the report and the Yosys scripts it ran.
pub struct Synthesis {
    pub report: SynthReport,
    pub scripts: Scripts,
    /// False only when the netlist check ran and failed.
    pub netlist_passed: bool,
    /// Whether [`Synthesis::add_sweep`] ran (the files then hold its plot).
    pub swept: bool,
}

/// An empty report of `design`: identity, tools and the design's shape.
fn empty_report(
    design: &Design,
    top: String,
    tools: ToolVersions,
    workload: String,
) -> SynthReport {
    SynthReport {
        sparqgen_version: env!("CARGO_PKG_VERSION").into(),
        design: design.name().to_string(),
        design_hash: design.hash(),
        tools,
        top,
        activations_per_cycle: design.activations_per_cycle(),
        pe_count: design.array().pe_count(),
        generic: None,
        ice40: None,
        liberty: None,
        workload,
        pe: None,
        baselines: Vec::new(),
        comparison: None,
        arrays: Vec::new(),
        array_comparison: None,
        array_sampled: false,
        sweep: Vec::new(),
        findings: Vec::new(),
        netlist_check: None,
        layer_energy: Vec::new(),
        network_energy: None,
        pipeline_timing: Vec::new(),
        stream: None,
    }
}

/// Run the flows `opts` asks for on `design`; `progress` hears one line
/// before each long step.
pub fn synthesize(
    design: &Design,
    opts: &SynthOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<Synthesis> {
    let t = &opts.targets;
    let mut scripts = Scripts::default();
    let top = crate::rtl::generate(design)?.manifest.top;
    let mut r = empty_report(design, top, opts.tools.clone(), opts.workload.describe());

    if opts.whole_design {
        progress(&format!(
            "synth: {} ({}), whole design",
            design.name(),
            r.top
        ));
        let job = compare::job(design, t.ice40)?;
        let one = std::slice::from_ref(&job);
        if t.generic {
            let g = flow::generic(one, &mut scripts)?.remove(0).result;
            r.stream = report::stream_cost(design, &g);
            r.generic = Some(g);
        }
        if t.ice40 {
            let mut area = flow::ice40(one, &mut scripts)?.remove(0).result;
            fmax::place_design(design, &mut area)?;
            r.ice40 = Some(area);
        }
        if let Some(lib) = &t.liberty {
            progress("synth: the whole design on the cell library (area, OpenSTA)");
            let d = std::slice::from_ref(design);
            r.liberty = Some(
                ppa::price_with(d, lib, Some(&opts.workload), opts.array_power, &mut scripts)?
                    .remove(0),
            );
        }
    }

    let whole_is_array = r.generic.is_some() && design.array() != ArrayShape::Single;
    if whole_is_array || (t.generic && opts.array_sample) {
        let sample;
        let (array, area) = match &r.generic {
            Some(g) if whole_is_array => (design, Some(g)),
            _ => {
                sample = design
                    .with_array(SAMPLE_ARRAY)
                    .and_then(|d| d.with_name(&format!("{}_arr", design.name())))?;
                (&sample, None)
            }
        };
        progress(&format!(
            "synth: the {} against mac8x8 and mac4x8 arrays of the same shape",
            array.array().describe()
        ));
        let power = opts.array_power.then_some(&opts.workload);
        let arrays = compare::cost_arrays(array, area, t.liberty.as_deref(), power, &mut scripts)?;
        r.array_comparison = Some(report::compare_arrays(&arrays[0], &arrays[1], &arrays[2]));
        r.array_sampled = !whole_is_array;
        r.arrays = arrays;
    }

    if t.generic || t.ice40 || t.liberty.is_some() {
        progress("synth: the PE against mac8x8 and mac4x8");
        let kinds = [design.pe().kind(), PeKind::Mac8x8, PeKind::Mac4x8];
        let mut costs = compare::cost_pes(
            design,
            &kinds,
            &opts.workload,
            t.ice40,
            t.ice40,
            &mut scripts,
        )?;
        if let Some(lib) = &t.liberty {
            progress("synth: PE and baselines on the cell library (area, OpenSTA timing, power on simulated activity)");
            let designs = compare::pe_designs(design, &kinds, 0)?;
            let libs = ppa::price(&designs, lib, &opts.workload, &mut scripts)?;
            for (c, l) in costs.iter_mut().zip(libs) {
                c.liberty = Some(l);
            }
            if !opts.layers.is_empty() {
                progress("synth: energy per MAC per layer (--acts DIR)");
                r.layer_energy = ppa::layer_energy(&designs, lib, &opts.layers, &mut scripts)?;
                if let Some((name, macs)) = &opts.network {
                    r.network_energy = Some(ppa::network_energy(name, &mut r.layer_energy, macs));
                }
            }
        }
        // infallible: costs holds the PE and both baselines, priced above
        let mac4 = costs.pop().expect("three costs");
        let mac8 = costs.pop().expect("three costs");
        let pe = costs.pop().expect("three costs");
        r.comparison = Some(report::compare(&pe, &mac8, &mac4));
        r.pe = Some(pe);
        r.baselines = vec![mac8, mac4];
    }

    let mut netlist_passed = true;
    if t.generic && opts.netlist_check {
        progress("synth: co-simulating the PE's gate netlist against the model");
        let check = netcheck::check_pe(design)?;
        netlist_passed = check.passed;
        r.netlist_check = Some(check.summary);
    }
    Ok(Synthesis {
        report: r,
        scripts,
        netlist_passed,
        swept: false,
    })
}

impl Synthesis {
    /// Add a sweep's costs (priced with [`compare::cost_pes`] here, or
    /// gathered from cluster tasks) and the findings they support.
    pub fn add_sweep(&mut self, sweep: Vec<PeCost>) {
        self.report.findings = report::findings(&sweep);
        self.report.sweep = sweep;
        self.swept = true;
    }

    /// The reports folder's files: synth.json, synth.md, the Yosys scripts
    /// that ran and, after a sweep, pareto.svg.
    pub fn files(&self, design: &Design) -> FileSet {
        let mut files = FileSet::default();
        if self.swept {
            files.add("pareto.svg", pareto(design, &self.report.sweep));
        }
        files.add("synth.json", self.report.to_json());
        files.add("synth.md", self.report.to_markdown());
        for (name, s) in [
            ("generic", &self.scripts.generic),
            ("ice40", &self.scripts.ice40),
            ("liberty", &self.scripts.liberty),
        ] {
            if let Some(s) = s {
                files.add(flow::script_name(name), s.clone());
            }
        }
        files
    }
}

/// The Pareto plot of a sweep.
pub fn pareto(design: &Design, sweep: &[PeCost]) -> String {
    plot::pareto_svg(
        &format!(
            "PE area vs SQNR (acc {} bits, pipeline {})",
            design.pe().acc_bits(),
            design.pe().pipeline().stages()
        ),
        sweep,
    )
}

/// The report of a sweep gathered from its tasks' results (`gather`): the
/// sweep table and findings of the local run, nothing else synthesized.
pub fn sweep_report(design: &Design, jobs: &crate::sweep::Jobs, sweep: Vec<PeCost>) -> SynthReport {
    let workload = match &jobs.acts {
        None => Workload::ReluLike.describe(),
        Some(p) => format!("activations from {}", p.display()),
    };
    let tools = ToolVersions {
        yosys: jobs.tools.clone(),
        nextpnr_ice40: None,
        opensta: None,
    };
    let mut r = empty_report(design, crate::rtl::top_module(design), tools, workload);
    r.findings = report::findings(&sweep);
    r.sweep = sweep;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(yaml: &str) -> SynthReport {
        let d = Design::from_yaml(yaml).unwrap();
        let tools = ToolVersions {
            yosys: "Yosys test".into(),
            nextpnr_ice40: None,
            opensta: None,
        };
        empty_report(&d, "t_top".into(), tools, "w".into())
    }

    /// The report's throughput is the design's: rows (or lanes) times the
    /// PE's activations per cycle, the same number the cycle model and the
    /// HCM array model use per PE.
    #[test]
    fn report_carries_the_designs_activations_per_cycle() {
        let r = report("name: t\npe: {stc: true}\narray: {kind: systolic, rows: 2, cols: 3}");
        assert_eq!((r.activations_per_cycle, r.pe_count), (8, 6));
        let r = report("name: t\npe: {kind: mac8x8}\narray: {kind: dot, lanes: 5}");
        assert_eq!((r.activations_per_cycle, r.pe_count), (5, 5));
        let r = report("name: t\narray: {kind: single}");
        assert_eq!((r.activations_per_cycle, r.pe_count), (2, 1));
        for yaml in [
            "name: t\npe: {stc: true}\narray: {kind: single}",
            "name: t\npe: {kind: mac4x8}\narray: {kind: single}",
            "name: t\npe: {kind: mac8x8}\narray: {kind: single}",
        ] {
            let d = Design::from_yaml(yaml).unwrap();
            let arch = crate::hcm::arch::ArrayModel::from_design(&d);
            let timing = crate::cycles::Timing::of(&d);
            assert_eq!(arch.pe.macs_per_cycle, d.activations_per_cycle(), "{yaml}");
            assert_eq!(timing.k_per_step, u64::from(d.activations_per_cycle()));
        }
    }
}
