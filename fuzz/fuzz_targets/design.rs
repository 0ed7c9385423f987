//! The design parser on arbitrary text: a validated design or an error,
//! never a panic; a design that parses prints to YAML that parses to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(d) = sparqgen::config::Design::from_yaml(text) {
            let again = sparqgen::config::Design::from_yaml(&d.to_yaml())
                .expect("a validated design round-trips");
            assert_eq!(d.hash(), again.hash());
        }
    }
});
