//! The 2:4 (stc) GEMM on AVX-512 VNNI + VBMI: each weight column picks its
//! activations out of the slot tables (`super::stc`) with `vpermb`, then
//! `vpdpbusd` multiplies them; K / 2 products per output.
//!
//! Layout:
//! - A: the slot tables of a tile's rows are built right before the
//!   micro-kernel reads them (fused, as the dense trim: they stay in L1),
//!   16 bytes per group of four k; one zmm holds a **window** of four
//!   groups (16 k).
//! - B is packed once into panels of up to 32 columns. Per window and per
//!   16 columns, four vectors: two `vpermb` index vectors (groups 0-1 and
//!   2-3 of the window: each column's lane names its four bytes, two slots
//!   per group) and the two matching weight vectors.
//! - The micro-kernel holds 8 x 2 zmm accumulators (8 rows x 32 columns)
//!   and the panel's window (8 zmm) in registers; per row and window it
//!   loads the 64-byte table once and runs, per 16 columns, two `vpermb` +
//!   `vpdpbusd`.

use super::gemm::{stc_pairs, ArithError};
use super::lut::SplitLut;
use super::stc::{build_row, slot_source, Source, BY_MASK, SLOTS};
use super::tensor::View;
use super::vnni::{
    run_tasks, threads_for, Prefetch, Split, SyncPtr, B_BLOCK_BYTES, PREFETCH_TILES,
};
use std::arch::x86_64::*;

/// Rows per micro-tile (8: the B vectors of a window are loaded once per
/// 8 rows; 6 ran 3-5 % slower).
const MR: usize = 8;
/// Column vectors (16 columns each) per panel.
const NV: usize = 2;
/// Columns per panel.
const NC: usize = NV * 16;
/// Bytes of one window's slot tables (four groups).
const WINDOW: usize = 4 * SLOTS;

/// True when this CPU runs [`gemm`].
pub fn available() -> bool {
    super::vnni::Isa::Avx512.available() && super::vnni::vbmi()
}

/// B packed into panels (see the module docs).
pub struct PackedB {
    data: Vec<i8>,
    /// Where the panels start in `data`: its first cache line boundary
    /// (the micro-kernel loads B in 64-byte vectors).
    start: usize,
    /// Windows of four groups.
    windows: usize,
    /// B's shape.
    n: usize,
    k: usize,
}

impl PackedB {
    /// Pack `b` (`n x k`, 2:4 along K), to pass to [`gemm`] for many A;
    /// an error names the first group with more than two non-zeros.
    pub fn new(b: &View<i8>, n: usize, k: usize) -> Result<PackedB, ArithError> {
        let windows = k.div_ceil(4 * 4);
        // per column and window: 4 index bytes x 2 + 4 weight bytes x 2
        let mut data = vec![0i8; n.div_ceil(16) * 16 * windows * 16 + 63];
        let start = data.as_ptr().align_offset(64);
        for j0 in (0..n).step_by(NC) {
            let vecs = (n - j0).min(NC).div_ceil(16);
            let base = start + j0 * windows * 16;
            for j in j0..(n - j0).min(NC) + j0 {
                let (v, lane) = ((j - j0) / 16, (j - j0) % 16);
                let row = b.row(j);
                let (chunks, tail) = row.as_chunks::<16>();
                let mut last = [0i8; 16];
                last[..tail.len()].copy_from_slice(tail);
                let windows_of_row = chunks.iter().chain((!tail.is_empty()).then_some(&last));
                for (win, w) in windows_of_row.enumerate() {
                    let (idx, wt) = window_slots(w).ok_or_else(|| {
                        stc_pairs(row, j).expect_err("a group of three or four weights")
                    })?;
                    // vectors of one (window, column vector): idx0, idx1,
                    // w0, w1; this column's four bytes of each
                    let at = base + (win * vecs + v) * 256 + lane * 4;
                    let out = &mut data[at..at + 196];
                    for x in 0..2 {
                        for y in 0..4 {
                            out[x * 64 + y] = idx[4 * x + y] as i8;
                            out[128 + x * 64 + y] = wt[4 * x + y];
                        }
                    }
                }
            }
        }
        Ok(PackedB {
            data,
            start,
            windows,
            n,
            k,
        })
    }

    /// Whether this packing serves a GEMM of `n x k` weights.
    pub fn fits(&self, n: usize, k: usize) -> bool {
        self.n == n && self.k == k
    }

    /// The block of the panel starting at column `j0` that starts at
    /// window `w0`.
    fn block(&self, j0: usize, w0: usize) -> *const i8 {
        let vecs = (self.n - j0).min(NC).div_ceil(16);
        self.data[self.start + j0 * self.windows * 16 + w0 * vecs * 256..].as_ptr()
    }
}

/// `C` of the 2:4 GEMM (B packed beforehand when `packed` is given: it
/// must be B's); the caller checked [`available`] and that `k * 255 * 128`
/// fits i32.
pub fn gemm(
    src: Source,
    a: &View<u8>,
    b: &View<i8>,
    m: usize,
    n: usize,
    k: usize,
    packed: Option<&PackedB>,
) -> Result<Vec<i32>, ArithError> {
    assert!(available());
    if m == 0 || n == 0 || k == 0 {
        return Ok(vec![0i32; m * n]);
    }
    let own;
    let pb = match packed.filter(|p| p.fits(n, k)) {
        Some(p) => p,
        None => {
            own = PackedB::new(b, n, k)?;
            &own
        }
    };
    // Not zeroed: the tiles write every element once.
    let mut c: Vec<i32> = Vec::with_capacity(m * n);
    let cptr = SyncPtr(c.as_mut_ptr());
    let threads = threads_for(m.saturating_mul(n).saturating_mul(k) / 2);
    let split = Split::new(m, n.div_ceil(NC), MR, threads);
    let wins = block_windows(pb.windows, split.per_group);
    let blocks = pb.windows.div_ceil(wins);
    // a tile's slot tables for one k-block: whole 64-activation chunks
    // (four windows), as the table build writes them
    let lda = wins.div_ceil(4) * 4 * WINDOW;
    let data = a.data;
    // the tables start on a cache line: the micro-kernel's 64-byte loads
    // and the build's stores then never straddle two (a scratch buffer off
    // by 16 bytes ran the 2:4 GEMM 8 % slower)
    run_tasks(threads, split.tasks(), MR * lda + 63, |scratch, task| {
        let start = scratch.as_ptr().align_offset(64);
        let buf = &mut scratch[start..];
        let (t, grp) = (task / split.col_groups, task % split.col_groups);
        let r0 = t * split.rows;
        let rows = (m - r0).min(split.rows);
        let jlo = grp * split.per_group * NC;
        let jhi = ((grp + 1) * split.per_group * NC).min(n);
        for kb in 0..blocks {
            let w0 = kb * wins;
            let wn = (pb.windows - w0).min(wins);
            let (k0, k1) = (16 * w0, (16 * (w0 + wn)).min(k));
            for i0 in (0..rows).step_by(MR) {
                let mr = (rows - i0).min(MR);
                let first = r0 + i0;
                // rows PREFETCH_TILES tiles ahead in this block (as in the
                // dense kernel), asked for while the first panel computes
                let pf = Prefetch::rows_of(data, k, first + PREFETCH_TILES * MR, MR, k0, k1);
                let rows_of_tile = (0..mr).map(|r| &a.row(first + r)[k0..k1]);
                match src {
                    // SAFETY: `available` checked AVX-512 VBMI.
                    Source::Lut(l) => unsafe { build_rows_vbmi(l, rows_of_tile, buf, lda) },
                    Source::Table(_) => {
                        for (r, row) in rows_of_tile.enumerate() {
                            build_row(src, row, &mut buf[r * lda..(r + 1) * lda]);
                        }
                    }
                }
                let crow = cptr.at(first * n);
                for j0 in (jlo..jhi).step_by(NC) {
                    let cols = (n - j0).min(NC);
                    // SAFETY: AVX-512 VNNI/VBMI checked; `buf` holds
                    // `mr` rows of `lda >= 64 * wn` bytes (tables past K
                    // meet zero weights), the block `wn` windows of its
                    // panel's width, and C `mr` rows of `n` from `crow +
                    // j0`, of which columns 0..cols are written (read
                    // first in later blocks: the first wrote them); tasks
                    // write disjoint rows x column ranges.
                    unsafe {
                        tile(
                            mr,
                            buf.as_ptr(),
                            lda,
                            pb.block(j0, w0),
                            wn,
                            crow.wrapping_add(j0),
                            n,
                            cols,
                            if j0 == jlo { pf } else { Prefetch::NONE },
                            kb > 0,
                        )
                    };
                }
            }
        }
    });
    // SAFETY: the tasks cover rows 0..m and columns 0..n, and every tile
    // wrote all of its `mr x cols` elements.
    unsafe { c.set_len(m * n) };
    Ok(c)
}

/// Per mask of a group's non-zero weights: its two slots and the two
/// positions whose weights they take ([`BY_MASK`] in bytes), and whether
/// the group has more than two non-zero weights.
const NIBBLE: [([u8; 2], [u8; 2], bool); 16] = {
    let mut t = [([0u8; 2], [0u8; 2], false); 16];
    let mut mask = 0;
    while mask < 16 {
        let (s, [p, q], count) = BY_MASK[mask];
        t[mask] = (s, [p as u8, q as u8], count > 2);
        mask += 1;
    }
    t
};

/// One window (16 k) of a weight row as the kernel reads it: the `vpermb`
/// index bytes of groups 0-1 and 2-3 (two slots per group, offset by the
/// group's place in the window's table) and the matching weights; `None`
/// when a group has more than two non-zero weights. The groups' non-zero
/// masks come from one compare of 16 bytes (a group at a time cost 5 % of
/// a 2:4 GEMM that packs per call, all of it before the threads start).
#[inline(always)]
fn window_slots(w: &[i8; 16]) -> Option<([u8; 8], [i8; 8])> {
    // SAFETY: SSE2 is part of x86_64; the load reads the 16 bytes of `w`.
    let zero = unsafe {
        let x = _mm_loadu_si128(w.as_ptr() as *const __m128i);
        _mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_setzero_si128()))
    };
    let nz = !zero as usize & 0xffff;
    let (mut idx, mut wt) = ([0u8; 8], [0i8; 8]);
    let mut bad = false;
    for g in 0..4 {
        let (s, [p, q], over) = NIBBLE[nz >> (4 * g) & 15];
        bad |= over;
        let off = (g * SLOTS) as u8;
        idx[2 * g] = off + s[0];
        idx[2 * g + 1] = off + s[1];
        wt[2 * g] = w[4 * g + usize::from(p)];
        wt[2 * g + 1] = w[4 * g + usize::from(q)];
    }
    (!bad).then_some((idx, wt))
}

/// Windows per k-block: the blocks of B of a task's `panels` panels stay
/// in L1 while its row tiles run over them ([`B_BLOCK_BYTES`]); a multiple
/// of 4 (whole 64-activation chunks of the table build). All of K when
/// blocks would be under 16 windows (many panels: C's round trips cost
/// more than they save; 128-column layers ran 8-10 % slower).
fn block_windows(windows: usize, panels: usize) -> usize {
    let fit = B_BLOCK_BYTES / (panels.max(1) * NV * 256);
    if windows <= fit || fit < 16 {
        return windows;
    }
    windows.div_ceil(windows.div_ceil(fit)).div_ceil(4) * 4
}

/// The index vectors of the table build: for output byte `t` of the four
/// windows built from 64 activations, the activation it reads (`+ 64` for a
/// lone survivor: always wide) and the one whose zero-ness picks the wide
/// value.
fn build_indices() -> [[[u8; 64]; 4]; 2] {
    let mut idx = [[[0u8; 64]; 4]; 2];
    let [src, partner] = &mut idx;
    for (o, (src, partner)) in src.iter_mut().zip(partner.iter_mut()).enumerate() {
        for (t, (s, z)) in src.iter_mut().zip(partner.iter_mut()).enumerate() {
            let group = 4 * o + t / SLOTS;
            let (p, q) = slot_source(t % SLOTS);
            *s = (4 * group + p) as u8 | if q.is_none() { 64 } else { 0 };
            *z = (4 * group + q.unwrap_or(p)) as u8;
        }
    }
    idx
}

/// [`build_row`] for each of `rows` into `dst` (rows `lda` bytes apart),
/// 64 activations at a time: `narrow[a]` and `wide[a]` by byte lookups,
/// then per slot byte one `vpermb` for the partner's zero-ness and a
/// two-table `vpermb` for the value. Writes `k.div_ceil(64) * 256` bytes
/// per row of `k` activations; the tables and index vectors are loaded once
/// per call (once per row cost a tenth of the build: a tile's row holds a
/// k-block, 5 chunks of 64 on the bench shape).
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn build_rows_vbmi<'r>(
    lut: &SplitLut,
    rows: impl Iterator<Item = &'r [u8]>,
    dst: &mut [u8],
    lda: usize,
) {
    use std::sync::OnceLock;
    static IDX: OnceLock<[[[u8; 64]; 4]; 2]> = OnceLock::new();
    let idx = IDX.get_or_init(build_indices);
    let load = |t: &[u8], i: usize| _mm512_loadu_si512(t[i * 64..].as_ptr() as *const _);
    let [narrow, wide] = &lut.by_partner_zero;
    let nt = [0, 1, 2, 3].map(|i| load(narrow, i));
    let wt = [0, 1, 2, 3].map(|i| load(wide, i));
    let look = |t: &[__m512i; 4], x: __m512i| {
        let lo = _mm512_permutex2var_epi8(t[0], x, t[1]);
        let hi = _mm512_permutex2var_epi8(t[2], x, t[3]);
        _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi)
    };
    let src_idx = [0, 1, 2, 3].map(|o| load(&idx[0][o], 0));
    let partner_idx = [0, 1, 2, 3].map(|o| load(&idx[1][o], 0));
    let sixty_four = _mm512_set1_epi8(64);
    let wide_id = lut.wide_is_identity_cached();
    for (r, row) in rows.enumerate() {
        let k = row.len();
        let dst = &mut dst[r * lda..(r + 1) * lda];
        assert!(dst.len() >= k.div_ceil(64) * 256);
        let mut i = 0;
        while i < k {
            let left = k - i;
            let mask: u64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
            // lanes past k read as zero activations
            let x = _mm512_maskz_loadu_epi8(mask, row.as_ptr().add(i) as *const i8);
            // a lone survivor of the 4-bit sets is exact: no wide lookup
            let n = look(&nt, x);
            let w = if wide_id { x } else { look(&wt, x) };
            let zero = _mm512_maskz_mov_epi8(
                _mm512_cmpeq_epi8_mask(x, _mm512_setzero_si512()),
                sixty_four,
            );
            let out = dst.as_mut_ptr().add(i * 4);
            for o in 0..4 {
                let sel =
                    _mm512_or_si512(src_idx[o], _mm512_permutexvar_epi8(partner_idx[o], zero));
                let h = _mm512_permutex2var_epi8(n, sel, w);
                _mm512_storeu_si512(out.add(o * 64) as *mut _, h);
            }
            i += 64;
        }
    }
}

/// One `mr x cols` block of C (`mr <= 8`, `cols <= 32`).
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni,avx512vbmi")]
unsafe fn tile(
    mr: usize,
    a: *const u8,
    lda: usize,
    b: *const i8,
    windows: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
    acc: bool,
) {
    macro_rules! go {
        ($m:literal) => {
            match cols.div_ceil(16) {
                1 => micro::<$m, 1>(a, lda, b, windows, c, ldc, cols, pf, acc),
                _ => micro::<$m, 2>(a, lda, b, windows, c, ldc, cols, pf, acc),
            }
        };
    }
    match mr {
        1 => go!(1),
        2 => go!(2),
        3 => go!(3),
        4 => go!(4),
        5 => go!(5),
        6 => go!(6),
        7 => go!(7),
        _ => go!(8),
    }
}

/// The micro-kernel: `M x (16 V)` accumulators live over the k-block's
/// windows, starting from C when `add` (a later k-block), else from 0.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn micro<const M: usize, const V: usize>(
    a: *const u8,
    lda: usize,
    b: *const i8,
    windows: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
    pf: Prefetch,
    add: bool,
) {
    let mask = |v: usize| -> u16 {
        let left = cols - v * 16;
        if left >= 16 {
            !0
        } else {
            (1u16 << left) - 1
        }
    };
    let mut acc = [[_mm512_setzero_si512(); V]; M];
    if add {
        for (r, row) in acc.iter_mut().enumerate() {
            for (v, cell) in row.iter_mut().enumerate() {
                *cell = _mm512_maskz_loadu_epi32(mask(v), c.add(r * ldc + v * 16) as *const _);
            }
        }
    }
    let mut pf = pf.cursor();
    for win in 0..windows {
        // a window is 16 k of each row: 8 rows are two lines (asking for
        // every line a row straddles as well, 3 per window, ran 2 % slower)
        pf.next();
        pf.next();
        let bp = b.add(win * V * 256);
        let bv: [[__m512i; 4]; V] = std::array::from_fn(|v| {
            std::array::from_fn(|x| _mm512_loadu_si512(bp.add((v * 4 + x) * 64) as *const _))
        });
        for (r, row) in acc.iter_mut().enumerate() {
            let tab = _mm512_loadu_si512(a.add(r * lda + win * WINDOW) as *const _);
            for (cell, [i0, i1, w0, w1]) in row.iter_mut().zip(&bv) {
                *cell = _mm512_dpbusd_epi32(*cell, _mm512_permutexvar_epi8(*i0, tab), *w0);
                *cell = _mm512_dpbusd_epi32(*cell, _mm512_permutexvar_epi8(*i1, tab), *w1);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (v, cell) in row.iter().enumerate() {
            _mm512_mask_storeu_epi32(c.add(r * ldc + v * 16), mask(v), *cell);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::stc::slots;

    /// The packing's window at a time reading (one compare, a 16-entry
    /// table) gives each group the slots and weights of the group-wise
    /// rule (`stc::slots`), for every 0, 1 or 2 survivor pattern in every
    /// group place, and refuses a window with a group of three.
    #[test]
    fn window_slots_follow_the_group_rule() {
        let mut seed = 3u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as u32
        };
        for _ in 0..2000 {
            let mut w = [0i8; 16];
            for g in 0..4 {
                // masks with at most two bits: 0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12
                let mask = [0, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12][next() as usize % 11];
                for p in 0..4 {
                    if mask >> p & 1 == 1 {
                        w[4 * g + p] = (next() % 255) as i8 | 1;
                    }
                }
            }
            let (idx, wt) = window_slots(&w).expect("at most two per group");
            let want = slots(&w, 0).unwrap();
            for (g, (s, b)) in want.iter().enumerate() {
                let off = (g * SLOTS) as u8;
                assert_eq!(
                    idx[2 * g..2 * g + 2],
                    [off + s[0], off + s[1]],
                    "{w:?} group {g}"
                );
                assert_eq!(wt[2 * g..2 * g + 2], *b, "{w:?} group {g}");
            }
            let g = next() as usize % 4;
            let mut bad = w;
            bad[4 * g..4 * g + 3].fill(7);
            assert!(window_slots(&bad).is_none(), "{bad:?}");
        }
    }
}
