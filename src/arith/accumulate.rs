//! The accumulator's rule (the port contract of single PEs, dot units and
//! each PE of an array): what one cycle's `valid_i` / `clear_i` do with the
//! products of that cycle, and the wrap of an `acc_bits` register.
//!
//! | valid | clear | next accumulator |
//! |-------|-------|------------------|
//! | 1 | 1 | this cycle's sum (a new reduction starts) |
//! | 1 | 0 | accumulator + this cycle's sum |
//! | 0 | 1 | 0 (operands ignored) |
//! | 0 | 0 | unchanged (operands ignored) |
//!
//! The sum of a cycle is every lane's products added exactly; the register
//! keeps the low `acc_bits` bits, two's complement ([`super::wrap_signed`]).

use super::wrap_signed;

/// What one cycle does to the accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accumulate {
    /// valid and clear: the accumulator becomes this cycle's sum.
    Load,
    /// valid: this cycle's sum is added.
    Add,
    /// clear alone: the accumulator becomes zero.
    Clear,
    /// neither: the accumulator holds.
    Hold,
}

impl Accumulate {
    /// The rule for a cycle's control inputs.
    #[inline]
    pub fn of(valid: bool, clear: bool) -> Accumulate {
        match (valid, clear) {
            (true, true) => Accumulate::Load,
            (true, false) => Accumulate::Add,
            (false, true) => Accumulate::Clear,
            (false, false) => Accumulate::Hold,
        }
    }

    /// Apply the rule to any representation of values (numbers, or symbols
    /// in documentation): `add` sums, `zero` is the cleared value.
    #[inline]
    pub fn apply<T>(self, acc: T, sum: T, zero: T, add: impl FnOnce(T, T) -> T) -> T {
        match self {
            Accumulate::Load => sum,
            Accumulate::Add => add(acc, sum),
            Accumulate::Clear => zero,
            Accumulate::Hold => acc,
        }
    }

    /// The hardware's next value of an `acc_bits` accumulator.
    #[inline]
    pub fn next(self, acc: i64, sum: i64, acc_bits: u32) -> i64 {
        wrap_signed(self.apply(acc, sum, 0, |a, s| a + s), acc_bits)
    }
}

/// The value an `acc_bits` accumulator holds after a whole reduction whose
/// exact sum is `sum` (a GEMM output): every `Add` wraps, and wrapping is
/// compatible with addition, so this is the exact sum wrapped once.
#[inline]
pub fn reduced(sum: i64, acc_bits: u32) -> i64 {
    wrap_signed(sum, acc_bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wrapping at every step equals wrapping the exact sum once.
    #[test]
    fn stepwise_wrap_equals_one_wrap() {
        let sums = [70_000i64, -123_456, 99_999, 65_535, -1, 400_000];
        let mut acc = 0;
        for (i, &s) in sums.iter().enumerate() {
            acc = Accumulate::of(true, i == 0).next(acc, s, 17);
        }
        assert_eq!(acc, reduced(sums.iter().sum(), 17));
        assert_eq!(Accumulate::of(false, true).next(acc, 5, 17), 0);
        assert_eq!(Accumulate::of(false, false).next(acc, 5, 17), acc);
    }
}
