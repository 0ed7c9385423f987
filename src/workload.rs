//! Deterministic synthetic workloads: a small seeded generator and
//! ReLU-like activations, shared by benchmarks, reports and tests.

/// xorshift64*: a small deterministic generator for benchmark data.
#[derive(Debug, Clone)]
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// ReLU-like activations: a fraction `zeros` exactly zero, the rest from a
/// half-normal scaled so that 255 is rare.
pub fn relu_like(count: usize, zeros: f64, rng: &mut Rng) -> Vec<u8> {
    (0..count)
        .map(|_| {
            if rng.unit() < zeros {
                0
            } else {
                // Box-Muller half-normal, sigma 48
                let u1 = rng.unit().max(1e-12);
                let u2 = rng.unit();
                let g = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
                ((g.abs() * 48.0).round() as i64).clamp(1, 255) as u8
            }
        })
        .collect()
}

/// Uniform signed 8-bit weights.
pub fn weights(count: usize, rng: &mut Rng) -> Vec<i8> {
    (0..count)
        .map(|_| (rng.next_u64() % 256) as u8 as i8)
        .collect()
}

/// Prune rows of `k` weights to 2:4: in every group of four along a row,
/// the two largest magnitudes survive (the first on ties).
pub fn prune_2_of_4(w: &mut [i8], k: usize) {
    for row in w.chunks_mut(k.max(1)) {
        for group in row.chunks_mut(4) {
            let mut order: Vec<usize> = (0..group.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(group[i].unsigned_abs()));
            for &i in order.iter().skip(2) {
                group[i] = 0;
            }
        }
    }
}
