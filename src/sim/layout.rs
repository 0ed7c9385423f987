//! Where each design under test sits in the harness's two buses.
//!
//! The harness top (`SimBundle`, see `templates/sim/sim_top.v`) has one
//! input bus `in_i` and one output bus `out_o`. Every member (a design's
//! `N_top`) owns word-aligned slices of both: a control word (valid, clear,
//! drain, its own reset), its `act_i` words and its `wgt_i` words in, its
//! `acc_o`/`res_o` words out. Word alignment lets the C++ adapter copy whole
//! words and the Rust side address a member without shifting.

use super::TopPorts;

/// Control-word bits of a member (bit positions inside its first word).
pub mod ctrl {
    pub const VALID: u32 = 1 << 0;
    pub const CLEAR: u32 = 1 << 1;
    pub const DRAIN: u32 = 1 << 2;
    /// The member's own reset: `rst_ni` is held low for this cycle.
    pub const RESET: u32 = 1 << 3;
    pub const VALID_BIT: u32 = 0;
    pub const CLEAR_BIT: u32 = 1;
    pub const DRAIN_BIT: u32 = 2;
    pub const RESET_BIT: u32 = 3;
    /// Rust-side only: sample the outputs after this cycle's edge. Masked
    /// off before the word reaches the harness.
    pub const SAMPLE: u32 = 1 << 31;
    pub const WIRE_MASK: u32 = VALID | CLEAR | DRAIN | RESET;
}

/// Record flags (the first word of every record sent to the driver); the
/// values match `FLAG_*` in `templates/sim/driver.cpp`.
pub mod flags {
    pub const SAMPLE: u32 = 1 << 0;
    // bit 1 held the harness-wide reset before protocol 3; members reset
    // through their control words (`ctrl::RESET`)
    pub const TRACE_ON: u32 = 1 << 2;
    pub const TRACE_OFF: u32 = 1 << 3;
}

/// Words needed for `bits` bits.
pub fn words(bits: u32) -> u32 {
    bits.div_ceil(32)
}

/// One member's slices, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// First input word: the control word.
    pub ctrl: u32,
    /// First word of `act_i`.
    pub act: u32,
    pub act_bits: u32,
    /// First word of `wgt_i`.
    pub wgt: u32,
    pub wgt_bits: u32,
    /// First output word of `acc_o` / `res_o`.
    pub out: u32,
    pub out_bits: u32,
}

impl Slot {
    /// Input words the member occupies (control word included).
    pub fn in_words(&self) -> u32 {
        1 + words(self.act_bits) + words(self.wgt_bits)
    }
    pub fn out_words(&self) -> u32 {
        words(self.out_bits)
    }
}

/// The buses of a harness top.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub slots: Vec<Slot>,
    pub in_words: u32,
    pub out_words: u32,
}

impl Layout {
    pub fn new<'a>(members: impl IntoIterator<Item = &'a TopPorts>) -> Layout {
        let mut slots = Vec::new();
        let (mut iw, mut ow) = (0u32, 0u32);
        for p in members {
            let act = iw + 1;
            let wgt = act + words(p.act_bits);
            let slot = Slot {
                ctrl: iw,
                act,
                act_bits: p.act_bits,
                wgt,
                wgt_bits: p.wgt_bits,
                out: ow,
                out_bits: p.out_bits,
            };
            iw += slot.in_words();
            ow += slot.out_words();
            slots.push(slot);
        }
        Layout {
            slots,
            in_words: iw.max(1),
            out_words: ow.max(1),
        }
    }
}

/// Write `width` bits of `value` into `words` at bit `lsb` (the bits must be
/// zero before).
#[inline]
pub fn put_bits(words: &mut [u32], lsb: u32, width: u32, value: u64) {
    debug_assert!(width <= 64);
    if lsb.is_multiple_of(32) && width <= 32 {
        // the common case: one lane's operand at the start of a word
        words[(lsb / 32) as usize] |= (value as u32) & mask32(width);
        return;
    }
    let mut v = if width == 64 {
        value
    } else {
        value & ((1u64 << width) - 1)
    };
    let mut bit = lsb;
    let mut left = width;
    while left > 0 {
        let w = (bit / 32) as usize;
        let off = bit % 32;
        let take = (32 - off).min(left);
        words[w] |= ((v as u32) & mask32(take)) << off;
        v >>= take;
        bit += take;
        left -= take;
    }
}

/// Read `width` (<= 64) bits at bit `lsb`.
#[inline]
pub fn get_bits(words: &[u32], lsb: u32, width: u32) -> u64 {
    debug_assert!(width <= 64);
    let mut out = 0u64;
    let mut bit = lsb;
    let mut done = 0;
    while done < width {
        let w = (bit / 32) as usize;
        let off = bit % 32;
        let take = (32 - off).min(width - done);
        out |= u64::from((words[w] >> off) & mask32(take)) << done;
        bit += take;
        done += take;
    }
    out
}

/// Sign-extend the low `bits` bits of `v`.
#[inline]
pub fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

#[inline]
fn mask32(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_words() {
        let mut w = [0u32; 4];
        put_bits(&mut w, 20, 48, 0xABCD_1234_5678);
        assert_eq!(get_bits(&w, 20, 48), 0xABCD_1234_5678);
        put_bits(&mut w, 68, 20, 0xFFFFF);
        assert_eq!(get_bits(&w, 68, 20), 0xFFFFF);
        assert_eq!(get_bits(&w, 20, 48), 0xABCD_1234_5678);
        assert_eq!(sign_extend(0xFFFFF, 20), -1);
        assert_eq!(sign_extend(0x7FFFF, 20), 0x7FFFF);
    }
}
