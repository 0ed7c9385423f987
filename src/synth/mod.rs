//! Synthesis with Yosys (and nextpnr-ice40 for Fmax): area of the generated
//! designs, the comparison with the baselines and the sweep.

pub mod compare;
pub mod fanout;
pub mod flow;
pub mod fmax;
pub mod plot;
pub mod ppa;
pub mod report;
pub mod sta;
pub mod toggles;
pub mod yosys;
