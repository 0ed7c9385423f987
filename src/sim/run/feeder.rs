//! The feeder: expands every member's plan into segments and interleaves
//! them, one record per cycle, into batches for the simulator (on the
//! harness's writer thread).

use super::super::harness::Batch;
use super::super::layout::{ctrl, flags, Layout};
use super::super::stimulus::{MemberCtx, Segment, Spec, PREAMBLE};
use super::super::SimError;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A check in flight: which sample of its batch holds the output.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pending {
    pub sample: u32,
    pub member: u16,
    pub out: u16,
    pub expected: i64,
    pub spec: u32,
    pub cycle: u32,
}

/// What the writer tells the checker about a batch.
pub(super) struct Meta {
    pub checks: Vec<Pending>,
    /// (member, vectors, macs, cycles past the preamble) of segments
    /// started in this batch.
    pub counted: Vec<(usize, u64, u64, u64)>,
}

/// What the feeder (writer thread) and the checker (calling thread) share.
#[derive(Default)]
pub(super) struct Shared {
    /// Set by the checker after too many mismatches, or by the feeder on
    /// an error: no new segments are started.
    pub stop: AtomicBool,
    pub error: Mutex<Option<SimError>>,
    /// Records fed so far (progress).
    pub fed: AtomicU64,
    /// Nanoseconds the feeder spent generating.
    pub busy: AtomicU64,
}

/// Records per batch: about 256 KiB of input, at least 256 records.
fn batch_records(layout: &Layout) -> u32 {
    let bytes = 4 * (1 + layout.in_words as usize);
    ((256 << 10) / bytes).clamp(256, 32_768) as u32
}

#[derive(Default)]
struct Cursor {
    next_spec: usize,
    spec: usize,
    seg: Option<Segment>,
    pos: usize,
    check: usize,
}

/// Generates batches: every member's segments, in lockstep, one record per
/// cycle.
pub(super) struct Feeder<'a> {
    ctxs: &'a [MemberCtx],
    plans: &'a [Vec<Spec>],
    layout: &'a Layout,
    cursors: Vec<Cursor>,
    shared: &'a Shared,
    batch_records: u32,
    /// Checks of the last record, sampled after the next one's edge.
    carry: Vec<Pending>,
}

impl<'a> Feeder<'a> {
    pub fn new(
        ctxs: &'a [MemberCtx],
        plans: &'a [Vec<Spec>],
        layout: &'a Layout,
        shared: &'a Shared,
    ) -> Feeder<'a> {
        Feeder {
            ctxs,
            plans,
            layout,
            cursors: plans.iter().map(|_| Cursor::default()).collect(),
            shared,
            batch_records: batch_records(layout),
            carry: Vec::new(),
        }
    }

    /// Make sure member `m` has a segment with cycles left; false when its
    /// plan is done.
    fn ready(&mut self, m: usize, counted: &mut Vec<(usize, u64, u64, u64)>) -> bool {
        loop {
            let cur = &mut self.cursors[m];
            if let Some(seg) = &cur.seg {
                if cur.pos < seg.cycles() {
                    return true;
                }
                cur.seg = None;
            }
            if self.shared.stop.load(Ordering::Relaxed) || cur.next_spec >= self.plans[m].len() {
                return false;
            }
            let idx = cur.next_spec;
            cur.next_spec += 1;
            match self.ctxs[m].segment(&self.plans[m][idx]) {
                Ok(seg) => {
                    let cycles = seg.cycles().saturating_sub(PREAMBLE) as u64;
                    counted.push((m, seg.vectors, seg.macs, cycles));
                    let cur = &mut self.cursors[m];
                    cur.spec = idx;
                    cur.seg = Some(seg);
                    cur.pos = 0;
                    cur.check = 0;
                }
                Err(e) => {
                    *self.shared.error.lock().expect("feeder error lock") = Some(e.into());
                    self.shared.stop.store(true, Ordering::Relaxed);
                    return false;
                }
            }
        }
    }
}

impl Iterator for Feeder<'_> {
    type Item = Batch<Meta>;

    /// The harness top registers its inputs, so the outputs of the cycle
    /// carried by record `k` are sampled after the edge of record `k + 1`:
    /// checks ride on the next record (`carry`), and one idle record closes
    /// the stream when the last cycle has checks.
    fn next(&mut self) -> Option<Batch<Meta>> {
        let t = Instant::now();
        let rec = 1 + self.layout.in_words as usize;
        let mut words = Vec::with_capacity(self.batch_records as usize * rec);
        let mut meta = Meta {
            checks: Vec::new(),
            counted: Vec::new(),
        };
        let mut records = 0u32;
        let mut samples = 0u32;
        let members = self.ctxs.len();
        let mut live = vec![false; members];
        let mut carry = std::mem::take(&mut self.carry);
        while records < self.batch_records {
            let mut any = false;
            for (m, l) in live.iter_mut().enumerate() {
                *l = self.ready(m, &mut meta.counted);
                any |= *l;
            }
            if !any && carry.is_empty() {
                break;
            }
            let base = words.len();
            words.resize(base + rec, 0);
            if !carry.is_empty() {
                words[base] = flags::SAMPLE;
                for mut p in carry.drain(..) {
                    p.sample = samples;
                    meta.checks.push(p);
                }
                samples += 1;
            }
            for (m, &l) in live.iter().enumerate() {
                if !l {
                    continue;
                }
                let slot = &self.layout.slots[m];
                let cur = &mut self.cursors[m];
                let seg = cur.seg.as_ref().expect("ready");
                let src = seg.cycle(cur.pos);
                let dst = &mut words[base + 1 + slot.ctrl as usize..][..src.len()];
                dst.copy_from_slice(src);
                dst[0] &= ctrl::WIRE_MASK;
                while let Some(c) = seg.checks.get(cur.check) {
                    if c.cycle as usize != cur.pos {
                        break;
                    }
                    carry.push(Pending {
                        sample: 0,
                        member: m as u16,
                        out: c.out,
                        expected: c.expected,
                        spec: cur.spec as u32,
                        cycle: c.cycle,
                    });
                    cur.check += 1;
                }
                cur.pos += 1;
            }
            records += 1;
        }
        self.carry = carry;
        if records == 0 {
            return None;
        }
        self.shared
            .fed
            .fetch_add(u64::from(records), Ordering::Relaxed);
        self.shared
            .busy
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Some(Batch {
            words,
            records,
            samples,
            meta,
        })
    }
}
