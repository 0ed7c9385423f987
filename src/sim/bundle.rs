//! The generated parts of a harness: the top that holds every design under
//! test (`SimBundle`), the C++ port adapter and the Icarus bench. Numbers
//! are computed here; the templates under `templates/sim/` hold the text.

use super::layout::{ctrl, Layout};
use super::source::Dut;
use super::verilator::{BuildInputs, Profile, Tuning};
use crate::hash::hex_sha256;
use askama::Template;
use std::path::PathBuf;

/// One member as the top template sees it (bit positions in the buses).
pub struct MemberView {
    pub what: String,
    pub top: String,
    pub reset_bit: u32,
    pub valid_bit: u32,
    pub clear_bit: u32,
    pub drain_bit: u32,
    pub has_drain: bool,
    pub act_lsb: u32,
    pub act_bits: u32,
    pub wgt_lsb: u32,
    pub wgt_bits: u32,
    pub out_port: String,
    pub out_lsb: u32,
    pub out_bits: u32,
    pub out_pad: u32,
}

#[derive(Template)]
#[template(path = "sim/sim_top.v")]
struct SimTopV<'a> {
    names: &'a str,
    hash: &'a str,
    in_bits: u32,
    out_bits: u32,
    members: &'a [MemberView],
}

#[derive(Template)]
#[template(path = "sim/sim_adapter.h")]
struct AdapterH<'a> {
    names: &'a str,
    hash: &'a str,
    in_words: u32,
    out_words: u32,
}

#[derive(Template)]
#[template(path = "sim/icarus_bench.v")]
struct IcarusBenchV<'a> {
    names: &'a str,
    hash: &'a str,
    in_words: u32,
    out_words: u32,
}

/// A bundle of designs under test and its generated harness sources.
pub struct Bundle {
    pub layout: Layout,
    /// `names` as printed in headers: the design names, comma separated.
    pub names: String,
    /// Hash of the members' designs and RTL.
    pub hash: String,
    pub wrapper: String,
    pub adapter: String,
    pub icarus_bench: String,
    /// Verilog sources, each member's under `m<i>/`.
    pub sources: Vec<(PathBuf, Vec<u8>)>,
    /// `(m<i>, the user's folder)` for members read from a folder.
    pub origins: Vec<(PathBuf, PathBuf)>,
    /// PEs (lanes) of the largest member.
    pub pe_count: u32,
}

impl Bundle {
    pub fn new(duts: &[Dut]) -> Bundle {
        let layout = Layout::new(duts.iter().map(|d| &d.ports));
        let names: Vec<&str> = duts.iter().map(|d| d.design.name()).collect();
        let names = names.join(", ");
        let mut h = Vec::new();
        let mut sources = Vec::new();
        let mut origins = Vec::new();
        for (i, d) in duts.iter().enumerate() {
            if let Some(f) = &d.folder {
                origins.push((PathBuf::from(format!("m{i}")), f.clone()));
            }
            h.extend_from_slice(d.design.hash().as_bytes());
            for (rel, text) in &d.sources {
                h.extend_from_slice(rel.to_string_lossy().as_bytes());
                h.extend_from_slice(text);
                sources.push((PathBuf::from(format!("m{i}")).join(rel), text.clone()));
            }
        }
        let hash = hex_sha256(&h)[..12].to_string();
        let members: Vec<MemberView> = duts
            .iter()
            .zip(&layout.slots)
            .map(|(d, s)| {
                let base = s.ctrl * 32;
                let out_pad = s.out_words() * 32 - s.out_bits;
                MemberView {
                    what: format!("{} ({})", d.design.name(), super::describe(&d.design)),
                    top: d.ports.top.clone(),
                    reset_bit: base + ctrl::RESET_BIT,
                    valid_bit: base + ctrl::VALID_BIT,
                    clear_bit: base + ctrl::CLEAR_BIT,
                    drain_bit: base + ctrl::DRAIN_BIT,
                    has_drain: d.ports.has_drain,
                    act_lsb: s.act * 32,
                    act_bits: s.act_bits,
                    wgt_lsb: s.wgt * 32,
                    wgt_bits: s.wgt_bits,
                    out_port: d.ports.out_port.clone(),
                    out_lsb: s.out * 32,
                    out_bits: s.out_bits,
                    out_pad,
                }
            })
            .collect();
        let wrapper = SimTopV {
            names: &names,
            hash: &hash,
            in_bits: layout.in_words * 32,
            out_bits: layout.out_words * 32,
            members: &members,
        }
        .render()
        // infallible: askama rendering fails only on a filter error; these templates have none
        .expect("the harness top renders");
        let adapter = AdapterH {
            names: &names,
            hash: &hash,
            in_words: layout.in_words,
            out_words: layout.out_words,
        }
        .render()
        // infallible: askama rendering fails only on a filter error; these templates have none
        .expect("the adapter renders");
        let icarus_bench = IcarusBenchV {
            names: &names,
            hash: &hash,
            in_words: layout.in_words,
            out_words: layout.out_words,
        }
        .render()
        // infallible: askama rendering fails only on a filter error; these templates have none
        .expect("the Icarus bench renders");
        let pe_count = duts
            .iter()
            .map(|d| d.design.array().pe_count())
            .max()
            .unwrap_or(1);
        Bundle {
            pe_count,
            layout,
            names,
            hash,
            wrapper,
            adapter,
            icarus_bench,
            sources,
            origins,
        }
    }

    /// What a Verilator build of this bundle needs.
    pub fn build_inputs(&self, trace: bool, profile: Profile, tuning: &Tuning) -> BuildInputs {
        BuildInputs {
            label: self.names.clone(),
            sources: self.sources.clone(),
            origins: self.origins.clone(),
            wrapper: self.wrapper.clone(),
            adapter: self.adapter.clone(),
            trace,
            profile,
            large: self.pe_count > 16,
            tuning: tuning.clone(),
        }
    }
}
