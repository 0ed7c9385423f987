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

/// `C = T(A) . B^T` (B packed beforehand when `packed` fits it), A: `m x k` u8, B: `n x k` i8, C: `m x n` i32. The
/// caller checked that `k * 255 * 128` fits i32. Panics if the CPU lacks
/// `isa` (or VBMI for [`Trim::Vbmi`]).
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
    let Split {
        rows: rows_per_task,
        row_tasks,
        per_group,
        col_groups,
    } = Split::new(m, n.div_ceil(nc), mr_max, rayon::current_num_threads());
    let cptr = SyncPtr(c.as_mut_ptr());
    (0..row_tasks * col_groups).into_par_iter().for_each_init(
        || vec![0u8; mr_max * kp],
        |buf, task| {
            let (t, grp) = (task / col_groups, task % col_groups);
            let r0 = t * rows_per_task;
            let rows = (m - r0).min(rows_per_task);
            let (jlo, jhi) = (grp * per_group * nc, ((grp + 1) * per_group * nc).min(n));
            for i0 in (0..rows).step_by(mr_max) {
                let mr = (rows - i0).min(mr_max);
                let first = r0 + i0;
                // The rows PREFETCH_TILES tiles ahead (in this task or the
                // next one) are fetched while this tile computes, one cache
                // line per k group of its first panel: without it the trim
                // stalls on memory (5opt 225-295 GMAC/s on one thread
                // instead of 370), and a burst of them at the tile's start
                // left exact int8 4 points lower.
                let ahead = ((first + PREFETCH_TILES * mr_max) * k).min(a.data.len());
                let ahead_end = (ahead + mr_max * k).min(a.data.len());
                let pf = Prefetch {
                    at: a.data[ahead..].as_ptr(),
                    lines: (ahead_end - ahead).div_ceil(64),
                };
                let (ap, lda) = if untrimmed && (first + mr - 1) * k + kp <= a.data.len() {
                    (a.data[first * k..].as_ptr(), k)
                } else {
                    let rows = &a.data[first * k..(first + mr) * k];
                    trim_rows(trim, rows, k, &mut buf[..mr * kp], kp);
                    (buf.as_ptr(), kp)
                };
                let crow = cptr.at(first * n);
                for j0 in (jlo..jhi).step_by(nc) {
                    let cols = (n - j0).min(nc);
                    let (bp, cp) = (pb.panel(j0), crow.wrapping_add(j0));
                    let pf = if j0 == jlo { pf } else { Prefetch::NONE };
                    // SAFETY: the ISA's features were checked above;
                    // `ap` holds `mr` rows of `lda` bytes, each followed
                    // by at least `4 * kg - lda` readable bytes, the
                    // panel `kg` groups of its width, and C `mr` rows of
                    // `n` from `cp`, of which columns 0..cols are
                    // written; tasks write disjoint rows x column ranges.
                    unsafe {
                        match isa {
                            Isa::Avx512 => tile(mr, ap, lda, bp, pb.kg, cp, n, cols, pf),
                            Isa::AvxVnni => tile_avx(mr, ap, lda, bp, pb.kg, cp, n, cols, pf),
                        }
                    };
                }
            }
        },
    );
    // SAFETY: the tasks cover rows 0..m and columns 0..n, and every tile
    // wrote all of its `mr x cols` elements.
    unsafe { c.set_len(m * n) };
    c
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
/// hint: no effect on results).
#[derive(Clone, Copy)]
pub(super) struct Prefetch {
    pub at: *const u8,
    pub lines: usize,
}

impl Prefetch {
    pub const NONE: Prefetch = Prefetch {
        at: std::ptr::null(),
        lines: 0,
    };

    /// Ask for line `g` (if there is one).
    #[inline(always)]
    pub fn line(self, g: usize) {
        if g < self.lines {
            // SAFETY: a prefetch is a hint and never faults; SSE is
            // baseline on x86_64.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.at.wrapping_add(g * 64) as *const i8) };
        }
    }
}

/// Trim (or copy) the rows of `src` (`k` bytes each) into `dst` (`kp`
/// bytes each). Bytes `k..kp` of each `dst` row are not written: the
/// buffer starts zeroed and keeps them zero (zero activations, so an odd
/// K's last element pairs with a zero).
fn trim_rows(trim: Trim, src: &[u8], k: usize, dst: &mut [u8], kp: usize) {
    match trim {
        // SAFETY: the caller of `gemm` checked AVX-512 VBMI.
        Trim::Vbmi(lut) => unsafe { vbmi_trim(lut, src, k, dst, kp) },
        _ => {
            for (s, d) in src.chunks_exact(k).zip(dst.chunks_exact_mut(kp)) {
                match trim {
                    Trim::Scalar(table) => table.apply_dense(s, &mut d[..k]),
                    _ => d[..k].copy_from_slice(s),
                }
            }
        }
    }
}

/// Trim 64 activations at a time: `h = partner == 0 ? wide[a] : narrow[a]`,
/// every row of `src` (`k` bytes each) into its `kp`-byte row of `dst`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn vbmi_trim(lut: &SplitLut, src: &[u8], k: usize, dst: &mut [u8], kp: usize) {
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
    for (s, d) in src.chunks_exact(k).zip(dst.chunks_exact_mut(kp)) {
        let mut i = 0;
        while i < k {
            let left = k - i;
            let mask: u64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
            let x = _mm512_maskz_loadu_epi8(mask, s.as_ptr().add(i) as *const i8);
            // Lanes past k read as zero: the zero partner of an odd tail.
            let z = _mm512_cmpeq_epi8_mask(x, _mm512_setzero_si512());
            let partner_zero = ((z >> 1) & EVEN) | ((z << 1) & !EVEN);
            let h = _mm512_mask_blend_epi8(partner_zero, look(&nt, x), look(&wt, x));
            _mm512_mask_storeu_epi8(d.as_mut_ptr().add(i) as *mut i8, mask, h);
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
    macro_rules! go {
        ($m:literal) => {
            match cols.div_ceil(16) {
                1 => micro::<$m, 1>(a, lda, b, kg, c, ldc, cols, pf),
                2 => micro::<$m, 2>(a, lda, b, kg, c, ldc, cols, pf),
                3 => micro::<$m, 3>(a, lda, b, kg, c, ldc, cols, pf),
                _ => micro::<$m, 4>(a, lda, b, kg, c, ldc, cols, pf),
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

/// The micro-kernel: `M x (16 NV)` accumulators live over all of K.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<const M: usize, const NV: usize>(
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
) {
    let mut acc = [[_mm512_setzero_si512(); NV]; M];
    for g in 0..kg {
        pf.line(g);
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
            let left = cols - v * 16;
            let mask: u16 = if left >= 16 { !0 } else { (1u16 << left) - 1 };
            _mm512_mask_storeu_epi32(c.add(r * ldc + v * 16), mask, *cell);
        }
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
    for g in 0..kg {
        pf.line(g);
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
