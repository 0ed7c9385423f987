//! The VNNI byte GEMM (AVX-512 VNNI, or AVX-VNNI on ymm): `C = T(A) . B^T`
//! with bytes, not int16.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed bytes, adds each group of
//! four products (every product fits 16 bits: 255 * -128 = -32,640) to an
//! int32 lane, and does not saturate: the sums are exact, 64 products per
//! instruction. Trimmed SPARQ activations are bytes (`q << s` <= 255) and
//! weights are int8, so the whole GEMM runs on bytes.
//!
//! Layout (the usual outer-product form, no horizontal sums):
//! - B is packed once per GEMM into panels of up to 64 columns (16 on ymm):
//!   for each group of four k, the panel's columns side by side, four bytes
//!   each (one zmm holds 16 columns x 4 k). Zero padding adds nothing.
//! - A stays row-major; four bytes of one row are broadcast to all 16
//!   lanes. Rows that need trimming (SPARQ) are trimmed a tile's rows at a
//!   time into a small per-task buffer right before the micro-kernel reads
//!   them (fused: A is read once, the trimmed copy stays in L1). With
//!   AVX-512 VBMI the trim is two 256-byte lookups per 64 activations
//!   ([`super::lut::SplitLut`]); without it, the scalar lookup. Untrimmed
//!   rows are read in place, also when K is not a multiple of 4 (the last
//!   group's extra bytes meet B's zero padding); only a tile that would
//!   read past the end of A is copied.
//! - The micro-kernel keeps a 6 x 4 tile of zmm accumulators (6 rows x 64
//!   columns; 6 x 2 ymm = 6 x 16 on AVX-VNNI) live over all of K and stores
//!   straight into C (masked at the right edge): no second pass over C,
//!   and C is not zeroed first. While a tile's first panel runs, it
//!   prefetches the rows of A two tiles ahead, one cache line per k group.
//! - Tasks are row blocks (and, for small M, groups of panels) sized for
//!   about eight per thread ([`Split`]).

use super::lut::SplitLut;
use super::pair::PairTable;
use super::tensor::View;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Which vectors run the byte GEMM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// AVX-512 VNNI: 32 zmm, a 6 x 64 tile (24 accumulators).
    Avx512,
    /// AVX-VNNI (`vpdpbusd` on ymm, CPUs without AVX-512): 16 ymm, a 6 x 16
    /// tile (12 accumulators; 4 x 24 spilled one to the stack).
    AvxVnni,
}

/// Tile geometry of an [`Isa`].
struct Geometry {
    /// Rows per micro-tile.
    mr: usize,
    /// Columns per B panel (a multiple of `lanes`).
    nc: usize,
    /// int32 lanes per vector.
    lanes: usize,
}

impl Isa {
    /// True when this CPU runs [`gemm`] on `self`.
    pub fn available(self) -> bool {
        match self {
            Isa::Avx512 => {
                std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512vnni")
            }
            Isa::AvxVnni => {
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("avxvnni")
            }
        }
    }

    fn geometry(self) -> Geometry {
        match self {
            Isa::Avx512 => Geometry {
                mr: 6,
                nc: 64,
                lanes: 16,
            },
            Isa::AvxVnni => Geometry {
                mr: 6,
                nc: 16,
                lanes: 8,
            },
        }
    }
}

/// Most rows of C per parallel task (a multiple of every geometry's `mr`).
const ROWS_PER_TASK: usize = 96;

/// Parallel tasks per thread the split aims for: enough that the last
/// tasks even out what the threads have done (a 784-row layer in 96-row
/// tasks was 9 tasks, 5 on one thread and 4 on the other).
const TASKS_PER_THREAD: usize = 8;

/// How [`gemm`] splits C into tasks: blocks of `rows` rows (a multiple of
/// `mr`) times groups of `per_group` column panels. Every output is still
/// computed by one tile over all of K, so results do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Split {
    pub rows: usize,
    pub row_tasks: usize,
    pub per_group: usize,
    pub col_groups: usize,
}

impl Split {
    /// About [`TASKS_PER_THREAD`] tasks per thread: shorter row blocks when
    /// M is small, and when even one tile per task is too few (a batch-1
    /// network's late layers: M = 49 or 196) also groups of column panels.
    pub fn new(m: usize, panels: usize, mr: usize, threads: usize) -> Split {
        let want = TASKS_PER_THREAD * threads;
        let rows = if threads == 1 {
            ROWS_PER_TASK
        } else {
            (m.div_ceil(want) / mr * mr).clamp(mr, ROWS_PER_TASK)
        };
        let row_tasks = m.div_ceil(rows);
        let col_groups = if threads == 1 || row_tasks >= want {
            1
        } else {
            panels.min(want.div_ceil(row_tasks))
        };
        let per_group = panels.div_ceil(col_groups);
        Split {
            rows,
            row_tasks,
            per_group,
            col_groups: panels.div_ceil(per_group),
        }
    }

    /// Tasks in all.
    pub fn tasks(&self) -> usize {
        self.row_tasks * self.col_groups
    }
}

/// True when the trim runs as vector lookups (AVX-512 VBMI).
pub fn vbmi() -> bool {
    std::is_x86_feature_detected!("avx512vbmi")
}

/// How A's rows are trimmed before they are multiplied.
#[derive(Clone, Copy)]
pub enum Trim<'a> {
    /// Every activation passes unchanged (the baselines).
    None,
    /// Scalar lookups in the 64 Ki-entry pair table (one per pair).
    Scalar(&'a PairTable),
    /// AVX-512 VBMI lookups (the caller checked [`vbmi`]).
    Vbmi(&'a SplitLut),
}

/// B (`n x k`, int8) packed into panels; see the module docs.
pub struct PackedB {
    data: Vec<i8>,
    /// Groups of four k.
    kg: usize,
    /// The ISA it was packed for (set by [`PackedB::for_isa`]) and N.
    isa: Option<Isa>,
    n: usize,
}

impl PackedB {
    /// Pack `b` (`n x k`) for `isa`'s kernel, to pass to [`gemm`] for many
    /// A (a network layer's weights, packed once).
    pub fn for_isa(isa: Isa, b: &View<i8>, n: usize, k: usize) -> PackedB {
        let mut p = PackedB::new(b, n, k, &isa.geometry());
        p.isa = Some(isa);
        p.n = n;
        p
    }

    /// Whether this packing serves a GEMM of `n x k` weights on `isa`.
    fn fits(&self, isa: Isa, n: usize, k: usize) -> bool {
        self.isa == Some(isa) && self.n == n && self.kg == k.div_ceil(4)
    }

    fn new(b: &View<i8>, n: usize, k: usize, geo: &Geometry) -> PackedB {
        let kg = k.div_ceil(4);
        let mut data = vec![0i8; n.div_ceil(geo.lanes) * geo.lanes * kg * 4];
        for j0 in (0..n).step_by(geo.nc) {
            let w = (n - j0).min(geo.nc).div_ceil(geo.lanes) * geo.lanes;
            let base = j0 * kg * 4;
            for j in 0..(n - j0).min(geo.nc) {
                // four k at a time (a byte loop made packing cost as much
                // as the GEMM for small M, e.g. a batch-1 network layer)
                let (groups, tail) = b.row(j0 + j).as_chunks::<4>();
                for (g, four) in groups.iter().enumerate() {
                    let at = base + (g * w + j) * 4;
                    data[at..at + 4].copy_from_slice(four);
                }
                if !tail.is_empty() {
                    let at = base + (groups.len() * w + j) * 4;
                    data[at..at + tail.len()].copy_from_slice(tail);
                }
            }
        }
        PackedB {
            data,
            kg,
            isa: None,
            n,
        }
    }

    /// Panel starting at column `j0`.
    fn panel(&self, j0: usize) -> *const i8 {
        self.data[j0 * self.kg * 4..].as_ptr()
    }
}

/// Bytes of B that the 2:4 kernel's k-blocks keep in L1 while a task's
/// row tiles run over them (L1d is 32 KiB here; the rest holds the tile's
/// slot tables and C).
pub(super) const B_BLOCK_BYTES: usize = 24 * 1024;

/// GEMMs of at most this many multiply-adds run on the calling thread:
/// handing them to the pool costs more than they take (the digits CNN's
/// 52 x 128 x 10 is 67 k MACs, well under a microsecond of `vpdpbusd`).
pub(super) const SERIAL_MACS: usize = 1 << 20;

/// The threads a GEMM of `macs` multiply-adds is split for (1: run it on
/// the calling thread).
pub(super) fn threads_for(macs: usize) -> usize {
    if macs <= SERIAL_MACS {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Run `task(buf, i)` for every `i < tasks`: on the calling thread when
/// `threads == 1`, else on the pool. `buf` is the running thread's scratch
/// buffer, at least `buf_len` bytes, kept from one GEMM to the next: its
/// bytes are whatever an earlier task left there (the kernels write what
/// they read, and bytes past K meet B's zero padding). A fresh zeroed
/// buffer per task split cost up to 16 x 55 KiB of memset per call for K
/// = 4608 (a batch-1 network's layer4, a 250 us GEMM).
pub(super) fn run_tasks(
    threads: usize,
    tasks: usize,
    buf_len: usize,
    task: impl Fn(&mut Vec<u8>, usize) + Sync + Send,
) {
    thread_local! {
        static SCRATCH: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    let with_scratch = |i: usize| {
        // taken out while the task runs: a task never starts another on
        // its thread, and if one did it would only allocate its own
        let mut buf = SCRATCH.take();
        if buf.len() < buf_len {
            buf = vec![0u8; buf_len];
        }
        task(&mut buf, i);
        SCRATCH.set(buf);
    };
    if threads == 1 || tasks == 1 {
        (0..tasks).for_each(with_scratch);
    } else {
        (0..tasks).into_par_iter().for_each(with_scratch);
    }
}

/// `C = T(A) . B^T` (B packed beforehand when `packed` fits it), A: `m x k`
/// u8, B: `n x k` i8, C: `m x n` i32. The caller checked that `k * 255 *
/// 128` fits i32. Panics if the CPU lacks `isa` (or VBMI for
/// [`Trim::Vbmi`]).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    isa: Isa,
    trim: Trim,
    a: &View<u8>,
    b: &View<i8>,
    m: usize,
    n: usize,
    k: usize,
    packed: Option<&PackedB>,
) -> Vec<i32> {
    assert!(isa.available());
    if let Trim::Vbmi(_) = trim {
        assert!(vbmi() && isa == Isa::Avx512);
    }
    let geo = isa.geometry();
    let (mr_max, nc) = (geo.mr, geo.nc);
    if m == 0 || n == 0 || k == 0 {
        return vec![0i32; m * n];
    }
    // Not zeroed: the tiles below write every element once (zeroing 3 MB
    // first was a serial pass over memory while the other threads waited).
    let mut c: Vec<i32> = Vec::with_capacity(m * n);
    let own;
    let pb = match packed.filter(|p| p.fits(isa, n, k)) {
        Some(p) => p,
        None => {
            own = PackedB::new(b, n, k, &geo);
            &own
        }
    };
    let kp = pb.kg * 4;
    // A is read in place when nothing changes it: a K that is not a
    // multiple of 4 reads up to 3 bytes of the next row, which meet B's
    // zero padding (the whole product is exact). Only a tile whose last
    // row would read past A's data is copied.
    let untrimmed = matches!(trim, Trim::None);
    let fused = match trim {
        Trim::Vbmi(lut) => Some(lut),
        _ => None,
    };
    let threads = threads_for(m.saturating_mul(n).saturating_mul(k));
    let split = Split::new(m, n.div_ceil(nc), mr_max, threads);
    let cptr = SyncPtr(c.as_mut_ptr());
    let data = a.data;
    let tile_bytes = mr_max * kp;
    // two tile buffers: the tile being multiplied and the next one, trimmed
    // meanwhile
    run_tasks(threads, split.tasks(), 2 * tile_bytes, |buf, task| {
        let (t, grp) = (task / split.col_groups, task % split.col_groups);
        let r0 = t * split.rows;
        let rows = (m - r0).min(split.rows);
        let jlo = grp * split.per_group * nc;
        let jhi = ((grp + 1) * split.per_group * nc).min(n);
        let bufp = buf.as_mut_ptr();
        let half = |which: usize| bufp.wrapping_add(which * tile_bytes);
        let tile_rows = |i0: usize| &data[(r0 + i0) * k..(r0 + i0 + (rows - i0).min(mr_max)) * k];
        if !untrimmed {
            let src = tile_rows(0);
            trim_rows(trim, src, k, 0, k, &mut buf[..src.len() / k * kp], kp);
        }
        let mut which = 0;
        for i0 in (0..rows).step_by(mr_max) {
            let mr = (rows - i0).min(mr_max);
            let first = r0 + i0;
            // The rows PREFETCH_TILES tiles ahead (in this task or the next
            // one) are fetched while this tile computes, one cache line per
            // k group of its first panel: without it the trim stalls on
            // memory (5opt 225-295 GMAC/s on one thread instead of 370),
            // and a burst of them at the tile's start left exact int8 4
            // points lower.
            let pf = Prefetch::rows_of(data, k, first + PREFETCH_TILES * mr_max, mr_max, 0, k);
            let (ap, lda) = if !untrimmed {
                (half(which) as *const u8, kp)
            } else if (first + mr - 1) * k + kp <= data.len() {
                (data[first * k..].as_ptr(), k)
            } else {
                let src = tile_rows(i0);
                trim_rows(Trim::None, src, k, 0, k, &mut buf[..mr * kp], kp);
                (buf.as_ptr(), kp)
            };
            // The next tile's rows are trimmed into the other buffer: by
            // the first panel's micro-kernel, a chunk of 64 every other k
            // group between its `vpdpbusd` (VBMI), else here.
            let next = (!untrimmed && i0 + mr_max < rows).then(|| tile_rows(i0 + mr_max));
            let job = match (next, fused) {
                (Some(src), Some(lut)) => Some(TrimJob {
                    lut,
                    src: src.as_ptr(),
                    stride: k,
                    len: k,
                    rows: src.len() / k,
                    dst: half(which ^ 1),
                    ldd: kp,
                }),
                _ => None,
            };
            let crow = cptr.at(first * n);
            for j0 in (jlo..jhi).step_by(nc) {
                let cols = (n - j0).min(nc);
                let (bp, cp) = (pb.panel(j0), crow.wrapping_add(j0));
                let (pf, job) = if j0 == jlo {
                    (pf, job)
                } else {
                    (Prefetch::NONE, None)
                };
                // SAFETY: the ISA's features were checked above (VBMI for
                // a job: it comes from Trim::Vbmi); `ap` holds `mr` rows
                // of `lda` bytes, each followed by at least `kp - lda`
                // readable bytes, the panel `kg` groups of its width, and
                // C `mr` rows of `n` from `cp`, of which columns 0..cols
                // are written; tasks write disjoint rows x column ranges;
                // the job writes the other tile buffer, which nothing
                // reads meanwhile.
                unsafe {
                    match (isa, job) {
                        (Isa::Avx512, Some(job)) => {
                            tile_fused(mr, ap, lda, bp, pb.kg, cp, n, cols, pf, job)
                        }
                        (Isa::Avx512, None) => tile(mr, ap, lda, bp, pb.kg, cp, n, cols, pf),
                        (Isa::AvxVnni, _) => tile_avx(mr, ap, lda, bp, pb.kg, cp, n, cols, pf),
                    }
                };
            }
            if let (Some(src), None) = (next, fused) {
                // SAFETY: `half(which ^ 1)` is the other tile buffer, not
                // borrowed elsewhere now.
                let dst =
                    unsafe { std::slice::from_raw_parts_mut(half(which ^ 1), src.len() / k * kp) };
                trim_rows(trim, src, k, 0, k, dst, kp);
            }
            which ^= 1;
        }
    });
    // SAFETY: the tasks cover rows 0..m and columns 0..n, and every tile
    // wrote all of its `mr x cols` elements.
    unsafe { c.set_len(m * n) };
    c
}

/// Rows of A a micro-kernel trims (VBMI lookups) while it multiplies:
/// bytes `0..len` of `rows` rows `stride` apart from `src` into rows `ldd`
/// apart from `dst`, 64 activations per step.
#[derive(Clone, Copy)]
struct TrimJob<'a> {
    lut: &'a SplitLut,
    src: *const u8,
    stride: usize,
    len: usize,
    rows: usize,
    dst: *mut u8,
    ldd: usize,
}

/// Where a [`TrimJob`] has got to.
struct TrimCursor<'a> {
    job: TrimJob<'a>,
    wide_id: bool,
    row: usize,
    off: usize,
}

impl<'a> TrimCursor<'a> {
    fn new(job: TrimJob<'a>) -> TrimCursor<'a> {
        TrimCursor {
            wide_id: job.lut.wide_is_identity_cached(),
            job,
            row: 0,
            off: 0,
        }
    }

    /// Trim the next 64 activations (of one row); false when done.
    #[inline(always)]
    unsafe fn step(&mut self) -> bool {
        if self.row >= self.job.rows {
            return false;
        }
        let j = &self.job;
        let left = j.len - self.off;
        let mask: u64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
        let src = j.src.add(self.row * j.stride + self.off);
        let dst = j.dst.add(self.row * j.ldd + self.off);
        trim64(j.lut, self.wide_id, src, dst, mask);
        self.off += 64;
        if self.off >= j.len {
            self.off = 0;
            self.row += 1;
        }
        true
    }
}

/// The trim of 64 activations (the lanes of `mask`; the rest read as zero
/// partners) from `src` to `dst`: `h = partner == 0 ? wide[a] :
/// narrow[a]`, the wide lookup skipped when it is the identity. The tables
/// are read from memory on each call (inside a micro-kernel every vector
/// register holds an accumulator or B).
#[inline(always)]
unsafe fn trim64(lut: &SplitLut, wide_id: bool, src: *const u8, dst: *mut u8, mask: u64) {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let table = |t: &[u8; 256], i: usize| _mm512_loadu_si512(t.as_ptr().add(i * 64) as *const _);
    let look = |t: &[u8; 256], x: __m512i| {
        let lo = _mm512_permutex2var_epi8(table(t, 0), x, table(t, 1));
        let hi = _mm512_permutex2var_epi8(table(t, 2), x, table(t, 3));
        _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi)
    };
    let [narrow, wide] = &lut.by_partner_zero;
    let x = _mm512_maskz_loadu_epi8(mask, src as *const i8);
    // Lanes past the row read as zero: the zero partner of an odd tail.
    let z = _mm512_testn_epi8_mask(x, x);
    let partner_zero = ((z >> 1) & EVEN) | ((z << 1) & !EVEN);
    let h = if wide_id {
        _mm512_mask_mov_epi8(look(narrow, x), partner_zero, x)
    } else {
        _mm512_mask_blend_epi8(partner_zero, look(narrow, x), look(wide, x))
    };
    _mm512_mask_storeu_epi8(dst as *mut i8, mask, h);
}

/// C's data, shared by tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
pub(super) struct SyncPtr(pub *mut i32);
// SAFETY: only used where every task writes its own elements.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}

impl SyncPtr {
    /// The element at offset `i` (a method, so closures capture the whole
    /// wrapper).
    pub fn at(self, i: usize) -> *mut i32 {
        self.0.wrapping_add(i)
    }
}

/// Tiles ahead whose rows of A a tile prefetches.
pub(super) const PREFETCH_TILES: usize = 2;

/// Cache lines a micro-kernel asks for while it runs, one per k group (a
/// hint: no effect on results): bytes `lo..hi` of `rows` rows `stride`
/// apart from `at`, `per_row` lines each.
#[derive(Clone, Copy)]
pub(super) struct Prefetch {
    pub at: *const u8,
    pub stride: usize,
    pub per_row: usize,
    pub rows: usize,
}

impl Prefetch {
    pub const NONE: Prefetch = Prefetch {
        at: std::ptr::null(),
        stride: 0,
        per_row: 0,
        rows: 0,
    };

    /// Bytes `lo..hi` of rows `first..first + rows` of `data` (rows of
    /// `stride` bytes), clipped to the rows `data` has.
    pub fn rows_of(
        data: &[u8],
        stride: usize,
        first: usize,
        rows: usize,
        lo: usize,
        hi: usize,
    ) -> Prefetch {
        let have = data.len() / stride.max(1);
        let rows = rows.min(have.saturating_sub(first));
        if rows == 0 || hi <= lo {
            return Prefetch::NONE;
        }
        if lo == 0 && hi == stride {
            // whole rows: one stretch of memory, no line asked for twice
            let len = rows * stride;
            return Prefetch {
                at: data[first * stride..].as_ptr(),
                stride: len,
                per_row: len.div_ceil(64),
                rows: 1,
            };
        }
        Prefetch {
            at: data[first * stride + lo..].as_ptr(),
            stride,
            // a slice that does not start on a line can touch one more
            per_row: (hi - lo).div_ceil(64) + 1,
            rows,
        }
    }

    /// A cursor that asks for one line per call.
    #[inline(always)]
    pub fn cursor(self) -> PrefetchCursor {
        PrefetchCursor {
            pf: self,
            row: 0,
            line: 0,
        }
    }
}

/// Where a [`Prefetch`] has got to.
pub(super) struct PrefetchCursor {
    pf: Prefetch,
    row: usize,
    line: usize,
}

impl PrefetchCursor {
    /// Ask for the next line (if there is one).
    #[inline(always)]
    pub fn next(&mut self) {
        if self.row < self.pf.rows {
            let at = self
                .pf
                .at
                .wrapping_add(self.row * self.pf.stride + self.line * 64);
            // SAFETY: a prefetch is a hint and never faults; SSE is
            // baseline on x86_64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(at as *const i8) };
            self.line += 1;
            if self.line == self.pf.per_row {
                self.line = 0;
                self.row += 1;
            }
        }
    }
}

/// Trim (or copy) bytes `lo..hi` of the rows of `src` (`stride` bytes
/// each; `lo` even, so pairs stay `(k, k+1)`) into `dst` (`ldd` bytes
/// each). Bytes past `hi - lo` of each `dst` row are not written: they
/// only ever meet B's zero padding.
fn trim_rows(
    trim: Trim,
    src: &[u8],
    stride: usize,
    lo: usize,
    hi: usize,
    dst: &mut [u8],
    ldd: usize,
) {
    debug_assert!(lo.is_multiple_of(2) && hi <= stride && hi - lo <= ldd);
    match trim {
        // SAFETY: the caller of `gemm` checked AVX-512 VBMI.
        Trim::Vbmi(lut) => unsafe { vbmi_trim(lut, src, stride, lo, hi, dst, ldd) },
        _ => {
            for (s, d) in src.chunks_exact(stride).zip(dst.chunks_mut(ldd)) {
                let (s, d) = (&s[lo..hi], &mut d[..hi - lo]);
                match trim {
                    Trim::Scalar(table) => table.apply_dense(s, d),
                    _ => d.copy_from_slice(s),
                }
            }
        }
    }
}

/// Trim 64 activations at a time: `h = partner == 0 ? wide[a] : narrow[a]`,
/// bytes `lo..hi` of every row of `src` (`stride` bytes each) into its
/// `ldd`-byte row of `dst`. When the wide table is the identity (the 4-bit
/// sets with pair sharing: a lone non-zero activation is exact) its lookup
/// is skipped: two `vpermt2b` per 64 activations instead of four.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn vbmi_trim(
    lut: &SplitLut,
    src: &[u8],
    stride: usize,
    lo: usize,
    hi: usize,
    dst: &mut [u8],
    ldd: usize,
) {
    if lut.wide_is_identity_cached() {
        vbmi_trim_rows::<true>(lut, src, stride, lo, hi, dst, ldd)
    } else {
        vbmi_trim_rows::<false>(lut, src, stride, lo, hi, dst, ldd)
    }
}

#[inline(always)]
unsafe fn vbmi_trim_rows<const WIDE_ID: bool>(
    lut: &SplitLut,
    src: &[u8],
    stride: usize,
    lo: usize,
    hi: usize,
    dst: &mut [u8],
    ldd: usize,
) {
    let load = |t: &[u8; 256], i: usize| _mm512_loadu_si512(t[i * 64..].as_ptr() as *const _);
    let [narrow, wide] = &lut.by_partner_zero;
    let nt = [0, 1, 2, 3].map(|i| load(narrow, i));
    let wt = [0, 1, 2, 3].map(|i| load(wide, i));
    let look = |t: &[__m512i; 4], x: __m512i| {
        let lo = _mm512_permutex2var_epi8(t[0], x, t[1]);
        let hi = _mm512_permutex2var_epi8(t[2], x, t[3]);
        _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi)
    };
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let len = hi - lo;
    for (s, d) in src.chunks_exact(stride).zip(dst.chunks_mut(ldd)) {
        let (s, d) = (s[lo..hi].as_ptr(), d[..len].as_mut_ptr());
        let mut i = 0;
        while i < len {
            let left = len - i;
            let mask: u64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
            let x = _mm512_maskz_loadu_epi8(mask, s.add(i) as *const i8);
            // Lanes past hi read as zero: the zero partner of an odd tail
            // (hi < K only at an even k, where no pair is cut).
            let z = _mm512_cmpeq_epi8_mask(x, _mm512_setzero_si512());
            let partner_zero = ((z >> 1) & EVEN) | ((z << 1) & !EVEN);
            let h = if WIDE_ID {
                _mm512_mask_mov_epi8(look(&nt, x), partner_zero, x)
            } else {
                _mm512_mask_blend_epi8(partner_zero, look(&nt, x), look(&wt, x))
            };
            _mm512_mask_storeu_epi8(d.add(i) as *mut i8, mask, h);
            i += 64;
        }
    }
}

/// One `mr x cols` block of C (`mr <= 6`, `cols <= 64`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile(
    mr: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
) {
    tile_body::<false>(mr, a, lda, b, kg, c, ldc, cols, pf, None)
}

/// [`tile`] that also runs `job` (the next tile's trim) between its
/// `vpdpbusd`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
unsafe fn tile_fused(
    mr: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
    job: TrimJob,
) {
    tile_body::<true>(mr, a, lda, b, kg, c, ldc, cols, pf, Some(job))
}

/// The dispatch of [`tile`] and [`tile_fused`] to the micro-kernel of
/// `mr` rows and `cols` columns, inlined into each (so each keeps its own
/// target features).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn tile_body<const FUSE: bool>(
    mr: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
    job: Option<TrimJob>,
) {
    macro_rules! go {
        ($m:literal) => {
            match cols.div_ceil(16) {
                1 => micro::<$m, 1, FUSE>(a, lda, b, kg, c, ldc, cols, pf, job),
                2 => micro::<$m, 2, FUSE>(a, lda, b, kg, c, ldc, cols, pf, job),
                3 => micro::<$m, 3, FUSE>(a, lda, b, kg, c, ldc, cols, pf, job),
                _ => micro::<$m, 4, FUSE>(a, lda, b, kg, c, ldc, cols, pf, job),
            }
        };
    }
    match mr {
        1 => go!(1),
        2 => go!(2),
        3 => go!(3),
        4 => go!(4),
        5 => go!(5),
        _ => go!(6),
    }
}

/// The micro-kernel: `M x (16 NV)` accumulators live over all of K. With
/// `FUSE`, it runs `job` 64 activations every other k group (where a
/// `vpermt2b` costs little between `vpdpbusd`) and finishes it after.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<const M: usize, const NV: usize, const FUSE: bool>(
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
    job: Option<TrimJob>,
) {
    let mask = |v: usize| -> u16 {
        let left = cols - v * 16;
        if left >= 16 {
            !0
        } else {
            (1u16 << left) - 1
        }
    };
    let mut acc = [[_mm512_setzero_si512(); NV]; M];
    let mut pf = pf.cursor();
    let mut trim = job.filter(|_| FUSE).map(TrimCursor::new);
    for g in 0..kg {
        pf.next();
        if let (true, Some(t)) = (FUSE && g % 2 == 1, trim.as_mut()) {
            t.step();
        }
        let bp = b.add(g * NV * 64);
        let bv: [__m512i; NV] =
            std::array::from_fn(|v| _mm512_loadu_si512(bp.add(v * 64) as *const _));
        for (r, row) in acc.iter_mut().enumerate() {
            let x = (a.add(r * lda + 4 * g) as *const i32).read_unaligned();
            let av = _mm512_set1_epi32(x);
            for (cell, bw) in row.iter_mut().zip(&bv) {
                *cell = _mm512_dpbusd_epi32(*cell, av, *bw);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, cell) in row.iter().enumerate() {
            _mm512_mask_storeu_epi32(c.add(r * ldc + v * 16), mask(v), *cell);
        }
    }
    if let (true, Some(t)) = (FUSE, trim.as_mut()) {
        while t.step() {}
    }
}

/// One `mr x cols` block of C on ymm (`mr <= 6`, `cols <= 16`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,avxvnni")]
unsafe fn tile_avx(
    mr: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
) {
    macro_rules! go {
        ($m:literal) => {
            match cols.div_ceil(8) {
                1 => micro_avx::<$m, 1>(a, lda, b, kg, c, ldc, cols, pf),
                _ => micro_avx::<$m, 2>(a, lda, b, kg, c, ldc, cols, pf),
            }
        };
    }
    match mr {
        1 => go!(1),
        2 => go!(2),
        3 => go!(3),
        4 => go!(4),
        5 => go!(5),
        _ => go!(6),
    }
}

/// The ymm micro-kernel: `M x (8 NV)` accumulators live over all of K.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro_avx<const M: usize, const NV: usize>(
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
) {
    let mut acc = [[_mm256_setzero_si256(); NV]; M];
    let mut pf = pf.cursor();
    for g in 0..kg {
        pf.next();
        let bp = b.add(g * NV * 32);
        let bv: [__m256i; NV] =
            std::array::from_fn(|v| _mm256_loadu_si256(bp.add(v * 32) as *const _));
        for (r, row) in acc.iter_mut().enumerate() {
            let x = (a.add(r * lda + 4 * g) as *const i32).read_unaligned();
            let av = _mm256_set1_epi32(x);
            for (cell, bw) in row.iter_mut().zip(&bv) {
                *cell = _mm256_dpbusd_avx_epi32(*cell, av, *bw);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, cell) in row.iter().enumerate() {
            let left = cols - v * 8;
            let dst = c.add(r * ldc + v * 8);
            if left >= 8 {
                _mm256_storeu_si256(dst as *mut __m256i, *cell);
            } else {
                let mut lanes = [0i32; 8];
                _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, *cell);
                std::ptr::copy_nonoverlapping(lanes.as_ptr(), dst, left);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split covers each row and each panel exactly once, with about
    /// [`TASKS_PER_THREAD`] tasks per thread when M allows it.
    #[test]
    fn splits_cover_c_once_and_keep_threads_busy() {
        for threads in [1, 2, 3, 8] {
            for m in [1, 5, 6, 7, 49, 196, 784, 3136, 12544, 12545] {
                for panels in [1, 2, 4, 8, 16] {
                    let s = Split::new(m, panels, 6, threads);
                    let what = format!("m={m} panels={panels} threads={threads}: {s:?}");
                    assert!(
                        s.rows.is_multiple_of(6) && (6..=ROWS_PER_TASK).contains(&s.rows),
                        "{what}"
                    );
                    assert_eq!(s.row_tasks, m.div_ceil(s.rows), "{what}");
                    assert!(
                        s.row_tasks * s.rows >= m && (s.row_tasks - 1) * s.rows < m,
                        "{what}"
                    );
                    assert!(s.per_group * s.col_groups >= panels, "{what}");
                    assert!(s.per_group * (s.col_groups - 1) < panels, "{what}");
                    let tasks = s.row_tasks * s.col_groups;
                    if threads > 1 && m >= 6 * TASKS_PER_THREAD * threads {
                        assert!(tasks >= TASKS_PER_THREAD * threads, "{what}");
                    }
                    if threads > 1 {
                        assert!(tasks >= threads.min(m.div_ceil(6) * panels), "{what}");
                    }
                }
            }
        }
    }
}
