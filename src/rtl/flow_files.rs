//! The names of the files a generated folder carries for downstream flows,
//! beside the Verilog: a FuseSoC CAPI2 core (`<name>.core`), the SDC and
//! iCE40 PCF constraints, the self-checking testbench of the `sim` target
//! and the iCE40 wrapper of the `pnr` target. [`Flows`] names them in the
//! manifest; `crate::flows::generate` renders them (they need the
//! simulator's stimulus and synthesis' wrapper, which `rtl` may not use).

use crate::config::Design;
use serde::{Deserialize, Serialize};

/// Options of `generate` that shape these files, not the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowOptions {
    /// Frequency of `clk_i` in the SDC and for nextpnr, in kHz.
    pub clock_khz: u32,
}

/// Default clock: 100 MHz.
pub const DEFAULT_CLOCK_KHZ: u32 = 100_000;
/// Allowed clock range, kHz.
pub const CLOCK_KHZ_RANGE: std::ops::RangeInclusive<u32> = 1_000..=2_000_000;

impl Default for FlowOptions {
    fn default() -> FlowOptions {
        FlowOptions {
            clock_khz: DEFAULT_CLOCK_KHZ,
        }
    }
}

impl FlowOptions {
    /// From a frequency in MHz as the user typed it; the error names
    /// `--clock-mhz` and the allowed range.
    pub fn with_clock_mhz(mhz: f64) -> Result<FlowOptions, String> {
        let khz = (mhz * 1000.0).round();
        let (lo, hi) = (*CLOCK_KHZ_RANGE.start(), *CLOCK_KHZ_RANGE.end());
        if !mhz.is_finite() || khz < f64::from(lo) || khz > f64::from(hi) {
            return Err(format!(
                "--clock-mhz {mhz} is not allowed (allowed: {} to {} MHz)",
                lo / 1000,
                hi / 1000
            ));
        }
        Ok(FlowOptions {
            clock_khz: khz as u32,
        })
    }
}

/// The flow files of a generated folder, as `manifest.yaml` lists them
/// (paths relative to the folder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flows {
    /// FuseSoC CAPI2 core file and its VLNV name.
    pub core: String,
    pub vlnv: String,
    /// The core's targets.
    pub targets: Vec<String>,
    /// Frequency of `clk_i` the SDC and the `pnr` target ask for, in kHz.
    pub clock_khz: u32,
    /// Timing constraints (SDC) of the top.
    pub sdc: String,
    /// iCE40 pin constraints (a template) of the `pnr` target.
    pub pcf: String,
    /// Self-checking testbench (the `sim` target) and its module.
    pub testbench: String,
    pub testbench_top: String,
    /// iCE40 wrapper of the `pnr` target (inputs from an LFSR, outputs
    /// folded into one pin) and its module.
    pub ice40_wrapper: String,
    pub ice40_top: String,
}

impl Flows {
    pub fn new(design: &Design, opts: &FlowOptions) -> Flows {
        let n = &design.name();
        Flows {
            core: format!("{n}.core"),
            vlnv: vlnv(design),
            targets: ["lint", "sim", "synth", "pnr"].map(String::from).to_vec(),
            clock_khz: opts.clock_khz,
            sdc: format!("{n}.sdc"),
            pcf: format!("{n}_ice40.pcf"),
            testbench: testbench_file(design),
            testbench_top: testbench_module(design),
            ice40_wrapper: format!("fpga/{}_fmax_wrap.v", super::top_module(design)),
            ice40_top: format!("{}_fmax_wrap", super::top_module(design)),
        }
    }

    /// The files in the order they are written and hashed.
    pub fn files(&self) -> Vec<String> {
        vec![
            self.core.clone(),
            self.sdc.clone(),
            self.pcf.clone(),
            self.testbench.clone(),
            self.ice40_wrapper.clone(),
        ]
    }
}

/// `sparqgen:gen:<name>:<sparqgen version>`.
pub fn vlnv(design: &Design) -> String {
    format!(
        "sparqgen:gen:{}:{}",
        design.name(),
        env!("CARGO_PKG_VERSION")
    )
}

/// The testbench's path inside the generated folder.
pub fn testbench_file(design: &Design) -> String {
    format!("tb/{}_tb.v", design.name())
}

/// The testbench's module name.
pub fn testbench_module(design: &Design) -> String {
    format!("{}_tb", design.name())
}
