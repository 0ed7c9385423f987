//! `sparqgen generate [D.yaml] [-o DIR]`: write `DIR/<name>/` (Verilog,
//! filelist, manifest, README) atomically.

use anyhow::{Context, Result};
use clap::Args;
use sparqgen::rtl;
use std::path::PathBuf;

#[derive(Args)]
pub struct GenerateArgs {
    /// Design description (YAML or JSON); default: the embedded default.
    #[arg(value_name = "D.yaml")]
    pub design: Option<PathBuf>,
    /// Output folder; the design is written to DIR/<name>/.
    #[arg(
        short = 'o',
        long = "out",
        value_name = "DIR",
        default_value = "rtl_out"
    )]
    pub out: PathBuf,
    /// Replace the output folder even if sparqgen did not write it or its
    /// files were changed since (by default sparqgen refuses, exit 2).
    #[arg(long)]
    pub force: bool,
    /// Clock frequency of clk_i in the SDC and the FuseSoC pnr target, MHz.
    #[arg(long = "clock-mhz", value_name = "MHZ", default_value_t = 100.0)]
    pub clock_mhz: f64,
}

pub fn run(args: &GenerateArgs) -> Result<i32> {
    let design = super::load_design(args.design.as_deref())?;
    let flows = rtl::FlowOptions::with_clock_mhz(args.clock_mhz).map_err(anyhow::Error::msg)?;
    let generated = sparqgen::flows::generate_with(&design, &flows)?;
    let dest = generated.write(&args.out, args.force).with_context(|| {
        format!(
            "cannot write the design into output folder {}",
            args.out.display()
        )
    })?;
    let m = &generated.manifest;
    outln!(
        "wrote {}/ ({} files; top {}, latency {} cycles{}; content hash {})",
        dest.display(),
        generated.files.files.len(),
        m.top,
        m.latency_cycles,
        m.flush_cycles
            .map(|f| format!(", fill {f} cycles"))
            .unwrap_or_default(),
        &m.content_hash[..12]
    );
    Ok(0)
}
