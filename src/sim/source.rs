//! Designs under test: the validated design, the ports its manifest states
//! and its Verilog sources, generated now or read from a folder that
//! `sparqgen generate` wrote (and a user may have edited since).

use super::encode::Encoding;
use super::{SimError, TopPorts};
use crate::config::{ArrayShape, Design};
use crate::rtl::{self, Direction, Manifest};
use std::path::{Path, PathBuf};

/// One design under test.
#[derive(Debug, Clone)]
pub struct Dut {
    pub design: Design,
    pub ports: TopPorts,
    /// Verilog files `(name, contents)` in filelist order.
    pub sources: Vec<(PathBuf, Vec<u8>)>,
    /// Where the RTL came from, for reports.
    pub origin: String,
    /// The user's folder the sources were read from (`verify --rtl`), so
    /// that tool messages name the user's files, not the build cache's.
    pub folder: Option<PathBuf>,
}

impl Dut {
    /// Generate `design`'s RTL now (nothing is written to disk).
    pub fn generate(design: &Design) -> Result<Dut, SimError> {
        let g = rtl::generate(design).map_err(|e| SimError::Source(e.to_string()))?;
        let sources = g
            .verilog()
            .map_err(|e| SimError::Source(e.to_string()))?
            .into_iter()
            .map(|(f, text)| (PathBuf::from(f), text))
            .collect();
        Dut::from_parts(
            design.clone(),
            ports_of(&g.manifest)?,
            sources,
            format!(
                "generated from design {} (hash {})",
                design.name(),
                design.short_hash()
            ),
        )
    }

    /// Read a folder that `sparqgen generate` wrote (`DIR/<name>`): the
    /// design and ports from its `manifest.yaml`, the Verilog from its
    /// filelist (`<name>.f`; the manifest's file list if there is none).
    /// The files may have been edited since: they are simulated as they
    /// are, and [`Dut::edited`] says whether they still match the manifest.
    pub fn from_folder(folder: &Path) -> Result<Dut, SimError> {
        let manifest = Manifest::read(folder).map_err(|e| SimError::Source(e.to_string()))?;
        let changed = crate::output::changed_files(folder).unwrap_or_default();
        if changed.iter().any(|f| f == crate::rtl::MANIFEST_FILE) {
            return Err(SimError::Source(format!(
                "{}: {} was edited after generation; the design and ports are read from it,                  so a mismatch would wrongly blame the RTL. Regenerate the folder with                  `sparqgen generate` (edits to the Verilog files themselves are fine)",
                folder.display(),
                crate::rtl::MANIFEST_FILE
            )));
        }
        let list = folder.join(&manifest.filelist);
        let files: Vec<String> = match crate::input::read_text(&list) {
            Ok(text) => filelist_entries(&text),
            Err(_) => manifest.files.clone(),
        };
        if files.is_empty() {
            return Err(SimError::Source(format!(
                "{} lists no Verilog files",
                list.display()
            )));
        }
        let mut sources = Vec::new();
        for f in &files {
            let path = folder.join(f);
            let text = std::fs::read(&path).map_err(|e| SimError::Io {
                what: format!("{} (listed in {})", path.display(), list.display()),
                source: e,
            })?;
            let name = Path::new(f)
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(f));
            sources.push((name, text));
        }
        let edited = manifest.check_files(folder).is_err();
        let mut dut = Dut::from_parts(
            manifest.design.clone(),
            ports_of(&manifest)?,
            sources,
            format!(
                "folder {}{}",
                folder.display(),
                if edited {
                    " (edited since generation)"
                } else {
                    ""
                }
            ),
        )?;
        dut.folder = Some(folder.to_path_buf());
        Ok(dut)
    }

    /// True when the RTL came from a folder whose files no longer match
    /// its manifest's content hash.
    pub fn edited(&self) -> bool {
        self.origin.ends_with("(edited since generation)")
    }

    pub fn from_parts(
        design: Design,
        ports: TopPorts,
        sources: Vec<(PathBuf, Vec<u8>)>,
        origin: String,
    ) -> Result<Dut, SimError> {
        let dut = Dut {
            design,
            ports,
            sources,
            origin,
            folder: None,
        };
        dut.check_contract()?;
        Ok(dut)
    }

    /// The manifest's ports against INTERFACE.md's encodings for this PE
    /// kind and array shape: a disagreement is reported, not simulated.
    pub fn check_contract(&self) -> Result<(), SimError> {
        let p = &self.ports;
        let err = |message: String| SimError::Contract {
            design: self.design.name().to_string(),
            message,
        };
        let enc = Encoding::of(&self.design);
        let (aw, ww) = self.design.pe().kind().lane_bits();
        if (p.lane_act_bits, p.lane_wgt_bits) != (aw, ww) {
            return Err(err(format!(
                "the manifest gives act/wgt lanes of {}/{} bits, the {:?} encoding is {aw}/{ww}",
                p.lane_act_bits, p.lane_wgt_bits, enc
            )));
        }
        let (na, nw, nout, port, drain) = match self.design.array() {
            ArrayShape::Single => (1, 1, p.acc_bits, "acc_o", false),
            ArrayShape::Dot { lanes } => (lanes, lanes, p.acc_bits, "acc_o", false),
            // the streaming array has no drain_i: its output chain moves by itself
            ArrayShape::Systolic { rows, cols } => (rows, cols, rows * p.acc_bits, "res_o", false),
        };
        if p.act_bits != na * aw || p.wgt_bits != nw * ww {
            return Err(err(format!(
                "act_i/wgt_i are {}/{} bits, expected {}/{} for {}",
                p.act_bits,
                p.wgt_bits,
                na * aw,
                nw * ww,
                super::describe(&self.design)
            )));
        }
        if p.out_port != port || p.out_bits != nout || p.has_drain != drain {
            return Err(err(format!(
                "output {} [{}] (drain_i: {}) does not match {port} [{nout}] (drain_i: {drain})",
                p.out_port, p.out_bits, p.has_drain
            )));
        }
        if p.acc_bits != self.design.pe().acc_bits() {
            return Err(err(format!(
                "the manifest's accumulator is {} bits, the design's {}",
                p.acc_bits,
                self.design.pe().acc_bits()
            )));
        }
        if p.latency_cycles == 0 {
            return Err(err(
                "latency_cycles is 0 (a PE needs at least one edge)".into()
            ));
        }
        Ok(())
    }
}

/// The Verilog entries of a filelist: one path per line; comments (`//`,
/// `#`) and options (`+incdir+...`, `-...`) skipped.
fn filelist_entries(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .filter(|l| {
            !l.is_empty() && !l.starts_with('#') && !l.starts_with('+') && !l.starts_with('-')
        })
        .map(str::to_string)
        .collect()
}

/// The ports and timing a manifest states.
pub fn ports_of(m: &Manifest) -> Result<TopPorts, SimError> {
    let err = |message: String| SimError::Contract {
        design: m.design.name().to_string(),
        message,
    };
    let width = |name: &str, dir: Direction| -> Result<u32, SimError> {
        match m.port(name) {
            Some(p) if p.direction == dir => Ok(p.width),
            Some(_) => Err(err(format!(
                "port {name} has the wrong direction in the manifest"
            ))),
            None => Err(err(format!("the manifest lists no port {name}"))),
        }
    };
    for p in ["clk_i", "rst_ni", "valid_i", "clear_i"] {
        if width(p, Direction::Input)? != 1 {
            return Err(err(format!("port {p} is not 1 bit wide")));
        }
    }
    let systolic = matches!(m.design.array(), ArrayShape::Systolic { .. });
    let out_port = if systolic { "res_o" } else { "acc_o" };
    let has_drain = m.port("drain_i").is_some();
    Ok(TopPorts {
        top: m.top.clone(),
        lane_act_bits: m.pe.act_bits,
        lane_wgt_bits: m.pe.wgt_bits,
        act_bits: width("act_i", Direction::Input)?,
        wgt_bits: width("wgt_i", Direction::Input)?,
        out_port: out_port.to_string(),
        out_bits: width(out_port, Direction::Output)?,
        has_drain,
        acc_bits: m.pe.acc_bits,
        latency_cycles: m.latency_cycles,
        flush_cycles: m.flush_cycles.unwrap_or(0),
        drain_cycles: m.drain_cycles.unwrap_or(0),
    })
}
