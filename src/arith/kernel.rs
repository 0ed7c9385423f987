//! The exact integer kernel under every GEMM path: `C[m][n] = sum_k a[m][k] *
//! b[n][k]` with `a` already trimmed (0..=255) and `b` signed 8-bit, both
//! widened to i16 and padded to a multiple of [`KBLOCK`]. Sums are exact in
//! i32 while `K * 255 * 128 < 2^31` (callers check it).
//!
//! AVX2 (`vpmaddwd`, 16 products per instruction) when asked for and the
//! CPU has it, else a portable loop; tests hold both to the same results.
//! CPUs with AVX-512 VNNI run the byte kernel in `vnni.rs` instead.

/// K is padded to a multiple of this (zeros add nothing).
pub const KBLOCK: usize = 16;
/// Rows of `a` per micro-tile.
pub const MR: usize = 4;
/// Rows of `b` per micro-tile.
pub const NR: usize = 2;

/// Round `k` up to a multiple of [`KBLOCK`].
pub fn padded_k(k: usize) -> usize {
    k.div_ceil(KBLOCK) * KBLOCK
}

/// `c[i*n + j] = dot(a[i], b[j])` for `a`: `m x kp`, `b`: `n x kp` (i16,
/// row-major, `kp` a multiple of [`KBLOCK`]), `m` a multiple of [`MR`] and
/// `n` a multiple of [`NR`]. AVX2 when `simd` and the CPU has it.
pub fn dot_tile(simd: bool, a: &[i16], b: &[i16], kp: usize, m: usize, n: usize, c: &mut [i32]) {
    assert_eq!(kp % KBLOCK, 0);
    assert_eq!(m % MR, 0);
    assert_eq!(n % NR, 0);
    assert!(a.len() >= m * kp && b.len() >= n * kp && c.len() >= m * n);
    #[cfg(target_arch = "x86_64")]
    {
        if simd && std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked above); slice bounds
            // were asserted.
            unsafe { avx2::dot_tile(a, b, kp, m, n, c) };
            return;
        }
    }
    portable_dot_tile(a, b, kp, m, n, c);
}

/// The portable kernel (also the reference for the AVX2 one).
pub fn portable_dot_tile(a: &[i16], b: &[i16], kp: usize, m: usize, n: usize, c: &mut [i32]) {
    for i in 0..m {
        let ar = &a[i * kp..(i + 1) * kp];
        for j in 0..n {
            let br = &b[j * kp..(j + 1) * kp];
            let mut acc = 0i32;
            for (x, y) in ar.iter().zip(br) {
                acc += i32::from(*x) * i32::from(*y);
            }
            c[i * n + j] = acc;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{KBLOCK, MR, NR};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2")]
    unsafe fn hsum(v: __m256i) -> i32 {
        let lo = _mm256_castsi256_si128(v);
        let hi = _mm256_extracti128_si256(v, 1);
        let s = _mm_add_epi32(lo, hi);
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_tile(a: &[i16], b: &[i16], kp: usize, m: usize, n: usize, c: &mut [i32]) {
        let ap = a.as_ptr();
        let bp = b.as_ptr();
        for i0 in (0..m).step_by(MR) {
            for j0 in (0..n).step_by(NR) {
                let mut acc = [[_mm256_setzero_si256(); NR]; MR];
                let mut k = 0;
                while k < kp {
                    let mut bv = [_mm256_setzero_si256(); NR];
                    for (j, v) in bv.iter_mut().enumerate() {
                        *v = _mm256_loadu_si256(bp.add((j0 + j) * kp + k) as *const __m256i);
                    }
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = _mm256_loadu_si256(ap.add((i0 + i) * kp + k) as *const __m256i);
                        for (j, cell) in row.iter_mut().enumerate() {
                            *cell = _mm256_add_epi32(*cell, _mm256_madd_epi16(av, bv[j]));
                        }
                    }
                    k += KBLOCK;
                }
                for (i, row) in acc.iter().enumerate() {
                    for (j, cell) in row.iter().enumerate() {
                        c[(i0 + i) * n + j0 + j] = hsum(*cell);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avx2_and_portable_agree_at_the_extremes_and_on_noise() {
        for (n, kp) in [(6, 64), (8, 64), (6, 48)] {
            agree(n, kp);
        }
    }

    fn agree(n: usize, kp: usize) {
        let m = 8;
        let mut seed = 12345u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut a: Vec<i16> = (0..m * kp).map(|_| (next() % 256) as i16).collect();
        let mut b: Vec<i16> = (0..n * kp).map(|_| (next() % 256) as i16 - 128).collect();
        a[..kp].fill(255);
        b[..kp].fill(-128);
        let mut c1 = vec![0; m * n];
        let mut c2 = vec![0; m * n];
        dot_tile(true, &a, &b, kp, m, n, &mut c1);
        portable_dot_tile(&a, &b, kp, m, n, &mut c2);
        assert_eq!(c1, c2);
        assert_eq!(c1[0], kp as i32 * 255 * -128);
    }
}
