//! The .npy reader on arbitrary bytes: an error or a tensor whose data
//! matches its shape, never a panic, an abort or a wrapped size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for ndim in 1..=4 {
        if let Ok(t) = sparqgen::npy::parse::<u8>(data, "fuzz.npy", "A", ndim) {
            assert_eq!(t.shape.iter().product::<usize>(), t.data.len());
        }
        if let Ok(t) = sparqgen::npy::parse::<i8>(data, "fuzz.npy", "B", ndim) {
            assert_eq!(t.shape.iter().product::<usize>(), t.data.len());
        }
        let _ = sparqgen::npy::parse::<i32>(data, "fuzz.npy", "C", ndim);
    }
});
