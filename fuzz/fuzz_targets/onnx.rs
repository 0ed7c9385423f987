//! The ONNX importer on arbitrary bytes: a plan or an error, never a
//! panic, an abort or a huge allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sparqgen::net::load_bytes(data, "fuzz.onnx");
});
