//! The checker: every sampled output of a batch against its expected value
//! (on the calling thread, while the simulator runs the next batch).

use super::super::harness::Done;
use super::super::layout::{get_bits, sign_extend, Layout};
use super::feeder::{Meta, Shared};
use super::outcome::MemberResult;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// A failing check as first seen.
#[derive(Debug, Clone, Copy)]
pub(super) struct Failure {
    pub member: usize,
    pub spec: usize,
    pub cycle: u32,
    pub out: u16,
    pub expected: i64,
    pub actual: i64,
}

/// Compares outputs, counts per member, keeps the first failures.
pub(super) struct Checker<'a> {
    pub layout: &'a Layout,
    /// Accumulator width of each member (`acc_o` / one row of `res_o`).
    pub acc_bits: Vec<u32>,
    pub members: Vec<MemberResult>,
    pub mismatches: u64,
    pub failures: Vec<Failure>,
    pub max_details: usize,
    pub max_mismatches: u64,
    pub shared: &'a Shared,
    /// Seconds spent checking.
    pub secs: f64,
}

impl Checker<'_> {
    /// Check one batch's samples (`outputs`: `samples * out_words` words).
    pub fn batch(&mut self, batch: Done<Meta>, outputs: &[u32]) {
        let tc = Instant::now();
        let ow = self.layout.out_words as usize;
        for &(m, v, macs, cycles) in &batch.meta.counted {
            let r = &mut self.members[m];
            r.vectors += v;
            r.macs += macs;
            r.array_cycles += cycles;
        }
        for p in &batch.meta.checks {
            let m = p.member as usize;
            let slot = &self.layout.slots[m];
            let acc = self.acc_bits[m];
            let base = p.sample as usize * ow + slot.out as usize;
            let words = &outputs[base..base + slot.out_words() as usize];
            let actual = sign_extend(get_bits(words, u32::from(p.out) * acc, acc), acc);
            let r = &mut self.members[m];
            r.checks += 1;
            if actual != p.expected {
                r.mismatches += 1;
                self.mismatches += 1;
                if self.failures.len() < self.max_details {
                    self.failures.push(Failure {
                        member: m,
                        spec: p.spec as usize,
                        cycle: p.cycle,
                        out: p.out,
                        expected: p.expected,
                        actual,
                    });
                }
                if self.mismatches >= self.max_mismatches {
                    self.shared.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        self.secs += tc.elapsed().as_secs_f64();
    }
}
