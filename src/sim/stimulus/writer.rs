//! The segment writer: appends cycles (control word, act and wgt words, in
//! the member's slot layout) and checks to a [`Segment`].

use super::{Check, MemberCtx, Segment};
use crate::sim::layout::{ctrl, put_bits, Slot};

/// Appends cycles and checks to a segment in the member's slot layout.
pub(super) struct SegWriter {
    pub(super) seg: Segment,
    act_off: usize,
    wgt_off: usize,
    lane_act: u32,
    lane_wgt: u32,
}

impl SegWriter {
    pub(super) fn new(slot: &Slot) -> SegWriter {
        SegWriter {
            seg: Segment {
                wpc: slot.in_words() as usize,
                ..Segment::default()
            },
            act_off: (slot.act - slot.ctrl) as usize,
            wgt_off: (slot.wgt - slot.ctrl) as usize,
            lane_act: 0,
            lane_wgt: 0,
        }
    }

    pub(super) fn cycles(&self) -> usize {
        self.seg.words.len() / self.seg.wpc
    }

    /// Append a cycle with this control word (operands zero); its index.
    pub(super) fn cycle(&mut self, ctl: u32) -> usize {
        let c = self.cycles();
        self.seg.words.push(ctl);
        self.seg
            .words
            .resize(self.seg.words.len() + self.seg.wpc - 1, 0);
        c
    }

    pub(super) fn reserve(&mut self, cycles: usize) {
        self.seg.words.reserve(cycles * self.seg.wpc);
        self.seg.checks.reserve(cycles);
    }

    /// The preamble of every segment: an idle cycle (the previous
    /// segment's last outputs are sampled after it, before this reset can
    /// reach them through the harness's input register), then a reset.
    pub(super) fn reset_cycle(&mut self) {
        self.cycle(0);
        self.cycle(ctrl::RESET);
    }

    fn words_of(&mut self, cyc: usize) -> &mut [u32] {
        let w = self.seg.wpc;
        &mut self.seg.words[cyc * w..(cyc + 1) * w]
    }

    pub(super) fn put_act(&mut self, cyc: usize, lsb: u32, width: u32, v: u32) {
        let off = self.act_off;
        let end = self.wgt_off;
        put_bits(&mut self.words_of(cyc)[off..end], lsb, width, u64::from(v));
    }

    pub(super) fn put_wgt(&mut self, cyc: usize, lsb: u32, width: u32, v: u32) {
        let off = self.wgt_off;
        put_bits(&mut self.words_of(cyc)[off..], lsb, width, u64::from(v));
    }

    /// Lane `l` of a single PE or dot unit (lane widths from the ports).
    pub(super) fn put_lane(&mut self, cyc: usize, l: usize, act: u32, wgt: u32) {
        let (aw, ww) = (self.lane_act, self.lane_wgt);
        self.put_act(cyc, l as u32 * aw, aw, act);
        self.put_wgt(cyc, l as u32 * ww, ww, wgt);
    }

    pub(super) fn check(&mut self, cycle: usize, out: u16, expected: i64, item: u32) {
        self.seg.checks.push(Check {
            cycle: cycle as u32,
            out,
            expected,
            item,
        });
    }

    /// Idle cycles until every check's cycle exists.
    pub(super) fn idle_until_checks(&mut self) {
        let need = self
            .seg
            .checks
            .iter()
            .map(|c| c.cycle as usize + 1)
            .max()
            .unwrap_or(0);
        while self.cycles() < need {
            self.cycle(0);
        }
    }
}

impl MemberCtx {
    /// Set the lane widths used by op streams (from the ports).
    pub(super) fn writer(&self) -> SegWriter {
        let mut w = SegWriter::new(&self.slot);
        w.lane_act = self.ports.lane_act_bits;
        w.lane_wgt = self.ports.lane_wgt_bits;
        w
    }
}
