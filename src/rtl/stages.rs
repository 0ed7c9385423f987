//! The signals of each pipeline stage of a PE or a dot lane, and the
//! connections of the instances inside them: which name the multipliers,
//! the accumulator and the decode see at a given pipeline depth. The
//! templates only lay these names out (no pass-through wires: a stage
//! without a register reads the stage before it).

use super::align::{conns, Conn};
use super::plan::{Decode, PePlan};

impl PePlan {
    /// Pipeline 2: the multipliers' operands (and valid/clear) are
    /// registered after the decode (stage A).
    pub fn stage_a(&self) -> bool {
        self.pipeline >= 2
    }

    /// Pipeline >= 1: the product sum (and valid/clear) is registered
    /// before the accumulator (stage B).
    pub fn stage_b(&self) -> bool {
        self.pipeline >= 1
    }

    /// The signal the multipliers take for operand `op`: its stage-A
    /// register `<op>_q`, or the decoded `<op>_dec` itself (no pass-through
    /// wire at pipeline < 2).
    pub fn operand_a(&self, op: &str) -> String {
        if self.stage_a() {
            format!("{op}_q")
        } else {
            format!("{op}_dec")
        }
    }

    /// Control `sig` (`valid`, `clear`) as the multipliers' stage sees it:
    /// `<sig>_a_q` or the port `<sig>_i`.
    pub fn ctl_a(&self, sig: &str) -> String {
        if self.stage_a() {
            format!("{sig}_a_q")
        } else {
            format!("{sig}_i")
        }
    }

    /// Control `sig` as the accumulator sees it: `<sig>_b_q` or
    /// [`PePlan::ctl_a`].
    pub fn ctl_b(&self, sig: &str) -> String {
        if self.stage_b() {
            format!("{sig}_b_q")
        } else {
            self.ctl_a(sig)
        }
    }

    /// The sum `stem` (`sum`, `tree`) as the accumulator sees it: its
    /// stage-B register `<stem>_b_q`, or `<stem>_a` from the multipliers.
    pub fn sum_b(&self, stem: &str) -> String {
        if self.stage_b() {
            format!("{stem}_b_q")
        } else {
            format!("{stem}_a")
        }
    }

    /// The decode instance's connections: `act_i` (and, for decodes that
    /// take the weights, `wgt_i`) from the given expressions, then every
    /// output to its `<name>_dec` wire.
    pub fn decode_conns(&self, act: &str, wgt: &str) -> Vec<Conn> {
        let mut v: Vec<(String, String)> = vec![("act_i".into(), act.into())];
        let outputs: Vec<&str> = match &self.act_code {
            Some(code) => code.fields.iter().map(|f| f.name.as_str()).collect(),
            None => {
                debug_assert!(!matches!(self.decode, Decode::Sparq(ref d) if !d.stc));
                v.push(("wgt_i".into(), wgt.into()));
                self.operands.iter().map(|o| o.name.as_str()).collect()
            }
        };
        v.extend(
            outputs
                .into_iter()
                .map(|n| (format!("{n}_o"), format!("{n}_dec"))),
        );
        conns(v)
    }

    /// The multipliers' instance: each operand from its stage-A signal
    /// ([`PePlan::operand_a`]), the sum to `sum`.
    pub fn mul_conns(&self, sum: &str) -> Vec<Conn> {
        let mut v: Vec<(String, String)> = self
            .operands
            .iter()
            .map(|o| (format!("{}_i", o.name), self.operand_a(&o.name)))
            .collect();
        v.push(("sum_o".into(), sum.into()));
        conns(v)
    }
}
