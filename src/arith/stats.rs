//! Error statistics of a quantized result against the exact one.

use serde::Serialize;

/// How far a SPARQ (or other approximate) result is from the exact int8 one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ErrorStats {
    /// Number of outputs compared.
    pub count: usize,
    /// Mean squared error.
    pub mse: f64,
    /// Signal-to-quantization-noise ratio, `10 log10(sum ref^2 / sum err^2)`
    /// in dB; infinite when the result is exact.
    pub sqnr_db: f64,
    /// Largest |approx - exact|.
    pub max_abs_err: i64,
    /// Outputs that differ at all.
    pub mismatches: usize,
}

impl ErrorStats {
    pub fn compare(exact: &[i32], approx: &[i32]) -> ErrorStats {
        assert_eq!(exact.len(), approx.len());
        let mut signal = 0f64;
        let mut noise = 0f64;
        let mut max_abs_err = 0i64;
        let mut mismatches = 0;
        for (&e, &a) in exact.iter().zip(approx) {
            let err = i64::from(a) - i64::from(e);
            signal += (e as f64) * (e as f64);
            noise += (err as f64) * (err as f64);
            max_abs_err = max_abs_err.max(err.abs());
            mismatches += usize::from(err != 0);
        }
        let count = exact.len();
        ErrorStats {
            count,
            mse: if count == 0 {
                0.0
            } else {
                noise / count as f64
            },
            sqnr_db: if noise == 0.0 {
                f64::INFINITY
            } else {
                10.0 * (signal / noise).log10()
            },
            max_abs_err,
            mismatches,
        }
    }
}

impl std::fmt::Display for ErrorStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "outputs {}, differing {}, MSE {:.4}, SQNR {:.2} dB, max |err| {}",
            self.count, self.mismatches, self.mse, self.sqnr_db, self.max_abs_err
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn stats_of_a_known_error() {
        let s = ErrorStats::compare(&[10, -10, 0, 0], &[11, -10, 0, -3]);
        assert_eq!(s.max_abs_err, 3);
        assert_eq!(s.mismatches, 2);
        assert!((s.mse - 2.5).abs() < 1e-12);
        assert!((s.sqnr_db - 10.0 * (200.0f64 / 10.0).log10()).abs() < 1e-9);
        assert!(ErrorStats::compare(&[1], &[1]).sqnr_db.is_infinite());
    }
}
