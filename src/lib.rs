//! sparqgen: SPARQ processing elements from one design description.
//!
//! `config` validates the design; `arith` is the bit-exact model; `npy`
//! moves tensors in and out.

pub mod arith;
pub mod asic;
pub mod cache;
pub mod config;
pub mod cycles;
pub mod flows;
pub mod golden;
pub mod hash;
pub mod hcm;
pub mod input;
pub mod net;
pub mod npy;
pub mod output;
pub mod process;
pub mod prove;
pub mod rtl;
pub mod settings;
pub mod sim;
pub mod svg;
pub mod sweep;
pub mod synth;
pub mod tensor;
pub mod tools;
pub mod workload;
pub mod yaml;
