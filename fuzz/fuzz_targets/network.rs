//! The HCM network parser on arbitrary text: a validated network whose
//! totals do not overflow, or an error; never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(n) = sparqgen::hcm::network::Network::from_yaml(text) {
            let total: u128 = n.layers.iter().map(|l| u128::from(l.macs())).sum();
            assert_eq!(total, u128::from(n.macs()));
            for l in &n.layers {
                let _ = (l.weights(), l.input.elems(), l.output.elems());
            }
        }
    }
});
