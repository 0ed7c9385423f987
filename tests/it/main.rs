//! Integration tests: one binary, a module per topic (ripgrep's layout).

mod asic;
mod cli_model;
mod datapath_reset;
mod flow;
mod fusesoc;
mod generate;
mod golden;
mod hcm;
mod layers;
mod model;
mod mutation;
mod net;
mod net_rtl;
mod net_rtl_resnet;
mod plots;
mod ppa;
mod prove;
mod robust;
mod rtl_params;
mod scalesim;
mod slurm;
mod snapshot;
mod synth;
mod util;
mod verify;
