//! Library orchestration: whole jobs built from the layers below.

pub mod asic;
