//! `manifest.yaml`: everything a driver of the generated RTL needs, machine
//! readable (top name, operand widths, latency, ports, files, content hash),
//! written by [`super::generate`] and read back by [`Manifest::read`] when a
//! consumer gets an already generated folder (`verify --rtl DIR/<name>`).

use super::plan::PePlan;
use super::RtlError;
use crate::config::{hex_sha256, ArrayShape, Design, PeKind};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The manifest's file name inside a generated folder.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// A port of the top module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    pub name: String,
    pub direction: Direction,
    /// Width in bits with the top's default parameters.
    pub width: u32,
    pub meaning: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Input,
    Output,
}

/// The processing element (or dot-unit lane) as its driver sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeInfo {
    /// `sparq`, `mac8x8` or `mac4x8`.
    pub kind: String,
    /// Operand encoding of one PE cycle (verif/INTERFACE.md): `sparq_dense`,
    /// `sparq_stc`, `mac8x8` or `mac4x8`.
    pub encoding: String,
    /// AW: bits of one PE's (lane's, row's) `act` operand per cycle.
    pub act_bits: u32,
    /// WW: bits of one PE's (lane's, column's) `wgt` operand per cycle.
    pub wgt_bits: u32,
    /// Signed bits of one PE's per-cycle product sum.
    pub sum_bits: u32,
    /// Accumulator width (two's complement, wraps modulo 2^acc_bits).
    pub acc_bits: u32,
    /// Register stages inside the PE (0, 1, 2).
    pub pipeline: u32,
    /// Activations one PE consumes per cycle (K steps of 1, 2 or 4).
    pub activations_per_cycle: u32,
    /// Multiplier products one PE sums per cycle.
    pub products_per_cycle: u32,
}

/// The arrangement of PEs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArrayInfo {
    /// `systolic`, `dot` or `single`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cols: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lanes: Option<u32>,
    /// PEs (systolic, single) or lanes (dot).
    pub pe_count: u32,
}

/// A top-module parameter, its generated default and the values the RTL
/// accepts (an override outside `min..=max` stops elaboration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub value: u32,
    /// Absent (0) in manifests written before the range was recorded.
    #[serde(default)]
    pub min: u32,
    #[serde(default)]
    pub max: u32,
}

/// The contents of `manifest.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub sparqgen_version: String,
    /// SHA-256 of the validated design ([`Design::hash`]).
    pub design_hash: String,
    /// SHA-256 over every other file of the folder ([`content_hash`]).
    pub content_hash: String,
    /// The top module.
    pub top: String,
    /// The validated design, every field explicit (a valid design file).
    #[serde(with = "design_yaml")]
    pub design: Design,
    pub pe: PeInfo,
    pub array: ArrayInfo,
    /// Edges from presenting operands to seeing their product in the
    /// accumulator (`pipeline + 1`).
    pub latency_cycles: u32,
    /// Systolic: the fill, `(rows - 1) + (cols - 1) + pipeline`: cycles from
    /// a tile's start (its `clear_i`) until the tile before shows its first
    /// result on the last row, minus `cols - 1` (see `cycles::gemm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flush_cycles: Option<u32>,
    /// Systolic: the drain, `cols`: cycles a row takes to put out a tile's
    /// results, and the fewest cycles between two tile starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_cycles: Option<u32>,
    /// The top's parameters and their defaults.
    pub parameters: Vec<Parameter>,
    /// The top's ports, in declaration order.
    pub ports: Vec<Port>,
    /// Every module, leaves first, the top last.
    pub modules: Vec<String>,
    /// The Verilog files in compile order, the top last (as in `filelist`).
    pub files: Vec<String>,
    /// The filelist (`<name>.f`, paths relative to the folder).
    pub filelist: String,
    /// How to drive the top, for people.
    pub readme: String,
    /// FuseSoC core, constraints, testbench and iCE40 wrapper (absent in
    /// manifests written before they existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flows: Option<super::Flows>,
}

impl Manifest {
    /// The manifest of `design` without its content hash (filled in once
    /// the files are rendered).
    pub(crate) fn new(design: &Design, plan: &PePlan, modules: Vec<String>) -> Manifest {
        let top = super::top_module(design);
        let files = modules.iter().map(|m| format!("{m}.v")).collect();
        let parameters = super::params::top_params(design, plan)
            .into_iter()
            .map(|p| Parameter {
                name: p.name.to_string(),
                value: p.value,
                min: p.min,
                max: p.max,
            })
            .collect();
        Manifest {
            sparqgen_version: env!("CARGO_PKG_VERSION").to_string(),
            design_hash: design.hash(),
            content_hash: String::new(),
            top,
            design: design.clone(),
            pe: pe_info(design),
            array: array_info(design),
            latency_cycles: design.latency_cycles(),
            flush_cycles: design.flush_cycles(),
            drain_cycles: design.drain_cycles(),
            parameters,
            ports: top_ports(design, plan),
            modules,
            files,
            filelist: format!("{}.f", design.name()),
            readme: "README.md".to_string(),
            flows: None,
        }
    }

    /// Files covered by the content hash, in the order they are hashed: the
    /// Verilog files, the filelist, the README, the flow files.
    pub fn hashed_files(&self) -> Vec<String> {
        let mut v = self.files.clone();
        v.push(self.filelist.clone());
        v.push(self.readme.clone());
        v.extend(self.flows.iter().flat_map(super::Flows::files));
        v
    }

    /// A port by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }

    /// Parse a manifest.
    pub fn from_yaml(text: &str) -> Result<Manifest, RtlError> {
        serde_yaml::from_str(text).map_err(|e| RtlError::Manifest {
            path: MANIFEST_FILE.to_string(),
            message: e.to_string(),
        })
    }

    /// Read `folder/manifest.yaml` of an already generated folder.
    pub fn read(folder: &Path) -> Result<Manifest, RtlError> {
        let path = folder.join(MANIFEST_FILE);
        let text = crate::input::read_text(&path).map_err(|e| RtlError::Manifest {
            path: path.display().to_string(),
            message: format!(
                "cannot read it ({e}); is this a folder written by `sparqgen generate`?"
            ),
        })?;
        let m: Manifest = serde_yaml::from_str(&text).map_err(|e| RtlError::Manifest {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if let Some(field) = m.edited_field() {
            return Err(RtlError::Manifest {
                path: folder.display().to_string(),
                message: format!(
                    "{MANIFEST_FILE} was edited after generation: its `{field}` is not what its design \
                     generates (design_hash {}). The design and ports are read from it, so \
                     a mismatch would wrongly blame the RTL; regenerate the folder with \
                     `sparqgen generate` (edits to the Verilog files themselves are fine)",
                    &m.design_hash[..m.design_hash.len().min(12)]
                ),
            });
        }
        Ok(m)
    }

    /// The first field that differs from what the manifest's own design
    /// generates (its hash, ports, parameters, timing, files), if any: an
    /// edit that the folder's `.sparqgen-sha256` would show, caught even
    /// when that file is gone.
    pub fn edited_field(&self) -> Option<&'static str> {
        let d = &self.design;
        if d.hash() != self.design_hash {
            return Some("design");
        }
        let fresh = Manifest::new(d, &PePlan::new(d), super::module_names(d));
        let same = [
            ("top", self.top == fresh.top),
            ("pe", self.pe == fresh.pe),
            ("array", self.array == fresh.array),
            (
                "latency_cycles",
                self.latency_cycles == fresh.latency_cycles,
            ),
            ("flush_cycles", self.flush_cycles == fresh.flush_cycles),
            ("drain_cycles", self.drain_cycles == fresh.drain_cycles),
            ("parameters", self.parameters == fresh.parameters),
            ("ports", self.ports == fresh.ports),
            ("modules", self.modules == fresh.modules),
        ];
        same.into_iter().find(|(_, ok)| !ok).map(|(f, _)| f)
    }

    /// Check that the files in `folder` are the ones this manifest was
    /// written with (nobody edited them since).
    pub fn check_files(&self, folder: &Path) -> Result<(), RtlError> {
        let mut contents = Vec::new();
        for rel in self.hashed_files() {
            let path = folder.join(&rel);
            let bytes = std::fs::read(&path).map_err(|e| RtlError::Manifest {
                path: path.display().to_string(),
                message: format!("listed in {MANIFEST_FILE} but cannot be read ({e})"),
            })?;
            contents.push((rel, bytes));
        }
        let got = content_hash(contents.iter().map(|(p, c)| (p.as_str(), c.as_slice())));
        if got == self.content_hash {
            Ok(())
        } else {
            Err(RtlError::Manifest {
                path: folder.join(MANIFEST_FILE).display().to_string(),
                message: format!(
                    "content_hash {} does not match the files ({got}): they were edited \
                     after generation; regenerate with `sparqgen generate`",
                    self.content_hash
                ),
            })
        }
    }
}

/// SHA-256 over `(relative path, contents)` pairs in order; each pair is
/// framed by its lengths so that no two different file sets collide by
/// concatenation.
pub fn content_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut buf = Vec::new();
    for (path, contents) in files {
        buf.extend_from_slice(&(path.len() as u64).to_le_bytes());
        buf.extend_from_slice(path.as_bytes());
        buf.extend_from_slice(&(contents.len() as u64).to_le_bytes());
        buf.extend_from_slice(contents);
    }
    hex_sha256(&buf)
}

/// The PE as the manifest states it.
pub fn pe_info(design: &Design) -> PeInfo {
    let plan = PePlan::new(design);
    let encoding = match &design.pe().kind() {
        PeKind::Sparq(s) if s.stc => "sparq_stc",
        PeKind::Sparq(_) => "sparq_dense",
        PeKind::Mac8x8 => "mac8x8",
        PeKind::Mac4x8 => "mac4x8",
    };
    PeInfo {
        kind: design.pe().kind().name().to_string(),
        encoding: encoding.to_string(),
        act_bits: plan.act_bits,
        wgt_bits: plan.wgt_bits,
        sum_bits: plan.sum_bits,
        acc_bits: plan.acc_bits,
        pipeline: plan.pipeline,
        activations_per_cycle: design.pe().kind().activations_per_cycle(),
        products_per_cycle: design.pe().kind().products_per_cycle(),
    }
}

fn array_info(design: &Design) -> ArrayInfo {
    let (rows, cols, lanes) = match design.array() {
        ArrayShape::Systolic { rows, cols } => (Some(rows), Some(cols), None),
        ArrayShape::Dot { lanes } => (None, None, Some(lanes)),
        ArrayShape::Single => (None, None, None),
    };
    ArrayInfo {
        kind: design.array().name().to_string(),
        rows,
        cols,
        lanes,
        pe_count: design.array().pe_count(),
    }
}

/// What one PE's `act` operand carries, in words.
pub(crate) fn act_meaning(kind: &PeKind) -> &'static str {
    match kind {
        PeKind::Sparq(s) if s.stc => "{a3, a2, a1, a0}: a group of four u8 activations",
        PeKind::Sparq(_) => "{a2, a1}: a pair of u8 activations",
        PeKind::Mac8x8 => "a: one u8 activation",
        PeKind::Mac4x8 => "{q2, q1}: two 4-bit activation codes",
    }
}

/// What one PE's `wgt` operand carries, in words.
pub(crate) fn wgt_meaning(kind: &PeKind) -> &'static str {
    match kind {
        PeKind::Sparq(s) if s.stc => {
            "{idx2, idx1, b2, b1}: two s8 weights and their 2-bit positions in the group"
        }
        PeKind::Sparq(_) | PeKind::Mac4x8 => "{b2, b1}: a pair of s8 weights",
        PeKind::Mac8x8 => "b: one s8 weight",
    }
}

/// The top module's ports (verif/INTERFACE.md), widths with the default
/// parameters.
pub fn top_ports(design: &Design, plan: &PePlan) -> Vec<Port> {
    let port = |name: &str, direction, width, meaning: String| Port {
        name: name.to_string(),
        direction,
        width,
        meaning,
    };
    use Direction::{Input, Output};
    let (aw, ww, acc) = (plan.act_bits, plan.wgt_bits, plan.acc_bits);
    let act = act_meaning(&design.pe().kind());
    let wgt = wgt_meaning(&design.pe().kind());
    let mut ports = vec![
        port("clk_i", Input, 1, "clock, rising edge".into()),
        port(
            "rst_ni",
            Input,
            1,
            "asynchronous active-low reset: accumulators and pipeline valid bits to 0".into(),
        ),
        port(
            "valid_i",
            Input,
            1,
            "this cycle's operands are real: accumulate them".into(),
        ),
        port(
            "clear_i",
            Input,
            1,
            "start a new output: with valid_i load this cycle's product, without it load 0".into(),
        ),
    ];
    match design.array() {
        ArrayShape::Systolic { rows, cols } => {
            ports.push(port(
                "act_i",
                Input,
                rows * aw,
                format!("row r at [r*{aw} +: {aw}], unskewed: {act}"),
            ));
            ports.push(port(
                "wgt_i",
                Input,
                cols * ww,
                format!("column c at [c*{ww} +: {ww}], unskewed: {wgt}"),
            ));
            ports.push(port(
                "res_o",
                Output,
                rows * acc,
                format!(
                    "row r at [r*{acc} +: {acc}]: the results of the tile before the one \
                     running, PE (r, {}) first, then one column further left each cycle \
                     (two's complement)",
                    cols - 1
                ),
            ));
        }
        ArrayShape::Dot { lanes } => {
            ports.push(port(
                "act_i",
                Input,
                lanes * aw,
                format!("lane l at [l*{aw} +: {aw}]: {act}"),
            ));
            ports.push(port(
                "wgt_i",
                Input,
                lanes * ww,
                format!("lane l at [l*{ww} +: {ww}]: {wgt}"),
            ));
            ports.push(port(
                "acc_o",
                Output,
                acc,
                "accumulator of all lanes' products, two's complement, wraps".into(),
            ));
        }
        ArrayShape::Single => {
            ports.push(port("act_i", Input, aw, act.to_string()));
            ports.push(port("wgt_i", Input, ww, wgt.to_string()));
            ports.push(port(
                "acc_o",
                Output,
                acc,
                "accumulator, two's complement, wraps".into(),
            ));
        }
    }
    ports
}

/// The design inside the manifest: written as a design description (every
/// field explicit), read back through the same validation as a design file.
mod design_yaml {
    use crate::config::Design;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(design: &Design, s: S) -> Result<S::Ok, S::Error> {
        let value: serde_yaml::Value =
            serde_yaml::from_str(&design.to_yaml()).map_err(serde::ser::Error::custom)?;
        value.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Design, D::Error> {
        let value = serde_yaml::Value::deserialize(d)?;
        let text = serde_yaml::to_string(&value).map_err(serde::de::Error::custom)?;
        Design::from_yaml(&text).map_err(|e| serde::de::Error::custom(format!("design: {e}")))
    }
}
