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
                    // infallible: the lock is poisoned only if a holder panicked
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
        let cap = self.batch_records as usize;
        let mut words = Vec::with_capacity(cap * rec);
        let mut meta = Meta {
            checks: Vec::new(),
            counted: Vec::new(),
        };
        let mut records = 0usize;
        let mut samples = 0u32;
        // `owed`: the previous record has checks, so this one samples.
        // Checks get the index of the sample record that will hold them.
        let mut owed = !self.carry.is_empty();
        for mut p in self.carry.drain(..) {
            p.sample = 0;
            meta.checks.push(p);
        }
        let members = self.ctxs.len();
        let mut live = vec![false; members];
        while records < cap {
            let mut any = false;
            for (m, l) in live.iter_mut().enumerate() {
                *l = self.ready(m, &mut meta.counted);
                any |= *l;
            }
            if !any && !owed {
                break;
            }
            // a run of records in which no live member changes segment
            let mut run = if any { cap - records } else { 1 };
            for (m, &l) in live.iter().enumerate() {
                if l {
                    let cur = &self.cursors[m];
                    // infallible: a live cursor has a segment (live[m] is set with it)
                    run = run.min(cur.seg.as_ref().expect("ready").cycles() - cur.pos);
                }
            }
            let base = words.len();
            words.resize(base + run * rec, 0);
            for (m, &l) in live.iter().enumerate() {
                if !l {
                    continue;
                }
                let off = 1 + self.layout.slots[m].ctrl as usize;
                let cur = &self.cursors[m];
                // infallible: a live cursor has a segment (live[m] is set with it)
                let seg = cur.seg.as_ref().expect("ready");
                let src = &seg.words[cur.pos * seg.wpc..(cur.pos + run) * seg.wpc];
                for (i, cycle) in src.chunks_exact(seg.wpc).enumerate() {
                    let dst = &mut words[base + i * rec + off..][..seg.wpc];
                    dst.copy_from_slice(cycle);
                    dst[0] &= ctrl::WIRE_MASK;
                }
            }
            for i in 0..run {
                if owed {
                    words[base + i * rec] = flags::SAMPLE;
                    samples += 1;
                    owed = false;
                }
                for (m, &l) in live.iter().enumerate() {
                    if !l {
                        continue;
                    }
                    let cur = &mut self.cursors[m];
                    // infallible: a live cursor has a segment (live[m] is set with it)
                    let seg = cur.seg.as_ref().expect("ready");
                    let pos = cur.pos + i;
                    while let Some(c) = seg.checks.get(cur.check) {
                        if c.cycle as usize != pos {
                            break;
                        }
                        meta.checks.push(Pending {
                            sample: samples,
                            member: m as u16,
                            out: c.out,
                            expected: c.expected,
                            spec: cur.spec as u32,
                            cycle: c.cycle,
                        });
                        cur.check += 1;
                        owed = true;
                    }
                }
            }
            for (m, &l) in live.iter().enumerate() {
                if l {
                    self.cursors[m].pos += run;
                }
            }
            records += run;
        }
        if owed {
            // the last record's checks are sampled after the next batch's
            // first record
            let keep = meta
                .checks
                .iter()
                .rposition(|p| p.sample != samples)
                .map_or(0, |i| i + 1);
            self.carry = meta.checks.split_off(keep);
        }
        if records == 0 {
            return None;
        }
        let records = records as u32;
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
