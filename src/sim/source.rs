//! Designs under test: the validated design, the ports its manifest states
//! and its Verilog sources, generated now or read from a folder that
//! `sparqgen generate` wrote (and a user may have edited since).

use super::encode::Encoding;
use super::{SimError, TopPorts};
use crate::config::{ArrayShape, Design};
use std::path::PathBuf;

/// One design under test.
#[derive(Debug, Clone)]
pub struct Dut {
    pub design: Design,
    pub ports: TopPorts,
    /// Verilog files `(name, contents)` in filelist order.
    pub sources: Vec<(PathBuf, Vec<u8>)>,
    /// Where the RTL came from, for reports.
    pub origin: String,
}

impl Dut {
    pub fn from_parts(
        design: Design,
        ports: TopPorts,
        sources: Vec<(PathBuf, Vec<u8>)>,
        origin: String,
    ) -> Result<Dut, SimError> {
        let dut = Dut {
            design,
            ports,
            sources,
            origin,
        };
        dut.check_contract()?;
        Ok(dut)
    }

    /// The manifest's ports against INTERFACE.md's encodings for this PE
    /// kind and array shape: a disagreement is reported, not simulated.
    pub fn check_contract(&self) -> Result<(), SimError> {
        let p = &self.ports;
        let err = |message: String| SimError::Contract {
            design: self.design.name.clone(),
            message,
        };
        let enc = Encoding::of(&self.design);
        let (aw, ww) = enc.lane_bits();
        if (p.lane_act_bits, p.lane_wgt_bits) != (aw, ww) {
            return Err(err(format!(
                "the manifest gives act/wgt lanes of {}/{} bits, the {:?} encoding is {aw}/{ww}",
                p.lane_act_bits, p.lane_wgt_bits, enc
            )));
        }
        let (na, nw, nout, port, drain) = match self.design.array {
            ArrayShape::Single => (1, 1, p.acc_bits, "acc_o", false),
            ArrayShape::Dot { lanes } => (lanes, lanes, p.acc_bits, "acc_o", false),
            ArrayShape::Systolic { rows, cols } => (rows, cols, rows * p.acc_bits, "res_o", true),
        };
        if p.act_bits != na * aw || p.wgt_bits != nw * ww {
            return Err(err(format!(
                "act_i/wgt_i are {}/{} bits, expected {}/{} for {}",
                p.act_bits,
                p.wgt_bits,
                na * aw,
                nw * ww,
                super::describe(&self.design)
            )));
        }
        if p.out_port != port || p.out_bits != nout || p.has_drain != drain {
            return Err(err(format!(
                "output {} [{}] (drain_i: {}) does not match {port} [{nout}] (drain_i: {drain})",
                p.out_port, p.out_bits, p.has_drain
            )));
        }
        if p.acc_bits != self.design.pe.acc_bits {
            return Err(err(format!(
                "the manifest's accumulator is {} bits, the design's {}",
                p.acc_bits, self.design.pe.acc_bits
            )));
        }
        if p.latency_cycles == 0 {
            return Err(err(
                "latency_cycles is 0 (a PE needs at least one edge)".into()
            ));
        }
        Ok(())
    }
}
