//! Integration tests: one binary, a module per topic (ripgrep's layout).

mod cli_model;
mod generate;
mod golden;
mod model;
mod mutation;
mod util;
mod verify;
