//! The machine's instruction peak for a GEMM kernel: a short run of the
//! kernel's own multiply-add instruction (`vpdpbusd` on zmm or ymm,
//! `vpmaddwd` for the int16 kernel) on 12 independent accumulators, nothing
//! else in the loop. What no GEMM on this machine can beat; a bench prints
//! its lines as a share of it.

use super::gemm::Kernel;
use std::time::Instant;

/// Measured multiply-adds per second.
#[derive(Debug, Clone, Copy)]
pub struct Peak {
    /// One thread alone.
    pub per_core: f64,
    /// Every rayon thread at once (the sum of each thread's best burst).
    pub all: f64,
    pub threads: usize,
    /// The instruction timed.
    pub instruction: &'static str,
}

/// Instructions per timed burst (per accumulator).
const BURST: usize = 100_000;

/// Best rate over `bursts` bursts (the best shows the machine, not its
/// load), for `kernel`'s instruction; `None` for the portable kernel.
pub fn measure(kernel: Kernel, bursts: usize) -> Option<Peak> {
    let (instruction, macs_per_op) = match kernel {
        Kernel::Vnni | Kernel::VnniScalarTrim => ("vpdpbusd zmm", 64.0),
        Kernel::AvxVnni => ("vpdpbusd ymm (AVX-VNNI)", 32.0),
        Kernel::Avx2 => ("vpmaddwd ymm", 16.0),
        Kernel::Portable => return None,
    };
    if !kernel.available() {
        return None;
    }
    let ops = (12 * BURST) as f64;
    let burst = move || -> f64 {
        let t = Instant::now();
        run(kernel, BURST);
        ops * macs_per_op / t.elapsed().as_secs_f64()
    };
    let bursts = bursts.max(1);
    let per_core = (0..bursts).map(|_| burst()).fold(0.0, f64::max);
    let threads = rayon::current_num_threads();
    // every thread at once, each keeping its own best burst: on a loaded
    // machine the threads' best moments need not coincide
    let all = rayon::broadcast(|_| (0..bursts).map(|_| burst()).fold(0.0, f64::max))
        .into_iter()
        .sum();
    Some(Peak {
        per_core,
        all,
        threads,
        instruction,
    })
}

fn run(kernel: Kernel, n: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `measure` checked that the CPU has the kernel's features.
    unsafe {
        match kernel {
            Kernel::Vnni | Kernel::VnniScalarTrim => x86::zmm(n),
            Kernel::AvxVnni => x86::ymm(n),
            Kernel::Avx2 => x86::madd(n),
            Kernel::Portable => {}
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (kernel, n);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn zmm(n: usize) {
        let mut acc = [_mm512_set1_epi32(1); 12];
        let (a, b) = (
            std::hint::black_box(_mm512_set1_epi8(3)),
            std::hint::black_box(_mm512_set1_epi8(5)),
        );
        for _ in 0..n {
            for x in acc.iter_mut() {
                *x = _mm512_dpbusd_epi32(*x, a, b);
            }
        }
        std::hint::black_box(acc);
    }

    #[target_feature(enable = "avx2,avxvnni")]
    pub unsafe fn ymm(n: usize) {
        let mut acc = [_mm256_set1_epi32(1); 12];
        let (a, b) = (
            std::hint::black_box(_mm256_set1_epi8(3)),
            std::hint::black_box(_mm256_set1_epi8(5)),
        );
        for _ in 0..n {
            for x in acc.iter_mut() {
                *x = _mm256_dpbusd_avx_epi32(*x, a, b);
            }
        }
        std::hint::black_box(acc);
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn madd(n: usize) {
        let mut acc = [_mm256_set1_epi32(1); 12];
        let (a, b) = (
            std::hint::black_box(_mm256_set1_epi16(3)),
            std::hint::black_box(_mm256_set1_epi16(5)),
        );
        for _ in 0..n {
            for x in acc.iter_mut() {
                *x = _mm256_add_epi32(*x, _mm256_madd_epi16(a, b));
            }
        }
        std::hint::black_box(acc);
    }
}
