//! Synthesis with Yosys.

pub mod yosys;
