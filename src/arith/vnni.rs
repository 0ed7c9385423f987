//! The AVX-512 VNNI GEMM: `C = T(A) . B^T` with bytes, not int16.
//!
//! `vpdpbusd` multiplies unsigned bytes by signed bytes, adds each group of
//! four products (every product fits 16 bits: 255 * -128 = -32,640) to an
//! int32 lane, and does not saturate: the sums are exact, 64 products per
//! instruction. Trimmed SPARQ activations are bytes (`q << s` <= 255) and
//! weights are int8, so the whole GEMM runs on bytes.
//!
//! Layout (the usual outer-product form, no horizontal sums):
//! - B is packed once per GEMM into panels of up to 64 columns: for each
//!   group of four k, the panel's columns side by side, four bytes each
//!   (one zmm holds 16 columns x 4 k). Zero padding adds nothing.
//! - A stays row-major; four bytes of one row are broadcast to all 16
//!   lanes. Rows that need trimming (SPARQ) or padding (K not a multiple
//!   of 4) are trimmed [`MR`] at a time into a small per-task buffer right
//!   before the micro-kernel reads them (fused: A is read once, the
//!   trimmed copy stays in L1). With AVX-512 VBMI the trim is two 256-byte
//!   lookups per 64 activations ([`super::lut::SplitLut`]); without it, the
//!   scalar lookup.
//! - The micro-kernel keeps an [`MR`] x 4 tile of zmm accumulators (6 rows x
//!   64 columns) live over all of K and stores straight into C (masked at
//!   the right edge): no second pass over C.

use super::lut::SplitLut;
use super::tensor::View;
use rayon::prelude::*;
use std::arch::x86_64::*;

/// Rows per micro-tile.
pub const MR: usize = 6;
/// Columns per B panel (4 zmm of 16 int32).
pub const NC: usize = 64;
/// Rows of C per parallel task (a multiple of [`MR`]).
const ROWS_PER_TASK: usize = MR * 16;

/// True when this CPU runs [`gemm`].
pub fn available() -> bool {
    std::is_x86_feature_detected!("avx512f")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vnni")
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
    /// Scalar lookups.
    Scalar(&'a SplitLut),
    /// AVX-512 VBMI lookups (the caller checked [`vbmi`]).
    Vbmi(&'a SplitLut),
}

/// B (`n x k`, int8) packed into panels; see the module docs.
struct PackedB {
    data: Vec<i8>,
    /// Groups of four k.
    kg: usize,
}

impl PackedB {
    fn new(b: &View<i8>, n: usize, k: usize) -> PackedB {
        let kg = k.div_ceil(4);
        let mut data = vec![0i8; n.div_ceil(16) * 16 * kg * 4];
        for j0 in (0..n).step_by(NC) {
            let w = panel_width(n, j0);
            let base = j0 * kg * 4;
            for j in 0..(n - j0).min(NC) {
                for (kk, &v) in b.row(j0 + j).iter().enumerate() {
                    data[base + ((kk / 4) * w + j) * 4 + kk % 4] = v;
                }
            }
        }
        PackedB { data, kg }
    }

    /// Panel starting at column `j0`.
    fn panel(&self, j0: usize) -> *const i8 {
        self.data[j0 * self.kg * 4..].as_ptr()
    }
}

/// Padded width (a multiple of 16) of the panel at column `j0`.
fn panel_width(n: usize, j0: usize) -> usize {
    (n - j0).min(NC).div_ceil(16) * 16
}

/// `C = T(A) . B^T`, A: `m x k` u8, B: `n x k` i8, C: `m x n` i32. The
/// caller checked [`available`] (and [`vbmi`] for [`Trim::Vbmi`]) and that
/// `k * 255 * 128` fits i32.
pub fn gemm(trim: Trim, a: &View<u8>, b: &View<i8>, m: usize, n: usize, k: usize) -> Vec<i32> {
    assert!(available());
    if let Trim::Vbmi(_) = trim {
        assert!(vbmi());
    }
    let mut c = vec![0i32; m * n];
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    let pb = PackedB::new(b, n, k);
    let kp = pb.kg * 4;
    // A is read in place when nothing changes it and rows need no padding.
    let in_place = matches!(trim, Trim::None) && k == kp;
    c.par_chunks_mut(ROWS_PER_TASK * n)
        .enumerate()
        .for_each_init(
            || vec![0u8; if in_place { 0 } else { MR * kp }],
            |buf, (t, cblk)| {
                let r0 = t * ROWS_PER_TASK;
                let rows = cblk.len() / n;
                for i0 in (0..rows).step_by(MR) {
                    let mr = (rows - i0).min(MR);
                    // The next block's rows (in this task or the next
                    // one) are fetched while this one computes: without it
                    // the trim stalls on memory (5opt 225-295 GMAC/s on one
                    // thread instead of 370).
                    let end = ((r0 + i0 + 2 * MR) * k).min(a.data.len());
                    prefetch(&a.data[((r0 + i0 + MR) * k).min(end)..end]);
                    let (ap, lda) = if in_place {
                        (a.data[(r0 + i0) * k..].as_ptr(), k)
                    } else {
                        for r in 0..mr {
                            let src = a.row(r0 + i0 + r);
                            let dst = &mut buf[r * kp..(r + 1) * kp];
                            trim_row(trim, src, dst);
                        }
                        (buf.as_ptr(), kp)
                    };
                    let crow = cblk[i0 * n..].as_mut_ptr();
                    for j0 in (0..n).step_by(NC) {
                        let cols = (n - j0).min(NC);
                        // SAFETY: AVX-512 F/BW/VNNI were checked above; `ap`
                        // holds `mr` rows of `lda >= 4 * kg` bytes, the
                        // panel `kg` groups of its width, and C `mr` rows of
                        // `n` from `crow`, of which columns j0..j0+cols are
                        // written.
                        unsafe { tile(mr, ap, lda, pb.panel(j0), pb.kg, crow.add(j0), n, cols) };
                    }
                }
            },
        );
    c
}

/// Ask for every cache line of `bytes` (a hint: no effect on results).
fn prefetch(bytes: &[u8]) {
    for line in bytes.chunks(64) {
        // SAFETY: a prefetch of a valid address; SSE is baseline on x86_64.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(line.as_ptr() as *const i8) };
    }
}

/// Trim (or copy) `src` (k bytes) into `dst` (k rounded up to 4, the tail
/// zero: zero activations, so an odd K's last element pairs with a zero).
fn trim_row(trim: Trim, src: &[u8], dst: &mut [u8]) {
    let k = src.len();
    match trim {
        Trim::None => dst[..k].copy_from_slice(src),
        Trim::Scalar(lut) => lut.apply_dense(src, &mut dst[..k]),
        // SAFETY: the caller of `gemm` checked AVX-512 VBMI.
        Trim::Vbmi(lut) => unsafe { vbmi_trim(lut, src, dst) },
    }
    dst[k..].fill(0);
}

/// Trim 64 activations at a time: `h = partner == 0 ? wide[a] : narrow[a]`.
#[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
unsafe fn vbmi_trim(lut: &SplitLut, src: &[u8], dst: &mut [u8]) {
    let load = |t: &[u8; 256], i: usize| _mm512_loadu_si512(t[i * 64..].as_ptr() as *const _);
    let nt = [0, 1, 2, 3].map(|i| load(&lut.narrow, i));
    let wt = [0, 1, 2, 3].map(|i| load(&lut.wide, i));
    let look = |t: &[__m512i; 4], x: __m512i| {
        let lo = _mm512_permutex2var_epi8(t[0], x, t[1]);
        let hi = _mm512_permutex2var_epi8(t[2], x, t[3]);
        _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi)
    };
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let k = src.len();
    let mut i = 0;
    while i < k {
        let left = k - i;
        let mask: u64 = if left >= 64 { !0 } else { (1u64 << left) - 1 };
        let x = _mm512_maskz_loadu_epi8(mask, src.as_ptr().add(i) as *const i8);
        // Lanes past k read as zero: the zero partner of an odd tail.
        let z = _mm512_cmpeq_epi8_mask(x, _mm512_setzero_si512());
        let partner_zero = ((z >> 1) & EVEN) | ((z << 1) & !EVEN);
        let h = _mm512_mask_blend_epi8(partner_zero, look(&nt, x), look(&wt, x));
        _mm512_mask_storeu_epi8(dst.as_mut_ptr().add(i) as *mut i8, mask, h);
        i += 64;
    }
}

/// One `mr x cols` block of C (`mr <= MR`, `cols <= NC`).
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
) {
    macro_rules! go {
        ($m:literal) => {
            match cols.div_ceil(16) {
                1 => micro::<$m, 1>(a, lda, b, kg, c, ldc, cols),
                2 => micro::<$m, 2>(a, lda, b, kg, c, ldc, cols),
                3 => micro::<$m, 3>(a, lda, b, kg, c, ldc, cols),
                _ => micro::<$m, 4>(a, lda, b, kg, c, ldc, cols),
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
unsafe fn micro<const M: usize, const NV: usize>(
    a: *const u8,
    lda: usize,
    b: *const i8,
    kg: usize,
    c: *mut i32,
    ldc: usize,
    cols: usize,
) {
    let mut acc = [[_mm512_setzero_si512(); NV]; M];
    for g in 0..kg {
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
