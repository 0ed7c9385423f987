//! `sparqgen run`: the main job on one design: generate the RTL into
//! rtl_out/, co-simulate what was written against the model under
//! Verilator, exercise the model on a ReLU-like GEMM, and price the PE
//! against the baselines with Yosys.

use anyhow::{Context, Result};
use sparqgen::sim::{Dut, VerifyOptions};
use std::path::{Path, PathBuf};

pub fn run(design_path: Option<&Path>, force: bool, layout: bool) -> Result<i32> {
    let design = &super::load_design(design_path)?;
    outln!("design {} (hash {})", design.name(), design.short_hash());
    out!("{}", indent(&design.to_yaml()));
    let generated = sparqgen::flows::generate(design)?;
    let folder = generated.write(Path::new("rtl_out"), force)?;
    outln!(
        "rtl: wrote {}/ (top {}, latency {} cycles)",
        folder.display(),
        generated.manifest.top,
        generated.manifest.latency_cycles
    );
    // verify: exactly the folder just written, with verify's defaults
    let dut =
        Dut::from_folder(&folder).with_context(|| format!("cannot verify {}", folder.display()))?;
    let report_dir = PathBuf::from(super::verify::REPORT_DIR);
    let opts = VerifyOptions {
        progress: true,
        report_dir: Some(report_dir.clone()),
        ..VerifyOptions::default()
    };
    let outcome = sparqgen::sim::verify(std::slice::from_ref(&dut), &opts)?;
    out!("{}", sparqgen::sim::report::summary(&outcome));
    let reproduce = format!(
        "sparqgen verify --rtl {} --seed {} --vectors {}",
        folder.display(),
        opts.seed,
        opts.vectors
    );
    let code = super::verify::finish(&outcome, &reproduce, &report_dir)?;
    if code != 0 {
        return Ok(code);
    }
    let s = sparqgen::flows::main_job::model_sample(design)?;
    let (m, k, n) = (s.m, s.k, s.n);
    outln!(
        "model: GEMM {m}x{k} . ({n}x{k})^T, 50% zero ReLU-like activations: {:.2} ms ({:.2} GMAC/s)",
        s.secs * 1e3,
        s.gmacs()
    );
    outln!("model: vs exact int8: {}", s.stats);
    let code = super::synth::run(super::synth::SynthArgs::pe_report(
        design_path.map(Path::to_path_buf),
        force,
    ))?;
    if !layout || code != 0 {
        return Ok(code);
    }
    // run --asic: the PE and both baselines, and a 4x4 array, through qflow
    super::asic::execute(&sparqgen::flows::asic::Request {
        design: design.clone(),
        out: PathBuf::from("rtl_out"),
        opts: sparqgen::asic::Options::default(),
        whole: false,
        compare: true,
        compare_array: 4,
        force,
        slurm: None,
        keep_work: None,
        resume: false,
    })
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}
